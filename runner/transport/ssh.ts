// The SSH transport: per host one ssh2 connection for the whole run, over a
// SOCKS5 stream to the Tor SocksPort, with one exec channel running the
// shell loop and, on first use of become, a second one under sudo.
//
// A connect costs 4 round trips, as RoundTripMeter counts them on the
// socket and the SOCKS test server confirms at 250 ms one-way delay:
// 1. SOCKS, with the SSH identification and KEXINIT sent behind it.
// 2. The key exchange (KEX_ECDH_INIT and its reply).
// 3. NEWKEYS, the service request, the signed public key and the
//    CHANNEL_OPEN of the shell loop together.
// 4. The exec request, whose reply comes with the shell's ready line.
// Stock ssh2 over the `socks` package costs 10.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig, ParsedKey, PublicKeyAuthMethod } from 'ssh2';

import { OnionplayError } from '../errors/index.ts';
import { HostKeyStore } from './hostkeys.ts';
import { RemoteShell, shellLoopCommand } from './shell.ts';
import { execBehindAuth } from './ssh-early-channel.ts';
import { applyHandshakeShortcuts } from './ssh-handshake.ts';
import { openTunnel, RoundTripMeter, SocksError } from './socks.ts';
import type { SocksClientKind, SocksTunnel } from './socks.ts';
import type { Connection, ConnectionStats, ConnectOptions, HostTarget, RunOptions, RunResult, Transport } from './types.ts';

export interface SshTransportOptions {
  /** Part of every SOCKS username, so circuits are not shared with other runs. Default: random. */
  runId?: string;
  /** Default `pipelined`. */
  socksClient?: SocksClientKind;
  /** Send the signed public key right behind the service request, and the shell's CHANNEL_OPEN behind it. Default true. */
  handshakeShortcuts?: boolean;
  /** SSH keepalive interval; a dead circuit is noticed after about interval × (countMax + 1). Default 5000. */
  keepaliveIntervalMs?: number;
  /** Default 3. */
  keepaliveCountMax?: number;
  /** First retry delay before jitter. Default 500. */
  retryInitialDelayMs?: number;
  /** Cap of the exponential retry delay. Default 15000. */
  retryMaxDelayMs?: number;
}

const DEFAULTS = {
  socksClient: 'pipelined' as SocksClientKind,
  handshakeShortcuts: true,
  keepaliveIntervalMs: 5000,
  keepaliveCountMax: 3,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 15_000,
};

/** Build the SOCKS username of one host in one run, so Tor's IsolateSOCKSAuth gives the host its own circuit. */
export function socksUsername(hostName: string, runId: string): string {
  const username = `onionplay:${hostName}:${runId}`;
  if (Buffer.byteLength(username) <= 255) return username;
  // RFC 1929 allows 255 bytes; a longer host name is replaced by a digest.
  const digest = createHash('sha256').update(hostName).digest('hex').slice(0, 32);
  return `onionplay:${digest}:${runId}`;
}

/** Exponential backoff with full jitter in [delay/2, delay]; `attempt` counts from 1. */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** Errors that a later attempt cannot fix: bad address, host key, authentication, configuration. */
const permanentErrors = new WeakSet<Error>();

function permanent<T extends Error>(error: T): T {
  permanentErrors.add(error);
  return error;
}

/** Errors of an attempt cut short by the connect deadline, which tell less than the failure before them. */
const deadlineErrors = new WeakSet<Error>();

function isTransient(error: unknown): boolean {
  if (error instanceof SocksError) return error.transient;
  if (error instanceof Error && permanentErrors.has(error)) return false;
  if (error instanceof OnionplayError) return error.code === 'transport' || error.code === 'timeout';
  return true;
}

interface Ssh2Error extends Error {
  level?: string;
  code?: unknown;
}

/** Counts of one connection over all its sockets, failed attempts and reconnects included. */
export interface SshConnectionStats extends ConnectionStats {
  /** Round trips while no run was pending: SSH keepalives. */
  idleRoundTrips: number;
}

interface Session {
  client: Client;
  tunnel: SocksTunnel;
  meter: RoundTripMeter;
  shell: RemoteShell;
  rootShell: Promise<RemoteShell> | undefined;
  lost: Error | undefined;
}

interface Route {
  /** Route name that `Connection.route` reports. */
  name: string;
  /** TCP endpoint: the SOCKS proxy, or the host in direct mode. */
  endpoint: { host: string; port: number };
  destination: { host: string; port: number };
  direct: boolean;
  /** "web1 (x.onion:22)" for messages. */
  label: string;
}

