// The lab's state file: every PID, cgroup, namespace and directory the
// lab created, so `down` removes exactly those and nothing else.
import fs from 'node:fs';
import path from 'node:path';
import { STATE_DIR, STATE_FILE } from './config.ts';
import { isAlive, processRef, type ProcessRef } from './procs.ts';
import { log, sleep } from './run.ts';

export interface HostState {
  name: string;
  index: number;
  address: string;
  group: 'masters' | 'workers';
  netns: string;
  veth: string;
  rootfs: string;
  /** Directory that contains upper/, work/, docker/ and the root/ mount point. */
  hostDir: string;
  /** Cgroup directories created for the host, one per hierarchy. */
  cgroups: string[];
  /** The unshare process that launched the host. */
  launcher?: ProcessRef;
  /** The host's systemd (PID 1 inside its PID namespace). */
  init?: ProcessRef;
}

export interface LabState {
  version: 1;
  startedAt: string;
  /** `helper` when a test started the lab, so tests tear down only what they started. */
  startedBy: 'cli' | 'helper';
  siteDir: string;
  bridge?: { name: string; addresses: string[] };
  /** True when /run/netns was already a mount point before the lab, so `down` leaves it. */
  netnsDirWasMounted?: boolean;
  supervisor?: ProcessRef;
  hosts: Record<string, HostState>;
}

export function readState(): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as LabState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read lab state ${STATE_FILE}: ${(error as Error).message}`);
  }
}

export function writeState(state: LabState): void {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const temp = `${STATE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temp, STATE_FILE);
}

export function removeState(): void {
  fs.rmSync(STATE_FILE, { force: true });
}

const LOCK_FILE = path.join(STATE_DIR, 'lock');

/**
 * Environment variable naming the PID of a parent process that holds the
 * lock while it waits for this process; its lock may be taken over.
 */
export const LOCK_HANDOVER_ENV = 'ONIONPLAY_LAB_LOCK_HANDOVER';

function handedOver(owner: ProcessRef): boolean {
  return process.env[LOCK_HANDOVER_ENV] === String(owner.pid) && owner.pid === process.ppid;
}

let lockDepth = 0;

/**
 * Runs fn while holding the lab lock, so two `up`/`down` runs (say, two
 * test files) never change the lab at once. A lock whose owner process
 * is gone is taken over. Calls made while this process holds the lock,
 * nested or concurrent, share it.
 */
export async function withLock<T>(fn: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  if (lockDepth > 0) {
    lockDepth++;
    try {
      return await fn();
    } finally {
      lockDepth--;
    }
  }
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const self = processRef(process.pid);
  const deadline = Date.now() + timeoutMs;
  let reported = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, JSON.stringify(self), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: ProcessRef | undefined;
    try {
      owner = JSON.parse(fs.readFileSync(LOCK_FILE, 'utf8')) as ProcessRef;
    } catch {
      owner = undefined;
    }
    if (!owner || !isAlive(owner) || handedOver(owner)) {
      fs.rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lab lock held by PID ${owner.pid}`);
    if (!reported) log(`waiting for PID ${owner.pid}, which holds the lab lock ${LOCK_FILE}`);
    reported = true;
    await sleep(500);
  }
  lockDepth = 1;
  try {
    return await fn();
  } finally {
    lockDepth = 0;
    fs.rmSync(LOCK_FILE, { force: true });
  }
}
