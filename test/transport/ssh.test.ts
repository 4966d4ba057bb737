// The SSH transport against a real sshd, reached through the SOCKS test
// server running in a child process. Serial, because the network guard
// wraps process-wide functions.

import test from 'ava';

import { OnionplayError } from '../../runner/errors/index.ts';
import { HostKeyStore } from '../../runner/transport/hostkeys.ts';
import { createSshTransport, type SshConnection } from '../../runner/transport/ssh.ts';
import { installNetworkGuard } from '../support/network-guard.ts';
import { removeTempDir } from '../support/processes.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
import { makeConnectOptions, makeTarget, randomOnionAddress } from '../support/transport-fixture.ts';

let sshd: TestSshd;
let otherSshd: TestSshd;
let proxy: SocksServerControl;
const onion = randomOnionAddress();
const siteDirs: string[] = [];

const fastRetries = { retryInitialDelayMs: 50, retryMaxDelayMs: 200 };

function options(overrides: Parameters<typeof makeConnectOptions>[0] = {}): ReturnType<typeof makeConnectOptions> {
  const result = makeConnectOptions(overrides);
  siteDirs.push(result.siteDir);
  return result;
}

test.before(async () => {
  sshd = await startSshd();
  otherSshd = await startSshd();
  proxy = await spawnSocksServer({
    names: {
      'web1.test': { host: '127.0.0.1', port: sshd.port },
      'web2.test': { host: '127.0.0.1', port: sshd.port },
      'rebuilt.test': { host: '127.0.0.1', port: otherSshd.port },
      [onion]: { host: '127.0.0.1', port: sshd.port },
    },
  });
});

test.after.always(async () => {
  await proxy?.close();
  await sshd?.stop();
  await otherSshd?.stop();
  for (const folder of siteDirs) removeTempDir(folder);
});

test.beforeEach(async () => {
  await proxy.configure({ replyCode: 0, failFirst: { count: 0, with: 'close' } });
  await proxy.reset();
});

test.serial('connect and run through the proxy', async (t) => {
  const connection = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options());
  t.teardown(() => connection.close());
  const result = await connection.run('echo hello; echo oops >&2; exit 3');
  t.is(result.stdout.toString(), 'hello\n');
  t.is(result.stderr.toString(), 'oops\n');
  t.is(result.exitCode, 3);
  t.false(result.timedOut);
  t.is(connection.route, 'clearnet via Tor');
  t.true(connection.stats.bytesUp > 0);
  t.true(connection.stats.bytesDown > 0);
});

test.serial('proxy sees domain names and one username per host', async (t) => {
  const transport = createSshTransport();
  const connectOptions = options();
  const first = await transport.connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
  t.teardown(() => first.close());
  const second = await transport.connect(makeTarget('web2', proxy.port, sshd.clientKeyPath), connectOptions);
  t.teardown(() => second.close());
  const connects = await proxy.connects();
  t.is(connects.length, 2);
  t.deepEqual(
    connects.map((record) => [record.atyp, record.host, record.port]),
    [
      [3, 'web1.test', 22],
      [3, 'web2.test', 22],
    ],
  );
  const [firstUser, secondUser] = connects.map((record) => record.username);
  t.regex(firstUser ?? '', /^onionplay:web1:[0-9a-f]{16}$/);
  t.regex(secondUser ?? '', /^onionplay:web2:[0-9a-f]{16}$/);
  t.not(firstUser, secondUser);
  t.true(connects.every((record) => record.pipelined));

  const otherRun = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
  t.teardown(() => otherRun.close());
  const third = (await proxy.connects())[2];
  t.not(third?.username, firstUser, 'another run uses another username for the same host');
});

test.serial('connect makes no DNS look-up or direct connection', async (t) => {
  const guard = installNetworkGuard();
  t.teardown(() => guard.uninstall());
  const connection = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options());
  await connection.run('true');
  await connection.reconnect();
  await connection.run('true');
  await connection.close();
  guard.uninstall();
  t.deepEqual(guard.dnsLookups(), []);
  const connections = guard.tcpConnections();
  t.is(connections.length, 2);
  for (const record of connections) {
    t.is(record.host, '127.0.0.1');
    t.is(record.port, proxy.port);
  }
});

test.serial('direct without allowDirect is rejected before any socket', async (t) => {
  const guard = installNetworkGuard();
  t.teardown(() => guard.uninstall());
  const target = makeTarget('dev1', proxy.port, sshd.clientKeyPath, { address: '127.0.0.1', port: sshd.port, direct: true });
  const error = await t.throwsAsync(createSshTransport().connect(target, options()), { instanceOf: OnionplayError });
  guard.uninstall();
  t.is(error?.code, 'usage');
  t.regex(error?.message ?? '', /dev1/);
  t.regex(error?.message ?? '', /direct: true/);
  t.regex(error?.message ?? '', /--allow-direct/);
  t.deepEqual(guard.records, []);
});

