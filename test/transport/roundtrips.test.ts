// Round trips of connecting and running, counted by the SOCKS test server
// while it adds 250 ms each way, as Tor does. The asserts are on counted
// round trips, not on time.

import net from 'node:net';

import test from 'ava';

import { createSshTransport } from '../../runner/transport/ssh.ts';
import { openTunnel, RoundTripMeter } from '../../runner/transport/socks.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { removeTempDir } from '../support/processes.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
import { makeConnectOptions, makeTarget } from '../support/transport-fixture.ts';

const ONE_WAY_DELAY_MS = 250;

let sshd: TestSshd;
let proxy: SocksServerControl;
let echo: net.Server;
const siteDirs: string[] = [];

test.before(async () => {
  sshd = await startSshd();
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  proxy = await spawnSocksServer({
    delayMs: ONE_WAY_DELAY_MS,
    names: {
      'web1.test': { host: '127.0.0.1', port: sshd.port },
      'echo.test': { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port },
    },
  });
});

test.after.always(async () => {
  await proxy?.close();
  await sshd?.stop();
  await new Promise((resolve) => echo?.close(resolve));
  for (const folder of siteDirs) removeTempDir(folder);
});

async function proxyRoundTrips(): Promise<number> {
  const latest = (await proxy.connections()).at(-1);
  return latest?.roundTrips ?? 0;
}

async function connectFresh(options: Parameters<typeof createSshTransport>[0] = {}): Promise<Connection> {
  const connectOptions = makeConnectOptions();
  siteDirs.push(connectOptions.siteDir);
  return createSshTransport(options).connect(makeTarget('web1', proxy.port, sshd.clientKeyPath), connectOptions);
}

test.serial('proxy adds the configured round trip time', async (t) => {
  const tunnel = await openTunnel({
    endpoint: { host: '127.0.0.1', port: proxy.port },
    destination: { host: 'echo.test', port: 7 },
    credentials: { username: 'onionplay:echo:1', password: 'onionplay' },
    hostLabel: 'echo',
    kind: 'pipelined',
    meter: new RoundTripMeter(),
  });
  t.teardown(() => tunnel.destroy());
  await tunnel.established;
  const started = performance.now();
  tunnel.write('x');
  await new Promise((resolve) => tunnel.once('data', resolve));
  const roundTripMs = performance.now() - started;
  t.true(roundTripMs >= 2 * ONE_WAY_DELAY_MS - 5, `measured ${Math.round(roundTripMs)} ms`);
  t.true(roundTripMs < 2 * ONE_WAY_DELAY_MS + 200, `measured ${Math.round(roundTripMs)} ms`);
});

test.serial('connect costs 4 round trips', async (t) => {
  const connection = await connectFresh();
  t.teardown(() => connection.close());
  // 1 SOCKS with the SSH identification and KEXINIT behind it, 1 key
  // exchange, 1 NEWKEYS + service request + signed public key + channel
  // open, 1 exec request.
  t.is(await proxyRoundTrips(), 4);
  t.is(connection.stats.connectRoundTrips, 4);
  t.is(connection.stats.execRoundTrips, 0);
});

test.serial('stock ssh2 and socks package cost 10', async (t) => {
  const connection = await connectFresh({ socksClient: 'socks-package', handshakeShortcuts: false });
  t.teardown(() => connection.close());
  // 3 SOCKS, 1 identification exchange, 1 key exchange, 1 service
  // request, 1 public key query, 1 signed request, 1 channel, 1 exec.
  t.is(await proxyRoundTrips(), 10);
  t.is(connection.stats.connectRoundTrips, 10);
});

test.serial('each awaited run costs one round trip', async (t) => {
  const connection = await connectFresh();
  t.teardown(() => connection.close());
  const before = await proxyRoundTrips();
  for (let index = 0; index < 10; index += 1) {
    const result = await connection.run(`echo ${index}`);
    t.is(result.stdout.toString(), `${index}\n`);
  }
  t.is((await proxyRoundTrips()) - before, 10);
  t.is(connection.stats.execRoundTrips, 10);
});

test.serial('pipelined runs share one round trip', async (t) => {
  const connection = await connectFresh();
  t.teardown(() => connection.close());
  const before = await proxyRoundTrips();
  const results = await Promise.all(Array.from({ length: 10 }, (_, index) => connection.run(`echo ${index}`)));
  t.deepEqual(
    results.map((result) => result.stdout.toString()),
    Array.from({ length: 10 }, (_, index) => `${index}\n`),
  );
  t.is((await proxyRoundTrips()) - before, 1);
  t.is(connection.stats.execRoundTrips, 1);
});

test.serial('one batched script costs one round trip', async (t) => {
  const connection = await connectFresh();
  t.teardown(() => connection.close());
  const before = await proxyRoundTrips();
  const script = Array.from({ length: 10 }, (_, index) => `test -e /etc/hostname && echo check${index}`).join('\n');
  const result = await connection.run(script);
  t.is(result.stdout.toString().split('\n').filter(Boolean).length, 10);
  t.is((await proxyRoundTrips()) - before, 1);
  t.is(connection.stats.execRoundTrips, 1);
});
