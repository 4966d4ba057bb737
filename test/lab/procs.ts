// Process identity checks, so the lab only ever signals processes it
// started: a PID is trusted only together with its start time, which
// guards against PID reuse after a reboot or a long pause.
import fs from 'node:fs';
import { sleep } from './run.ts';

export interface ProcessRef {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks after boot. */
  startTime: number;
}

function readStat(pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields resume after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function processRef(pid: number): ProcessRef | undefined {
  const fields = readStat(pid);
  const startTime = Number(fields?.[19]);
  return fields && Number.isFinite(startTime) ? { pid, startTime } : undefined;
}

/** Returns true while the process exists, is the same one, and is not a zombie. */
export function isAlive(ref: ProcessRef): boolean {
  const fields = readStat(ref.pid);
  if (!fields) return false;
  return Number(fields[19]) === ref.startTime && fields[0] !== 'Z';
}

export function signal(ref: ProcessRef, sig: NodeJS.Signals | number): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to timeoutMs for every process to exit; returns those still alive. */
export async function waitExit(refs: ProcessRef[], timeoutMs: number): Promise<ProcessRef[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = refs.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(100);
    alive = alive.filter(isAlive);
  }
  return alive;
}

/**
 * Sends sig, waits up to graceMs, then SIGKILLs what is left and waits
 * for it to go. Returns the PIDs that needed SIGKILL.
 */
export async function terminate(refs: ProcessRef[], sig: NodeJS.Signals | number, graceMs: number): Promise<number[]> {
  for (const ref of refs) signal(ref, sig);
  const left = await waitExit(refs, graceMs);
  for (const ref of left) signal(ref, 'SIGKILL');
  const stuck = await waitExit(left, 5000);
  if (stuck.length > 0) {
    throw new Error(
      `processes did not exit after SIGKILL: ${stuck.map((r) => r.pid).join(', ')}. A PID 1 waits in ` +
        'zap_pid_ns_processes until every process of its namespace is reaped; look for a stopped (state T) ' +
        'nsenter whose child is a zombie, and continue it with kill -CONT',
    );
  }
  return left.map((ref) => ref.pid);
}

export function childPids(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(' ').map(Number) : [];
  } catch {
    return [];
  }
}
