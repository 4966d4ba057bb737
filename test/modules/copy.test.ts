import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { copyModule } from '../../runner/modules/copy.ts';
import { templateModule } from '../../runner/modules/template.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { applyPlan, connectLocal, fakeContext, makeTempDir, probeAndPlan } from './helpers.ts';
import { checkRow } from './table.ts';
import { copyRows } from './tables/copy.ts';

for (const row of copyRows) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

test('copy writes, then is idempotent', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, "it's a file");
  const content = "line one\n'quoted' $HOME `x`\n";
  const first = await probeAndPlan(connection, copyModule, { dest, content, mode: '0640' });
  t.is(first.plan.status, 'change');
  const outcome = await applyPlan(connection, first.plan);
  t.deepEqual(outcome, { changed: true });
  t.is(await readFile(dest, 'utf8'), content);
  t.is((await stat(dest)).mode & 0o777, 0o640);
  t.deepEqual(await readdir(dir.path), ["it's a file"]);

  const second = await probeAndPlan(connection, copyModule, { dest, content, mode: '0640' });
  t.is(second.plan.status, 'ok');
});

test('copy from src keeps binary bytes', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, 'blob');
  const bytes = Buffer.from(Array.from({ length: 300 }, (_value, index) => index % 256));
  const context = fakeContext({ 'blob.bin': bytes });
  const first = await probeAndPlan(connection, copyModule, { dest, src: 'blob.bin' }, context);
  await applyPlan(connection, first.plan);
  t.deepEqual(await readFile(dest), bytes);
  const second = await probeAndPlan(connection, copyModule, { dest, src: 'blob.bin' }, context);
  t.is(second.plan.status, 'ok');
});

test('copy update keeps existing mode', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, 'conf');
  await writeFile(dest, 'old\n', { mode: 0o600 });
  const first = await probeAndPlan(connection, copyModule, { dest, content: 'new\n' });
  t.is(first.plan.status, 'change');
  if (first.plan.status === 'change') t.regex(first.plan.diff ?? '', /-old\n\+new\n/);
  await applyPlan(connection, first.plan);
  t.is(await readFile(dest, 'utf8'), 'new\n');
  t.is((await stat(dest)).mode & 0o777, 0o600);
});

test('template validate rejection keeps old file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, 'torrc');
  await writeFile(dest, 'SocksPort 9050\n');
  const context = fakeContext({ 'torrc.hbs': 'SocksPort nonsense\n' });
  const validate = "grep -Eq '^SocksPort [0-9]+$' %s || { echo 'invalid SocksPort' >&2; exit 4; }";
  const { plan } = await probeAndPlan(connection, templateModule, { src: 'torrc.hbs', dest, validate }, context);
  const outcome = await applyPlan(connection, plan);
  t.false(outcome.changed);
  t.regex(outcome.failed ?? '', /invalid SocksPort/);
  t.regex(outcome.failed ?? '', /validate command failed \(exit 4\)/);
  t.is(await readFile(dest, 'utf8'), 'SocksPort 9050\n');
  t.deepEqual(await readdir(dir.path), ['torrc']);
});

test('template validate acceptance writes file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, 'torrc');
  const context = fakeContext({ 'torrc.hbs': 'SocksPort 9050\n' });
  const args = { src: 'torrc.hbs', dest, validate: "grep -Eq '^SocksPort [0-9]+$' %s" };
  const { plan } = await probeAndPlan(connection, templateModule, args, context);
  t.deepEqual(await applyPlan(connection, plan), { changed: true });
  t.is(await readFile(dest, 'utf8'), 'SocksPort 9050\n');
  t.deepEqual(await readdir(dir.path), ['torrc']);
  const again = await probeAndPlan(connection, templateModule, args, context);
  t.is(again.plan.status, 'ok');
});

test('copy failing step returns failed', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const dest = join(dir.path, 'sub', 'file');
  const { plan } = await probeAndPlan(connection, copyModule, { dest, content: 'x' });
  t.is(plan.status, 'failed');
  // chown to a user that does not exist makes the write step fail.
  const unwritable = await probeAndPlan(connection, copyModule, { dest: join(dir.path, 'file'), content: 'x', owner: 'no-such-user-onionplay' });
  const outcome = await applyPlan(connection, unwritable.plan);
  t.false(outcome.changed);
  t.regex(outcome.failed ?? '', /chown no-such-user-onionplay failed/);
  t.deepEqual(await readdir(dir.path), []);
});
