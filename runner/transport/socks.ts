// SOCKS5 streams to the Tor SocksPort. The pipelined client sends the
// greeting, the username/password request (RFC 1929) and the CONNECT
// request (RFC 1928) in one write, without waiting for each reply. The
// caller's first bytes go right behind them, so the whole SOCKS exchange
// costs one round trip instead of three. tor 0.4.9.11
// parses the three messages from one buffer and replies to the CONNECT
// (checked against a tor without a reachable network: 0xF6 at once for a
// bad onion address, 0x06 after SocksTimeout for an unknown one). The
// `socks` package is the fallback. tor also forwards data written behind
// the request once the stream opens: an HTTP request sent that way to an
// onion service on a private network of tor 0.4.9.11 relays got its
// response, with one round trip counted.

import net from 'node:net';
import { Duplex } from 'node:stream';

import { SocksClient } from 'socks';

import { OnionplayError } from '../errors/index.ts';

export interface SocksEndpoint {
  host: string;
  port: number;
}

/** RFC 1929 credentials. Tor's IsolateSOCKSAuth gives each distinct pair its own circuit. */
export interface SocksCredentials {
  username: string;
  password: string;
}

/** `pipelined`: one write, one round trip. `socks-package`: the `socks` npm client, three round trips. */
export type SocksClientKind = 'pipelined' | 'socks-package';

interface ReplyCodeInfo {
  /** Description of the failure, shown as "<host>: <text>". */
  text: string;
  /** Whether a later attempt may succeed without any change. */
  transient: boolean;
  fix: string;
}

/**
 * SOCKS5 reply codes: 0x01-0x08 from RFC 1928, 0xF0-0xF7 from Tor's
 * `ExtendedErrors` SocksPort flag (tor's socks-extensions.txt). The notes
 * on what Tor means by the standard codes come from tor 0.4.9.
 */
export const SOCKS_REPLY_CODES: ReadonlyMap<number, ReplyCodeInfo> = new Map([
  [0x01, { text: 'the SOCKS proxy reported a general failure', transient: true, fix: 'check the Tor log; tor may still be starting' }],
  [0x02, { text: 'the SOCKS proxy does not allow this connection (SocksPolicy or exit policy)', transient: false, fix: "check tor's SocksPolicy and that an exit allows the port" }],
  [0x03, { text: 'the network is unreachable from the Tor exit', transient: false, fix: 'check the address, or give the host an onion address' }],
  [0x04, { text: 'the host is unreachable, or the Tor exit could not resolve its name', transient: false, fix: 'check the address spelling; Tor exits cannot reach private addresses' }],
  [0x05, { text: 'the connection was refused: nothing accepts connections on that port', transient: false, fix: 'check that sshd runs on the host and the port setting matches it' }],
  [0x06, { text: 'the connection timed out in Tor (TTL expired: no exit, or the circuit timed out)', transient: true, fix: 'check that tor is bootstrapped; for a clearnet address an exit must allow the port' }],
  [0x07, { text: 'the SOCKS proxy does not support the CONNECT command', transient: false, fix: 'point the socks setting at a Tor SocksPort' }],
  [0x08, { text: 'the SOCKS proxy does not support this address type', transient: false, fix: 'point the socks setting at a Tor SocksPort' }],
  [0xf0, { text: 'the onion service descriptor was not found: the service is not published yet or is offline', transient: true, fix: 'check that tor runs on the host; a new onion service can take a minute to publish' }],
  [0xf1, { text: 'the onion service descriptor is invalid', transient: false, fix: 'check the onion address; the service may need to republish' }],
  [0xf2, { text: 'the introduction to the onion service failed', transient: true, fix: 'check that tor runs on the host; a restarted service recovers within seconds' }],
  [0xf3, { text: 'the rendezvous with the onion service failed', transient: true, fix: 'retry; if it persists, check the Tor log on both sides' }],
  [0xf4, { text: 'the onion service requires client authorization and none is configured', transient: false, fix: "add this service's client key to tor's ClientOnionAuthDir" }],
  [0xf5, { text: 'the onion service rejected the client authorization', transient: false, fix: "replace the client key in tor's ClientOnionAuthDir" }],
  [0xf6, { text: 'the onion address is invalid', transient: false, fix: 'check the onion value: a v3 address is 56 base32 characters followed by .onion' }],
  [0xf7, { text: 'the introduction to the onion service timed out', transient: true, fix: 'check that tor runs on the host; retry later' }],
]);

