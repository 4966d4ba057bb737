// A description of the machine and the versions the benchmark ran with.

import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

import { packageVersion } from './packages.ts';

const execFileAsync = promisify(execFile);

async function sshVersion(): Promise<string> {
  // `ssh -V` prints its version on stderr.
  const { stderr } = await execFileAsync('ssh', ['-V']);
  return stderr.trim();
}

/** Return the commit the engine ran from, and whether runner/ or bin/ had uncommitted changes. */
export async function engineRevision(): Promise<string> {
  try {
    const { stdout: head } = await execFileAsync('git', ['log', '-1', '--format=%h %cI %s']);
    const { stdout: status } = await execFileAsync('git', ['status', '--porcelain', '--', 'runner', 'bin']);
    return `${head.trim()}${status.trim() === '' ? '' : ' (runner/ or bin/ has uncommitted changes)'}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export async function describeMachine(): Promise<string> {
  const cpus = os.cpus();
  const lines = [
    `Date: ${new Date().toISOString()}`,
    `CPU: ${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `Load average at the end (1, 5, 15 min; the machine is shared): ${os.loadavg().map((load) => load.toFixed(2)).join(', ')}`,
    `Kernel: ${os.type()} ${os.release()}`,
    `Node.js: ${process.version}`,
    `ansible-core: ${await packageVersion('ansible-core')}`,
    `Mitogen (ansible-mitogen): ${await packageVersion('ansible-mitogen')}`,
    `OpenSSH: ${await sshVersion()}`,
    `ssh2 (npm): ${(await import('ssh2/package.json', { with: { type: 'json' } })).default.version}`,
  ];
  return lines.join('\n');
}
