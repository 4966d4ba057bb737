// Runs one command as a child process under GNU time and returns its
// output, wall time, CPU time and peak resident set size.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { trackChild } from '../support/processes.ts';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** User plus system CPU time of the command and the children it waited for. */
  cpuMs: number;
  /** ru_maxrss from wait4: the peak RSS of the largest single process in the tree, in KiB. */
  maxRssKiB: number;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The command is killed by PID with SIGKILL after this many ms. */
  timeoutMs: number;
  /** Folder for GNU time's report file. */
  scratchDir: string;
}

let reportCount = 0;

/**
 * Process groups of the commands running now. GNU time does not pass a
 * signal on to the command it runs, so each command gets its own group
 * and the whole group is killed on a timeout or when this process exits.
 */
const runningGroups = new Set<number>();

/** Kill every command still running, by process group; synchronous, so exit handlers can call it. */
export function killRunningCommands(): void {
  for (const group of runningGroups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }
  runningGroups.clear();
}

process.on('exit', killRunningCommands);

export async function measureCommand(command: string, args: string[], options: MeasureOptions): Promise<Measured> {
  reportCount += 1;
  const reportPath = path.join(options.scratchDir, `time-${process.pid}-${reportCount}.txt`);
  const started = performance.now();
  const child = trackChild(
    spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', reportPath, command, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    }),
  );
  const group = child.pid;
  if (group !== undefined) runningGroups.add(group);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (group !== undefined) process.kill(-group, 'SIGKILL');
  }, options.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  if (group !== undefined) runningGroups.delete(group);
  const wallMs = performance.now() - started;
  if (timedOut) throw new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs / 1000} s and was killed`);
  const report = fs.readFileSync(reportPath, 'utf8').trim().split('\n').pop() ?? '';
  fs.rmSync(reportPath, { force: true });
  const [, user, system, rss] = report.split(' ').map(Number);
  if (user === undefined || system === undefined || rss === undefined || [user, system, rss].some(Number.isNaN)) {
    throw new Error(`unexpected GNU time report for ${command}: ${JSON.stringify(report)}`);
  }
  return { exitCode, stdout, stderr, wallMs, cpuMs: (user + system) * 1000, maxRssKiB: rss };
}