test.serial('direct with allowDirect connects and warns', async (t) => {
  const connectOptions = options({ allowDirect: true });
  const target = makeTarget('dev1', proxy.port, sshd.clientKeyPath, { address: '127.0.0.1', port: sshd.port, direct: true });
  const connection = await createSshTransport().connect(target, connectOptions);
  t.teardown(() => connection.close());
  t.is((await connection.run('echo direct')).stdout.toString(), 'direct\n');
  t.is(connection.route, 'direct (not anonymous)');
  t.deepEqual(await proxy.connects(), []);
  const warning = connectOptions.lines.find((line) => /not anonymous/.test(line.message));
  t.is(warning?.level, 1);
});

test.serial('new host key is rejected without trust', async (t) => {
  const connectOptions = options({ trustNewHosts: false });
  const error = await t.throwsAsync(createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions), {
    instanceOf: OnionplayError,
  });
  t.is(error?.code, 'host_key');
  t.true(error?.message.includes(sshd.hostFingerprint));
  t.regex(error?.details.fix ?? '', /--trust-new-hosts/);
  t.regex(error?.details.fix ?? '', /trust_new_hosts: true/);
  t.is((await proxy.connects()).length, 1, 'a host key error is not retried');
  t.is(await HostKeyStore.forSite(connectOptions.siteDir).get('web1'), undefined);
});

test.serial('new host key is pinned with trust', async (t) => {
  const connectOptions = options({ trustNewHosts: true });
  const connection = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
  await connection.close();
  const pinned = await HostKeyStore.forSite(connectOptions.siteDir).get('web1');
  t.is(pinned?.fingerprint, sshd.hostFingerprint);
  t.is(pinned?.type, 'ssh-ed25519');
  t.is(pinned?.key, sshd.hostKeyBlob.toString('base64'));
  t.true(connectOptions.lines.some((line) => /pinned the host key of web1/.test(line.message)));
});

test.serial('pinned host key is accepted by onion too', async (t) => {
  const connectOptions = options({ trustNewHosts: true });
  const first = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
  await first.close();
  const strict = { ...connectOptions, trustNewHosts: false };
  const target = makeTarget('web1', proxy.port, sshd.clientKeyPath, { onion });
  const second = await createSshTransport().connect(target, strict);
  t.teardown(() => second.close());
  t.is((await second.run('echo again')).stdout.toString(), 'again\n');
  t.is(second.route, 'onion');
  const connects = await proxy.connects();
  t.is(connects[1]?.host, onion, 'the onion address is used over the address');
  t.is(connects[1]?.atyp, 3);
});

test.serial('changed host key is rejected with both fingerprints', async (t) => {
  const connectOptions = options({ trustNewHosts: true });
  const first = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
  await first.close();
  const target = makeTarget('web1', proxy.port, otherSshd.clientKeyPath, { address: 'rebuilt.test' });
  const logBefore = otherSshd.log().length;
  const error = await t.throwsAsync(createSshTransport().connect(target, connectOptions), { instanceOf: OnionplayError });
  t.is(error?.code, 'host_key');
  t.true(error?.message.includes(sshd.hostFingerprint), 'names the pinned fingerprint');
  t.true(error?.message.includes(otherSshd.hostFingerprint), 'names the offered fingerprint');
  t.is((await proxy.connects()).length, 2, 'a changed key is not retried');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.notRegex(otherSshd.log().slice(logBefore), /Accepted publickey|Failed publickey|Postponed/, 'no login was attempted');
  const pinned = await HostKeyStore.forSite(connectOptions.siteDir).get('web1');
  t.is(pinned?.fingerprint, sshd.hostFingerprint, 'the pin is unchanged');
});

test.serial('transient SOCKS failures are retried', async (t) => {
  for (const failure of [0xf2, 'close'] as const) {
    await proxy.reset();
    await proxy.configure({ failFirst: { count: 2, with: failure } });
    const connectOptions = options();
    const connection = (await createSshTransport(fastRetries).connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions)) as SshConnection;
    t.teardown(() => connection.close());
    t.is(connection.connectAttempts, 3, `attempts after failures of kind ${failure}`);
    t.is((await connection.run('echo up')).stdout.toString(), 'up\n');
    t.is(connectOptions.lines.filter((line) => /retrying in \d+ ms/.test(line.message)).length, 2);
  }
});

