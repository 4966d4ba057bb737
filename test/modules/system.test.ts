// systemd, apt, apt_repository, sysctl and modprobe change the host as a
// whole, so they are tested here by plan tables only. The lab hosts run
// them for real.

import test from 'ava';

import { modprobeModule } from '../../runner/modules/modprobe.ts';
import { serviceModule, systemdModule } from '../../runner/modules/systemd.ts';
import type { Outcome } from '../../runner/modules/types.ts';
import { checkRow, planRow } from './table.ts';
import { aptRepositoryRows, aptRows, modprobeRows, sysctlRows, systemdRows } from './tables/system.ts';

for (const row of [...aptRows, ...aptRepositoryRows, ...systemdRows, ...sysctlRows, ...modprobeRows]) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

function interpret(plan: ReturnType<typeof planRow>, stdout: string, stderr: string, exitCode: number): Outcome {
  if (plan.status !== 'change' || !plan.interpret) throw new Error('expected a change plan with interpret');
  return plan.interpret({ stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode, timedOut: false });
}

test('apt interpret sees nothing to do', (t) => {
  const row = aptRows.find((candidate) => candidate.name === 'apt latest with stale cache updates');
  if (!row) return t.fail('row missing');
  const plan = planRow(row);
  t.like(interpret(plan, 'Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.\n', '', 0), { changed: false });
  t.like(interpret(plan, '1 upgraded, 0 newly installed, 0 to remove and 2 not upgraded.\n', '', 0), { changed: true });
  t.regex(interpret(plan, '', 'E: Could not get lock\n', 100).failed ?? '', /failed \(exit 100\): E: Could not get lock/);
});

test('modprobe failure names the fix', (t) => {
  const plan = planRow({ name: 'load', module: modprobeModule, args: { name: 'br_netfilter' }, stdout: 'loaded no\n', expect: { status: 'change' } });
  const outcome = interpret(plan, '', 'modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.1.0\n', 1);
  t.regex(outcome.failed ?? '', /^modprobe br_netfilter failed \(exit 1\): modprobe: FATAL/);
  t.regex(outcome.failed ?? '', /run "modprobe br_netfilter" on the container's host/);
});

test('sysctl try tolerates a rejected write', (t) => {
  const row = sysctlRows.find((candidate) => candidate.name === 'sysctl writes file and live value');
  if (!row) return t.fail('row missing');
  const strict = planRow(row);
  const failed = interpret(strict, '', 'sysctl: permission denied on key "net.ipv4.ip_forward"\n', 255);
  t.regex(failed.failed ?? '', /^setting net\.ipv4\.ip_forward failed \(exit 255\): sysctl: permission denied/);
  t.regex(failed.failed ?? '', /set it on the container's host/);

  const tolerant = planRow({ ...row, args: { ...row.args, live: 'try' } });
  if (tolerant.status !== 'change') return t.fail('expected a change');
  t.regex(tolerant.steps.map((step) => step.script).join(''), /if ! op_e=\$\(sysctl -q -w net\.ipv4\.ip_forward=1 2>&1\); then printf 'live-failed %s\\n' "\$op_e"; fi/);
  const outcome = interpret(tolerant, 'live-failed sysctl: permission denied\n', '', 0);
  t.true(outcome.changed);
  t.is(outcome.reason, 'the kernel rejected the live value (sysctl: permission denied), left as it is (live: try)');
});

test('systemd idempotence by state', (t) => {
  const idempotent = systemdModule.idempotent as (args: Record<string, unknown>) => boolean;
  t.true(idempotent({ name: 'tor', state: 'started' }));
  t.false(idempotent({ name: 'tor', state: 'restarted' }));
  t.false(idempotent({ name: 'tor', state: 'reloaded' }));
  t.false(idempotent({ daemon_reload: true }));
  t.true(idempotent({ name: 'tor', daemon_reload: true }));
  t.is(serviceModule.schema, systemdModule.schema);
});
