// A SOCKS5 server for tests and benchmarks (RFC 1928 CONNECT with the
// RFC 1929 username/password method). It records every CONNECT, counts
// the round trips and bytes it relays per connection, and can inject
// faults: a one-way delay on every chunk in both directions, a fixed
// reply code, failing the first N connections, dropping or stalling
// streams. It connects onward only to 127.0.0.0/8; a name is accepted only
// if `names` maps it to such an address, and is never looked up in DNS.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

import { stopChild, trackChild } from './processes.ts';

export interface SocksServerOptions {
  /** Delay added to every chunk in each direction, in ms; 250 gives 500 ms of round trip. */
  delayMs?: number;
  /** Reply to every CONNECT with this code instead of connecting (0 connects). */
  replyCode?: number;
  /** Fail this many connections first: `close` ends the TCP connection at once, a number is a reply code. */
  failFirst?: { count: number; with: 'close' | number };
  /** Close a relayed stream once this many bytes went through it after the CONNECT (both directions). */
  dropAfterBytes?: number;
  /**
   * Reply to a greeting that arrives together with the RFC 1929 request the
   * way tor 0.4.9.11 does: with the RFC 1929 reply alone, no method reply.
   */
  omitPipelinedMethodReply?: boolean;
  /**
   * Also accept a client that offers only method 0x00 (no authentication),
   * as OpenBSD netcat's `nc -X 5` does. Method 0x02 is still chosen when
   * it is offered.
   */
  allowNoAuth?: boolean;
  /** Map of domain names (as sent with ATYP 3) to loopback targets. */
  names?: Record<string, { host: string; port: number }>;
}

export interface ConnectRecord {
  connection: number;
  /** 1 IPv4, 3 domain name, 4 IPv6. */
  atyp: number;
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  /** Methods offered in the greeting. */
  methods: number[];
  /** The reply code sent. */
  reply: number;
  /** Whether the greeting, auth and CONNECT arrived before the proxy sent its first reply. */
  pipelined: boolean;
}

export interface ConnectionCounts {
  connection: number;
  /** Length of the longest chain of request and reply through this connection, in round trips. */
  roundTrips: number;
  /** Round trips up to and including the CONNECT reply: the SOCKS exchange alone (0 before the reply). */
  socksRoundTrips: number;
  bytesFromClient: number;
  bytesToClient: number;
  open: boolean;
}

/** The control surface shared by the in-process server and the child-process one. */
export interface SocksServerControl {
  readonly port: number;
  configure(options: SocksServerOptions): Promise<void>;
  connects(): Promise<ConnectRecord[]>;
  connections(): Promise<ConnectionCounts[]>;
  /** Forget recorded connects and counts (open streams keep running). */
  reset(): Promise<void>;
  /** Destroy every open stream at once. */
  dropAll(): Promise<void>;
  /** Stop relaying on every open stream without closing it, as a dead circuit does. */
  stallAll(): Promise<void>;
  close(): Promise<void>;
}

/** Length of DST.ADDR, including the length byte of a domain name. */
function requestAddressLength(atyp: number, firstByte: number | undefined): number | undefined {
  if (atyp === 0x01) return 4;
  if (atyp === 0x04) return 16;
  if (atyp === 0x03) return 1 + (firstByte ?? 0);
  return undefined;
}

function decodeRequestAddress(atyp: number, raw: Buffer): string {
  if (atyp === 0x01) return [...raw].join('.');
  if (atyp === 0x03) return raw.subarray(1).toString('utf8');
  const groups: string[] = [];
  for (let index = 0; index < 8; index += 1) groups.push(raw.readUInt16BE(index * 2).toString(16));
  return groups.join(':');
}

function isLoopbackV4(host: string): boolean {
  return net.isIPv4(host) && host.startsWith('127.');
}

interface Relay {
  counts: ConnectionCounts;
  client: net.Socket;
  upstream: net.Socket | undefined;
  stalled: boolean;
}

export class SocksTestServer implements SocksServerControl {
  private options: SocksServerOptions;
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly records: ConnectRecord[] = [];
  private readonly relays = new Map<number, Relay>();
  private nextConnection = 1;
  private failuresLeft = 0;
  port = 0;

  constructor(options: SocksServerOptions = {}) {
    this.options = { ...options };
    this.failuresLeft = options.failFirst?.count ?? 0;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    return this;
  }

  async configure(options: SocksServerOptions): Promise<void> {
    this.options = { ...this.options, ...options };
    if (options.failFirst !== undefined) this.failuresLeft = options.failFirst.count;
  }

  async connects(): Promise<ConnectRecord[]> {
    return this.records.map((record) => ({ ...record }));
  }

  async connections(): Promise<ConnectionCounts[]> {
    return [...this.relays.values()].map((relay) => ({ ...relay.counts }));
  }