test.serial('permanent SOCKS failure is not retried', async (t) => {
  await proxy.configure({ replyCode: 0xf6 });
  const started = Date.now();
  const error = await t.throwsAsync(createSshTransport(fastRetries).connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options()), {
    instanceOf: OnionplayError,
  });
  t.is(error?.code, 'socks');
  t.regex(error?.message ?? '', /web1.*onion address is invalid.*0xF6/);
  t.is((await proxy.connects()).length, 1);
  t.true(Date.now() - started < 2000);
});

test.serial('transient failure gives up at the connect timeout', async (t) => {
  await proxy.configure({ replyCode: 0xf0 });
  const target = makeTarget('web1', proxy.port, sshd.clientKeyPath, { connectTimeoutMs: 1500 });
  const started = Date.now();
  const error = await t.throwsAsync(createSshTransport(fastRetries).connect(target, options()), { instanceOf: OnionplayError });
  const elapsed = Date.now() - started;
  t.is(error?.code, 'socks');
  t.regex(error?.message ?? '', /descriptor was not found/);
  t.regex(error?.message ?? '', /gave up after \d+ attempts/);
  t.true((await proxy.connects()).length >= 3);
  t.true(elapsed >= 1000 && elapsed < 3000, `gave up after ${elapsed} ms`);
});

test.serial('abort stops connect retries', async (t) => {
  await proxy.configure({ replyCode: 0xf0 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = Date.now();
  const error = await t.throwsAsync(createSshTransport(fastRetries).connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options({ signal: controller.signal })), {
    instanceOf: OnionplayError,
  });
  t.is(error?.code, 'interrupted');
  t.true(Date.now() - started < 1500);
});

test.serial('login failure is not retried', async (t) => {
  const target = makeTarget('web1', proxy.port, otherSshd.clientKeyPath, { address: 'web1.test' });
  // sshd accepts only its own client key; the other sshd's key is unknown to it.
  const error = await t.throwsAsync(createSshTransport(fastRetries).connect(target, options()), { instanceOf: OnionplayError });
  t.is(error?.code, 'transport');
  t.regex(error?.message ?? '', /SSH login as root on web1 .* failed/);
  t.is((await proxy.connects()).length, 1);
});

test.serial('dropped stream fails run and reconnect recovers', async (t) => {
  const connection = await createSshTransport(fastRetries).connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options());
  t.teardown(() => connection.close());
  const running = connection.run('sleep 2; echo late');
  setTimeout(() => void proxy.dropAll(), 300);
  const error = await t.throwsAsync(running, { instanceOf: OnionplayError });
  t.is(error?.code, 'transport');
  t.regex(error?.message ?? '', /lost|closed/);
  const again = await t.throwsAsync(connection.run('echo no'), { instanceOf: OnionplayError });
  t.is(again?.code, 'transport', 'runs on a lost connection reject until reconnect');
  const bytesBefore = connection.stats.bytesDown;
  await connection.reconnect();
  t.is(connection.stats.reconnects, 1);
  t.is((await connection.run('echo back')).stdout.toString(), 'back\n');
  t.is((await proxy.connects()).length, 2);
  t.true(connection.stats.bytesDown > bytesBefore, 'byte counts add up over reconnects');
  const started = Date.now();
  await connection.close();
  await connection.close();
  t.true(Date.now() - started < 1500, 'a second close returns at once');
});

test.serial('keepalive notices a stalled stream', async (t) => {
  const transport = createSshTransport({ keepaliveIntervalMs: 500, keepaliveCountMax: 2 });
  const connection = await transport.connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options());
  t.teardown(() => connection.close());
  const running = connection.run('sleep 60');
  await proxy.stallAll();
  const started = Date.now();
  const error = await t.throwsAsync(running, { instanceOf: OnionplayError });
  const elapsed = Date.now() - started;
  t.is(error?.code, 'transport');
  t.true(elapsed < 5000, `noticed after ${elapsed} ms`);
});

test.serial('default keepalive notices a stall within 20 s', async (t) => {
  t.timeout(40_000);
  const connection = await createSshTransport().connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), options());
  t.teardown(() => connection.close());
  const running = connection.run('sleep 60');
  await proxy.stallAll();
  const started = Date.now();
  await t.throwsAsync(running, { instanceOf: OnionplayError });
  const elapsed = Date.now() - started;
  // ssh2 fails after keepaliveCountMax (3) unanswered pings, 5 s apart.
  t.true(elapsed <= 21_000, `noticed after ${elapsed} ms`);
});

test.serial('missing ssh_key is rejected before connecting', async (t) => {
  const target = makeTarget('web1', proxy.port, sshd.clientKeyPath);
  delete target.sshKey;
  const error = await t.throwsAsync(createSshTransport().connect(target, options()), { instanceOf: OnionplayError });
  t.is(error?.code, 'missing_key');
  t.regex(error?.message ?? '', /web1 has no ssh_key/);
  t.deepEqual(await proxy.connects(), []);
});
