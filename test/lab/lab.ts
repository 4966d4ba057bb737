// `up`, `down` and `status` of the lab: hosts, bridge, Tor network.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mirrorsFor, readDebianSources, renderHostSources, type Mirror } from './apt-sources.ts';
import {
  BRIDGE,
  BRIDGE_IP,
  CACHE_DIR,
  CLIENT_CONTROL_PORT,
  CLIENT_SOCKS_PORT,
  DATA_DIR,
  DEFAULT_HOST_COUNT,
  HOSTS_DIR,
  hostSpecs,
  MAX_HOST_COUNT,
  PROBE_HTTP_BODY,
  PROBE_HTTP_PORT,
  REPO_DIR,
  SITE_DIR,
  SSH_KEY,
  STATE_DIR,
  type HostSpec,
} from './config.ts';
import { execInHost, newHostState, startHost, stopHost, type HostFiles } from './host.ts';
import { deleteBridge, ensureBridge, netnsDirMounted, unmountNetnsDir } from './network.ts';
import { ensurePackages } from './packages.ts';
import { isAlive, processRef, signal, terminate, type ProcessRef } from './procs.ts';
import { ensureRootfs, RELEASE, removeStaleRootfs } from './rootfs.ts';
import { log, run, seconds, waitFor } from './run.ts';
import { writeSite } from './site.ts';
import { httpGetViaSocks, socksConnect } from './socks.ts';
import { readState, removeState, withLock, writeState, type HostState, type LabState } from './state.ts';
import type { SupervisorConfig } from './supervisor.ts';
import { getInfo } from './tor-control.ts';
import { CLIENT_DIR, cookieFile, ensureKeys, networkLines, onionHostname, relayNodes, torrcPath, writeTorrcs } from './tor-network.ts';

const SUPERVISOR_SCRIPT = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
const CHILDREN_FILE = path.join(STATE_DIR, 'children.json');
const LOG_DIR = path.join(STATE_DIR, 'logs');
export const KNOWN_HOSTS = path.join(path.dirname(SSH_KEY), 'known_hosts');
const NETWORK_TIMEOUT_MS = 180_000;

export interface UpOptions {
  hosts?: number;
  startedBy?: 'cli' | 'helper';
}

export function requireRoot(): void {
  if (process.getuid?.() === 0) return;
  throw new Error(
    'the lab must run as root: it creates network namespaces, a bridge, cgroups and overlay mounts, ' +
      'boots systemd in new namespaces and installs Debian packages. Run it with sudo: sudo npm run lab -- up',
  );
}

function emptyState(startedBy: 'cli' | 'helper'): LabState {
  return { version: 1, startedAt: new Date().toISOString(), startedBy, siteDir: SITE_DIR, hosts: {} };
}

async function ensureSshKey(): Promise<string> {
  fs.mkdirSync(path.dirname(SSH_KEY), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(SSH_KEY)) {
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'onionplay-lab', '-f', SSH_KEY]);
  }
  fs.chmodSync(SSH_KEY, 0o600);
  return fs.readFileSync(`${SSH_KEY}.pub`, 'utf8');
}

