// A real OpenSSH sshd for tests, on a loopback port, with its own config,
// host key and authorized key in a temporary folder. Needs root, because
// sshd's privilege separation does.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

import { makeTempDir, removeTempDir, stopChild, trackChild } from './processes.ts';

const execFileAsync = promisify(execFile);

export const SSHD_PATH = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  folder: string;
  /** Host public key blob (the base64 part of the .pub file, decoded). */
  hostKeyBlob: Buffer;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostFingerprint: string;
  /** Private key that sshd accepts for every user. */
  clientKeyPath: string;
  /** Everything sshd printed on stderr so far (it runs with -e). */
  log(): string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Extra sshd_config lines. */
  config?: string[];
}

/** Create an ed25519 key pair with ssh-keygen; returns the private key path. */
export async function generateKey(folder: string, name: string): Promise<string> {
  const keyPath = path.join(folder, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', keyPath]);
  return keyPath;
}

async function fingerprintOfFile(publicKeyPath: string): Promise<string> {
  const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]);
  const fingerprint = stdout.split(' ')[1];
  if (!fingerprint) throw new Error(`unexpected ssh-keygen output: ${stdout}`);
  return fingerprint;
}

/** Find a port that is free at this moment; startSshd retries if it is taken meanwhile. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Start sshd in the foreground (-D -e) on 127.0.0.1. Resolves once it
 * listens. `stop()` ends it by PID and removes its folder.
 */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  // sshd refuses to start without its privilege separation directory,
  // which the openssh-server package normally creates at boot.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const folder = makeTempDir('sshd');
  try {
    const hostKeyPath = await generateKey(folder, 'host_ed25519');
    const clientKeyPath = await generateKey(folder, 'client_ed25519');
    fs.copyFileSync(`${clientKeyPath}.pub`, path.join(folder, 'authorized_keys'));
    // sshd reads authorized_keys as the user logging in, who need not be root.
    fs.chmodSync(folder, 0o711);
    fs.chmodSync(path.join(folder, 'authorized_keys'), 0o644);
    const hostKeyBlob = Buffer.from(fs.readFileSync(`${hostKeyPath}.pub`, 'utf8').split(' ')[1] ?? '', 'base64');
    const hostFingerprint = await fingerprintOfFile(`${hostKeyPath}.pub`);

    for (let tries = 1; ; tries += 1) {
      const port = await freePort();
      const configPath = path.join(folder, 'sshd_config');
      fs.writeFileSync(
        configPath,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKeyPath}`,
          `PidFile ${path.join(folder, 'sshd.pid')}`,
          `AuthorizedKeysFile ${path.join(folder, 'authorized_keys')}`,
          'UsePAM no',
          'StrictModes no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'PrintMotd no',
          'LogLevel VERBOSE',
          ...(options.config ?? []),
          '',
        ].join('\n'),
      );
      const child = trackChild(spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] }));
      let log = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
      });
      const started = await new Promise<boolean>((resolve) => {
        const onData = (): void => {
          if (log.includes('Server listening on')) {
            child.stderr?.off('data', onData);
            resolve(true);
          }
        };
        child.stderr?.on('data', onData);
        child.once('exit', () => resolve(false));
      });
      if (started) {
        return {
          port,
          folder,
          hostKeyBlob,
          hostFingerprint,
          clientKeyPath,
          log: () => log,
          stop: async () => {
            await stopChild(child);
            removeTempDir(folder);
          },
        };
      }
      if (tries >= 3 || !/Address already in use/.test(log)) {
        throw new Error(`sshd did not start: ${log.trim()}`);
      }
    }
  } catch (error) {
    removeTempDir(folder);
    throw error;
  }
}