/** A failed SOCKS exchange, or a failure to reach the SOCKS proxy. */
export class SocksError extends OnionplayError {
  /** The SOCKS5 reply code, when the proxy sent one. */
  readonly replyCode: number | undefined;
  readonly transient: boolean;

  constructor(message: string, options: { replyCode?: number; transient: boolean; fix: string; cause?: unknown }) {
    super('socks', message, { fix: options.fix, cause: options.cause });
    this.name = 'SocksError';
    this.replyCode = options.replyCode;
    this.transient = options.transient;
  }
}

function hex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Build the error for a non-zero SOCKS5 reply code; `hostLabel` names the host and its address. */
export function socksReplyError(code: number, hostLabel: string): SocksError {
  const info = SOCKS_REPLY_CODES.get(code);
  if (!info) {
    return new SocksError(`cannot connect to ${hostLabel}: the SOCKS proxy sent the unknown reply code ${hex(code)}`, {
      replyCode: code,
      transient: false,
      fix: 'point the socks setting at a Tor SocksPort',
    });
  }
  return new SocksError(`cannot connect to ${hostLabel}: ${info.text} (SOCKS reply ${hex(code)})`, {
    replyCode: code,
    transient: info.transient,
    fix: info.fix,
  });
}

/** Encode a destination as SOCKS5 ATYP + address. Names go out as domain names, never resolved here. */
export function encodeSocksAddress(host: string): Buffer {
  if (net.isIPv4(host)) {
    return Buffer.from([0x01, ...host.split('.').map(Number)]);
  }
  if (net.isIPv6(host)) {
    return Buffer.concat([Buffer.from([0x04]), ipv6Bytes(host)]);
  }
  const name = Buffer.from(host, 'utf8');
  if (name.length === 0 || name.length > 255) {
    throw new OnionplayError('invalid_value', `host name ${JSON.stringify(host)} cannot be sent to the SOCKS proxy`, {
      value: host,
      allowed: 'a name of 1 to 255 bytes, or an IP address',
    });
  }
  return Buffer.concat([Buffer.from([0x03, name.length]), name]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - headGroups.length - tailGroups.length).fill(0);
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

function credentialBytes(value: string, field: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length < 1 || bytes.length > 255) {
    throw new OnionplayError('internal', `SOCKS ${field} must be 1 to 255 bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** The greeting (only method 0x02 offered), the RFC 1929 request and the CONNECT request, back to back. */
export function encodePipelinedRequest(destination: SocksEndpoint, credentials: SocksCredentials): Buffer {
  const username = credentialBytes(credentials.username, 'username');
  const password = credentialBytes(credentials.password, 'password');
  const port = Buffer.alloc(2);
  port.writeUInt16BE(destination.port);
  return Buffer.concat([
    Buffer.from([0x05, 0x01, 0x02]),
    Buffer.from([0x01, username.length]),
    username,
    Buffer.from([password.length]),
    password,
    Buffer.from([0x05, 0x01, 0x00]),
    encodeSocksAddress(destination.host),
    port,
  ]);
}

/**
 * Counts bytes and round trips on one TCP socket. A round trip is counted
 * when data arrives while a write still waits for its reply, that is,
 * after at least one write since the previous counted arrival. A reply in
 * several chunks counts once. Data that arrives sooner after the oldest
 * waiting write than half the shortest round trip seen so far (3 ms before
 * any was seen) cannot be its reply, because it was already on its way, as
 * when sshd's KEXINIT crosses ssh2's. Such data does not count, and the
 * write keeps waiting. On loopback without added latency, real replies can
 * come within 3 ms and are missed, so counts there are lower bounds.
 */
export class RoundTripMeter {
  bytesUp = 0;
  bytesDown = 0;
  roundTrips = 0;
  /** Time of the oldest write still waiting for a reply, or undefined. */
  private unansweredSince: number | undefined;
  private shortestRoundTripMs = Infinity;

  constructor(
    private readonly onRoundTrip?: () => void,
    private readonly onBytes?: (up: number, down: number) => void,
  ) {}

  noteWrite(length: number): void {
    this.bytesUp += length;
    this.onBytes?.(length, 0);
    if (length > 0) this.unansweredSince ??= performance.now();
  }

  noteRead(length: number): void {
    this.bytesDown += length;
    this.onBytes?.(0, length);
    if (this.unansweredSince === undefined) return;
    const elapsed = performance.now() - this.unansweredSince;
    const minReplyMs = Number.isFinite(this.shortestRoundTripMs) ? Math.max(3, this.shortestRoundTripMs / 2) : 3;
    if (elapsed < minReplyMs) return;
    this.shortestRoundTripMs = Math.min(this.shortestRoundTripMs, elapsed);
    this.unansweredSince = undefined;
    this.roundTrips += 1;
    this.onRoundTrip?.();
  }
}

type TunnelPhase = 'method' | 'auth' | 'reply' | 'open';

/**
 * A Duplex over a TCP socket to a SOCKS proxy (or, for direct mode, to the
 * host). In the pipelined mode it strips the three SOCKS replies from the
 * start of the stream and fails with a SocksError if any is negative.
 * Whatever the caller writes meanwhile goes out right behind the request.
 * `established` settles once the CONNECT reply is in; a SOCKS failure
 * also destroys the stream with that error.
 */
export class SocksTunnel extends Duplex {
  readonly established: Promise<void>;
  /** The SOCKS failure, set before the stream emits 'error' or 'close'. */
  failure: SocksError | undefined;
  private phase: TunnelPhase;
  private pending: Buffer = Buffer.alloc(0);
  private resolveEstablished!: () => void;
  private rejectEstablished!: (error: Error) => void;
  private settled = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly meter: RoundTripMeter,
    private readonly hostLabel: string,
    options: { socksReplies: boolean },
  ) {
    super({ allowHalfOpen: false });
    this.phase = options.socksReplies ? 'method' : 'open';
    this.established = new Promise<void>((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    // The caller may never await `established` when the stream fails first.
    this.established.catch(() => undefined);
    if (this.phase === 'open') this.settle();

    socket.on('data', (chunk: Buffer) => {
      this.meter.noteRead(chunk.length);
      if (this.phase === 'open') {
        if (!this.push(chunk)) socket.pause();
        return;
      }
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.parseReplies();
    });
    socket.on('end', () => {
      if (this.phase !== 'open') {
        this.failSocks(
          new SocksError(`cannot connect to ${this.hostLabel}: the SOCKS proxy closed the connection before replying`, {
            transient: true,
            fix: 'check that the socks setting points at a Tor SocksPort and that tor is running',
          }),
        );
        return;
      }
      this.push(null);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.settled) {
        this.failSocks(proxySocketError(error, this.hostLabel));
        return;
      }
      this.destroy(error);
    });
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /** Write the SOCKS request; only in the pipelined mode, before anything else. */
  writeRequest(request: Buffer): void {
    this.meter.noteWrite(request.length);
    this.socket.write(request);
  }

  setNoDelay(noDelay = true): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.meter.noteWrite(chunk.length);
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settled) {
      this.settled = true;
      this.rejectEstablished(
        error ??
          new SocksError(`connection to ${this.hostLabel} closed before the SOCKS proxy replied`, {
            transient: true,
            fix: 'retry',
          }),
      );
    }
    this.socket.destroy();
    callback(error);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveEstablished();
  }

  private failSocks(error: SocksError): void {
    this.failure ??= error;
    if (!this.settled) {
      this.settled = true;
      this.rejectEstablished(error);
    }
    this.destroy(error);
  }

  private parseReplies(): void {
    for (;;) {
      const data = this.pending;
      if (this.phase === 'method') {
        if (data.length < 2) return;
        // When a greeting and an RFC 1929 request arrive in one read,
        // tor 0.4.9.11 sends only the RFC 1929 reply, because its method
        // reply is overwritten before it is sent. So the replies may also
        // start at the RFC 1929 status (version byte 0x01).
        if (data[0] === 0x01) {
          this.phase = 'auth';
          continue;
        }
        if (data[0] !== 0x05) return this.failSocks(notSocks5(this.hostLabel));
        if (data[1] !== 0x02) {
          return this.failSocks(
            new SocksError(`cannot connect to ${this.hostLabel}: the SOCKS proxy does not accept username/password authentication (method reply ${hex(data[1] ?? 0)})`, {
              transient: false,
              fix: 'point the socks setting at a Tor SocksPort; Tor accepts username/password authentication',
            }),
          );
        }
        this.pending = data.subarray(2);
        this.phase = 'auth';
      } else if (this.phase === 'auth') {
        if (data.length < 2) return;
        if (data[1] !== 0x00) {
          return this.failSocks(
            new SocksError(`cannot connect to ${this.hostLabel}: the SOCKS proxy rejected the username/password (status ${hex(data[1] ?? 0)})`, {
              transient: false,
              fix: 'point the socks setting at a Tor SocksPort; Tor accepts any username and password',
            }),
          );
        }
        this.pending = data.subarray(2);
        this.phase = 'reply';
      } else if (this.phase === 'reply') {
        if (data.length < 5) return;
        if (data[0] !== 0x05) return this.failSocks(notSocks5(this.hostLabel));
        const code = data[1] ?? 0;
        if (code !== 0x00) return this.failSocks(socksReplyError(code, this.hostLabel));
        const atyp = data[3];
        const addressLength = boundAddressLength(atyp, data[4]);
        if (addressLength === undefined) return this.failSocks(notSocks5(this.hostLabel));
        const total = 4 + addressLength + 2;
        if (data.length < total) return;
        const rest = data.subarray(total);
        this.pending = Buffer.alloc(0);
        this.phase = 'open';
        this.settle();
        if (rest.length > 0 && !this.push(rest)) this.socket.pause();
        return;
      } else {
        return;
      }
    }
  }
}

/** Length of BND.ADDR in a CONNECT reply, including the length byte of a domain name. */
function boundAddressLength(atyp: number | undefined, firstByte: number | undefined): number | undefined {
  if (atyp === 0x01) return 4;
  if (atyp === 0x04) return 16;
  if (atyp === 0x03) return 1 + (firstByte ?? 0);
  return undefined;
}

function notSocks5(hostLabel: string): SocksError {
  return new SocksError(`cannot connect to ${hostLabel}: the SOCKS proxy sent a reply that is not SOCKS5`, {
    transient: false,
    fix: 'point the socks setting at a Tor SocksPort',
  });
}

function proxySocketError(error: NodeJS.ErrnoException, hostLabel: string): SocksError {
  if (error.code === 'ECONNREFUSED') {
    return new SocksError(`cannot connect to ${hostLabel}: the SOCKS proxy refused the connection (${error.message})`, {
      transient: true,
      fix: 'start tor, or set socks to the address of a running Tor SocksPort',
      cause: error,
    });
  }
  return new SocksError(`cannot connect to ${hostLabel}: the connection to the SOCKS proxy failed (${error.message})`, {
    transient: true,
    fix: 'check that tor is running and the socks setting is right',
    cause: error,
  });
}

export interface OpenTunnelRequest {
  /** The SOCKS proxy, or the host itself when `direct`. */
  endpoint: SocksEndpoint;
  destination: SocksEndpoint;
  credentials: SocksCredentials;
  hostLabel: string;
  kind: SocksClientKind;
  /** Connect straight to `endpoint` without any SOCKS exchange. */
  direct?: boolean;
  meter: RoundTripMeter;
  /** Limit for the TCP connect when this function waits for it (direct mode, `socks` package). */
  connectTimeoutMs?: number;
}

/**
 * Open a stream to `destination`. With the pipelined client, the returned
 * tunnel is writable at once and `established` settles later. With the
 * `socks` package, this resolves only after the CONNECT reply.
 */
export async function openTunnel(request: OpenTunnelRequest): Promise<SocksTunnel> {
  // net.connect to an IP literal does no DNS look-up; the SOCKS endpoint
  // is resolved by the caller's settings, not by us.
  const socket = net.connect({ host: request.endpoint.host, port: request.endpoint.port });
  socket.setNoDelay(true);

  if (request.direct) {
    await waitConnected(socket, request.hostLabel, true, request.connectTimeoutMs);
    return new SocksTunnel(socket, request.meter, request.hostLabel, { socksReplies: false });
  }

  if (request.kind === 'pipelined') {
    const tunnel = new SocksTunnel(socket, request.meter, request.hostLabel, { socksReplies: true });
    tunnel.writeRequest(encodePipelinedRequest(request.destination, request.credentials));
    return tunnel;
  }

  await waitConnected(socket, request.hostLabel, false, request.connectTimeoutMs);
  return connectWithSocksPackage(socket, request);
}

function waitConnected(socket: net.Socket, hostLabel: string, direct: boolean, timeoutMs?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const error: NodeJS.ErrnoException = new Error(`TCP connect timed out after ${timeoutMs} ms`);
            error.code = 'ETIMEDOUT';
            onError(error);
          }, timeoutMs);
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      if (direct) {
        reject(
          new OnionplayError('transport', `cannot connect directly to ${hostLabel}: ${error.message}`, {
            fix: 'check the address and port, or drop direct to go through Tor',
            cause: error,
          }),
        );
      } else {
        reject(proxySocketError(error, hostLabel));
      }
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve();
    });
  });
}

/**
 * Connect with the `socks` package's client, the fallback, which waits for
 * each of the three replies. The socket is wrapped before the package gets
 * it, so the package's writes and reads are metered too.
 */
async function connectWithSocksPackage(socket: net.Socket, request: OpenTunnelRequest): Promise<SocksTunnel> {
  const { meter } = request;
  const onData = (chunk: Buffer): void => meter.noteRead(chunk.length);
  socket.on('data', onData);
  const originalWrite = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
    meter.noteWrite(chunk.length);
    return originalWrite(chunk, ...rest);
  }) as typeof socket.write;
  try {
    await SocksClient.createConnection({
      proxy: { host: request.endpoint.host, port: request.endpoint.port, type: 5, userId: request.credentials.username, password: request.credentials.password },
      command: 'connect',
      destination: { host: request.destination.host, port: request.destination.port },
      existing_socket: socket,
    });
  } catch (error) {
    socket.destroy();
    throw socksPackageError(error, request.hostLabel);
  } finally {
    socket.off('data', onData);
    socket.write = originalWrite as typeof socket.write;
  }
  return new SocksTunnel(socket, meter, request.hostLabel, { socksReplies: false });
}

/** The `socks` package reports a negative reply as "Socks5 proxy rejected connection - <Name>". */
const SOCKS_PACKAGE_REPLY_NAMES: Record<string, number> = {
  Failure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TTLExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressNotSupported: 0x08,
};

function socksPackageError(error: unknown, hostLabel: string): SocksError {
  const message = error instanceof Error ? error.message : String(error);
  const named = /rejected connection - (\w+)/.exec(message);
  const code = named ? SOCKS_PACKAGE_REPLY_NAMES[named[1] ?? ''] : undefined;
  if (code !== undefined) return socksReplyError(code, hostLabel);
  // The package names codes it does not know as "undefined"; the byte is lost.
  return new SocksError(`cannot connect to ${hostLabel}: ${message}`, {
    transient: /closed|timed out|ECONNRESET/i.test(message),
    fix: 'check that tor is running and the socks setting is right',
    cause: error,
  });
}
