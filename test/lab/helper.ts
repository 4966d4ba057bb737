// The lab for ava tests: start it once per test file, or reuse a running
// one, and tear down what the test started, also on failure or Ctrl-C.
//
//   const lab = await useLab();
//   t.teardown(() => lab.stop());   // or test.after.always
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_CONTROL_PORT, CLIENT_SOCKS_PORT, REPO_DIR, SITE_DIR, SSH_KEY, STATE_DIR } from './config.ts';
import {
  children,
  down,
  hostExec,
  KNOWN_HOSTS,
  labHealthy,
  rebuildHostByName,
  restartClientTor,
  sortedHosts,
  startHostByName,
  stopHostByName,
  up,
  waitNetworkReady,
  writeSiteFiles,
} from './lab.ts';
import { isAlive, processRef, type ProcessRef } from './procs.ts';
import { sleep } from './run.ts';
import { LOCK_HANDOVER_ENV, readState, withLock } from './state.ts';
import { onionHostname } from './tor-network.ts';

export { hostExec, rebuildHostByName as rebuildHost, restartClientTor, startHostByName as startHost, stopHostByName as stopHost };
export { httpGetViaSocks, socksConnect, SocksError } from './socks.ts';

export interface LabHost {
  name: string;
  address: string;
  group: 'masters' | 'workers';
}

