// One lab host: an overlay over the cached rootfs, booted with systemd
// as PID 1 in its own mount, PID, UTS, IPC, cgroup and network namespaces.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mirror } from './apt-sources.ts';
import { createCgroups, hierarchies, removeCgroups } from './cgroups.ts';
import { cgroupName, HOSTS_DIR, netnsName, vethName, type HostSpec } from './config.ts';
import { createHostNetwork, deleteHostNetwork } from './network.ts';
import { childPids, isAlive, processRef, signal, terminate, waitExit } from './procs.ts';
import { run, waitFor } from './run.ts';
import type { HostState } from './state.ts';

/** What a host needs written into its overlay before it boots. */
export interface HostFiles {
  authorizedKey: string;
  aptSources: string;
  mirrors: Mirror[];
  /** Every lab host, for /etc/hosts. */
  peers: HostSpec[];
}

// SIGRTMIN is 34 on Linux with glibc; systemd powers off cleanly on SIGRTMIN+4.
const SIGRTMIN_PLUS_4 = 38;
const POWEROFF_GRACE_MS = 10_000;

/** Runs as PID 1 of the host's namespaces; the file's header describes its arguments. */
const INIT_SCRIPT = fileURLToPath(new URL('./host-init.sh', import.meta.url));
const LAUNCH_SCRIPT = fileURLToPath(new URL('./host-launch.sh', import.meta.url));

function writeFile(file: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

function hostsFile(spec: HostSpec, files: HostFiles): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const peer of files.peers) lines.push(`${peer.address}\t${peer.name}`);
  for (const mirror of files.mirrors) lines.push(`${mirror.listenAddress}\t${mirror.host}`);
  return `${lines.join('\n')}\n`;
}

