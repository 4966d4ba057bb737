// The remote shell loop shared by every transport. The controller starts
// one `sh` per host (and one more under sudo for become) and then sends
// length-framed scripts to it. Each script's stdout and stderr are kept in
// files on the host and sent back length-framed, so one script costs one
// round trip and arbitrary bytes survive the trip.

import { OnionplayError } from '../errors/index.ts';
import type { RunOptions, RunResult, ShellStream } from './types.ts';

/**
 * The loop that runs on the host. Reading the header with `read` and the
 * body with `dd iflag=fullblock` takes exactly the framed bytes from the
 * pipe, so the next header is never swallowed. Output goes to files first,
 * so a script whose connection is lost still runs to its end on the host.
 */
export const SHELL_LOOP = [
  'umask 077',
  'd=$(mktemp -d "${TMPDIR:-/tmp}/onionplay.XXXXXXXX") || exit 70',
  "trap 'rm -rf \"$d\"' EXIT HUP TERM",
  'printf "onionplay-ready %s\\n" "$$"',
  'while IFS=" " read -r tag len limit; do',
  '  [ "$tag" = run ] || exit 71',
  '  dd bs="$len" count=1 iflag=fullblock status=none of="$d/s" || exit 72',
  '  if [ "$limit" -gt 0 ]; then',
  '    timeout -k 5 "$limit" sh "$d/s" <"/dev/null" >"$d/o" 2>"$d/e"',
  '  else',
  '    sh "$d/s" <"/dev/null" >"$d/o" 2>"$d/e"',
  '  fi',
  '  rc=$?',
  '  printf "done %d %d %d\\n" "$rc" "$(wc -c <"$d/o")" "$(wc -c <"$d/e")"',
  '  cat "$d/o" "$d/e"',
  'done',
].join('\n');

/** Quote a string for POSIX sh as one word. */
export function shellQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The command line that starts the loop, optionally under sudo. */
export function shellLoopCommand(options: { become: boolean; password: boolean }): string {
  const loop = `sh -c ${shellQuote(SHELL_LOOP)}`;
  if (!options.become) return loop;
  // With -S, sudo reads the password line from stdin one byte at a time, so
  // the framed scripts that follow it stay in the pipe for the loop.
  return options.password ? `sudo -S -p '' ${loop}` : `sudo -n ${loop}`;
}

interface Pending {
  resolve: (result: RunResult) => void;
  reject: (error: Error) => void;
  timedOutAt: number;
}

/**
 * One running shell loop. Scripts are queued: the loop runs one at a time,
 * in the order sent, so callers may pipeline several `run` calls.
 */
export class RemoteShell {
  private buffer: Buffer = Buffer.alloc(0);
  private ready = false;
  private readonly queue: Pending[] = [];
  private closedError: Error | undefined;
  private readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private stderrTail = '';
  bytesUp = 0;
  bytesDown = 0;

  constructor(private readonly stream: ShellStream, private readonly label: string) {
    stream.stdout.on('data', (chunk: Buffer) => {
      this.bytesDown += chunk.length;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    stream.stderr.on('data', (chunk: Buffer) => {
      this.bytesDown += chunk.length;
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    const onEnd = (): void => this.fail(this.lostError());
    stream.stdout.on('end', onEnd);
    stream.stdout.on('close', onEnd);
    stream.stdout.on('error', (error: Error) => this.fail(this.lostError(error)));
    stream.stdin.on('error', (error: Error) => this.fail(this.lostError(error)));
  }

  /** Resolve once the loop printed its ready line. */
  waitReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Write the sudo password line; only before the first script. */
  sendPassword(password: string): void {
    const line = Buffer.from(`${password}\n`);
    this.bytesUp += line.length;
    this.stream.stdin.write(line);
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const body = Buffer.from(script.length === 0 ? ':\n' : script, 'utf8');
    const limitSeconds = options.timeoutMs ? Math.max(1, Math.ceil(options.timeoutMs / 1000)) : 0;
    const header = Buffer.from(`run ${body.length} ${limitSeconds}\n`);
    this.bytesUp += header.length + body.length;
    return new Promise<RunResult>((resolve, reject) => {
      this.queue.push({ resolve, reject, timedOutAt: limitSeconds });
      this.stream.stdin.write(Buffer.concat([header, body]));
    });
  }

  close(): void {
    this.fail(new OnionplayError('transport', `connection to ${this.label} closed`));
    this.stream.close();
  }

  private lostError(cause?: Error): Error {
    const tail = this.stderrTail.trim();
    const detail = tail ? `: ${tail.split('\n').slice(-3).join(' / ')}` : '';
    return new OnionplayError('transport', `connection to ${this.label} lost${detail}`, { cause });
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const waiter of this.readyWaiters) waiter.reject(error);
    this.readyWaiters = [];
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }

  private drain(): void {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) return;
      const line = this.buffer.subarray(0, newline).toString('latin1');
      if (!this.ready) {
        this.buffer = this.buffer.subarray(newline + 1);
        if (line.startsWith('onionplay-ready ')) {
          this.ready = true;
          for (const waiter of this.readyWaiters) waiter.resolve();
          this.readyWaiters = [];
        }
        continue;
      }
      const match = /^done (\d+) (\d+) (\d+)$/.exec(line);
      if (!match) {
        this.fail(new OnionplayError('transport', `unexpected output from the shell on ${this.label}: ${JSON.stringify(line.slice(0, 80))}`));
        return;
      }
      const exitCode = Number(match[1]);
      const outLength = Number(match[2]);
      const errLength = Number(match[3]);
      const start = newline + 1;
      if (this.buffer.length < start + outLength + errLength) return;
      const stdout = Buffer.from(this.buffer.subarray(start, start + outLength));
      const stderr = Buffer.from(this.buffer.subarray(start + outLength, start + outLength + errLength));
      this.buffer = this.buffer.subarray(start + outLength + errLength);
      const pending = this.queue.shift();
      if (!pending) continue;
      const timedOut = pending.timedOutAt > 0 && (exitCode === 124 || exitCode === 137);
      pending.resolve({ stdout, stderr, exitCode, timedOut });
    }
  }
}
