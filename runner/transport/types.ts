// The contract between the executor and a way of reaching a host. A
// transport opens a long-lived remote shell per host; every `run` is one
// script sent down that shell and answered in one round trip.

import type { Readable, Writable } from 'node:stream';

/** Connection settings of one host, resolved from inventory and site. */
export interface HostTarget {
  /** Inventory host name. It is also the stable id that host keys are pinned under. */
  name: string;
  /** SSH onion address (v3), used whenever known. */
  onion?: string;
  /** Clearnet address for first contact, still reached through Tor. */
  address?: string;
  port: number;
  user: string;
  /** Absolute path of the private key file. */
  sshKey?: string;
  /** Connect without Tor. Only honoured when the command line allows it too. */
  direct: boolean;
  socks: { host: string; port: number };
  connectTimeoutMs: number;
  /** Per-command limit applied when a task sets none; 0 means no limit. */
  commandTimeoutMs: number;
}

export interface RunOptions {
  /** Run as root through sudo when the SSH user is not root. */
  become?: boolean;
  /** Remote time limit; the remote `timeout` ends the script after it. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Exit status of the script; 124 means the remote time limit hit. */
  exitCode: number;
  timedOut: boolean;
}

export interface ConnectionStats {
  /** Round trips spent on connecting (SOCKS, SSH handshake, opening shells). */
  connectRoundTrips: number;
  /** Round trips spent on scripts after the connection was up. */
  execRoundTrips: number;
  bytesUp: number;
  bytesDown: number;
  connectMs: number;
  reconnects: number;
}

export interface Connection {
  /** How the host was reached, for the run's output (e.g. `onion`, `clearnet via Tor`, `direct`). */
  readonly route: string;
  readonly stats: ConnectionStats;
  /** Send one script and wait for its result: exactly one round trip. */
  run(script: string, options?: RunOptions): Promise<RunResult>;
  /**
   * Open the connection again after `run` rejected with a lost connection
   * (code `transport`), retrying with backoff up to the connect timeout.
   * Scripts are never re-sent by the transport: the executor probes again.
   * A new target replaces the old one, e.g. once the host's SSH onion
   * address is known.
   */
  reconnect(target?: HostTarget): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  /** Whether `--allow-direct` was given. */
  allowDirect: boolean;
  /** Whether unknown host keys may be accepted and pinned. */
  trustNewHosts: boolean;
  /** Site folder, where host keys are pinned. */
  siteDir: string;
  /** sudo password for become, if the site needs one. Never logged. */
  becomePassword?: string;
  log?: (level: 1 | 2 | 3, message: string) => void;
}

export interface Transport {
  readonly name: string;
  connect(target: HostTarget, options: ConnectOptions): Promise<Connection>;
}

/** A byte stream to a remote `sh` running the onionplay shell loop. */
export interface ShellStream {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  close(): void;
}