function chooseRoute(target: HostTarget, options: ConnectOptions): Route {
  if (target.direct) {
    if (!options.allowDirect) {
      throw permanent(
        new OnionplayError('usage', `host ${target.name} is set to direct: true, which connects without Tor, but --allow-direct was not given`, {
          key: 'direct',
          fix: `pass --allow-direct to allow direct connections for local development, or remove direct: true from ${target.name}'s inventory entry`,
        }),
      );
    }
    if (target.address === undefined) {
      throw permanent(
        new OnionplayError('missing_key', `host ${target.name} is set to direct: true but has no address; an onion address is reachable only through Tor`, {
          key: 'address',
          fix: `set address for ${target.name}, or remove direct: true`,
        }),
      );
    }
    const destination = { host: target.address, port: target.port };
    return { name: 'direct (not anonymous)', endpoint: destination, destination, direct: true, label: `${target.name} (${target.address}:${target.port}, direct)` };
  }
  const host = target.onion ?? target.address;
  if (host === undefined) {
    throw permanent(new OnionplayError('missing_key', `host ${target.name} has neither an onion nor an address`, { key: 'address' }));
  }
  return {
    name: target.onion !== undefined ? 'onion' : 'clearnet via Tor',
    endpoint: target.socks,
    destination: { host, port: target.port },
    direct: false,
    label: `${target.name} (${host}:${target.port})`,
  };
}

async function readPrivateKey(target: HostTarget): Promise<{ text: Buffer; parsed: ParsedKey }> {
  if (target.sshKey === undefined) {
    throw permanent(
      new OnionplayError('missing_key', `host ${target.name} has no ssh_key, so onionplay has no key to log in with`, {
        key: 'ssh_key',
        fix: `set ssh_key to the private key file for ${target.name} (relative to the site folder) in hosts.yaml or group_vars/`,
      }),
    );
  }
  let text: Buffer;
  try {
    text = await fs.readFile(target.sshKey);
  } catch (error) {
    throw permanent(
      new OnionplayError('not_found', `cannot read ssh_key ${target.sshKey} of host ${target.name}: ${(error as Error).message}`, {
        key: 'ssh_key',
        value: target.sshKey,
        fix: 'check the path; a relative ssh_key is relative to the site folder',
        cause: error,
      }),
    );
  }
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | Error | undefined) : parsed;
  if (key === undefined || key instanceof Error || !key.isPrivateKey()) {
    const detail = key instanceof Error ? key.message : 'not a private key';
    throw permanent(
      new OnionplayError('invalid_value', `cannot use ssh_key ${target.sshKey} of host ${target.name}: ${detail}`, {
        key: 'ssh_key',
        value: target.sshKey,
        allowed: 'an unencrypted private key in OpenSSH or PEM format',
      }),
    );
  }
  return { text, parsed: key };
}

function channelShell(channel: ClientChannel, label: string): RemoteShell {
  return new RemoteShell(
    {
      stdin: channel,
      stdout: channel,
      stderr: channel.stderr,
      close: () => {
        channel.end();
      },
    },
    label,
  );
}

function execChannel(client: Client, command: string, label: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(new OnionplayError('transport', `cannot start the remote shell on ${label}: ${error.message}`, { cause: error }));
        return;
      }
      resolve(channel);
    });
  });
}

/** Translate an ssh2 error during connect into an OnionplayError, marked permanent where retrying cannot help. */
function connectError(error: Ssh2Error, route: Route, target: HostTarget): Error {
  if (error instanceof OnionplayError) return error;
  const label = route.label;
  switch (error.level) {
    case 'client-authentication':
      return permanent(
        new OnionplayError('transport', `SSH login as ${target.user} on ${label} failed: the server did not accept the key ${target.sshKey ?? ''}`, {
          fix: `add the public key to ~${target.user}/.ssh/authorized_keys on ${target.name}, or set user and ssh_key to a pair it accepts`,
          cause: error,
        }),
      );
    case 'client-timeout':
      return new OnionplayError('transport', `SSH to ${label} timed out: ${error.message}`, { cause: error });
    case 'handshake':
      return permanent(
        new OnionplayError('transport', `SSH handshake with ${label} failed: ${error.message}`, {
          fix: 'check that the port is an SSH server that supports current algorithms (OpenSSH 7.4 or later)',
          cause: error,
        }),
      );
    default:
      return new OnionplayError('transport', `SSH connection to ${label} failed: ${error.message}`, { cause: error });
  }
}

