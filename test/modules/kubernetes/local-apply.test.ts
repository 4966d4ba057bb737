// swap_off and kubeconfig_copy applied for real in a temporary folder
// through the local transport: apply, probe again, plan ok.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { kubeconfigCopyModule } from '../../../runner/modules/kubernetes/kubeconfig.ts';
import { swapOffModule } from '../../../runner/modules/kubernetes/swap.ts';
import type { Connection } from '../../../runner/transport/types.ts';
import { applyPlan, connectLocal, makeTempDir, probeAndPlan } from '../helpers.ts';

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

async function swapActive(): Promise<boolean> {
  try {
    return (await readFile('/proc/swaps', 'utf8')).trim().split('\n').length > 1;
  } catch {
    return false;
  }
}

// With swap active here the plan would run swapoff -a on this machine, so
// the test runs only where /proc/swaps lists nothing.
test('swap_off comments out fstab swap lines', async (t) => {
  if (await swapActive()) {
    t.log('swap is active on this machine; skipped so the test does not turn it off');
    t.pass();
    return;
  }
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const fstab = join(dir.path, 'fstab');
  await writeFile(fstab, 'UUID=1 / ext4 errors=remount-ro 0 1\n/swap.img none swap sw 0 0\n', { mode: 0o644 });

  const first = await probeAndPlan(connection, swapOffModule, { fstab });
  t.is(first.plan.status, 'change');
  if (first.plan.status === 'change') t.false(first.plan.steps.some((step) => step.script.includes('swapoff')));
  t.deepEqual(await applyPlan(connection, first.plan), { changed: true });
  t.is(await readFile(fstab, 'utf8'), 'UUID=1 / ext4 errors=remount-ro 0 1\n# /swap.img none swap sw 0 0\n');
  t.is((await stat(fstab)).mode & 0o777, 0o644);

  const second = await probeAndPlan(connection, swapOffModule, { fstab });
  t.is(second.plan.status, 'ok');
  if (second.plan.status === 'ok') t.regex(second.plan.reason, /^no swap is active \(\/proc\/swaps\); .*fstab: has no active swap lines/);
});

test('kubeconfig_copy installs and follows the source', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const src = join(dir.path, 'admin.conf');
  const dest = join(dir.path, 'home', '.kube', 'config');
  await writeFile(src, 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
  const owner = String(process.getuid?.() ?? 0);
  const args = { src, dest, owner, group: String(process.getgid?.() ?? 0) };

  const first = await probeAndPlan(connection, kubeconfigCopyModule, args);
  t.is(first.plan.status, 'change');
  t.deepEqual(await applyPlan(connection, first.plan), { changed: true });
  t.is(await readFile(dest, 'utf8'), 'apiVersion: v1\nkind: Config\n');
  t.is((await stat(dest)).mode & 0o777, 0o600);
  t.is((await stat(join(dir.path, 'home', '.kube'))).mode & 0o777, 0o700);

  const second = await probeAndPlan(connection, kubeconfigCopyModule, args);
  t.is(second.plan.status, 'ok');

  await writeFile(src, 'apiVersion: v1\nkind: Config\n# renewed certificates\n');
  const third = await probeAndPlan(connection, kubeconfigCopyModule, args);
  t.is(third.plan.status, 'change');
  if (third.plan.status === 'change') t.is(third.plan.summary, `update ${dest} from ${src}`);
});
