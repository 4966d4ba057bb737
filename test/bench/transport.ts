// Benchmark of the SSH transport's connect and run cost at Tor-like
// latency: a real sshd on loopback behind the latency-injecting SOCKS test
// server. Prints round trips (counted by the proxy and by the transport)
// and wall times. A benchmark, not a test.
//
//   node --import=tsx test/bench/transport.ts [--delay-ms 250] [--repeat 3]

import net from 'node:net';
import { parseArgs } from 'node:util';

import { createSshTransport, type SshTransportOptions } from '../../runner/transport/ssh.ts';
import { openTunnel, RoundTripMeter } from '../../runner/transport/socks.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { removeTempDir } from '../support/processes.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
import { makeConnectOptions, makeTarget } from '../support/transport-fixture.ts';

const { values } = parseArgs({
  options: {
    'delay-ms': { type: 'string', default: '250' },
    repeat: { type: 'string', default: '3' },
  },
});
const delayMs = Number(values['delay-ms']);
const repeat = Number(values.repeat);

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function measureAddedRoundTripMs(proxy: SocksServerControl): Promise<number> {
  const tunnel = await openTunnel({
    endpoint: { host: '127.0.0.1', port: proxy.port },
    destination: { host: 'echo.bench', port: 7 },
    credentials: { username: 'onionplay:echo:bench', password: 'onionplay' },
    hostLabel: 'echo',
    kind: 'pipelined',
    meter: new RoundTripMeter(),
  });
  try {
    await tunnel.established;
    const started = performance.now();
    tunnel.write('x');
    await new Promise((resolve) => tunnel.once('data', resolve));
    return performance.now() - started;
  } finally {
    tunnel.destroy();
  }
}

interface Variant {
  label: string;
  options: SshTransportOptions;
}

const variants: Variant[] = [
  { label: 'pipelined SOCKS + all shortcuts', options: {} },
  { label: 'pipelined SOCKS, stock ssh2 auth', options: { handshakeShortcuts: false } },
  { label: 'socks package + stock ssh2 auth', options: { socksClient: 'socks-package', handshakeShortcuts: false } },
];

async function main(): Promise<void> {
  let sshd: TestSshd | undefined;
  let proxy: SocksServerControl | undefined;
  const echo = net.createServer((socket) => socket.pipe(socket));
  const siteDirs: string[] = [];
  try {
    sshd = await startSshd();
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    proxy = await spawnSocksServer({
      delayMs,
      names: {
        'web1.test': { host: '127.0.0.1', port: sshd.port },
        'echo.bench': { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port },
      },
    });
    const addedMs = await measureAddedRoundTripMs(proxy);
    console.log(`one-way delay ${delayMs} ms; measured round trip through the proxy ${addedMs.toFixed(0)} ms; median of ${repeat} runs\n`);

    const connectOnce = async (options: SshTransportOptions): Promise<{ connection: Connection; wallMs: number; proxyRoundTrips: number; socksRoundTrips: number }> => {
      const connectOptions = makeConnectOptions();
      siteDirs.push(connectOptions.siteDir);
      const started = performance.now();
      const connection = await createSshTransport(options).connect(makeTarget('web1', proxy!.port, sshd!.clientKeyPath), connectOptions);
      const wallMs = performance.now() - started;
      const counts = (await proxy!.connections()).at(-1);
      return { connection, wallMs, proxyRoundTrips: counts?.roundTrips ?? NaN, socksRoundTrips: counts?.socksRoundTrips ?? NaN };
    };

    console.log('connect (SOCKS + SSH handshake + login + shell ready)');
    for (const variant of variants) {
      const walls: number[] = [];
      const counted: number[] = [];
      const reported: number[] = [];
      const socks: number[] = [];
      for (let index = 0; index < repeat; index += 1) {
        const { connection, wallMs, proxyRoundTrips, socksRoundTrips } = await connectOnce(variant.options);
        walls.push(wallMs);
        counted.push(proxyRoundTrips);
        socks.push(socksRoundTrips);
        reported.push(connection.stats.connectRoundTrips);
        await connection.close();
      }
      console.log(
        `  ${variant.label.padEnd(40)} ${median(counted)} round trips (${median(socks)} SOCKS, ${median(counted) - median(socks)} SSH; transport reports ${median(reported)}), ${median(walls).toFixed(0)} ms`,
      );
    }

    console.log('\nruns over an open connection');
    const { connection } = await connectOnce({});
    try {
      const measure = async (label: string, action: () => Promise<unknown>): Promise<void> => {
        const before = (await proxy!.connections()).at(-1)?.roundTrips ?? 0;
        const started = performance.now();
        await action();
        const wallMs = performance.now() - started;
        const after = (await proxy!.connections()).at(-1)?.roundTrips ?? 0;
        console.log(`  ${label.padEnd(40)} ${after - before} round trips, ${wallMs.toFixed(0)} ms`);
      };
      await measure('10 runs, each awaited', async () => {
        for (let index = 0; index < 10; index += 1) await connection.run(`echo ${index}`);
      });
      await measure('10 runs sent at once', () => Promise.all(Array.from({ length: 10 }, (_, index) => connection.run(`echo ${index}`))));
      await measure('1 script with 10 checks', () => connection.run(Array.from({ length: 10 }, (_, index) => `test -d / && echo ${index}`).join('\n')));
      console.log(`\nbytes on the socket of that connection: ${connection.stats.bytesUp} up, ${connection.stats.bytesDown} down`);
    } finally {
      await connection.close();
    }
  } finally {
    await proxy?.close();
    await sshd?.stop();
    await new Promise((resolve) => echo.close(resolve));
    for (const folder of siteDirs) removeTempDir(folder);
  }
}

await main();