  async reset(): Promise<void> {
    this.records.length = 0;
    for (const [id, relay] of this.relays) if (!relay.counts.open) this.relays.delete(id);
    for (const relay of this.relays.values()) {
      relay.counts.roundTrips = 0;
      relay.counts.socksRoundTrips = 0;
      relay.counts.bytesFromClient = 0;
      relay.counts.bytesToClient = 0;
    }
  }

  async dropAll(): Promise<void> {
    for (const relay of this.relays.values()) {
      relay.client.destroy();
      relay.upstream?.destroy();
    }
  }

  async stallAll(): Promise<void> {
    for (const relay of this.relays.values()) relay.stalled = true;
  }

  async close(): Promise<void> {
    await this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Run `action` after the configured one-way delay, keeping the order of chunks. */
  private later(action: () => void): void {
    const delay = this.options.delayMs ?? 0;
    if (delay <= 0) action();
    else setTimeout(action, delay);
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    const connection = this.nextConnection++;
    if (this.options.failFirst?.with === 'close' && this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      client.destroy();
      return;
    }
    const relay: Relay = {
      counts: { connection, roundTrips: 0, socksRoundTrips: 0, bytesFromClient: 0, bytesToClient: 0, open: true },
      client,
      upstream: undefined,
      stalled: false,
    };
    this.relays.set(connection, relay);
    // Causal depth: a chunk from the client is one hop deeper than the
    // deepest chunk the client had received when it arrived. A chunk
    // towards the client is one hop deeper than the deepest client chunk
    // that its sender (this proxy's SOCKS code, or the upstream server)
    // had received. Client hops are odd and server hops even, so the longest
    // chain of replies is maxDepth / 2 round trips, however the data is
    // split into chunks and whatever crosses on the way.
    let depthAtClient = 0;
    let depthUpstream = 0;
    let bufferDepth = 0;
    const toClient = (data: Buffer, depth: number): void => {
      this.later(() => {
        if (relay.stalled || client.destroyed) return;
        depthAtClient = Math.max(depthAtClient, depth);
        relay.counts.roundTrips = Math.max(relay.counts.roundTrips, Math.floor(depth / 2));
        relay.counts.bytesToClient += data.length;
        client.write(data);
      });
    };
    const writeUpstream = (): void => {
      if (buffer.length === 0) return;
      countRelayed(buffer.length);
      depthUpstream = Math.max(depthUpstream, bufferDepth);
      relay.upstream?.write(buffer);
      buffer = Buffer.alloc(0);
    };

    let phase: 'greeting' | 'auth' | 'request' | 'connecting' | 'relay' = 'greeting';
    let buffer: Buffer = Buffer.alloc(0);
    let methods: number[] = [];
    let username: string | undefined;
    let password: string | undefined;
    let pipelined = false;
    let relayedBytes = 0;

    const countRelayed = (length: number): void => {
      relayedBytes += length;
      const limit = this.options.dropAfterBytes;
      if (limit !== undefined && relayedBytes >= limit) {
        client.destroy();
        relay.upstream?.destroy();
      }
    };

    const reply = (code: number): void => {
      relay.counts.socksRoundTrips = Math.floor((bufferDepth + 1) / 2);
      toClient(Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), bufferDepth + 1);
    };

    const handle = (): void => {
      for (;;) {
        if (phase === 'greeting') {
          if (buffer.length < 2) return;
          const count = buffer[1] ?? 0;
          if (buffer[0] !== 0x05) return void client.destroy();
          if (buffer.length < 2 + count) return;
          methods = [...buffer.subarray(2, 2 + count)];
          buffer = buffer.subarray(2 + count);
          pipelined = buffer.length > 0;
          if (!methods.includes(0x02) && this.options.allowNoAuth && methods.includes(0x00)) {
            toClient(Buffer.from([0x05, 0x00]), bufferDepth + 1);
            phase = 'request';
            continue;
          }
          if (!methods.includes(0x02)) {
            toClient(Buffer.from([0x05, 0xff]), bufferDepth + 1);
            this.later(() => client.end());
            return;
          }
          if (!(pipelined && this.options.omitPipelinedMethodReply)) toClient(Buffer.from([0x05, 0x02]), bufferDepth + 1);
          phase = 'auth';
        } else if (phase === 'auth') {
          if (buffer.length < 2) return;
          const userLength = buffer[1] ?? 0;
          if (buffer.length < 3 + userLength) return;
          const passwordLength = buffer[2 + userLength] ?? 0;
          if (buffer.length < 3 + userLength + passwordLength) return;
          username = buffer.subarray(2, 2 + userLength).toString('utf8');
          password = buffer.subarray(3 + userLength, 3 + userLength + passwordLength).toString('utf8');
          buffer = buffer.subarray(3 + userLength + passwordLength);
          pipelined &&= buffer.length > 0;
          toClient(Buffer.from([0x01, 0x00]), bufferDepth + 1);
          phase = 'request';
        } else if (phase === 'request') {
          if (buffer.length < 5) return;
          const atyp = buffer[3] ?? 0;
          const addressLength = requestAddressLength(atyp, buffer[4]);
          if (addressLength === undefined) {
            reply(0x08);
            this.later(() => client.end());
            return;
          }
          if (buffer.length < 4 + addressLength + 2) return;
          const raw = buffer.subarray(4, 4 + addressLength);
          const host = decodeRequestAddress(atyp, raw);
          const port = buffer.readUInt16BE(4 + addressLength);
          buffer = buffer.subarray(4 + addressLength + 2);
          phase = 'connecting';
          this.connect(relay, { connection, atyp, host, port, username, password, methods, reply: 0, pipelined }, reply, () => {
            phase = 'relay';
            writeUpstream();
          }, (data) => {
            countRelayed(data.length);
            toClient(data, depthUpstream + 1);
          });
          return;
        } else if (phase === 'relay') {
          writeUpstream();
          return;
        } else {
          return;
        }
      }
    };

    client.on('data', (chunk: Buffer) => {
      relay.counts.bytesFromClient += chunk.length;
      const depth = depthAtClient + 1;
      this.later(() => {
        if (relay.stalled) return;
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        bufferDepth = Math.max(bufferDepth, depth);
        handle();
      });
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      relay.counts.open = false;
      relay.upstream?.destroy();
    });
  }

