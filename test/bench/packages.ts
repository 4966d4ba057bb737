// Debian packages the benchmark needs, installed with apt-get when missing.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * ansible-core runs the peer playbooks, ansible-mitogen holds Mitogen's
 * strategy plugins (python3-mitogen alone has only the library),
 * netcat-openbsd is OpenSSH's ProxyCommand to the SOCKS proxy, time is
 * GNU time for CPU time and peak RSS, and python3-apt is what Ansible's
 * apt module imports on the target.
 */
export const REQUIRED_PACKAGES = ['ansible-core', 'ansible-mitogen', 'netcat-openbsd', 'time', 'python3-apt'];

async function isInstalled(name: string): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync('dpkg-query', ['-W', '-f=${Status}', name]);
    return stdout.trim() === 'install ok installed';
  } catch {
    return false;
  }
}

/** Install the missing packages; `log` gets one line before anything is installed. */
export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const name of REQUIRED_PACKAGES) if (!(await isInstalled(name))) missing.push(name);
  if (missing.length === 0) return;
  log(`installing Debian packages the benchmark needs: ${missing.join(' ')} (apt-get update, then apt-get install)`);
  const aptOptions = { maxBuffer: 64 * 1024 * 1024, timeout: 900_000 };
  await execFileAsync('apt-get', ['update', '-qq'], aptOptions);
  await execFileAsync('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300', ...missing], {
    ...aptOptions,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** Version of an installed Debian package, or "not installed". */
export async function packageVersion(name: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('dpkg-query', ['-W', '-f=${Version}', name]);
    return stdout.trim() || 'not installed';
  } catch {
    return 'not installed';
  }
}
