// Loaded into every test worker (ava's nodeArguments): records each DNS
// look-up and each TCP connection to a non-loopback address that
// onionplay's own code (runner/) makes, in any test. The engine reaches
// managed hosts only through a SOCKS proxy on loopback, so any such record
// is a leak: the worker then prints it and exits non-zero, failing the run.
// Connections that test harnesses make (the lab waiting for a host's
// sshd, say) are not engine code and are not recorded.

import dns from 'node:dns';
import { writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const ENGINE_FRAME = /[/\\]runner[/\\]/;
const REPORT_DIR = process.env.ONIONPLAY_GUARD_DIR ?? '/tmp/onionplay-suite-guard';

interface Leak {
  kind: 'dns' | 'tcp';
  target: string;
  stack: string;
}

const leaks: Leak[] = [];

/** Leaks recorded so far in this worker. */
export function recordedLeaks(): readonly Leak[] {
  return leaks;
}

/** Whether a stack (as `new Error().stack` prints it, two frames of the guard first) passes through onionplay's code. */
export function fromEngine(stack: string): boolean {
  return stack
    .split('\n')
    .slice(2)
    .some((frame) => ENGINE_FRAME.test(frame) && !frame.includes('node_modules'));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host.startsWith('unix:');
}

function record(kind: Leak['kind'], target: string): void {
  const stack = new Error().stack ?? '';
  if (fromEngine(stack)) leaks.push({ kind, target, stack: stack.split('\n').slice(2, 12).join('\n') });
}

type AnyFunction = (...args: unknown[]) => unknown;

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny'] as const) {
  for (const owner of [dns, dns.promises] as unknown as Array<Record<string, AnyFunction>>) {
    const original = owner[name];
    if (typeof original !== 'function') continue;
    owner[name] = function guardedLookup(this: unknown, ...args: unknown[]): unknown {
      const host = String(args[0]);
      if (net.isIP(host) === 0 && host !== 'localhost') record('dns', host);
      return original.apply(this, args);
    };
  }
}

const originalConnect = net.Socket.prototype.connect as unknown as AnyFunction;
(net.Socket.prototype as unknown as Record<string, AnyFunction>).connect = function guardedConnect(this: unknown, ...args: unknown[]): unknown {
  const [first, second] = args;
  let host = 'localhost';
  if (Array.isArray(first)) {
    const options = first[0] as { host?: string; path?: string } | undefined;
    host = options?.path ? `unix:${options.path}` : (options?.host ?? 'localhost');
  } else if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    host = options.path ? `unix:${options.path}` : (options.host ?? 'localhost');
  } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
    host = `unix:${first}`;
  } else if (typeof second === 'string') {
    host = second;
  }
  if (!isLoopback(host)) record('tcp', host);
  return originalConnect.apply(this, args);
};
syncBuiltinESMExports();

process.on('exit', () => {
  if (leaks.length === 0) return;
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(`${REPORT_DIR}/${process.pid}.json`, JSON.stringify(leaks, null, 2));
  process.stderr.write(`\nonionplay made ${leaks.length} DNS look-up(s) or non-loopback connection(s) in this test worker:\n`);
  for (const leak of leaks) process.stderr.write(`  ${leak.kind} ${leak.target}\n${leak.stack}\n`);
  process.exitCode = 1;
});
