// The cluster roles without a cluster. Their meta schemas accept their
// defaults and reject bad values, and their tasks name known modules.
// Every kubeadm task is guarded, so hosts without kubeadm report it
// skipped. Their templates render the manifests and files the modules get.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { kubernetesModules } from '../../runner/modules/kubernetes/index.ts';
import { manifestObjects } from '../../runner/modules/kubernetes/kubectl-apply.ts';
import { getModule, moduleNames } from '../../runner/modules/registry.ts';
import { variablesDocument } from '../../runner/playbook/variables.ts';
import { includeKeywords, taskKeywordSchemas } from '../../runner/schema/playbook.ts';
import { schemaProblem, validateValue } from '../../runner/schema/validate.ts';
import { renderString } from '../../runner/template/index.ts';
import { parseYaml } from '../../runner/yaml/load.ts';

const ROLES_DIR = new URL('../../roles/', import.meta.url).pathname;
const ROLES = ['docker', 'kubernetes-common', 'kubeadm-master', 'kubeadm-worker', 'flannel', 'webapp', 'k8s-onion-service'];

type Mapping = Record<string, unknown>;

async function readYaml(role: string, file: string): Promise<unknown> {
  const path = join(ROLES_DIR, role, file);
  return parseYaml(await readFile(path, 'utf8'), path).value;
}

async function variablesSchema(role: string): Promise<Mapping> {
  const meta = (await readYaml(role, 'meta.yaml')) as Mapping;
  return meta.variables as Mapping;
}

function problems(schema: Mapping, value: Mapping): string[] {
  const doc = variablesDocument({}, { file: 'test', line: 1, column: 1 });
  return validateValue(value, schema, { doc, path: [] }).map((error) => error.message);
}

async function tasksOf(role: string, file = 'tasks.yaml'): Promise<Mapping[]> {
  return ((await readYaml(role, file)) as Mapping[] | null) ?? [];
}

function moduleOf(task: Mapping): string | undefined {
  const keywords = new Set([...Object.keys(taskKeywordSchemas), ...includeKeywords, 'listen']);
  return Object.keys(task).find((key) => !keywords.has(key));
}

function whenList(task: Mapping): string[] {
  const when = task.when;
  if (when === undefined) return [];
  return (Array.isArray(when) ? when : [when]).map(String);
}

for (const role of ROLES) {
  test(`${role}: meta schema accepts the defaults`, async (t) => {
    const schema = await variablesSchema(role);
    t.is(schemaProblem(schema), undefined);
    const defaults = ((await readYaml(role, 'defaults.yaml')) as Mapping | null) ?? {};
    // flannel takes pod_network_cidr from kubernetes-common, which shares its play.
    const inPlay = role === 'flannel' ? { ...((await readYaml('kubernetes-common', 'defaults.yaml')) as Mapping), ...defaults } : defaults;
    t.deepEqual(problems(schema, inPlay), []);
    const declared = Object.keys((schema.properties ?? {}) as Mapping);
    for (const name of Object.keys(defaults)) t.true(declared.includes(name), `${role}: default ${name} has no schema entry`);
    for (const [name, entry] of Object.entries((schema.properties ?? {}) as Record<string, Mapping>)) {
      t.true(typeof entry.description === 'string' && entry.description.length > 10, `${role}: ${name} has no description`);
    }
  });

  test(`${role}: tasks name known modules`, async (t) => {
    const known = new Set([...moduleNames(), ...kubernetesModules.map((module) => module.name), 'meta']);
    for (const file of ['tasks.yaml', 'handlers.yaml']) {
      let tasks: Mapping[];
      try {
        tasks = await tasksOf(role, file);
      } catch {
        continue;
      }
      for (const task of tasks) {
        const module = moduleOf(task);
        t.true(module !== undefined && known.has(module), `${role}/${file}: task "${String(task.name)}" uses unknown module ${String(module)}`);
      }
    }
  });
}