/** Writes a known_hosts file with every host's ed25519 host key, read from its overlay. */
function writeKnownHosts(state: LabState): void {
  const lines: string[] = [];
  for (const host of sortedHosts(state)) {
    const file = path.join(host.hostDir, 'upper', 'etc', 'ssh', 'ssh_host_ed25519_key.pub');
    if (!fs.existsSync(file)) continue;
    const [type, key] = fs.readFileSync(file, 'utf8').trim().split(' ');
    lines.push(`${host.address} ${type} ${key}`);
  }
  fs.writeFileSync(KNOWN_HOSTS, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export function children(): Record<string, ProcessRef> {
  try {
    return JSON.parse(fs.readFileSync(CHILDREN_FILE, 'utf8')) as Record<string, ProcessRef>;
  } catch {
    return {};
  }
}

function supervisorCommands(mirrors: Mirror[], torNames: string[]): SupervisorConfig['commands'] {
  const commands: SupervisorConfig['commands'] = torNames.map((name) => ({
    name,
    argv: ['tor', '-f', torrcPath(name)],
    logFile: path.join(LOG_DIR, `${name}.log`),
  }));
  for (const mirror of mirrors) {
    commands.push({
      name: `forward-${mirror.host}`,
      argv: [
        'socat',
        `TCP-LISTEN:${mirror.port},bind=${mirror.listenAddress},fork,reuseaddr`,
        `TCP:${mirror.host}:${mirror.port}`,
      ],
      logFile: path.join(LOG_DIR, `forward-${mirror.host}.log`),
    });
  }
  return commands;
}

async function startSupervisor(state: LabState, config: SupervisorConfig): Promise<void> {
  fs.mkdirSync(LOG_DIR, { recursive: true, mode: 0o700 });
  const configFile = path.join(STATE_DIR, 'supervisor.json');
  fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.rmSync(CHILDREN_FILE, { force: true });
  const logFd = fs.openSync(path.join(LOG_DIR, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import=tsx', SUPERVISOR_SCRIPT, configFile], {
    cwd: REPO_DIR,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  child.unref();
  if (child.pid === undefined) throw new Error('cannot start the lab supervisor');
  state.supervisor = processRef(child.pid);
  writeState(state);
  const supervisor = state.supervisor;
  await waitFor('the supervisor to start the Tor network', 30_000, () => {
    if (supervisor && !isAlive(supervisor)) {
      throw new Error(`the lab supervisor exited; see ${path.join(LOG_DIR, 'supervisor.log')}`);
    }
    return Object.keys(children()).length === config.commands.length ? true : undefined;
  });
}

async function clientBootstrapped(): Promise<boolean | undefined> {
  const phase = await getInfo(CLIENT_CONTROL_PORT, cookieFile(CLIENT_DIR), 'status/bootstrap-phase');
  return phase.includes('PROGRESS=100') ? true : undefined;
}

/** Returns the nicknames of running relays with the Exit flag in the client's consensus. */
async function consensusExits(): Promise<string[]> {
  const entries = await getInfo(CLIENT_CONTROL_PORT, cookieFile(CLIENT_DIR), 'ns/all');
  const exits: string[] = [];
  let nickname = '';
  for (const line of entries.split('\n')) {
    if (line.startsWith('r ')) nickname = line.split(' ')[1] ?? '';
    if (line.startsWith('s ')) {
      const flags = line.split(' ');
      if (flags.includes('Exit') && flags.includes('Running') && !flags.includes('BadExit')) exits.push(nickname);
    }
  }
  return exits;
}

function readSshBanner(address: string): Promise<string> {
  return socksConnect({ proxyPort: CLIENT_SOCKS_PORT, host: address, port: 22, timeoutMs: 30_000, isolation: `lab-probe-${address}` }).then(
    (socket) =>
      new Promise((resolve, reject) => {
        socket.setTimeout(10_000, () => {
          socket.destroy();
          reject(new Error(`no SSH banner from ${address}:22 through the exit`));
        });
        socket.once('data', (data: Buffer) => {
          socket.destroy();
          resolve(data.toString('latin1').trim());
        });
        socket.once('error', reject);
      }),
  );
}

/**
 * Waits until the network is usable end to end: the client is
 * bootstrapped, its consensus has an exit, streams through the exit reach
 * the probe HTTP server on the bridge and sshd on every address in
 * `hostAddresses`, and the test onion service responds. Pass only hosts
 * that are known to be fresh: a role may have firewalled the others.
 */
export async function waitNetworkReady(hostAddresses: string[], timeoutMs = NETWORK_TIMEOUT_MS): Promise<{ onion: string }> {
  const started = Date.now();
  const remaining = () => Math.max(1000, timeoutMs - (Date.now() - started));
  await waitFor('the controller Tor client to bootstrap', remaining(), clientBootstrapped, 250);
  log(`client tor bootstrapped after ${seconds(started)}`);
  const exits = await waitFor('an exit relay in the consensus', remaining(), async () => {
    const found = await consensusExits();
    return found.length > 0 ? found : undefined;
  }, 500);
  log(`consensus gives the Exit flag to ${exits.join(', ')} after ${seconds(started)}`);
  const probe = { proxyPort: CLIENT_SOCKS_PORT, timeoutMs: 30_000 };
  await waitFor(`a stream through the exit to ${BRIDGE_IP}:${PROBE_HTTP_PORT}`, remaining(), async () => {
    const body = await httpGetViaSocks({ ...probe, host: BRIDGE_IP, port: PROBE_HTTP_PORT, isolation: 'lab-exit-probe' });
    return body === PROBE_HTTP_BODY ? true : undefined;
  }, 500);
  await Promise.all(
    hostAddresses.map((address) =>
      waitFor(`sshd on ${address}:22 through the exit`, remaining(), async () => {
        const banner = await readSshBanner(address);
        return banner.startsWith('SSH-') ? true : undefined;
      }, 500),
    ),
  );
  log(`the exit reaches the bridge and ${hostAddresses.length} new hosts after ${seconds(started)}`);
  const onion = await waitFor('the test onion service to answer', remaining(), async () => {
    const hostname = onionHostname();
    if (!hostname) return undefined;
    const body = await httpGetViaSocks({ ...probe, host: hostname, port: 80, isolation: 'lab-onion-probe' });
    return body === PROBE_HTTP_BODY ? hostname : undefined;
  }, 500);
  log(`test onion service ${onion} answers after ${seconds(started)}`);
  return { onion };
}

export function sortedHosts(state: LabState): HostState[] {
  return Object.values(state.hosts).sort((a, b) => a.index - b.index);
}

function supervisorRunning(state: LabState): boolean {
  return state.supervisor !== undefined && isAlive(state.supervisor);
}

/**
 * True while the host's PID 1 is still systemd. After `systemctl poweroff`
 * or `reboot` inside a host, PID 1 becomes systemd-shutdown and the host
 * no longer works, though its PID lives on for a while.
 */
function hostRunning(host: HostState | undefined): boolean {
  if (host?.init === undefined || !isAlive(host.init)) return false;
  try {
    return fs.readFileSync(`/proc/${host.init.pid}/comm`, 'utf8').trim() === 'systemd';
  } catch {
    return false;
  }
}

async function hostFiles(mirrors: Mirror[], specs: HostSpec[], aptSources: string): Promise<HostFiles> {
  return { authorizedKey: await ensureSshKey(), aptSources, mirrors, peers: specs };
}

export function sshCommand(address: string): string {
  return [
    'ssh',
    `-i ${SSH_KEY}`,
    `-o UserKnownHostsFile=${KNOWN_HOSTS}`,
    '-o ServerAliveInterval=10',
    `-o ProxyCommand='socat - SOCKS4A:127.0.0.1:%h:%p,socksport=${CLIENT_SOCKS_PORT}'`,
    `root@${address}`,
  ].join(' ');
}

export interface LabContext {
  state: LabState;
  mirrors: Mirror[];
  files: HostFiles;
  specs: HostSpec[];
}

/** Loads what starting or rebuilding a host needs; the lab must be up. */
export async function labContext(): Promise<LabContext> {
  const state = readState();
  if (!state) throw new Error('the lab is not up; run: sudo npm run lab -- up');
  const sources = readDebianSources(RELEASE);
  const mirrors = mirrorsFor(sources);
  const specs = hostSpecs(Object.keys(state.hosts).length);
  return { state, mirrors, specs, files: await hostFiles(mirrors, specs, renderHostSources(sources)) };
}

/** Brings the lab up, or completes a partly running lab; returns its state. */
export async function up(options: UpOptions = {}): Promise<LabState> {
  requireRoot();
  // Without --hosts, a running lab keeps its number of hosts.
  const count = options.hosts ?? (Object.keys(readState()?.hosts ?? {}).length || DEFAULT_HOST_COUNT);
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOST_COUNT) {
    throw new Error(`invalid host count ${count}: use a whole number from 1 to ${MAX_HOST_COUNT}`);
  }
  return withLock(async () => {
    const started = Date.now();
    await ensurePackages();
    const state = readState() ?? emptyState(options.startedBy ?? 'cli');
    const sources = readDebianSources(RELEASE);
    const mirrors = mirrorsFor(sources);
    const rootfs = await ensureRootfs();
    const specs = hostSpecs(count);
    const files = await hostFiles(mirrors, specs, renderHostSources(sources));

    if (!state.bridge && netnsDirMounted()) state.netnsDirWasMounted = true;
    const addresses = mirrors.map((mirror) => mirror.listenAddress);
    if (!addresses.includes(BRIDGE_IP)) addresses.unshift(BRIDGE_IP);
    await ensureBridge(addresses);
    state.bridge = { name: BRIDGE, addresses };
    writeState(state);

    const nodes = relayNodes();
    await ensureKeys(nodes);
    const torProcesses = writeTorrcs(nodes);
    const networkStarted = Date.now();
    if (supervisorRunning(state)) {
      // tor rereads its torrc on SIGHUP.
      const running = children();
      for (const tor of torProcesses.filter((p) => p.changed)) {
        const ref = running[tor.name];
        if (ref && signal(ref, 'SIGHUP')) log(`${tor.name}: torrc changed, sent SIGHUP to reload it`);
      }
    } else {
      // Tors left by a supervisor that was killed still hold the ports.
      const orphans = Object.values(children()).filter(isAlive);
      if (orphans.length > 0) {
        log(`ending ${orphans.length} processes left by a previous supervisor`);
        await terminate(orphans, 'SIGTERM', 5000);
      }
      await startSupervisor(state, {
        commands: supervisorCommands(mirrors, torProcesses.map((p) => p.name)),
        probe: { host: BRIDGE_IP, port: PROBE_HTTP_PORT, body: PROBE_HTTP_BODY },
        childrenFile: CHILDREN_FILE,
      });
      log('Tor network starting: 3 authorities, 2 relays, 1 exit, the client and the test onion service');
    }

    // Hosts boot while the Tor network forms.
    for (const [name, host] of Object.entries(state.hosts)) {
      if (specs.some((spec) => spec.name === name)) continue;
      log(`removing host ${name}, which --hosts ${count} leaves out`);
      await stopHost(host, true);
      delete state.hosts[name];
      writeState(state);
    }
    const hostsStarted = Date.now();
    const startedAddresses: string[] = [];
    await Promise.all(
      specs.map(async (spec) => {
        const existing = state.hosts[spec.name];
        if (hostRunning(existing)) return;
        const host = existing ?? newHostState(spec, rootfs);
        if (existing) await stopHost(existing, false);
        // A host that boots with its old disk may have been firewalled by a role.
        if (!fs.existsSync(path.join(host.hostDir, 'upper'))) {
          host.rootfs = rootfs;
          startedAddresses.push(spec.address);
        }
        await startHost(host, spec, files, false, (changed) => {
          state.hosts[spec.name] = changed;
          writeState(state);
        });
        log(`host ${spec.name} (${spec.address}) answers on port 22 after ${seconds(hostsStarted)}`);
      }),
    );
    writeKnownHosts(state);
    removeStaleRootfs(new Set(Object.values(state.hosts).map((host) => host.rootfs)));

    writeSiteFiles(state);
    const { onion } = await waitNetworkReady(startedAddresses);
    log(`Tor network usable ${seconds(networkStarted)} after its start`);
    printSummary(state, onion, started);
    return state;
  });
}

/**
 * Writes the generated site files into this checkout's inventory/lab and
 * records it as the lab's site folder. A lab started from another checkout
 * (CI clones the repository elsewhere) then still has a complete site here.
 */
export function writeSiteFiles(state: LabState): void {
  const specs = hostSpecs(Object.keys(state.hosts).length || DEFAULT_HOST_COUNT);
  const changed = writeSite(SITE_DIR, specs, networkLines(relayNodes()));
  for (const file of changed) log(`wrote ${path.relative(REPO_DIR, file)}`);
  if (state.siteDir !== SITE_DIR) {
    state.siteDir = SITE_DIR;
    writeState(state);
  }
}

function printSummary(state: LabState, onion: string, started: number): void {
  const lines = [
    `lab is up (${seconds(started)} in all)`,
    `  site folder:     ${path.relative(process.cwd(), state.siteDir) || state.siteDir}`,
    `  Tor SOCKS port:  127.0.0.1:${CLIENT_SOCKS_PORT} (control port 127.0.0.1:${CLIENT_CONTROL_PORT}, cookie ${cookieFile(CLIENT_DIR)})`,
    `  test onion:      http://${onion}/ (curl --socks5-hostname 127.0.0.1:${CLIENT_SOCKS_PORT} http://${onion}/)`,
    '  hosts, reached through the Tor exit:',
  ];
  for (const host of sortedHosts(state)) {
    lines.push(`    ${host.name.padEnd(8)} ${host.address.padEnd(12)} ${sshCommand(host.address)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function stopSupervisor(state: LabState): Promise<void> {
  if (state.supervisor) await terminate([state.supervisor], 'SIGTERM', 10_000);
  // Children outlive a supervisor that was killed; end the ones it recorded.
  const left = Object.values(children()).filter(isAlive);
  if (left.length > 0) await terminate(left, 'SIGTERM', 5000);
  state.supervisor = undefined;
  fs.rmSync(CHILDREN_FILE, { force: true });
}

/**
 * Deletes network namespaces and veths with the lab's names that the
 * state file no longer lists, such as those of a host whose stop failed
 * halfway. The `onionplay-` and `opveth` prefixes are the lab's own.
 */
async function deleteLeftoverNetworks(): Promise<void> {
  const namespaces = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : [];
  for (const name of namespaces.filter((n) => n.startsWith('onionplay-'))) {
    log(`deleting leftover network namespace ${name}`);
    await run(['ip', 'netns', 'del', name], { allowFailure: true });
  }
  const links = (await run(['ip', '-o', 'link', 'show'])).stdout.split('\n');
  for (const line of links) {
    const name = line.split(':')[1]?.trim().split('@')[0];
    if (name && /^opveth\d+$/.test(name)) {
      log(`deleting leftover veth ${name}`);
      await run(['ip', 'link', 'del', name], { allowFailure: true });
    }
  }
}

export interface DownOptions {
  /** Also delete the Tor keys, the lab SSH key and the cached rootfs. */
  purge?: boolean;
}

/** Stops everything `up` started and removes what it created, as recorded in the state file. */
export async function down(options: DownOptions = {}): Promise<void> {
  requireRoot();
  await withLock(async () => {
    const started = Date.now();
    const state = readState();
    if (state) {
      // Every host is stopped even when one fails; the state file stays for a retry.
      const results = await Promise.allSettled(Object.values(state.hosts).map((host) => stopHost(host, true)));
      const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      for (const [name, host] of Object.entries(state.hosts)) if (!host.init && host.cgroups.length === 0) delete state.hosts[name];
      writeState(state);
      await stopSupervisor(state);
      writeState(state);
      if (failures.length > 0) {
        const reasons = failures.map((failure) => String(failure.reason instanceof Error ? failure.reason.message : failure.reason));
        throw new Error(`could not stop every host; run down again to retry:\n${reasons.join('\n')}`);
      }
      await deleteLeftoverNetworks();
      if (state.bridge) await deleteBridge();
      if (!state.netnsDirWasMounted) await unmountNetnsDir();
      removeState();
      fs.rmSync(path.join(STATE_DIR, 'supervisor.json'), { force: true });
    }
    fs.rmSync(HOSTS_DIR, { recursive: true, force: true });
    if (options.purge) {
      log(`removing ${DATA_DIR} and ${CACHE_DIR}`);
      fs.rmSync(DATA_DIR, { recursive: true, force: true });
      fs.rmSync(CACHE_DIR, { recursive: true, force: true });
    }
    log(state ? `lab is down (${seconds(started)})` : 'lab was not up; nothing to stop');
  });
}

/** Prints what runs; returns true when every recorded process is alive. */
export async function status(): Promise<boolean> {
  requireRoot();
  const state = readState();
  if (!state) {
    process.stdout.write('lab is down\n');
    return false;
  }
  let healthy = true;
  const lines = [`lab started ${state.startedAt} by ${state.startedBy}; site ${state.siteDir}`];
  const supervisorAlive = supervisorRunning(state);
  healthy &&= supervisorAlive;
  lines.push(`  supervisor      ${supervisorAlive ? `running, PID ${state.supervisor?.pid}` : 'not running'}`);
  const running = children();
  for (const name of [...relayNodes().map((n) => n.nickname), 'labclient', 'labonion']) {
    const ref = running[name];
    const alive = ref !== undefined && isAlive(ref);
    healthy &&= alive;
    lines.push(`  tor ${name.padEnd(11)} ${alive ? `running, PID ${ref?.pid}` : 'not running'}`);
  }
  try {
    const phase = await getInfo(CLIENT_CONTROL_PORT, cookieFile(CLIENT_DIR), 'status/bootstrap-phase');
    lines.push(`  client          ${/SUMMARY="([^"]*)"/.exec(phase)?.[1] ?? phase}`);
  } catch (error) {
    healthy = false;
    lines.push(`  client          control port not answering: ${(error as Error).message}`);
  }
  lines.push(`  test onion      ${onionHostname() ?? 'no address yet'}`);
  for (const host of sortedHosts(state)) {
    const alive = hostRunning(host);
    healthy &&= alive;
    let detail = 'stopped';
    if (alive) {
      const result = await execInHost(host, ['systemctl', 'is-system-running']);
      detail = `running, PID ${host.init?.pid}, systemd ${result.stdout.trim() || result.stderr.trim()}`;
    }
    lines.push(`  host ${host.name.padEnd(10)} ${host.address.padEnd(12)} ${detail}`);
  }
  lines.push(`  logs            ${LOG_DIR}, ${HOSTS_DIR}/NAME/console.log`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return healthy;
}

/** True when the supervisor, every tor and every host recorded in the state file are alive. */
export function labHealthy(state: LabState | undefined = readState()): boolean {
  if (!state || !supervisorRunning(state) || Object.keys(state.hosts).length === 0) return false;
  const running = children();
  const tors = [...relayNodes().map((node) => node.nickname), 'labclient', 'labonion'];
  if (!tors.every((name) => running[name] !== undefined && isAlive(running[name]))) return false;
  return Object.values(state.hosts).every(hostRunning);
}

function requireHost(state: LabState, name: string): HostState {
  const host = state.hosts[name];
  if (!host) throw new Error(`no lab host named "${name}"; hosts: ${Object.keys(state.hosts).join(', ')}`);
  return host;
}

/** Powers one host off and keeps its disk, so `startHostByName` boots it again as it was. */
export async function stopHostByName(name: string): Promise<void> {
  requireRoot();
  await withLock(async () => {
    const state = readState();
    if (!state) throw new Error('the lab is not up');
    const host = requireHost(state, name);
    await stopHost(host, false);
    writeState(state);
  });
}

async function bootHost(name: string, fresh: boolean): Promise<void> {
  requireRoot();
  await withLock(async () => {
    const context = await labContext();
    const { state } = context;
    const host = requireHost(state, name);
    const spec = context.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`host ${name} is not in the lab's host list`);
    if (hostRunning(host) || host.cgroups.length > 0) await stopHost(host, fresh);
    else if (fresh) fs.rmSync(host.hostDir, { recursive: true, force: true });
    if (fresh) host.rootfs = await ensureRootfs();
    await startHost(host, spec, context.files, fresh, (changed) => {
      state.hosts[name] = changed;
      writeState(state);
    });
    writeKnownHosts(state);
  });
}

/** Boots a stopped host with the disk it had. */
export function startHostByName(name: string): Promise<void> {
  return bootHost(name, false);
}

/** Replaces a host by a fresh one: a new empty overlay, new host keys and machine id. */
export function rebuildHostByName(name: string): Promise<void> {
  return bootHost(name, true);
}

/** Ends the controller's Tor client by PID; the supervisor starts it again. Waits until it has bootstrapped. */
export async function restartClientTor(timeoutMs = 60_000): Promise<void> {
  const old = children().labclient;
  if (!old || !isAlive(old)) throw new Error('the lab Tor client is not running');
  await terminate([old], 'SIGTERM', 5000);
  await waitFor('the supervisor to start the Tor client again', 15_000, () => {
    const current = children().labclient;
    return current && current.pid !== old.pid && isAlive(current) ? true : undefined;
  });
  await waitFor('the restarted Tor client to bootstrap', timeoutMs, clientBootstrapped, 250);
}

/** Runs argv inside a running host, entering its namespaces; never throws on a non-zero exit. */
export async function hostExec(name: string, argv: string[], input?: string) {
  const state = readState();
  if (!state) throw new Error('the lab is not up');
  return execInHost(requireHost(state, name), argv, input);
}
