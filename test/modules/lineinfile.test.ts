import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { blockInFileModule } from '../../runner/modules/blockinfile.ts';
import { lineInFileModule } from '../../runner/modules/lineinfile.ts';
import { sysctlModule } from '../../runner/modules/sysctl.ts';
import type { ModuleDefinition } from '../../runner/modules/types.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { applyPlan, connectLocal, makeTempDir, probeAndPlan } from './helpers.ts';
import { checkRow } from './table.ts';
import { blockInFileRows, lineInFileRows } from './tables/lineinfile.ts';

for (const row of [...lineInFileRows, ...blockInFileRows]) {
  test(`plan: ${row.name}`, (t) => checkRow(t, row));
}

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

async function converge(t: import('ava').ExecutionContext, module: ModuleDefinition, args: Record<string, unknown>): Promise<void> {
  const first = await probeAndPlan(connection, module, args);
  t.is(first.plan.status, 'change', JSON.stringify(first.plan));
  t.deepEqual(await applyPlan(connection, first.plan), { changed: true });
  const second = await probeAndPlan(connection, module, args);
  t.is(second.plan.status, 'ok', JSON.stringify(second.plan));
}

test('lineinfile edits a real file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'sshd_config');
  await writeFile(path, 'Port 22\n#PermitRootLogin yes\nX11Forwarding yes\n');
  await converge(t, lineInFileModule, { path, regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' });
  await converge(t, lineInFileModule, { path, line: 'ListenAddress 127.0.0.1', insertafter: '^Port' });
  await converge(t, lineInFileModule, { path, state: 'absent', regexp: '^X11' });
  t.is(await readFile(path, 'utf8'), 'Port 22\nListenAddress 127.0.0.1\nPermitRootLogin no\n');
  t.deepEqual(await readdir(dir.path), ['sshd_config']);
});

test('lineinfile creates a file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'new.conf');
  await converge(t, lineInFileModule, { path, line: 'a = 1', create: true });
  t.is(await readFile(path, 'utf8'), 'a = 1\n');
});

test('blockinfile inserts, updates, removes', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'torrc');
  await writeFile(path, 'SocksPort 0\n');
  await converge(t, blockInFileModule, { path, block: 'HiddenServiceDir /var/lib/tor/ssh\nHiddenServicePort 22 127.0.0.1:22\n' });
  t.is(
    await readFile(path, 'utf8'),
    'SocksPort 0\n# BEGIN ONIONPLAY MANAGED BLOCK\nHiddenServiceDir /var/lib/tor/ssh\nHiddenServicePort 22 127.0.0.1:22\n# END ONIONPLAY MANAGED BLOCK\n',
  );
  await converge(t, blockInFileModule, { path, block: 'HiddenServiceDir /var/lib/tor/web' });
  t.is(await readFile(path, 'utf8'), 'SocksPort 0\n# BEGIN ONIONPLAY MANAGED BLOCK\nHiddenServiceDir /var/lib/tor/web\n# END ONIONPLAY MANAGED BLOCK\n');
  await converge(t, blockInFileModule, { path, state: 'absent' });
  t.is(await readFile(path, 'utf8'), 'SocksPort 0\n');
  t.deepEqual(await readdir(dir.path), ['torrc']);
});

test('sysctl file converges without live', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, '99-onionplay.conf');
  await writeFile(path, '# kept\nvm.swappiness=60\nvm.swappiness = 30\n');
  const args = { name: 'vm.swappiness', value: 10, sysctl_file: path, live: false };
  await converge(t, sysctlModule, args);
  t.is(await readFile(path, 'utf8'), '# kept\nvm.swappiness = 10\n');
  await converge(t, sysctlModule, { ...args, state: 'absent' });
  t.is(await readFile(path, 'utf8'), '# kept\n');
});

test('lineinfile validate rejection keeps file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'sshd_config');
  await writeFile(path, 'Port 22\n');
  const args = { path, regexp: '^Port ', line: 'Port nonsense', validate: "grep -Eq '^Port [0-9]+$' %s" };
  const { plan } = await probeAndPlan(connection, lineInFileModule, args);
  t.is(plan.status, 'change');
  const outcome = await applyPlan(connection, plan);
  t.regex(outcome.failed ?? '', /validate command failed \(exit 1\)/);
  t.is(await readFile(path, 'utf8'), 'Port 22\n');
  t.deepEqual(await readdir(dir.path), ['sshd_config']);
});

test('blockinfile validate passes and writes', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'torrc');
  await converge(t, blockInFileModule, { path, block: 'SocksPort 9050', create: true, validate: 'grep -q SocksPort %s' });
  t.regex(await readFile(path, 'utf8'), /SocksPort 9050/);
});
