// The SOCKS5 clients against the SOCKS test server and against a real tor
// SocksPort that cannot reach any Tor network.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import test from 'ava';

import {
  encodePipelinedRequest,
  encodeSocksAddress,
  openTunnel,
  RoundTripMeter,
  SOCKS_REPLY_CODES,
  SocksError,
  socksReplyError,
  type SocksClientKind,
} from '../../runner/transport/socks.ts';
import { makeTempDir, removeTempDir, stopChild, trackChild } from '../support/processes.ts';
import { startSocksServer, type SocksTestServer } from '../support/socks-server.ts';
import { freePort } from '../support/sshd.ts';
import { randomOnionAddress } from '../support/transport-fixture.ts';

let proxy: SocksTestServer;
let echo: net.Server;
let echoPort: number;

test.before(async () => {
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as net.AddressInfo).port;
  proxy = await startSocksServer({ names: { 'echo.test': { host: '127.0.0.1', port: echoPort } } });
});

test.after.always(async () => {
  await proxy?.close();
  await new Promise((resolve) => echo?.close(resolve));
});

async function tunnelTo(port: number, kind: SocksClientKind, host = 'echo.test', meter = new RoundTripMeter()): ReturnType<typeof openTunnel> {
  const tunnel = await openTunnel({
    endpoint: { host: '127.0.0.1', port },
    destination: { host, port: 7 },
    credentials: { username: 'onionplay:test:1', password: 'onionplay' },
    hostLabel: 'test1 (echo.test:7)',
    kind,
    meter,
  });
  // Failures are checked through `established`.
  tunnel.on('error', () => undefined);
  return tunnel;
}

async function echoThrough(port: number, kind: SocksClientKind, host = 'echo.test'): Promise<string> {
  const tunnel = await tunnelTo(port, kind, host);
  tunnel.write('ping');
  const reply = await new Promise<string>((resolve, reject) => {
    tunnel.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    tunnel.once('error', reject);
  });
  await tunnel.established;
  tunnel.destroy();
  return reply;
}

test('address encoding uses domain names for names', (t) => {
  t.deepEqual([...encodeSocksAddress('127.0.0.1')], [0x01, 127, 0, 0, 1]);
  t.deepEqual([...encodeSocksAddress('::1')], [0x04, ...new Array(15).fill(0), 1]);
  const onion = randomOnionAddress();
  const encoded = encodeSocksAddress(onion);
  t.is(encoded[0], 0x03);
  t.is(encoded[1], onion.length);
  t.is(encoded.subarray(2).toString(), onion);
  t.throws(() => encodeSocksAddress('x'.repeat(256)));
});

test('pipelined request is one greeting, auth and CONNECT', (t) => {
  const request = encodePipelinedRequest({ host: 'a.test', port: 22 }, { username: 'u', password: 'pw' });
  t.deepEqual([...request], [0x05, 0x01, 0x02, 0x01, 1, 0x75, 2, 0x70, 0x77, 0x05, 0x01, 0x00, 0x03, 6, ...Buffer.from('a.test'), 0, 22]);
});

for (const kind of ['pipelined', 'socks-package'] as const) {
  test.serial(`${kind} client relays data`, async (t) => {
    t.is(await echoThrough(proxy.port, kind), 'ping');
    const record = (await proxy.connects()).at(-1);
    t.is(record?.atyp, 3);
    t.is(record?.host, 'echo.test');
    t.is(record?.username, 'onionplay:test:1');
    t.is(record?.pipelined, kind === 'pipelined');
  });
}

test.serial('pipelined client accepts a missing method reply', async (t) => {
  await proxy.configure({ omitPipelinedMethodReply: true });
  t.teardown(() => proxy.configure({ omitPipelinedMethodReply: false }));
  t.is(await echoThrough(proxy.port, 'pipelined'), 'ping');
});

test.serial('every reply code maps to words', async (t) => {
  t.teardown(() => proxy.configure({ replyCode: 0 }));
  for (const [code, info] of SOCKS_REPLY_CODES) {
    await proxy.configure({ replyCode: code });
    for (const kind of ['pipelined', 'socks-package'] as const) {
      // The socks package reports only the RFC 1928 codes by name.
      if (kind === 'socks-package' && code >= 0xf0) continue;
      const error = await t.throwsAsync(async () => {
        const tunnel = await tunnelTo(proxy.port, kind);
        t.teardown(() => tunnel.destroy());
        await tunnel.established;
      });
      const label = `code 0x${code.toString(16)} with ${kind}`;
      t.true(error instanceof SocksError, label);
      const socksError = error as SocksError;
      t.is(socksError.code, 'socks', label);
      t.is(socksError.replyCode, code, label);
      t.is(socksError.transient, info.transient, label);
      t.true(socksError.message.includes('test1 (echo.test:7)'), label);
      t.true(socksError.message.includes(info.text), label);
      t.is(socksError.details.fix, info.fix, label);
    }
  }
});

test('transient codes are the ones Tor may recover from', (t) => {
  const transient = [...SOCKS_REPLY_CODES].filter(([, info]) => info.transient).map(([code]) => code);
  t.deepEqual(transient, [0x01, 0x06, 0xf0, 0xf2, 0xf3, 0xf7]);
  t.false(socksReplyError(0x42, 'x').transient);
  t.regex(socksReplyError(0x42, 'x').message, /unknown reply code 0x42/);
});

