// Child processes and temporary folders that tests start and create. Each
// is registered here, so it is ended or removed when the test tears down,
// and also when the test process exits early.

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const children = new Set<ChildProcess>();
const folders = new Set<string>();

function cleanUpNow(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
}

process.on('exit', cleanUpNow);

// A test runner ends a worker that timed out with a signal, which skips
// 'exit' handlers. Clean up, then exit with the usual 128 + signal status.
for (const [signal, number] of [
  ['SIGTERM', 15],
  ['SIGINT', 2],
  ['SIGHUP', 1],
] as const) {
  process.once(signal, () => {
    cleanUpNow();
    process.exit(128 + number);
  });
}

/** Register a child so it is killed by PID if the test process exits first. */
export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Send SIGTERM by PID, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Create a temporary folder that is removed by `removeTempDir` or at process exit. */
export function makeTempDir(prefix: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `onionplay-${prefix}-`));
  folders.add(folder);
  return folder;
}

export function removeTempDir(folder: string): void {
  fs.rmSync(folder, { recursive: true, force: true });
  folders.delete(folder);
}