export class SshConnection implements Connection {
  route: string;
  readonly stats: SshConnectionStats = {
    connectRoundTrips: 0,
    execRoundTrips: 0,
    idleRoundTrips: 0,
    bytesUp: 0,
    bytesDown: 0,
    connectMs: 0,
    reconnects: 0,
  };
  /** Attempts spent by the latest connect or reconnect. */
  connectAttempts = 0;
  private session: Session | undefined;
  private connecting = true;
  private pendingRuns = 0;
  private closed = false;
  private openingShells = 0;
  private routeInfo: Route;
  private readonly store: HostKeyStore;

  constructor(
    private target: HostTarget,
    private readonly options: ConnectOptions,
    private readonly settings: Required<Omit<SshTransportOptions, 'runId'>> & { runId: string },
    private readonly privateKey: { text: Buffer; parsed: ParsedKey },
  ) {
    this.routeInfo = chooseRoute(target, options);
    this.route = this.routeInfo.name;
    this.store = HostKeyStore.forSite(options.siteDir);
  }

  /** Connect with retries; used by `connect` and `reconnect`. */
  async open(): Promise<void> {
    const started = Date.now();
    const deadline = started + this.target.connectTimeoutMs;
    this.connecting = true;
    let lastError: Error | undefined;
    let lastFailure: Error | undefined;
    try {
      for (let attempt = 1; ; attempt += 1) {
        this.throwIfAborted();
        try {
          this.session = await this.attempt(deadline);
          this.connectAttempts = attempt;
          this.log(2, `connected to ${this.routeInfo.label} via ${this.route} in ${Date.now() - started} ms (attempt ${attempt}, ${this.stats.connectRoundTrips} connect round trips so far)`);
          return;
        } catch (error) {
          lastError = error as Error;
          if (!deadlineErrors.has(lastError)) lastFailure = lastError;
          if (!isTransient(error) || this.options.signal?.aborted) throw error;
          const delay = retryDelayMs(attempt, this.settings.retryInitialDelayMs, this.settings.retryMaxDelayMs);
          if (Date.now() + delay >= deadline) throw this.gaveUp(lastFailure ?? lastError, attempt, started);
          this.log(2, `connect attempt ${attempt} to ${this.routeInfo.label} failed: ${lastError.message}; retrying in ${delay} ms`);
          await sleep(delay, undefined, { signal: this.options.signal }).catch(() => this.throwIfAborted());
        }
      }
    } finally {
      this.connecting = false;
      this.stats.connectMs += Date.now() - started;
    }
  }