  private connect(
    relay: Relay,
    record: ConnectRecord,
    reply: (code: number) => void,
    onOpen: () => void,
    onUpstreamData: (data: Buffer) => void,
  ): void {
    const finish = (code: number): void => {
      record.reply = code;
      this.records.push(record);
      reply(code);
      if (code !== 0) this.later(() => relay.client.end());
    };
    const failWith = this.options.failFirst?.with;
    if (typeof failWith === 'number' && this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      return finish(failWith);
    }
    if (this.options.replyCode !== undefined && this.options.replyCode !== 0) return finish(this.options.replyCode);

    const mapped = record.atyp === 0x03 ? this.options.names?.[record.host] : undefined;
    const target = mapped ?? (isLoopbackV4(record.host) ? { host: record.host, port: record.port } : undefined);
    if (target === undefined) return finish(record.atyp === 0x03 ? 0x04 : 0x02);
    if (!isLoopbackV4(target.host)) return finish(0x02);

    const upstream = net.connect({ host: target.host, port: target.port });
    relay.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.once('connect', () => {
      finish(0x00);
      onOpen();
    });
    upstream.on('data', (data: Buffer) => {
      if (!relay.stalled) onUpstreamData(data);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.records.includes(record)) finish(error.code === 'ECONNREFUSED' ? 0x05 : 0x01);
    });
    upstream.on('close', () => {
      this.later(() => relay.client.end());
    });
  }
}

/** Start an in-process server. Its onward connections happen in this process. */
export async function startSocksServer(options: SocksServerOptions = {}): Promise<SocksTestServer> {
  return new SocksTestServer(options).listen();
}

type Request = { id: number; method: keyof SocksServerControl; argument?: SocksServerOptions };
type Response = { id: number; result?: unknown; error?: string };

/**
 * Start the server in a child process, so its onward connections do not
 * show up in this process's network guard and its delays run on their
 * own event loop. The child ends when `close()` is called or this
 * process exits.
 */
export async function spawnSocksServer(options: SocksServerOptions = {}): Promise<SocksServerControl> {
  const script = fileURLToPath(new URL('./socks-server-child.ts', import.meta.url));
  const child: ChildProcess = trackChild(fork(script, [JSON.stringify(options)], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the SOCKS test server exited with ${code} before listening`)));
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message) => {
    const response = message as Response;
    const entry = waiting.get(response.id);
    if (!entry) return;
    waiting.delete(response.id);
    if (response.error !== undefined) entry.reject(new Error(response.error));
    else entry.resolve(response.result);
  });
  child.on('exit', () => {
    for (const entry of waiting.values()) entry.reject(new Error('the SOCKS test server exited'));
    waiting.clear();
  });
  const call = <T>(method: Request['method'], argument?: SocksServerOptions): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, method, argument } satisfies Request);
    });
  return {
    port,
    configure: (argument) => call('configure', argument),
    connects: () => call('connects'),
    connections: () => call('connections'),
    reset: () => call('reset'),
    dropAll: () => call('dropAll'),
    stallAll: () => call('stallAll'),
    close: async () => {
      await call('close').catch(() => undefined);
      await stopChild(child);
    },
  };
}
