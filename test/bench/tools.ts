// The four ways of running the ten tasks: onionplay, and Ansible by
// default, with pipelining and with Mitogen. Each writes its own
// inventory for the same sshd instances behind the same proxy, runs as a
// child process and reports what changed.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { HostRecap, RunEvent } from '../../runner/report/events.ts';
import type { TestSshd } from '../support/sshd.ts';
import { measureCommand, type Measured } from './measure.ts';

export const TOOLS = ['onionplay', 'ansible', 'pipelining', 'mitogen'] as const;
export type Tool = (typeof TOOLS)[number];

export const TOOL_LABELS: Record<Tool, string> = {
  onionplay: 'onionplay',
  ansible: 'Ansible (default)',
  pipelining: 'Ansible + pipelining',
  mitogen: 'Ansible + Mitogen',
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtureDir = path.join(repoRoot, 'test/fixtures/ten-tasks');
const ansibleDir = fileURLToPath(new URL('./ansible/', import.meta.url));
const MITOGEN_STRATEGY_DIR = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';

/** One managed "host": an sshd instance on a loopback port, reached by a name only the proxy maps. */
export interface BenchHost {
  name: string;
  /** The domain name sent to the proxy. */
  address: string;
  sshd: TestSshd;
  /** Target folder of this host's tasks. */
  rootDir: string;
}

export interface ToolRun extends Measured {
  changed: number;
  failed: number;
  unreachable: number;
  /** onionplay's own per-host recap; absent for Ansible. */
  recaps?: HostRecap[];
}

export interface Workspace {
  /** Short path: Ansible's control sockets live below it. */
  dir: string;
  socksPort: number;
  hosts: BenchHost[];
}

/** Write the site folder onionplay runs against: hosts.yaml, site.yaml and the playbook fixture. */
export function writeOnionplaySite(workspace: Workspace): string {
  const site = path.join(workspace.dir, `site-${workspace.hosts.length}`);
  fs.rmSync(site, { recursive: true, force: true });
  fs.cpSync(fixtureDir, site, { recursive: true });
  const lines = ['all:', '  hosts:'];
  for (const host of workspace.hosts) {
    lines.push(
      `    ${host.name}:`,
      `      address: ${host.address}`,
      `      port: ${host.sshd.port}`,
      `      ssh_key: ${host.sshd.clientKeyPath}`,
      `      root_dir: ${host.rootDir}`,
    );
  }
  fs.writeFileSync(path.join(site, 'hosts.yaml'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(site, 'site.yaml'), `socks: "127.0.0.1:${workspace.socksPort}"\ntrust_new_hosts: true\n`);
  return site;
}

function parseRecap(stdout: string): HostRecap[] {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as RunEvent;
    if (event.type === 'recap') return event.hosts;
  }
  throw new Error(`onionplay printed no recap event:\n${stdout.slice(-2000)}`);
}

export async function runOnionplay(workspace: Workspace, site: string, timeoutMs: number): Promise<ToolRun> {
  const args = [
    path.join(repoRoot, 'bin/onionplay.js'),
    'run',
    path.join(site, 'playbook.yaml'),
    '-i',
    site,
    '--output',
    'json',
    '--stats',
    '--forks',
    String(workspace.hosts.length),
  ];
  const measured = await measureCommand(process.execPath, args, { timeoutMs, scratchDir: workspace.dir, cwd: repoRoot });
  if (measured.exitCode !== 0) {
    throw new Error(`onionplay exited with ${measured.exitCode}:\n${measured.stderr}\n${measured.stdout.slice(-3000)}`);
  }
  const recaps = parseRecap(measured.stdout);
  const sum = (pick: (recap: HostRecap) => number): number => recaps.reduce((total, recap) => total + pick(recap), 0);
  return {
    ...measured,
    recaps,
    changed: sum((recap) => recap.changed),
    failed: sum((recap) => recap.failed),
    unreachable: recaps.filter((recap) => recap.unreachable).length,
  };
}

/** Known-hosts lines for every host as OpenSSH looks it up behind a ProxyCommand: `[name]:port`. */
function knownHosts(hosts: BenchHost[]): string {
  return hosts
    .map((host) => `[${host.address}]:${host.sshd.port} ssh-ed25519 ${host.sshd.hostKeyBlob.toString('base64')}\n`)
    .join('');
}

export interface AnsibleProject {
  inventory: string;
  playbook: string;
  knownHosts: string;
}

export function writeAnsibleProject(workspace: Workspace): AnsibleProject {
  const project = path.join(workspace.dir, `ansible-${workspace.hosts.length}`);
  fs.rmSync(project, { recursive: true, force: true });
  fs.mkdirSync(project, { recursive: true });
  fs.cpSync(ansibleDir, project, { recursive: true });
  const knownHostsPath = path.join(project, 'known_hosts');
  fs.writeFileSync(knownHostsPath, knownHosts(workspace.hosts));
  const proxyCommand = `-o ProxyCommand="nc -X 5 -x 127.0.0.1:${workspace.socksPort} %h %p" -o UserKnownHostsFile=${knownHostsPath}`;
  const inventory = {
    all: {
      vars: {
        ansible_user: 'root',
        ansible_python_interpreter: '/usr/bin/python3',
        ansible_ssh_common_args: proxyCommand,
      },
      hosts: Object.fromEntries(
        workspace.hosts.map((host) => [
          host.name,
          { ansible_host: host.address, ansible_port: host.sshd.port, ansible_ssh_private_key_file: host.sshd.clientKeyPath, root_dir: host.rootDir },
        ]),
      ),
    },
  };
  const inventoryPath = path.join(project, 'inventory.json');
  fs.writeFileSync(inventoryPath, JSON.stringify(inventory, null, 2));
  return { inventory: inventoryPath, playbook: path.join(project, 'ten-tasks.yml'), knownHosts: knownHostsPath };
}

/** ansible.cfg of one variant; everything not set here is ansible-core's default. */
function ansibleConfig(tool: Exclude<Tool, 'onionplay'>, workspace: Workspace, forks: number): string {
  const lines = [
    '[defaults]',
    `forks = ${forks}`,
    // The target is this machine: keep Ansible's files out of root's home.
    `remote_tmp = ${path.join(workspace.dir, 'ansible-remote-tmp')}`,
    `local_tmp = ${path.join(workspace.dir, 'ansible-local-tmp')}`,
    'host_key_checking = False',
    'nocolor = True',
  ];
  if (tool === 'mitogen') lines.push(`strategy_plugins = ${MITOGEN_STRATEGY_DIR}`, 'strategy = mitogen_linear');
  lines.push('', '[ssh_connection]');
  if (tool === 'pipelining') lines.push('pipelining = True');
  return `${lines.join('\n')}\n`;
}

/** Parse `name : ok=N changed=N unreachable=N failed=N ...` lines of PLAY RECAP. */
function parseAnsibleRecap(stdout: string): { changed: number; failed: number; unreachable: number; hosts: number } {
  const totals = { changed: 0, failed: 0, unreachable: 0, hosts: 0 };
  for (const match of stdout.matchAll(/^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    totals.hosts += 1;
    totals.changed += Number(match[2]);
    totals.unreachable += Number(match[3]);
    totals.failed += Number(match[4]);
  }
  return totals;
}

/** Control sockets that may still have a ControlPersist master behind them. */
const liveControlDirs = new Set<string>();

/** Ask every ControlPersist master below `dir` to exit, so the next run starts cold, then remove the folder. */
export function exitControlMasters(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    try {
      execFileSync('ssh', ['-o', `ControlPath=${path.join(dir, name)}`, '-O', 'exit', 'bench-control-master'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // No master behind this socket any more.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  liveControlDirs.delete(dir);
}

/** Tell the masters of every run that has not cleaned up yet to exit; synchronous, for signal handlers. */
export function exitAllControlMasters(): void {
  for (const dir of liveControlDirs) exitControlMasters(dir);
}

process.on('exit', exitAllControlMasters);

let controlDirCount = 0;

/**
 * Run the playbook once with one Ansible variant. `beforeCleanup` runs
 * after ansible-playbook exits but before the ControlPersist masters are
 * asked to exit, so the proxy's counts hold the run and not the teardown.
 */
export async function runAnsible(
  tool: Exclude<Tool, 'onionplay'>,
  workspace: Workspace,
  project: AnsibleProject,
  timeoutMs: number,
  beforeCleanup: (run: ToolRun) => Promise<void>,
): Promise<ToolRun> {
  controlDirCount += 1;
  const configPath = path.join(workspace.dir, `ansible-${tool}.cfg`);
  fs.writeFileSync(configPath, ansibleConfig(tool, workspace, workspace.hosts.length));
  // A fresh control socket folder per run: no master survives into the next run.
  const controlDir = path.join(workspace.dir, `cp${controlDirCount}`);
  fs.mkdirSync(controlDir, { recursive: true });
  liveControlDirs.add(controlDir);
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: configPath,
    ANSIBLE_HOME: path.join(workspace.dir, 'ansible-home'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
  };
  try {
    const measured = await measureCommand('ansible-playbook', ['-i', project.inventory, project.playbook], { env, timeoutMs, scratchDir: workspace.dir });
    const recap = parseAnsibleRecap(measured.stdout);
    if (measured.exitCode !== 0 || recap.hosts !== workspace.hosts.length) {
      throw new Error(`ansible-playbook (${TOOL_LABELS[tool]}) exited with ${measured.exitCode}:\n${measured.stderr.slice(-3000)}\n${measured.stdout.slice(-3000)}`);
    }
    const run = { ...measured, changed: recap.changed, failed: recap.failed, unreachable: recap.unreachable };
    await beforeCleanup(run);
    return run;
  } finally {
    exitControlMasters(controlDir);
  }
}
