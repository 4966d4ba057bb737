import { lstat, mkdir, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { fileModule } from '../../runner/modules/file.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { applyPlan, connectLocal, makeTempDir, probeAndPlan } from './helpers.ts';
import { checkRow } from './table.ts';
import { fileRows } from './tables/file.ts';

for (const row of fileRows) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

/** Probe, plan, apply and probe again; the second plan must be ok. */
async function converge(t: import('ava').ExecutionContext, args: Record<string, unknown>): Promise<void> {
  const first = await probeAndPlan(connection, fileModule, args);
  t.is(first.plan.status, 'change', JSON.stringify(first.plan));
  t.deepEqual(await applyPlan(connection, first.plan), { changed: true });
  const second = await probeAndPlan(connection, fileModule, args);
  t.is(second.plan.status, 'ok', JSON.stringify(second.plan));
}

test('file directory with parents', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'a', 'b c');
  await converge(t, { path, state: 'directory', mode: '0750' });
  t.is((await stat(path)).mode & 0o7777, 0o750);
  t.is((await stat(join(dir.path, 'a'))).mode & 0o777, 0o755);
});

test('file directory recurse', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'data');
  await mkdir(path);
  await writeFile(join(path, 'inner'), 'x', { mode: 0o644 });
  await converge(t, { path, state: 'directory', mode: '0700', recurse: true });
  t.is((await stat(join(path, 'inner'))).mode & 0o777, 0o700);
});

test('file touch and absent', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'flag');
  await converge(t, { path, state: 'touch', mode: '0600' });
  t.is((await stat(path)).size, 0);
  t.is((await stat(path)).mode & 0o777, 0o600);
  await converge(t, { path, state: 'absent' });
  t.deepEqual(await readdir(dir.path), []);
});

test('file link then repoint', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'current');
  await mkdir(join(dir.path, 'v1'));
  await mkdir(join(dir.path, 'v2'));
  await converge(t, { path, state: 'link', src: 'v1' });
  t.is(await readlink(path), 'v1');
  // mv -T replaces a link to a directory instead of moving into it.
  await converge(t, { path, state: 'link', src: 'v2' });
  t.is(await readlink(path), 'v2');
  t.deepEqual((await readdir(join(dir.path, 'v1'))).sort(), []);
  t.deepEqual((await readdir(dir.path)).sort(), ['current', 'v1', 'v2']);
  t.true((await lstat(path)).isSymbolicLink());
});

test('file directory through a real link', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const real = join(dir.path, 'real');
  await mkdir(real, { mode: 0o755 });
  const path = join(dir.path, 'alias');
  await symlink('real', path);
  await converge(t, { path, state: 'directory', mode: '0700' });
  t.is((await stat(real)).mode & 0o777, 0o700);
  t.true((await lstat(path)).isSymbolicLink());
});
