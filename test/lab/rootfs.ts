// Builds and caches the root filesystem that every lab host overlays.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { debootstrapMirror, readDebianSources } from './apt-sources.ts';
import { CACHE_DIR } from './config.ts';
import { log, run, seconds } from './run.ts';

export const RELEASE = 'bookworm';

/**
 * Packages on top of debootstrap's minbase: systemd as PID 1, sshd, and
 * the tools roles may expect on a fresh Debian server (sudo, procps,
 * kmod for modprobe, ca-certificates and gpg for third-party apt
 * repositories, curl). Changing this list changes the recipe hash, so
 * the next `up` builds a new rootfs.
 */
const INCLUDE = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'ca-certificates',
  'procps',
  'sudo',
  'kmod',
  'gpg',
  'curl',
  'less',
  'netbase',
];

/** Shell commands run on the fresh rootfs; part of the recipe hash. */
const FINISH_SCRIPT = `set -e
# Every host gets its own host keys, machine id and apt sources in its overlay.
rm -f etc/ssh/ssh_host_*
rm -f etc/apt/sources.list
: > etc/machine-id
printf '# lab hosts have no DNS; /etc/hosts maps the apt mirror names\\n' > etc/resolv.conf
chroot . apt-get clean
rm -rf var/lib/apt/lists/*
`;

const RECIPE = { release: RELEASE, variant: 'minbase', include: INCLUDE, finish: FINISH_SCRIPT, version: 1 };

export function recipeHash(): string {
  return crypto.createHash('sha256').update(JSON.stringify(RECIPE)).digest('hex').slice(0, 12);
}

export function rootfsPath(): string {
  return path.join(CACHE_DIR, `rootfs-${recipeHash()}`);
}

/**
 * Returns the cached rootfs for the current recipe, building it first if
 * it is missing. The build runs in a temporary directory that is renamed
 * into place only when complete, so an interrupted build leaves no
 * half-built rootfs behind under the final name.
 */
export async function ensureRootfs(): Promise<string> {
  const target = rootfsPath();
  if (fs.existsSync(path.join(target, 'usr', 'lib', 'systemd', 'systemd'))) return target;
  // A directory without systemd is not a finished build; replace it.
  fs.rmSync(target, { recursive: true, force: true });
  const mirror = debootstrapMirror(readDebianSources(RELEASE), RELEASE);
  fs.mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  const temp = path.join(CACHE_DIR, `.build-${recipeHash()}-${process.pid}`);
  fs.rmSync(temp, { recursive: true, force: true });
  const started = Date.now();
  log(`building the host rootfs with debootstrap from ${mirror} into ${target} (about 1-2 minutes, once)`);
  try {
    await run(
      ['debootstrap', '--variant=minbase', `--include=${INCLUDE.join(',')}`, RELEASE, temp, mirror],
      { timeoutMs: 20 * 60_000 },
    );
    await run(['sh', '-c', FINISH_SCRIPT], { cwd: temp });
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  try {
    fs.renameSync(temp, target);
  } catch (error) {
    // Another process finished the same recipe first; keep its copy.
    fs.rmSync(temp, { recursive: true, force: true });
    if (!fs.existsSync(target)) throw error;
  }
  log(`rootfs built in ${seconds(started)}`);
  return target;
}

/** Removes cached rootfs directories of older recipes that no running host uses. */
export function removeStaleRootfs(inUse: Set<string>): void {
  if (!fs.existsSync(CACHE_DIR)) return;
  const current = rootfsPath();
  for (const name of fs.readdirSync(CACHE_DIR)) {
    const full = path.join(CACHE_DIR, name);
    if (!name.startsWith('rootfs-') || full === current || inUse.has(full)) continue;
    log(`removing rootfs of an older recipe: ${full}`);
    fs.rmSync(full, { recursive: true, force: true });
  }
}
