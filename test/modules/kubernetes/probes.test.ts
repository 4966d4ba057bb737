// Every probe runs for real through /bin/sh on this machine, which has no
// Kubernetes. The scripts must be valid and read-only, and their output on
// a host without kubeadm must plan to a clear result.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { kubernetesModules } from '../../../runner/modules/kubernetes/index.ts';
import type { Plan } from '../../../runner/modules/types.ts';
import type { Connection } from '../../../runner/transport/types.ts';
import { connectLocal, makeTempDir, planWith, runProbe } from '../helpers.ts';

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

function moduleNamed(name: string) {
  const found = kubernetesModules.find((module) => module.name === name);
  if (!found) throw new Error(`module ${name} is not exported`);
  return found;
}

async function probeAndPlanHere(name: string, args: Record<string, unknown>): Promise<Plan> {
  const module = moduleNamed(name);
  const probed = await runProbe(connection, module, args);
  assertNoStderr(name, probed.stderr);
  return planWith(module, args, probed);
}

// Probes may print to stderr only through captured commands, never on their own.
function assertNoStderr(name: string, stderr: string): void {
  if (stderr.trim() !== '') throw new Error(`probe of ${name} wrote to stderr: ${stderr}`);
}

test('module names are unique', (t) => {
  const names = kubernetesModules.map((module) => module.name);
  t.deepEqual([...new Set(names)].sort(), [...names].sort());
});

test('kubeadm_init probe without kubeadm', async (t) => {
  const plan = await probeAndPlanHere('kubeadm_init', { advertise_address: '10.200.0.11', pod_network_cidr: '10.244.0.0/16' });
  t.is(plan.status, 'failed');
  if (plan.status === 'failed') t.regex(plan.message, /kubeadm is not installed/);
});

test('kubeadm_join probe without kubeadm', async (t) => {
  const plan = await probeAndPlanHere('kubeadm_join', { join_command: 'none' });
  t.is(plan.status, 'failed');
});

test('kubeadm_join_command probe without admin.conf', async (t) => {
  const plan = await probeAndPlanHere('kubeadm_join_command', {});
  t.is(plan.status, 'failed');
  if (plan.status === 'failed') t.regex(plan.message, /admin\.conf does not exist/);
});

test('kubectl_apply probe without a cluster', async (t) => {
  const manifest = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n';
  const plan = await probeAndPlanHere('kubectl_apply', { content: manifest, manifest, kubeconfig: '/nonexistent/admin.conf' });
  t.is(plan.status, 'failed');
  if (plan.status === 'failed') t.regex(plan.message, /^\/nonexistent\/admin\.conf does not exist/);
});

test('k8s_service_address probe without kubectl', async (t) => {
  const plan = await probeAndPlanHere('k8s_service_address', { name: 'webapp', kubeconfig: '/nonexistent/admin.conf' });
  t.is(plan.status, 'failed');
  if (plan.status === 'failed') t.regex(plan.message, /^\/nonexistent\/admin\.conf does not exist, so kubectl cannot read Service default\/webapp/);
});

test('kubeadm_preflight probe reads this host', async (t) => {
  const plan = await probeAndPlanHere('kubeadm_preflight', { enforce: false, node_role: 'worker' });
  t.is(plan.status, 'ok');
  const result = plan.status === 'ok' ? plan.result : undefined;
  t.true(Number(result?.cpus) >= 1, JSON.stringify(result));
  t.true(Number(result?.memory_mib) > 0, JSON.stringify(result));
  t.true(Array.isArray(result?.swap));
});

test('kubeadm_preflight probe for docker', async (t) => {
  const plan = await probeAndPlanHere('kubeadm_preflight', { enforce: false, container_runtime: 'docker' });
  t.is(plan.status, 'ok');
});

test('cni_config_check probe of a folder', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir.path, '10-flannel.conflist'), '{}');
  await writeFile(join(dir.path, '10-calico.conflist'), '{}');
  const plan = await probeAndPlanHere('cni_config_check', { dir: dir.path, expected: ['10-flannel.conflist'] });
  t.is(plan.status, 'failed');
  if (plan.status === 'failed') t.regex(plan.message, /: 10-calico\.conflist \(Calico\); only 10-flannel\.conflist/);
  t.deepEqual((await readdir(dir.path)).sort(), ['10-calico.conflist', '10-flannel.conflist']);
});

test('swap_off probe of a temporary fstab', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const { writeFile } = await import('node:fs/promises');
  const fstab = join(dir.path, 'fstab');
  await writeFile(fstab, 'UUID=1 / ext4 defaults 0 1\n');
  const plan = await probeAndPlanHere('swap_off', { fstab });
  // This machine may have swap; only the fstab half is asserted.
  if (plan.status === 'ok') t.regex(plan.reason, /has no active swap lines/);
  else t.is(plan.status, 'change');
});

test('dpkg_selections probe of an unknown package', async (t) => {
  const plan = await probeAndPlanHere('dpkg_selections', { name: 'onionplay-no-such-package', selection: 'hold' });
  t.is(plan.status, 'failed');
});
