// Round trips of one connection up to the first output of a remote
// command, for four ways of connecting with ssh2 through the proxy. The
// first uses the `socks` package and stock ssh2, the second the pipelined
// SOCKS request. The third adds the transport's handshake shortcuts, and the
// fourth also opens the exec channel right behind the signed public key
// request, as onionplay's SSH transport now does.

import fs from 'node:fs';

import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, PublicKeyAuthMethod } from 'ssh2';

import { execBehindAuth } from '../../runner/transport/ssh-early-channel.ts';
import { applyHandshakeShortcuts } from '../../runner/transport/ssh-handshake.ts';
import { openTunnel, RoundTripMeter, type SocksClientKind } from '../../runner/transport/socks.ts';
import type { SocksServerControl } from '../support/socks-server.ts';
import { median } from './report.ts';
import type { BenchHost } from './tools.ts';

export const HANDSHAKE_VARIANTS = ['socks-package, stock ssh2', 'pipelined SOCKS, stock ssh2', 'pipelined SOCKS, handshake shortcuts', 'shortcuts, channel opened behind the login'] as const;
type Variant = (typeof HANDSHAKE_VARIANTS)[number];

export interface HandshakeSample {
  variant: Variant;
  wallMs: number;
  /** Proxy count up to the first output byte of the command. */
  roundTrips: number;
  socksRoundTrips: number;
}

const COMMAND = 'echo ready';

function settings(variant: Variant): { socks: SocksClientKind; shortcuts: boolean; early: boolean } {
  switch (variant) {
    case 'socks-package, stock ssh2':
      return { socks: 'socks-package', shortcuts: false, early: false };
    case 'pipelined SOCKS, stock ssh2':
      return { socks: 'pipelined', shortcuts: false, early: false };
    case 'pipelined SOCKS, handshake shortcuts':
      return { socks: 'pipelined', shortcuts: true, early: false };
    case 'shortcuts, channel opened behind the login':
      return { socks: 'pipelined', shortcuts: true, early: true };
  }
}

async function connectOnce(variant: Variant, host: BenchHost, proxy: SocksServerControl, timeoutMs: number): Promise<HandshakeSample> {
  const chosen = settings(variant);
  await proxy.reset();
  const started = performance.now();
  const tunnel = await openTunnel({
    endpoint: { host: '127.0.0.1', port: proxy.port },
    destination: { host: host.address, port: host.sshd.port },
    credentials: { username: `bench-${variant}`, password: 'bench' },
    hostLabel: host.name,
    kind: chosen.socks,
    meter: new RoundTripMeter(),
    connectTimeoutMs: timeoutMs,
  });
  const client = new ssh2.Client();
  const key = fs.readFileSync(host.sshd.clientKeyPath);
  const publicKeyAuth: PublicKeyAuthMethod = { type: 'publickey', username: 'root', key };
  // Stock ssh2 tries the "none" method first, as it does without an authHandler.
  const config: ConnectConfig = { sock: tunnel, username: 'root', privateKey: key, readyTimeout: timeoutMs, hostVerifier: () => true };
  if (chosen.shortcuts) config.authHandler = [publicKeyAuth];
  try {
    const firstOutput = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${variant}: timed out after ${timeoutMs} ms waiting for output from ${host.name}`)), timeoutMs);
      const onChannel = (channel: ClientChannel): void => {
        channel.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      };
      client.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      client.connect(config);
      if (chosen.shortcuts && !applyHandshakeShortcuts(client)) reject(new Error('ssh2 internals differ from version 1.17: no handshake shortcuts'));
      const early = chosen.early ? execBehindAuth(client, COMMAND) : undefined;
      if (chosen.early && early === undefined) reject(new Error('ssh2 internals differ from version 1.17: no early channel'));
      if (early) early.then(onChannel, reject);
      else client.once('ready', () => client.exec(COMMAND, (error, channel) => (error ? reject(error) : onChannel(channel))));
    });
    await firstOutput;
    const wallMs = performance.now() - started;
    // A connection of the previous sample may still be closing: take the newest.
    const counts = (await proxy.connections()).reduce<Awaited<ReturnType<SocksServerControl['connections']>>[number] | undefined>(
      (newest, item) => (newest === undefined || item.connection > newest.connection ? item : newest),
      undefined,
    );
    return { variant, wallMs, roundTrips: counts?.roundTrips ?? Number.NaN, socksRoundTrips: counts?.socksRoundTrips ?? Number.NaN };
  } finally {
    client.end();
    tunnel.destroy();
  }
}

export async function measureHandshakes(host: BenchHost, proxy: SocksServerControl, runs: number): Promise<HandshakeSample[]> {
  const samples: HandshakeSample[] = [];
  for (const variant of HANDSHAKE_VARIANTS) {
    for (let run = 0; run < runs; run += 1) samples.push(await connectOnce(variant, host, proxy, 60_000));
  }
  return samples;
}

export function handshakeTable(samples: HandshakeSample[], rttMs: number): string {
  const lines = [
    `Connect with ssh2 through the proxy at RTT ${rttMs} ms, up to the first output of \`${COMMAND}\` (median of the runs)`,
    '',
    '| variant | SOCKS round trips | round trips in all | wall ms |',
    '| --- | --- | --- | --- |',
  ];
  for (const variant of HANDSHAKE_VARIANTS) {
    const mine = samples.filter((sample) => sample.variant === variant);
    if (mine.length === 0) continue;
    lines.push(
      `| ${variant} | ${median(mine.map((sample) => sample.socksRoundTrips))} | ${median(mine.map((sample) => sample.roundTrips))} | ${median(mine.map((sample) => sample.wallMs)).toFixed(0)} (n=${mine.length}) |`,
    );
  }
  return lines.join('\n');
}