test('pod_network_cidr: bad networks are rejected', async (t) => {
  for (const role of ['kubernetes-common', 'flannel']) {
    const schema = await variablesSchema(role);
    t.deepEqual(problems(schema, { pod_network_cidr: '10.244.0.0/16' }), [], `${role}: valid CIDR rejected`);
    for (const bad of ['10.244.0.0', '10.244.0.0/33', '300.1.0.0/16', '10.244/16', ' 10.244.0.0/16']) {
      const found = problems(schema, { pod_network_cidr: bad });
      t.true(found.length > 0, `${role}: ${bad} accepted`);
      t.regex(found.join('\n'), /pod_network_cidr/, `${role}: message does not name the variable`);
    }
  }
});

test('flannel: pod_network_cidr is required', async (t) => {
  const found = problems(await variablesSchema('flannel'), {});
  t.regex(found.join('\n'), /pod_network_cidr/);
});

test('docker: exec-opts belongs to docker_cgroup_driver', async (t) => {
  const schema = await variablesSchema('docker');
  t.true(problems(schema, { docker_daemon_options: { 'exec-opts': ['native.cgroupdriver=cgroupfs'] } }).length > 0);
  t.deepEqual(problems(schema, { docker_daemon_options: { 'log-driver': 'journald' } }), []);
});

test('kubeadm tasks are guarded by kubeadm_installed', async (t) => {
  const clusterModules = new Set(['kubeadm_init', 'kubeadm_join', 'kubeadm_join_command', 'kubectl_apply', 'k8s_node_taint', 'kubeconfig_copy', 'cni_config_check', 'kubeadm_pod_network_check', 'k8s_service_address']);
  for (const role of ['kubernetes-common', 'kubeadm-master', 'kubeadm-worker', 'flannel', 'webapp']) {
    for (const task of await tasksOf(role)) {
      if (!clusterModules.has(moduleOf(task) ?? '')) continue;
      t.true(whenList(task).includes('kubeadm_installed'), `${role}: task "${String(task.name)}" runs without kubeadm_installed`);
    }
  }
});

test('kubernetes-common: package tasks are guarded by kubernetes_install', async (t) => {
  for (const task of await tasksOf('kubernetes-common')) {
    const module = moduleOf(task) ?? '';
    const touchesKubernetes = ['apt', 'apt_repository', 'apt_deb_files', 'dpkg_selections'].includes(module) && JSON.stringify(task).includes('kubernetes');
    if (!touchesKubernetes) continue;
    t.true(whenList(task).includes('kubernetes_install'), `task "${String(task.name)}" runs without kubernetes_install`);
  }
});

test('join token is registered and never logged', async (t) => {
  const token = (await tasksOf('kubeadm-master')).find((task) => moduleOf(task) === 'kubeadm_join_command');
  t.is(token?.register, 'kubeadm_join_info');
  t.is(token?.no_log, true);
  const join = (await tasksOf('kubeadm-worker')).find((task) => moduleOf(task) === 'kubeadm_join');
  t.is(join?.no_log, true);
  t.regex(String((join?.kubeadm_join as Mapping).join_command), /hostvars kubeadm_join_source\) "kubeadm_join_info"\) "join_command"/);
});

async function render(role: string, template: string, vars: Mapping): Promise<string> {
  const path = join(ROLES_DIR, role, 'templates', template);
  return renderString(await readFile(path, 'utf8'), vars, { file: path, line: 1, column: 1 });
}

function hostvarsOf(hosts: Record<string, Mapping>): Mapping {
  const hostvars: Mapping = {};
  for (const [name, vars] of Object.entries(hosts)) Object.defineProperty(hostvars, name, { enumerable: true, get: () => vars });
  return hostvars;
}

