import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import test from 'ava';

import { fetchModule, slurpModule } from '../../runner/modules/slurp.ts';
import { statModule } from '../../runner/modules/stat.ts';
import { waitForModule } from '../../runner/modules/wait-for.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { applyPlan, connectLocal, fakeContext, makeTempDir, probeAndPlan } from './helpers.ts';
import { checkRow } from './table.ts';
import { readRows } from './tables/read.ts';

for (const row of readRows) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

test('stat reports a real file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'f');
  await writeFile(path, 'hello', { mode: 0o640 });
  const { plan } = await probeAndPlan(connection, statModule, { path });
  t.is(plan.status, 'ok');
  if (plan.status !== 'ok') return;
  t.like(plan.result?.stat as object, {
    exists: true,
    type: 'file',
    mode: '0640',
    size: 5,
    sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
  });
});

test('slurp reads bytes and text, never in reason', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'hostname');
  await writeFile(path, 'abcdefghijklmnop.onion\n');
  const { plan } = await probeAndPlan(connection, slurpModule, { src: path });
  t.is(plan.status, 'ok');
  if (plan.status !== 'ok') return;
  t.is(plan.result?.text, 'abcdefghijklmnop.onion\n');
  t.is(Buffer.from(String(plan.result?.content), 'base64').toString(), 'abcdefghijklmnop.onion\n');
  t.false(plan.reason.includes('abcdefghijklmnop'));
  t.true(slurpModule.probeOutputSecret === true);
});

test('slurp of binary has no text', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'key');
  await writeFile(path, Buffer.from([0, 255, 1]));
  const { plan } = await probeAndPlan(connection, slurpModule, { src: path });
  t.is(plan.status === 'ok' ? plan.result?.text : 'not ok', undefined);
});

test('fetch writes local file with mode 0600', async (t) => {
  const remote = await makeTempDir();
  const local = await makeTempDir();
  t.teardown(remote.remove);
  t.teardown(local.remove);
  const src = join(remote.path, 'hs_ed25519_secret_key');
  await writeFile(src, Buffer.from([1, 2, 3, 0, 250]));
  const args = { src, dest: local.path };
  const context = fakeContext();
  const first = await probeAndPlan(connection, fetchModule, args, context);
  t.is(first.plan.status, 'change');
  t.false(first.plan.status === 'change' && first.plan.summary.includes('\u0001'));
  const outcome = await applyPlan(connection, first.plan);
  t.true(outcome.changed);
  const written = join(local.path, 'local', src);
  t.deepEqual(await readFile(written), Buffer.from([1, 2, 3, 0, 250]));
  t.is((await stat(written)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(join(local.path, 'local', remote.path)), ['hs_ed25519_secret_key']);
  const second = await probeAndPlan(connection, fetchModule, args, context);
  t.is(second.plan.status, 'ok');
});

test('fetch flat writes dest itself', async (t) => {
  const remote = await makeTempDir();
  const local = await makeTempDir();
  t.teardown(remote.remove);
  t.teardown(local.remove);
  const src = join(remote.path, 'hostname');
  await writeFile(src, 'x.onion\n');
  const dest = join(local.path, 'sub', 'hostname');
  const first = await probeAndPlan(connection, fetchModule, { src, dest, flat: true });
  await applyPlan(connection, first.plan);
  t.is(await readFile(dest, 'utf8'), 'x.onion\n');
});

test('wait_for path appears while waiting', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'ready');
  const first = await probeAndPlan(connection, waitForModule, { path, timeout: 20 });
  t.is(first.plan.status, 'change');
  const timer = setTimeout(() => void writeFile(path, ''), 1200);
  t.teardown(() => clearTimeout(timer));
  const outcome = await applyPlan(connection, first.plan);
  t.false(outcome.changed);
  t.is(outcome.failed, undefined);
  t.regex(outcome.reason ?? '', new RegExp(`^${path} to exist: done after \\d+ s$`));
  const second = await probeAndPlan(connection, waitForModule, { path, timeout: 20 });
  t.is(second.plan.status, 'ok');
});

test('wait_for regex in file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'log');
  await writeFile(path, 'Bootstrapped 50%\n');
  const args = { path, search_regex: 'Bootstrapped 100%', timeout: 20 };
  const first = await probeAndPlan(connection, waitForModule, args);
  t.is(first.plan.status, 'change');
  const timer = setTimeout(() => void writeFile(path, 'Bootstrapped 100% (done)\n', { flag: 'a' }), 1200);
  t.teardown(() => clearTimeout(timer));
  const outcome = await applyPlan(connection, first.plan);
  t.is(outcome.failed, undefined);
});

test('wait_for times out with message', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const { plan } = await probeAndPlan(connection, waitForModule, { path: join(dir.path, 'never'), timeout: 1 });
  const outcome = await applyPlan(connection, plan);
  t.is(outcome.failed, `timed out after 1 s waiting for ${join(dir.path, 'never')} to exist`);
});

test('wait_for loopback port', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const open = await probeAndPlan(connection, waitForModule, { port });
  t.is(open.plan.status, 'ok');
  const closed = await probeAndPlan(connection, waitForModule, { port, state: 'stopped', timeout: 1 });
  t.is(closed.plan.status, 'change');
  const outcome = await applyPlan(connection, closed.plan);
  t.regex(outcome.failed ?? '', /timed out after 1 s waiting for port \d+ on 127\.0\.0\.1 to close/);
});
