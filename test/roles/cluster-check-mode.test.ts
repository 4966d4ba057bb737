// The cluster plays of site.yaml in check mode through the local
// connection, on a site whose hosts have Kubernetes disabled. Every probe
// runs for real on this machine (read-only) and every template renders.
// Every kubeadm task must be reported skipped with its condition, never ok.
// NOTE: on a machine without systemd that already has docker.io or
// containerd installed, the systemd probes fail and so does this test.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test, { type ExecutionContext } from 'ava';

import { main } from '../../runner/cli/main.ts';
import { getModule } from '../../runner/modules/registry.ts';
import type { RunEvent } from '../../runner/report/events.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const hostsFile = (vars: string): string => `all:
  vars:
${vars}
  children:
    masters:
      hosts:
        obelix: { address: 127.0.0.1 }
    workers:
      hosts:
        ciclope: { address: 127.0.0.1 }
`;

// site.yaml without its first play, whose tor, sshd and firewall roles
// would read this machine's own services.
const PLAYBOOK = `- name: Build the control plane and its pod network
  hosts: masters
  roles: [docker, kubeadm-master, flannel]
- name: Join the workers
  hosts: workers
  roles: [docker, kubeadm-worker]
- name: Run the web workload
  hosts: masters
  roles:
    - webapp
    - role: k8s-onion-service
      when: kubeadm_installed
  tasks:
    - name: Print the web onion address
      debug:
        msg: "web service: http://{{ tor_onion_address_web }}/"
      when: kubeadm_installed
`;

const KUBEADM_TASKS = [
  'Initialise the control plane',
  "Give the admin user the cluster's kubeconfig",
  'Let workloads run on the control plane',
  'Check that no other CNI is configured',
  'Check that no other CNI is configured on this node',
  "Check that the cluster's podSubnet is the flannel network",
  'Apply the flannel manifest',
  'Apply the web Deployment and its ClusterIP Service',
  'Wait until the web pods are ready',
  'Print the web onion address',
];

const registered = getModule('kubeadm_init') !== undefined;

const SCENARIOS: Array<{ name: string; vars: string; why: RegExp }> = [
  {
    name: 'kubernetes_enabled false',
    vars: '    kubernetes_enabled: false',
    why: /^Kubernetes packages are not installed: kubernetes_enabled is false, so the kubeadm tasks are skipped$/,
  },
  {
    name: 'auto without a package source',
    vars: '    kubernetes_sysctl_live: try',
    why: /^Kubernetes packages are not installed: kubernetes_enabled is auto and neither kubernetes_apt_keyring nor kubernetes_packages_dir is set, so the kubeadm tasks are skipped$/,
  },
];

for (const scenario of SCENARIOS) {
  (registered ? test : test.skip)(`cluster plays skip kubeadm: ${scenario.name}`, async (t) => {
    await checkSkips(t, scenario.vars, scenario.why);
  });
}

async function checkSkips(t: ExecutionContext, vars: string, why: RegExp): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'onionplay-cluster-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  await writeFile(join(work, 'hosts.yaml'), hostsFile(vars));
  await writeFile(join(work, 'cluster.yaml'), PLAYBOOK);

  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['run', join(work, 'cluster.yaml'), '-i', work, '--connection', 'local', '--check', '--output', 'json'], { stdout, stderr });
  t.is(code, 0, `${stderr.text}\n${stdout.text.slice(-3000)}`);

  const events = stdout.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
  const results = events.filter((event): event is Extract<RunEvent, { type: 'task_result' }> => event.type === 'task_result');
  t.deepEqual(results.filter((event) => event.status === 'failed').map((event) => `${event.host}: ${event.task}: ${event.message}`), []);

  for (const name of KUBEADM_TASKS) {
    const matching = results.filter((event) => event.task === name);
    t.true(matching.length > 0, `no result for ${name}`);
    for (const event of matching) {
      t.is(event.status, 'skipped', `${event.host}: ${name} was ${event.status}`);
      t.regex(event.reason ?? '', /^condition is false: kubeadm_installed$/, `${event.host}: ${name}`);
    }
  }
  for (const name of ['Mint a join token for the workers', 'Join the cluster']) {
    const event = results.find((result) => result.task === name);
    t.is(event?.status, 'skipped', `${name} was ${event?.status}`);
  }
  const preflight = results.filter((event) => event.task.startsWith('Check the preflight facts'));
  t.is(preflight.length, 2);
  for (const event of preflight) t.is(event.status, 'ok', `${event.host}: preflight ${event.status}: ${event.message ?? ''}`);
  const notices = results.filter((event) => event.task === 'Say why the Kubernetes packages are not installed');
  t.is(notices.length, 2);
  for (const event of notices) t.regex(event.reason ?? '', why);
}