test('flannel manifest: network and interfaces', async (t) => {
  const defaults = (await readYaml('flannel', 'defaults.yaml')) as Mapping;
  const manifest = await render('flannel', 'kube-flannel.yml.hbs', {
    ...defaults,
    pod_network_cidr: '10.245.0.0/16',
    groups: { all: ['obelix', 'ciclope', 'grendel'] },
    hostvars: hostvarsOf({ obelix: { flannel_iface: 'eth1' }, ciclope: {}, grendel: { flannel_iface: '10.200.0.13' } }),
  });
  t.deepEqual(manifestObjects(manifest), [
    'namespace/kube-flannel',
    'clusterrole/flannel',
    'clusterrolebinding/flannel',
    'serviceaccount/flannel',
    'configmap/kube-flannel-cfg',
    'daemonset/kube-flannel-ds',
  ]);
  t.regex(manifest, /"Network": "10\.245\.0\.0\/16",\n {6}"Backend": \{\n {8}"Type": "vxlan"/);
  t.regex(manifest, /- --kube-subnet-mgr\n {8}- --iface=eth1\n {8}- --iface=10\.200\.0\.13\n {8}resources:/);
  t.regex(manifest, /image: docker\.io\/flannel\/flannel:v0\.25\.6/);
  t.false(manifest.includes('{{'));
});

test('flannel manifest: no interfaces by default', async (t) => {
  const defaults = (await readYaml('flannel', 'defaults.yaml')) as Mapping;
  const manifest = await render('flannel', 'kube-flannel.yml.hbs', {
    ...defaults,
    pod_network_cidr: '10.244.0.0/16',
    groups: { all: ['obelix'] },
    hostvars: hostvarsOf({ obelix: {} }),
  });
  t.regex(manifest, /- --kube-subnet-mgr\n {8}resources:/);
});

test('webapp manifest: Deployment and ClusterIP Service', async (t) => {
  const defaults = (await readYaml('webapp', 'defaults.yaml')) as Mapping;
  const manifest = await render('webapp', 'webapp.yml.hbs', { ...defaults, webapp_replicas: 3 });
  t.deepEqual(manifestObjects(manifest), ['deployment/webapp', 'service/webapp']);
  t.regex(manifest, /replicas: 3\n/);
  t.regex(manifest, /type: ClusterIP\n/);
  t.regex(manifest, /port: 8080\n {4}targetPort: http/);
  const namespaced = await render('webapp', 'webapp.yml.hbs', { ...defaults, webapp_namespace: 'web' });
  t.deepEqual(manifestObjects(namespaced), ['namespace/web', 'deployment/webapp', 'service/webapp']);
});

test('containerd config: systemd cgroup driver', async (t) => {
  const defaults = (await readYaml('kubernetes-common', 'defaults.yaml')) as Mapping;
  const config = await render('kubernetes-common', 'containerd-config.toml.hbs', defaults);
  t.regex(config, /^version = 2$/m);
  t.regex(config, /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\.options\]\n(?:\s*#.*\n)*\s*SystemdCgroup = true/);
  t.regex(config, /sandbox_image = "registry\.k8s\.io\/pause:3\.9"/);
  t.false(config.includes('disabled_plugins'));
});

// The loader checks every task against the module registry, so these run
// once the Kubernetes modules are registered there.
const registered = getModule('kubeadm_init') !== undefined;
const ifRegistered = registered ? test : test.skip;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

ifRegistered('site.yaml validates against the lab inventory', async (t) => {
  const { validateCommand } = await import('../../runner/cli/validate.ts');
  const output = new Capture();
  const root = new URL('../../', import.meta.url).pathname;
  const code = await validateCommand({
    playbookFile: join(root, 'playbooks', 'site.yaml'),
    siteDir: join(root, 'inventory', 'lab'),
    rolesPath: [],
    extraVars: [],
    limit: undefined,
    tags: [],
    skipTags: [],
    output,
  } as Parameters<typeof validateCommand>[0]);
  t.is(code, 0, output.text);
  t.regex(output.text, /^ok: 4 plays, \d+ tasks, 3 hosts/m);
});
