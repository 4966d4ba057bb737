// Records every DNS look-up and every outgoing TCP connection this process
// makes, by wrapping the `dns` and `net` functions in place. Tests use it
// to prove that connecting to a managed host looked nothing up and opened
// no connection except to the SOCKS proxy.

import dns from 'node:dns';
import net from 'node:net';

export interface DnsRecord {
  kind: 'dns';
  api: string;
  name: string;
}

export interface TcpRecord {
  kind: 'tcp';
  /** `net.connect`, `net.createConnection` or `Socket.prototype.connect`. */
  api: string;
  host: string;
  port: number;
}

export type GuardRecord = DnsRecord | TcpRecord;

export interface NetworkGuard {
  readonly records: GuardRecord[];
  dnsLookups(): DnsRecord[];
  tcpConnections(): TcpRecord[];
  uninstall(): void;
}

type AnyFunction = (...args: unknown[]) => unknown;

const DNS_FUNCTIONS = ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname', 'resolveMx', 'resolveNs', 'resolveTxt', 'resolveSrv', 'resolvePtr', 'resolveNaptr', 'resolveSoa', 'reverse'] as const;

function connectTarget(args: unknown[]): { host: string; port: number } {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    const options = first as { host?: string; port?: number | string; path?: string };
    if (options.path !== undefined) return { host: `unix:${options.path}`, port: 0 };
    return { host: options.host ?? 'localhost', port: Number(options.port) };
  }
  if (Array.isArray(first)) return connectTarget(first);
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { host: `unix:${first}`, port: 0 };
  return { host: typeof second === 'string' ? second : 'localhost', port: Number(first) };
}

let installed: NetworkGuard | undefined;

/** Start recording; only one guard may be installed at a time. */
export function installNetworkGuard(): NetworkGuard {
  if (installed) throw new Error('a network guard is already installed');
  const records: GuardRecord[] = [];
  const restores: Array<() => void> = [];

  const wrap = <T extends object>(owner: T, key: string, record: (args: unknown[]) => void): void => {
    const target = owner as Record<string, AnyFunction>;
    const original = target[key];
    if (typeof original !== 'function') return;
    target[key] = function guarded(this: unknown, ...args: unknown[]): unknown {
      record(args);
      return original.apply(this, args);
    };
    restores.push(() => {
      target[key] = original;
    });
  };

  for (const name of DNS_FUNCTIONS) {
    wrap(dns, name, (args) => records.push({ kind: 'dns', api: `dns.${name}`, name: String(args[0]) }));
    wrap(dns.promises, name, (args) => records.push({ kind: 'dns', api: `dns.promises.${name}`, name: String(args[0]) }));
  }

  // net.connect creates a Socket and calls its connect(): count that once.
  let insideNetConnect = 0;
  for (const name of ['connect', 'createConnection'] as const) {
    const original = net[name] as unknown as AnyFunction;
    (net as unknown as Record<string, AnyFunction>)[name] = function guarded(this: unknown, ...args: unknown[]): unknown {
      records.push({ kind: 'tcp', api: `net.${name}`, ...connectTarget(args) });
      insideNetConnect += 1;
      try {
        return original.apply(this, args);
      } finally {
        insideNetConnect -= 1;
      }
    };
    restores.push(() => {
      (net as unknown as Record<string, AnyFunction>)[name] = original;
    });
  }
  wrap(net.Socket.prototype, 'connect', (args) => {
    if (insideNetConnect === 0) records.push({ kind: 'tcp', api: 'Socket.prototype.connect', ...connectTarget(args) });
  });

  const guard: NetworkGuard = {
    records,
    dnsLookups: () => records.filter((record): record is DnsRecord => record.kind === 'dns'),
    tcpConnections: () => records.filter((record): record is TcpRecord => record.kind === 'tcp'),
    uninstall: () => {
      for (const restore of restores.reverse()) restore();
      installed = undefined;
    },
  };
  installed = guard;
  return guard;
}
