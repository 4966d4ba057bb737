// Shared pieces of the transport tests: a site folder, a target for a
// test sshd behind a test SOCKS proxy, and a log that keeps every line.

import { generateKeyPairSync } from 'node:crypto';

import { onionAddressFromPublicKey } from '../../runner/inventory/onion.ts';
import type { ConnectOptions, HostTarget } from '../../runner/transport/types.ts';
import { makeTempDir } from './processes.ts';

export interface LogLine {
  level: 1 | 2 | 3;
  message: string;
}

/** Create a fresh site folder and connect options that record log lines. */
export function makeConnectOptions(overrides: Partial<ConnectOptions> = {}): ConnectOptions & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    allowDirect: false,
    trustNewHosts: true,
    siteDir: makeTempDir('site'),
    log: (level, message) => lines.push({ level, message }),
    ...overrides,
    lines,
  };
}

/** Build a target reached by `address` through the SOCKS proxy on `socksPort`. */
export function makeTarget(name: string, socksPort: number, sshKey: string, overrides: Partial<HostTarget> = {}): HostTarget {
  return {
    name,
    address: `${name}.test`,
    port: 22,
    user: 'root',
    sshKey,
    direct: false,
    socks: { host: '127.0.0.1', port: socksPort },
    connectTimeoutMs: 20_000,
    commandTimeoutMs: 0,
    ...overrides,
  };
}

/** Generate a valid v3 onion address (of a real ed25519 point, which tor checks). */
export function randomOnionAddress(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return onionAddressFromPublicKey(Buffer.from(der.subarray(der.length - 32)));
}