export interface Lab {
  /** The lab site folder, inventory/lab. */
  siteDir: string;
  /** The controller Tor client's SOCKS port on 127.0.0.1. */
  socksPort: number;
  controlPort: number;
  /** Private key that every lab host accepts for root. */
  sshKey: string;
  /** known_hosts file with every host's current ed25519 host key. */
  knownHosts: string;
  /** Address of the lab's test onion service, which serves HTTP on port 80. */
  onion: string;
  hosts: LabHost[];
  /** True when this process started the lab, so stop() tears it down. */
  startedByUs: boolean;
  /** Releases the lab; tears it down if a test started it and no other test process still uses it. */
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const USERS_DIR = path.join(STATE_DIR, 'users');

/**
 * Says whether lab tests can run here: they need root, and
 * ONIONPLAY_LAB=0 turns them off.
 */
export function labGate(): { enabled: boolean; reason: string } {
  if (process.env.ONIONPLAY_LAB === '0') return { enabled: false, reason: 'ONIONPLAY_LAB=0 is set' };
  if (process.getuid?.() !== 0) return { enabled: false, reason: 'the lab needs root' };
  return { enabled: true, reason: '' };
}

function userFile(self: ProcessRef): string {
  return path.join(USERS_DIR, `${self.pid}-${self.startTime}.json`);
}

/** Lists the test processes that still use the lab, dropping entries of processes that are gone. */
function liveUsers(): ProcessRef[] {
  if (!fs.existsSync(USERS_DIR)) return [];
  const users: ProcessRef[] = [];
  for (const name of fs.readdirSync(USERS_DIR)) {
    const file = path.join(USERS_DIR, name);
    try {
      const ref = JSON.parse(fs.readFileSync(file, 'utf8')) as ProcessRef;
      if (isAlive(ref)) users.push(ref);
      else fs.rmSync(file, { force: true });
    } catch {
      fs.rmSync(file, { force: true });
    }
  }
  return users;
}

/** Counts the live test processes other than this one that use the lab. */
export function otherLabUsers(): number {
  return liveUsers().filter((ref) => ref.pid !== process.pid).length;
}

/**
 * Tears the lab down when a test helper started it and no test process
 * uses it any more; a lab started by `npm run lab -- up` stays up.
 */
export async function downIfUnused(): Promise<boolean> {
  // Under the lock, a test process that registers at the same time either is seen here or finds the lab gone.
  return withLock(async () => {
    const state = readState();
    if (!state || state.startedBy !== 'helper' || liveUsers().length > 0) return false;
    await down();
    return true;
  });
}

const EXCLUSIVE_WAIT_MS = 30 * 60_000;

/**
 * Waits until no other test process uses the lab, then registers this
 * process as its only user and runs fn, all under the lab lock. Test
 * files change hosts (roles install firewalls, tests rebuild hosts), so
 * two of them sharing the lab would break each other's checks.
 */
async function useExclusively<T>(self: ProcessRef, log: ((message: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + EXCLUSIVE_WAIT_MS;
  let reported = false;
  for (;;) {
    const result = await withLock(async () => {
      const others = liveUsers().filter((ref) => ref.pid !== self.pid);
      if (others.length > 0) return { others };
      fs.mkdirSync(USERS_DIR, { recursive: true, mode: 0o700 });
      fs.writeFileSync(userFile(self), JSON.stringify(self), { mode: 0o600 });
      return { value: await fn() };
    });
    if ('value' in result) return result.value as T;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for test processes ${result.others.map((r) => r.pid).join(', ')} to stop using the lab`);
    }
    if (!reported) log?.(`waiting for test process ${result.others.map((r) => r.pid).join(', ')} to finish with the lab`);
    reported = true;
    await sleep(1000);
  }
}

/**
 * Returns the running lab, starting it first when it is not fully up.
 * Waits while another test process uses the lab: one test file at a time
 * has it. This process counts as its user until stop() is called or the
 * process exits. On SIGINT or SIGTERM it releases the lab and exits.
 */
export async function useLab(options: { hosts?: number; log?: (message: string) => void } = {}): Promise<Lab> {
  const gate = labGate();
  if (!gate.enabled) throw new Error(`the lab cannot run here: ${gate.reason}`);
  const self = processRef(process.pid);
  if (!self) throw new Error('cannot read this process in /proc');

  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    fs.rmSync(userFile(self), { force: true });
    // An exit handler cannot wait for promises, so the teardown runs as a child process.
    // This process may hold the lab lock (say, Ctrl-C during up), so the child may take it over.
    spawnSync(process.execPath, ['--import=tsx', CLI, 'down', '--if-unused'], {
      cwd: REPO_DIR,
      stdio: 'inherit',
      env: { ...process.env, [LOCK_HANDOVER_ENV]: String(process.pid) },
    });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    releaseSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', releaseSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Registering under the lock means a test process that is tearing the lab down either sees
    // this process as a user or has finished before this one looks at the lab.
    const { state, wasHealthy } = await useExclusively(self, options.log, async () => {
      const before = readState();
      if (before && labHealthy(before)) return { state: before, wasHealthy: true };
      options.log?.('starting the lab');
      return { state: await up({ hosts: options.hosts, startedBy: 'helper' }), wasHealthy: false };
    });
    let onion = onionHostname() ?? '';
    if (wasHealthy) {
      await withLock(async () => {
        const current = readState();
        if (current) writeSiteFiles(current);
      });
      options.log?.('reusing the running lab');
      // Roles may have firewalled the hosts' clearnet sshd by now, so only the network itself is checked.
      onion = (await waitNetworkReady([], 60_000)).onion;
    }
    const startedByUs = !wasHealthy && state.startedBy === 'helper';
    return {
      siteDir: SITE_DIR,
      socksPort: CLIENT_SOCKS_PORT,
      controlPort: CLIENT_CONTROL_PORT,
      sshKey: SSH_KEY,
      knownHosts: KNOWN_HOSTS,
      onion,
      hosts: sortedHosts(state).map(({ name, address, group }) => ({ name, address, group })),
      startedByUs,
      async stop() {
        if (released) return;
        released = true;
        process.off('exit', releaseSync);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        fs.rmSync(userFile(self), { force: true });
        await downIfUnused();
      },
    };
  } catch (error) {
    releaseSync();
    process.off('exit', releaseSync);
    throw error;
  }
}

/** Arguments for the OpenSSH client that reach a lab host through the lab's Tor exit. */
export function sshArgs(address: string, command: string[]): string[] {
  return [
    '-i', SSH_KEY,
    '-o', `UserKnownHostsFile=${KNOWN_HOSTS}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ServerAliveInterval=10',
    '-o', `ProxyCommand=socat - SOCKS4A:127.0.0.1:%h:%p,socksport=${CLIENT_SOCKS_PORT}`,
    `root@${address}`,
    '--',
    ...command,
  ];
}

/** PIDs of every process the lab recorded: supervisor, tors, forwarders, host launchers and PID 1s. */
export function labProcesses(): ProcessRef[] {
  const state = readState();
  const refs: ProcessRef[] = [...Object.values(children())];
  if (state?.supervisor) refs.push(state.supervisor);
  for (const host of Object.values(state?.hosts ?? {})) {
    if (host.launcher) refs.push(host.launcher);
    if (host.init) refs.push(host.init);
  }
  return refs.filter(isAlive);
}