  async run(script: string, runOptions: RunOptions = {}): Promise<RunResult> {
    const session = this.session;
    if (this.closed) throw new OnionplayError('transport', `connection to ${this.routeInfo.label} is closed`);
    if (!session || session.lost) {
      throw new OnionplayError('transport', `connection to ${this.routeInfo.label} was lost${session?.lost ? `: ${session.lost.message}` : ''}`, {
        fix: 'reconnect and probe the host again',
        cause: session?.lost,
      });
    }
    const timeoutMs = runOptions.timeoutMs ?? (this.target.commandTimeoutMs > 0 ? this.target.commandTimeoutMs : undefined);
    this.pendingRuns += 1;
    try {
      const shell = runOptions.become && this.target.user !== 'root' ? await this.becomeShell(session) : session.shell;
      return await shell.run(script, { ...runOptions, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    } finally {
      this.pendingRuns -= 1;
    }
  }

  async reconnect(target?: HostTarget): Promise<void> {
    this.closed = false;
    this.dropSession();
    if (target) {
      // The host may have a new address now, e.g. its SSH onion once the
      // sshd-onion role switched it; the pinned key stays the same.
      this.target = target;
      this.routeInfo = chooseRoute(target, this.options);
      this.route = this.routeInfo.name;
    }
    await this.open();
    this.stats.reconnects += 1;
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    if (!session) return;
    session.lost ??= new OnionplayError('transport', `connection to ${this.routeInfo.label} closed`);
    session.shell.close();
    const rootShell = session.rootShell;
    session.rootShell = undefined;
    rootShell?.then((shell) => shell.close(), () => undefined);
    this.session = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        session.client.destroy();
        resolve();
      }, 2000);
      session.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      session.client.end();
    });
  }

  private dropSession(): void {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    session.lost ??= new OnionplayError('transport', `connection to ${this.routeInfo.label} replaced`);
    session.shell.close();
    session.client.destroy();
  }

  private gaveUp(lastError: Error, attempts: number, started: number): Error {
    const seconds = Math.round((Date.now() - started) / 1000);
    const code = lastError instanceof OnionplayError ? lastError.code : 'transport';
    const details = lastError instanceof OnionplayError ? lastError.details : {};
    return new OnionplayError(code, `${lastError.message} (gave up after ${attempts} attempts in ${seconds} s, connect timeout ${Math.round(this.target.connectTimeoutMs / 1000)} s)`, {
      ...details,
      cause: lastError,
    });
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) {
      throw permanent(new OnionplayError('interrupted', `connect to ${this.routeInfo.label} was interrupted`));
    }
  }

  private log(level: 1 | 2 | 3, message: string): void {
    this.options.log?.(level, message);
  }

  // NOTE: an SSH keepalive sent while a long script runs without output
  // counts as an exec round trip here, one per keepalive interval.
  private onRoundTrip(): void {
    if (this.connecting || this.openingShells > 0) this.stats.connectRoundTrips += 1;
    else if (this.pendingRuns > 0) this.stats.execRoundTrips += 1;
    else this.stats.idleRoundTrips += 1;
  }

  /** Make one connect attempt: tunnel, SSH handshake, host key check, login, shell loop ready. */
  private async attempt(deadline: number): Promise<Session> {
    const route = this.routeInfo;
    const meter = new RoundTripMeter(
      () => this.onRoundTrip(),
      (up, down) => {
        this.stats.bytesUp += up;
        this.stats.bytesDown += down;
      },
    );
    if (route.direct) {
      this.log(1, `connecting to ${route.label} without Tor: this connection is not anonymous`);
    }
    const tunnel = await openTunnel({
      endpoint: route.endpoint,
      destination: route.destination,
      credentials: { username: socksUsername(this.target.name, this.settings.runId), password: 'onionplay' },
      hostLabel: route.label,
      kind: this.settings.socksClient,
      direct: route.direct,
      meter,
      connectTimeoutMs: Math.max(1, deadline - Date.now()),
    });

    const client = new ssh2.Client();
    // The shell is set once the exec channel is open; the session is handed out only then.
    const session: Session = { client, tunnel, meter, shell: undefined as unknown as RemoteShell, rootShell: undefined, lost: undefined };
    return new Promise<Session>((resolve, reject) => {
      let hostKeyError: Error | undefined;
      let done = false;
      let failed = false;
      const remainingMs = Math.max(1, deadline - Date.now());

      const fail = (error: Error): void => {
        if (done) return;
        done = true;
        failed = true;
        cleanup();
        client.destroy();
        tunnel.destroy();
        reject(error);
      };
      const onAbort = (): void => fail(permanent(new OnionplayError('interrupted', `connect to ${route.label} was interrupted`)));
      const timer = setTimeout(() => {
        const error = new OnionplayError('transport', `connect to ${route.label} timed out after ${Math.round(this.target.connectTimeoutMs / 1000)} s`, {
          fix: 'a new onion service can take a minute to become reachable; raise connect_timeout in site.yaml if this persists',
        });
        deadlineErrors.add(error);
        fail(error);
      }, remainingMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.options.signal?.removeEventListener('abort', onAbort);
      };
      this.options.signal?.addEventListener('abort', onAbort, { once: true });

      tunnel.established.catch((error: Error) => fail(error));
      client.on('error', (error: Ssh2Error) => {
        if (!done) {
          fail(hostKeyError ?? tunnel.failure ?? connectError(error, route, this.target));
          return;
        }
        // A failed attempt was already reported through its rejection.
        if (failed) return;
        this.log(2, `connection to ${route.label} failed: ${error.message}`);
        if (session.lost === undefined) session.lost = connectError(error, route, this.target);
      });
      client.on('close', () => {
        if (!done) {
          fail(hostKeyError ?? tunnel.failure ?? new OnionplayError('transport', `connection to ${route.label} closed before the SSH login completed`));
          return;
        }
        session.lost ??= new OnionplayError('transport', `connection to ${route.label} closed`);
      });
      const loopCommand = shellLoopCommand({ become: false, password: false });
      let earlyChannel: Promise<ClientChannel> | undefined;
      client.on('ready', () => {
        const channelOpened = earlyChannel
          ? earlyChannel.catch((error: Error) => {
              throw new OnionplayError('transport', `cannot start the remote shell on ${route.label}: ${error.message}`, { cause: error });
            })
          : execChannel(client, loopCommand, route.label);
        channelOpened
          .then((channel) => {
            session.shell = channelShell(channel, this.target.name);
            return session.shell.waitReady();
          })
          .then(() => {
            if (done) return;
            done = true;
            cleanup();
            resolve(session);
          }, fail);
      });

      const via = `${route.name} ${route.destination.host}:${route.destination.port}`;
      // Only public key: ssh2's default order starts with a "none" request, a round trip that always fails.
      const publicKeyAuth: PublicKeyAuthMethod = { type: 'publickey', username: this.target.user, key: this.privateKey.text };
      const config: ConnectConfig = {
        sock: tunnel,
        username: this.target.user,
        privateKey: this.privateKey.text,
        authHandler: [publicKeyAuth],
        readyTimeout: remainingMs,
        keepaliveInterval: this.settings.keepaliveIntervalMs,
        keepaliveCountMax: this.settings.keepaliveCountMax,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          this.store.verify(this.target.name, key, { trustNewHosts: this.options.trustNewHosts, via }).then(
            (outcome) => {
              if (outcome === 'pinned') this.log(1, `pinned the host key of ${this.target.name} on first contact`);
              verify(true);
            },
            (error: Error) => {
              hostKeyError = permanent(error);
              verify(false);
            },
          );
        },
      };
      try {
        client.connect(config);
      } catch (error) {
        fail(permanent(new OnionplayError('transport', `cannot start SSH to ${route.label}: ${(error as Error).message}`, { cause: error })));
        return;
      }
      if (this.settings.handshakeShortcuts) {
        if (applyHandshakeShortcuts(client)) {
          earlyChannel = execBehindAuth(client, loopCommand);
        } else {
          this.log(3, 'ssh2 internals differ from version 1.17; authenticating without handshake shortcuts');
        }
      }
    });
  }

  private becomeShell(session: Session): Promise<RemoteShell> {
    session.rootShell ??= this.openBecomeShell(session).catch((error: Error) => {
      session.rootShell = undefined;
      throw error;
    });
    return session.rootShell;
  }

  /**
   * Start the shell loop under sudo. With a password, sudo -S reads it as
   * the first line. After a rejected password sudo waits for another line,
   * so its "try again" message on stderr ends the shell at once.
   */
  private async openBecomeShell(session: Session): Promise<RemoteShell> {
    const password = this.options.becomePassword;
    const label = `${this.target.name} (sudo)`;
    this.openingShells += 1;
    try {
      const channel = await execChannel(session.client, shellLoopCommand({ become: true, password: password !== undefined }), label);
      const shell = channelShell(channel, label);
      let sudoError = '';
      const failed = new Promise<never>((_, reject) => {
        channel.stderr.on('data', (chunk: Buffer) => {
          sudoError = (sudoError + chunk.toString('utf8')).slice(-1000);
          if (/incorrect password|try again|password is required|not in the sudoers|may not run sudo/i.test(sudoError)) {
            // Reject before closing, so this error wins the race with the shell's own "closed".
            reject(
              new OnionplayError('transport', `become (sudo) failed on ${this.target.name} for user ${this.target.user}: ${sudoError.trim().split('\n')[0]}`, {
                fix: 'set the sudo password for become, or allow the user to run sudo',
              }),
            );
            shell.close();
          }
        });
      });
      failed.catch(() => undefined);
      if (password !== undefined) shell.sendPassword(password);
      await Promise.race([shell.waitReady(), failed]);
      return shell;
    } finally {
      this.openingShells -= 1;
    }
  }
}

/** Create an SSH transport; each transport is one run with its own SOCKS usernames. */
export function createSshTransport(transportOptions: SshTransportOptions = {}): Transport {
  const settings = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(transportOptions).filter(([, value]) => value !== undefined)),
    runId: transportOptions.runId ?? randomBytes(8).toString('hex'),
  } as Required<Omit<SshTransportOptions, 'runId'>> & { runId: string };
  return {
    name: 'ssh',
    async connect(target: HostTarget, options: ConnectOptions): Promise<Connection> {
      // Checks that need no network come first, so a bad entry fails before any socket opens.
      chooseRoute(target, options);
      const privateKey = await readPrivateKey(target);
      const connection = new SshConnection(target, options, settings, privateKey);
      await connection.open();
      return connection;
    },
  };
}

/** The SSH transport of this process's run. */
export const sshTransport: Transport = createSshTransport();
