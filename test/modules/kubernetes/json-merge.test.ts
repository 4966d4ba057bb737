import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { applyMergePatch, jsonMergeModule } from '../../../runner/modules/kubernetes/json-merge.ts';
import type { Connection } from '../../../runner/transport/types.ts';
import { applyPlan, connectLocal, makeTempDir, probeAndPlan } from '../helpers.ts';
import { checkRow, fileProbeOutput, type PlanRow } from '../table.ts';

const DRIVER = { 'exec-opts': ['native.cgroupdriver=systemd'] };

const rows: PlanRow[] = [
  {
    name: 'absent file is created',
    module: jsonMergeModule,
    args: { path: '/etc/docker/daemon.json', merge: DRIVER },
    stdout: fileProbeOutput('path', { type: 'absent' }),
    expect: { status: 'change', summary: '/etc/docker/daemon.json: set exec-opts', affects: ['/etc/docker/daemon.json'], diff: /\+  "exec-opts": \[/ },
  },
  {
    name: 'same values in other formatting are ok',
    module: jsonMergeModule,
    args: { path: '/etc/docker/daemon.json', merge: DRIVER },
    stdout: fileProbeOutput('path', { type: 'file', content: '{"log-driver":"journald","exec-opts":["native.cgroupdriver=systemd"]}' }),
    expect: { status: 'ok', reason: '/etc/docker/daemon.json already has the wanted values of exec-opts (mode 0644, owner root:root)' },
  },
  {
    name: 'cgroupfs driver is replaced, other keys kept',
    module: jsonMergeModule,
    args: { path: '/etc/docker/daemon.json', merge: DRIVER },
    stdout: fileProbeOutput('path', { type: 'file', content: '{\n  "log-driver": "journald",\n  "exec-opts": ["native.cgroupdriver=cgroupfs"]\n}\n' }),
    expect: { status: 'change', summary: '/etc/docker/daemon.json: set exec-opts', diff: /-  "exec-opts": \["native\.cgroupdriver=cgroupfs"\]\n\+  "exec-opts": \[\n\+    "native\.cgroupdriver=systemd"\n\+  \]/ },
  },
  {
    name: 'invalid JSON names the position',
    module: jsonMergeModule,
    args: { path: '/etc/docker/daemon.json', merge: DRIVER },
    stdout: fileProbeOutput('path', { type: 'file', content: '{\n  "log-driver": "journald",\n}\n' }),
    expect: { status: 'failed', message: /^\/etc\/docker\/daemon\.json is not valid JSON at line 3, column 1: .*Fix or remove the file, then rerun\.$/ },
  },
  {
    name: 'top-level array is rejected',
    module: jsonMergeModule,
    args: { path: '/etc/x.json', merge: { a: 1 } },
    stdout: fileProbeOutput('path', { type: 'file', content: '[1, 2]\n' }),
    expect: { status: 'failed', message: '/etc/x.json holds a JSON array, not an object, so keys cannot be merged into it.' },
  },
  {
    name: 'missing file with create false',
    module: jsonMergeModule,
    args: { path: '/etc/x.json', merge: { a: 1 }, create: false },
    stdout: fileProbeOutput('path', { type: 'absent' }),
    expect: { status: 'failed', message: '/etc/x.json does not exist. Set create: true to create it.' },
  },
  {
    name: 'missing parent folder',
    module: jsonMergeModule,
    args: { path: '/etc/docker/daemon.json', merge: DRIVER },
    stdout: fileProbeOutput('path', { type: 'absent' }, { parent: 'absent' }),
    expect: { status: 'failed', message: /directory \/etc\/docker does not exist/ },
  },
];

for (const row of rows) test(`json_merge: ${row.name}`, (t) => checkRow(t, row));

test('applyMergePatch: RFC 7386 examples', (t) => {
  t.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  t.deepEqual(applyMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
  t.deepEqual(applyMergePatch({ a: 'b' }, { a: null }), {});
  t.deepEqual(applyMergePatch({ a: ['b'] }, { a: 'c' }), { a: 'c' });
  t.deepEqual(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  t.deepEqual(applyMergePatch({ e: null }, { a: 1 }), { e: null, a: 1 });
  t.deepEqual(applyMergePatch([1, 2], { a: 'b', c: null }), { a: 'b' });
  t.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
});

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

test('json_merge creates, then is idempotent', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'daemon.json');
  const args = { path, merge: DRIVER, mode: '0600' };

  const first = await probeAndPlan(connection, jsonMergeModule, args);
  t.is(first.plan.status, 'change');
  t.deepEqual(await applyPlan(connection, first.plan), { changed: true });
  t.is(await readFile(path, 'utf8'), '{\n  "exec-opts": [\n    "native.cgroupdriver=systemd"\n  ]\n}\n');
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(dir.path), ['daemon.json'], 'a temporary file was left behind');

  const second = await probeAndPlan(connection, jsonMergeModule, args);
  t.is(second.plan.status, 'ok');
  if (second.plan.status === 'ok') t.regex(second.plan.reason, /already has the wanted values of exec-opts \(mode 0600/);
});

test('json_merge keeps keys it does not name', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'daemon.json');
  await writeFile(path, '{"log-driver": "journald", "log-opts": {"max-size": "10m"}, "exec-opts": ["native.cgroupdriver=cgroupfs"]}\n', { mode: 0o644 });

  const merge = { 'exec-opts': ['native.cgroupdriver=systemd'], 'log-opts': { 'max-file': '3' }, 'log-driver': null };
  const first = await probeAndPlan(connection, jsonMergeModule, { path, merge });
  t.is(first.plan.status, 'change');
  if (first.plan.status === 'change') t.is(first.plan.summary, `${path}: set log-driver, log-opts.max-file, exec-opts`);
  await applyPlan(connection, first.plan);
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), {
    'log-opts': { 'max-size': '10m', 'max-file': '3' },
    'exec-opts': ['native.cgroupdriver=systemd'],
  });
  t.is((await stat(path)).mode & 0o777, 0o644);

  const second = await probeAndPlan(connection, jsonMergeModule, { path, merge });
  t.is(second.plan.status, 'ok');
});

test('json_merge leaves the file when validate fails', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'daemon.json');
  await writeFile(path, '{"debug": false}\n');
  const args = { path, merge: { debug: true }, validate: "grep -q '\"debug\": false' %s" };

  const { plan } = await probeAndPlan(connection, jsonMergeModule, args);
  const outcome = await applyPlan(connection, plan);
  t.false(outcome.changed);
  t.regex(outcome.failed ?? '', /validate command failed \(exit 1\)/);
  t.is(await readFile(path, 'utf8'), '{"debug": false}\n');
  t.deepEqual(await readdir(dir.path), ['daemon.json']);
});