export interface ConcurrentConnects {
  hosts: number;
  /** Time until each connection had run `true`, in ms, sorted. */
  finishedMs: number[];
}

/**
 * Open one ssh2 connection to each sshd at once, straight to its loopback
 * port with no proxy, and run `true` on each. This is the cost of the
 * handshakes on this machine alone, without any added latency.
 */
export async function measureConcurrentConnects(hosts: BenchHost[], timeoutMs = 120_000): Promise<ConcurrentConnects> {
  const started = performance.now();
  const connectOne = (host: BenchHost): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const client = new ssh2.Client();
      const timer = setTimeout(() => {
        client.destroy();
        reject(new Error(`connecting to ${host.name} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      client.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      client.once('ready', () => {
        client.exec('true', (error, channel) => {
          if (error) {
            clearTimeout(timer);
            reject(error);
            return;
          }
          channel.resume();
          channel.once('close', () => {
            clearTimeout(timer);
            resolve(performance.now() - started);
            client.end();
          });
        });
      });
      client.connect({
        host: '127.0.0.1',
        port: host.sshd.port,
        username: 'root',
        privateKey: fs.readFileSync(host.sshd.clientKeyPath),
        hostVerifier: () => true,
        readyTimeout: timeoutMs,
      });
    });
  const finishedMs = (await Promise.all(hosts.map(connectOne))).sort((a, b) => a - b);
  return { hosts: hosts.length, finishedMs };
}

export function concurrentConnectsTable(rounds: ConcurrentConnects[]): string {
  const lines = [
    'ssh2 connections opened at once straight to the sshd instances (no proxy, no added latency), each running `true`',
    '',
    '| connections | first done ms | median ms | last done ms |',
    '| --- | --- | --- | --- |',
  ];
  for (const round of rounds) {
    const { finishedMs } = round;
    lines.push(`| ${round.hosts} | ${(finishedMs[0] ?? Number.NaN).toFixed(0)} | ${median(finishedMs).toFixed(0)} | ${(finishedMs[finishedMs.length - 1] ?? Number.NaN).toFixed(0)} |`);
  }
  return lines.join('\n');
}