test.serial('proxy refusing the connection is transient', async (t) => {
  const port = await freePort();
  const error = await t.throwsAsync(async () => {
    const tunnel = await tunnelTo(port, 'pipelined');
    await tunnel.established;
  });
  t.true(error instanceof SocksError);
  t.true((error as SocksError).transient);
  t.regex(error?.message ?? '', /refused the connection/);
});

test.serial('proxy closing before replying is transient', async (t) => {
  await proxy.configure({ failFirst: { count: 1, with: 'close' } });
  const error = await t.throwsAsync(async () => {
    const tunnel = await tunnelTo(proxy.port, 'pipelined');
    await tunnel.established;
  });
  t.true(error instanceof SocksError);
  t.true((error as SocksError).transient);
});

test.serial('proxy drops a stream after N bytes', async (t) => {
  await proxy.configure({ dropAfterBytes: 8 });
  t.teardown(() => proxy.configure({ dropAfterBytes: undefined }));
  const tunnel = await tunnelTo(proxy.port, 'pipelined');
  await tunnel.established;
  const closed = new Promise<void>((resolve) => tunnel.once('close', () => resolve()));
  tunnel.write('0123456789');
  await closed;
  t.true(tunnel.destroyed);
});

test.serial('proxy connects onward only to loopback', async (t) => {
  const error = await t.throwsAsync(async () => {
    const tunnel = await tunnelTo(proxy.port, 'pipelined', '192.0.2.1');
    await tunnel.established;
  });
  t.is((error as SocksError).replyCode, 0x02);
  const unknownName = await t.throwsAsync(async () => {
    const tunnel = await tunnelTo(proxy.port, 'pipelined', 'unknown.test');
    await tunnel.established;
  });
  t.is((unknownName as SocksError).replyCode, 0x04);
});

test.serial('meter counts one round trip for a pipelined SOCKS exchange', async (t) => {
  const delayed = await startSocksServer({ delayMs: 100, names: { 'echo.test': { host: '127.0.0.1', port: echoPort } } });
  t.teardown(() => delayed.close());
  for (const [kind, expected] of [
    ['pipelined', 1],
    ['socks-package', 3],
  ] as const) {
    const meter = new RoundTripMeter();
    const tunnel = await tunnelTo(delayed.port, kind, 'echo.test', meter);
    await tunnel.established;
    t.is(meter.roundTrips, expected, `${kind} client`);
    tunnel.destroy();
    const counts = (await delayed.connections()).at(-1);
    t.is(counts?.roundTrips, expected, `${kind} client, counted by the proxy`);
  }
});

/** Start a tor client without any reachable network on a loopback SocksPort; undefined when tor is not installed. */
async function startOfflineTor(folder: string): Promise<{ port: number; stop: () => Promise<void> } | undefined> {
  if (!fs.existsSync('/usr/bin/tor')) return undefined;
  const port = await freePort();

  const dataDir = path.join(folder, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const torrc = path.join(folder, 'torrc');
  fs.writeFileSync(
    torrc,
    [
      `DataDirectory ${dataDir}`,
      `SocksPort 127.0.0.1:${port} ExtendedErrors IsolateSOCKSAuth`,
      // The only directory authority is a closed loopback port, so this tor
      // never reaches the public Tor network. DisableNetwork would also
      // close its SocksPort.
      'DirAuthority offline orport=9 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:9 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000',
      'UseDefaultFallbackDirs 0',
      'SocksTimeout 5',
      // tor exits on its own once this test process is gone, even after SIGKILL.
      `__OwningControllerProcess ${process.pid}`,
      'RunAsDaemon 0',
      'ControlPort 0',
      'ShutdownWaitLength 0',
      'Log notice stdout',
      '',
    ].join('\n'),
  );

  const child = trackChild(spawn('/usr/bin/tor', ['-f', torrc], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = (): Promise<void> => stopChild(child);

  // tor 0.4.9 logs no "Opened Socks listener" line here, so wait for the port itself.
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) throw new Error(`tor exited with ${child.exitCode}: ${output}`);
    if (await portAccepts(port)) return { port, stop };
    if (waited > 15_000) {
      await stop();
      throw new Error(`tor did not open its SocksPort within 15 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test.serial('real tor answers a pipelined request', async (t) => {
  t.timeout(60_000);
  const folder = makeTempDir('tor');
  t.teardown(() => removeTempDir(folder));
  const tor = await startOfflineTor(folder);
  if (!tor) {
    t.pass('tor is not installed');
    return;
  }
  t.teardown(() => tor.stop());
  const attempt = async (host: string, kind: SocksClientKind): Promise<SocksError> => {
    const error = await (async () => {
      const tunnel = await tunnelTo(tor.port, kind, host);
      t.teardown(() => tunnel.destroy());
      // Data behind the request, as the SSH identification goes out.
      tunnel.write('SSH-2.0-onionplay-test\r\n');
      await tunnel.established;
    })().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    t.true(error instanceof SocksError, `${host} with ${kind}`);
    return error as SocksError;
  };
  const bad = await attempt('aaaa.onion', 'pipelined');
  t.is(bad.replyCode, 0xf6);
  t.false(bad.transient);
  // Without a consensus tor cannot fetch the descriptor and gives up after SocksTimeout.
  const unknown = await attempt(randomOnionAddress(), 'pipelined');
  t.is(unknown.replyCode, 0x06);
  t.true(unknown.transient);
  const viaPackage = await attempt('aaaa.onion', 'socks-package');
  t.regex(viaPackage.message, /cannot connect to test1/);
});
