import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { commandModule, extractInlineOptions, shellModule, splitWords } from '../../runner/modules/command.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { applyPlan, connectLocal, makeTempDir, probeAndPlan } from './helpers.ts';
import { checkRow } from './table.ts';
import { commandRows } from './tables/command.ts';

for (const row of commandRows) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

test('splitWords follows sh quoting', (t) => {
  t.deepEqual(splitWords(`a "b c" 'd e' f\\ g "h\\"i" ''`), ['a', 'b c', 'd e', 'f g', 'h"i', '']);
  t.deepEqual(splitWords('  '), []);
  t.throws(() => splitWords('"open'), { message: /unclosed double quote/ });
});

test('command idempotent only with guards', (t) => {
  const idempotent = commandModule.idempotent as (args: Record<string, unknown>) => boolean;
  t.false(idempotent({ cmd: 'x' }));
  t.true(idempotent({ cmd: 'x', creates: '/a' }));
  t.true(idempotent({ cmd: 'x', removes: '/a' }));
});

test('command without guards sends no probe', (t) => {
  t.is(commandModule.probe?.({ cmd: 'x' }).script, '');
});

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

test('command result has stdout and rc', async (t) => {
  const { plan } = await probeAndPlan(connection, commandModule, { argv: ['sh', '-c', 'echo out; echo err >&2'] });
  const outcome = await applyPlan(connection, plan);
  t.true(outcome.changed);
  t.is(outcome.failed, undefined);
  t.like(outcome.result, { rc: 0, stdout: 'out', stderr: 'err', stdout_lines: ['out'] });
});

test('command non-zero exit fails', async (t) => {
  const { plan } = await probeAndPlan(connection, shellModule, { cmd: 'echo bad >&2; exit 3' });
  const outcome = await applyPlan(connection, plan);
  t.is(outcome.failed, 'echo bad >&2; exit 3 exited with rc 3: bad');
  t.like(outcome.result, { rc: 3 });
});

test('shell keeps going without set -e', async (t) => {
  const { plan } = await probeAndPlan(connection, shellModule, { cmd: 'false; echo after' });
  const outcome = await applyPlan(connection, plan);
  t.like(outcome.result, { rc: 0, stdout: 'after' });
});

test('command creates guard converges', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const marker = join(dir.path, 'done');
  const args = { argv: ['touch', marker], creates: marker };
  const first = await probeAndPlan(connection, commandModule, args);
  t.is(first.plan.status, 'change');
  await applyPlan(connection, first.plan);
  const second = await probeAndPlan(connection, commandModule, args);
  t.is(second.plan.status, 'ok');
  t.is(second.plan.status === 'ok' ? second.plan.reason : '', `${marker} exists (creates), so the command was not run`);
});

test('command removes guard converges', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const target = join(dir.path, 'old file');
  await writeFile(target, 'x');
  const args = { argv: ['rm', target], removes: target };
  const first = await probeAndPlan(connection, commandModule, args);
  await applyPlan(connection, first.plan);
  const second = await probeAndPlan(connection, commandModule, args);
  t.is(second.plan.status, 'ok');
});

test('command inline options move out', (t) => {
  t.deepEqual(extractInlineOptions({ cmd: 'kubeadm init --upload-certs creates=/etc/kubernetes/admin.conf' }), {
    cmd: 'kubeadm init --upload-certs',
    creates: '/etc/kubernetes/admin.conf',
  });
  t.deepEqual(extractInlineOptions({ cmd: 'make chdir=/src removes=/src/dirty' }), { cmd: 'make', chdir: '/src', removes: '/src/dirty' });
  t.deepEqual(extractInlineOptions({ cmd: 'make creates=/a', creates: '/b' }), { cmd: 'make', creates: '/b' });
  t.deepEqual(extractInlineOptions({ cmd: 'echo x=1' }), { cmd: 'echo x=1' });
  const idempotent = commandModule.idempotent as (args: Record<string, unknown>) => boolean;
  t.true(idempotent({ cmd: 'kubeadm init creates=/etc/kubernetes/admin.conf' }));
});
