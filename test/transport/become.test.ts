// become through sudo with a throwaway user that this test creates and
// removes: the user, its sudoers.d drop-in and its sudo timestamp.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

import test from 'ava';

import { OnionplayError } from '../../runner/errors/index.ts';
import { createSshTransport } from '../../runner/transport/ssh.ts';
import { removeTempDir } from '../support/processes.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
import { makeConnectOptions, makeTarget } from '../support/transport-fixture.ts';

const user = `opbecome${randomBytes(3).toString('hex')}`;
const password = `pw-${randomBytes(9).toString('base64url')}`;
const dropIn = `/etc/sudoers.d/onionplay-test-${user}`;
const canRun = process.getuid?.() === 0 && fs.existsSync('/usr/bin/sudo') && fs.existsSync('/usr/sbin/useradd');

let sshd: TestSshd;
let proxy: SocksServerControl;
let userCreated = false;
const siteDirs: string[] = [];

test.before(async () => {
  if (!canRun) return;
  execFileSync('useradd', ['--no-create-home', '--home-dir', '/tmp', '--shell', '/bin/sh', user]);
  userCreated = true;
  execFileSync('chpasswd', { input: `${user}:${password}\n` });
  fs.writeFileSync(dropIn, `${user} ALL=(ALL) ALL\n`, { mode: 0o440 });
  execFileSync('visudo', ['-c', '-q', '-f', dropIn]);
  sshd = await startSshd();
  proxy = await spawnSocksServer({ names: { 'web1.test': { host: '127.0.0.1', port: sshd.port } } });
});

test.after.always(async () => {
  await proxy?.close();
  await sshd?.stop();
  fs.rmSync(dropIn, { force: true });
  if (userCreated) execFileSync('userdel', [user]);
  fs.rmSync(`/run/sudo/ts/${user}`, { force: true });
  for (const folder of siteDirs) removeTempDir(folder);
});

function connectAs(becomePassword: string | undefined): ReturnType<ReturnType<typeof createSshTransport>['connect']> & Promise<unknown> {
  const options = makeConnectOptions(becomePassword === undefined ? {} : { becomePassword });
  siteDirs.push(options.siteDir);
  lastLines = options.lines;
  return createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath, { user }), options);
}

let lastLines: Array<{ message: string }> = [];

test.serial('become runs as root through sudo', async (t) => {
  if (!canRun) return t.pass('needs root, sudo and useradd');
  const connection = await connectAs(password);
  t.teardown(() => connection.close());
  t.is((await connection.run('id -un')).stdout.toString(), `${user}\n`);
  t.is((await connection.run('id -u', { become: true })).stdout.toString(), '0\n');
  t.is((await connection.run('id -u', { become: true })).stdout.toString(), '0\n', 'the sudo shell is reused');
  t.is((await connection.run('id -un')).stdout.toString(), `${user}\n`, 'the plain shell stays unprivileged');
  t.false(JSON.stringify(lastLines).includes(password), 'the password is not logged');
});

test.serial('wrong sudo password fails fast', async (t) => {
  if (!canRun) return t.pass('needs root, sudo and useradd');
  const connection = await connectAs('not-the-password');
  t.teardown(() => connection.close());
  const started = Date.now();
  const error = await t.throwsAsync(connection.run('id -u', { become: true }), { instanceOf: OnionplayError });
  t.is(error?.code, 'transport');
  t.regex(error?.message ?? '', /become \(sudo\) failed on web1/);
  t.false(error?.message.includes('not-the-password'));
  t.true(Date.now() - started < 10_000);
  t.is((await connection.run('echo still')).stdout.toString(), 'still\n', 'the connection survives');
});

test.serial('missing sudo password fails fast', async (t) => {
  if (!canRun) return t.pass('needs root, sudo and useradd');
  const connection = await connectAs(undefined);
  t.teardown(() => connection.close());
  const error = await t.throwsAsync(connection.run('id -u', { become: true }), { instanceOf: OnionplayError });
  t.regex(error?.message ?? '', /password is required/);
});