/** Writes the host's identity into its (empty) overlay upper directory. */
async function seedUpper(upper: string, spec: HostSpec, files: HostFiles): Promise<void> {
  writeFile(path.join(upper, 'etc', 'hostname'), `${spec.name}\n`);
  writeFile(path.join(upper, 'etc', 'hosts'), hostsFile(spec, files));
  writeFile(path.join(upper, 'etc', 'machine-id'), `${crypto.randomBytes(16).toString('hex')}\n`, 0o444);
  writeFile(path.join(upper, 'etc', 'apt', 'sources.list.d', 'debian.sources'), files.aptSources);
  fs.mkdirSync(path.join(upper, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(upper, 'root'), 0o700);
  fs.chmodSync(path.join(upper, 'root', '.ssh'), 0o700);
  writeFile(path.join(upper, 'root', '.ssh', 'authorized_keys'), `${files.authorizedKey.trim()}\n`, 0o600);
  const sshDir = path.join(upper, 'etc', 'ssh');
  fs.mkdirSync(sshDir, { recursive: true, mode: 0o755 });
  await Promise.all(
    ['ed25519', 'ecdsa', 'rsa'].map((type) =>
      run(['ssh-keygen', '-q', '-t', type, '-N', '', '-C', `root@${spec.name}`, '-f', path.join(sshDir, `ssh_host_${type}_key`)]),
    ),
  );
}

function portAnswersSsh(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('data', (data) => done(data.toString('latin1').startsWith('SSH-')));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export function hostDir(name: string): string {
  return path.join(HOSTS_DIR, name);
}

export function newHostState(spec: HostSpec, rootfs: string): HostState {
  return {
    name: spec.name,
    index: spec.index,
    address: spec.address,
    group: spec.group,
    netns: netnsName(spec.name),
    veth: vethName(spec.index),
    rootfs,
    hostDir: hostDir(spec.name),
    cgroups: [],
  };
}

/**
 * Boots the host and waits until its sshd answers on port 22. With
 * `fresh`, or when the host has no overlay yet, the overlay starts empty
 * and gets new identity files; otherwise the host boots with the disk it
 * had when it was stopped. `record` is called as soon as PIDs and cgroups
 * exist, so a failure later still leaves them in the state file.
 */
export async function startHost(
  host: HostState,
  spec: HostSpec,
  files: HostFiles,
  fresh: boolean,
  record: (host: HostState) => void,
): Promise<void> {
  const upper = path.join(host.hostDir, 'upper');
  const work = path.join(host.hostDir, 'work');
  const root = path.join(host.hostDir, 'root');
  const docker = path.join(host.hostDir, 'docker');
  const freshDisk = fresh || !fs.existsSync(upper);
  if (freshDisk) {
    fs.rmSync(host.hostDir, { recursive: true, force: true });
    fs.mkdirSync(upper, { recursive: true, mode: 0o755 });
    await seedUpper(upper, spec, files);
  }
  for (const dir of [work, root, docker]) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.rmSync(path.join(work, 'work'), { recursive: true, force: true });

  await createHostNetwork(host.netns, host.veth, host.address);
  host.cgroups = createCgroups(cgroupName(host.name));
  record(host);

  const cgroupSpecs = hierarchies().map((h) => `${path.basename(h.mountPoint)}=${h.version === 2 ? 'cgroup2' : h.options.join(',')}`);
  const consoleLog = fs.openSync(path.join(host.hostDir, 'console.log'), 'a');
  const child = spawn(
    'sh',
    [
      LAUNCH_SCRIPT,
      String(host.cgroups.length),
      ...host.cgroups,
      host.netns,
      'unshare', '--mount', '--pid', '--fork', '--uts', '--ipc', '--cgroup', '--propagation', 'private',
      'sh', INIT_SCRIPT, root, host.rootfs, upper, work, docker, host.name, ...cgroupSpecs,
    ],
    { detached: true, stdio: ['ignore', consoleLog, consoleLog] },
  );
  fs.closeSync(consoleLog);
  child.unref();
  const launcherPid = child.pid;
  if (launcherPid === undefined) throw new Error(`cannot start host ${host.name}: spawn failed`);
  host.launcher = processRef(launcherPid);
  record(host);

  // The launcher execs into unshare, whose one child becomes the host's PID 1.
  const init = await waitFor(`PID 1 of host ${host.name}`, 10_000, () => {
    if (host.launcher && !isAlive(host.launcher)) {
      throw new Error(`host ${host.name} exited during start; see ${path.join(host.hostDir, 'console.log')}`);
    }
    const [pid] = childPids(launcherPid);
    return pid === undefined ? undefined : processRef(pid);
  }, 20);
  host.init = init;
  record(host);

  if (freshDisk) {
    await waitFor(`sshd of host ${host.name} on ${host.address}:22`, 60_000, async () => {
      if (!isAlive(init)) throw new Error(`host ${host.name} exited during boot; see ${path.join(host.hostDir, 'console.log')}`);
      return (await portAnswersSsh(host.address, 22)) ? true : undefined;
    });
    return;
  }
  // A host booted with its old disk may have been moved to onion-only
  // SSH behind a firewall, so its clearnet port 22 proves nothing: wait
  // for systemd to finish booting instead.
  await waitFor(`systemd of host ${host.name} to finish booting`, 60_000, async () => {
    if (!isAlive(init)) throw new Error(`host ${host.name} exited during boot; see ${path.join(host.hostDir, 'console.log')}`);
    const state = await execInHost(host, ['systemctl', 'is-system-running']);
    return ['running', 'degraded'].includes(state.stdout.trim()) ? true : undefined;
  }, 500);
}

/**
 * Powers the host off (systemd's SIGRTMIN+4, SIGKILL after 10 s), then
 * removes its cgroups and network. With `removeDisk` its overlay goes too.
 */
export async function stopHost(host: HostState, removeDisk: boolean): Promise<void> {
  if (host.init && isAlive(host.init)) {
    signal(host.init, SIGRTMIN_PLUS_4);
    const left = await waitExit([host.init], POWEROFF_GRACE_MS);
    if (left.length > 0) await terminate(left, 'SIGKILL', 0);
  }
  // unshare exits once its child, the host's PID 1, is gone.
  if (host.launcher) await terminate([host.launcher], 'SIGTERM', 5000);
  host.init = undefined;
  host.launcher = undefined;
  await removeCgroups([...host.cgroups].reverse());
  host.cgroups = [];
  await deleteHostNetwork(host.netns, host.veth);
  if (removeDisk) fs.rmSync(host.hostDir, { recursive: true, force: true });
}

/** Runs argv inside the running host, in all of its namespaces and its root. */
export async function execInHost(host: HostState, argv: string[], input?: string) {
  if (!host.init || !isAlive(host.init)) throw new Error(`host ${host.name} is not running`);
  return run(
    [
      'nsenter', '-t', String(host.init.pid), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w',
      '/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8',
      ...argv,
    ],
    // A stopped nsenter would keep the host's PID 1 from exiting: it cannot reap its child.
    { allowFailure: true, input, newSession: true },
  );
}
