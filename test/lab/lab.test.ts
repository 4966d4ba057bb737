// Integration tests of the lab itself: real hosts, a real Tor network,
// and a machine left as it was found. They need root; ONIONPLAY_LAB=0
// skips them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { load as loadYaml } from 'js-yaml';
import { SocksClient } from 'socks';
import { Client } from 'ssh2';
import {
  hostExec,
  httpGetViaSocks,
  labGate,
  labProcesses,
  rebuildHost,
  restartClientTor,
  socksConnect,
  sshArgs,
  startHost,
  stopHost,
  useLab,
  type Lab,
} from './helper.ts';
import { PROBE_HTTP_BODY } from './config.ts';
import { labHealthy } from './lab.ts';
import { isAlive, type ProcessRef } from './procs.ts';
import { waitFor } from './run.ts';
import { snapshotMachine, type MachineSnapshot } from './snapshot.ts';
import { readState, withLock } from './state.ts';

const gate = labGate();
/** Why tests that need fresh hosts, or that change hosts, skip on a lab that `npm run lab -- up` started. */
const NOT_OURS = 'the lab was started outside the tests, so its hosts may have been changed and are left alone';
const labTest = gate.enabled ? test.serial : test.serial.skip;

let lab: Lab | undefined;
/** The machine before the lab started; undefined when a lab was already running. */
let before: MachineSnapshot | undefined;

/** Ends a test that cannot check anything here, and says why in the output. */
function skipBecause(t: ExecutionContext, reason: string): void {
  t.log(`not checked: ${reason}`);
  t.pass();
}

function requireLab(): Lab {
  if (!lab) throw new Error('the lab did not start; see the before hook');
  return lab;
}

function runSsh(address: string, command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', sshArgs(address, command), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function hostKey(knownHosts: string, address: string): string | undefined {
  return fs
    .readFileSync(knownHosts, 'utf8')
    .split('\n')
    .find((line) => line.startsWith(`${address} `));
}

function tcpOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

test.before(async (t) => {
  if (!gate.enabled) return;
  if (!labHealthy()) before = await snapshotMachine();
  const started = Date.now();
  lab = await useLab({ log: (message) => t.log(message) });
  t.log(`lab ready in ${((Date.now() - started) / 1000).toFixed(1)} s (started by this test: ${lab.startedByUs})`);
});

test.after.always(async () => {
  await lab?.stop();
});

labTest('up boots every host with systemd', async (t) => {
  const { hosts, startedByUs } = requireLab();
  if (!startedByUs) return skipBecause(t, NOT_OURS);
  t.deepEqual(
    hosts.map((host) => host.name),
    ['obelix', 'ciclope', 'grendel'],
  );
  for (const host of hosts) {
    const state = await hostExec(host.name, ['systemctl', 'is-system-running', '--wait']);
    t.is(state.stdout.trim(), 'running', `${host.name}: systemctl --failed lists units that failed`);
    const hostname = await hostExec(host.name, ['hostname']);
    t.is(hostname.stdout.trim(), host.name);
    const address = await hostExec(host.name, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    t.regex(address.stdout, new RegExp(` ${host.address.replace(/\./g, '\\.')}/24 `));
    const defaultRoute = await hostExec(host.name, ['ip', 'route', 'show', 'default']);
    t.is(defaultRoute.stdout.trim(), '', `${host.name} must have no default route`);
    for (const binary of ['/usr/sbin/tor', '/usr/sbin/nft', '/usr/bin/dockerd']) {
      t.false(fs.existsSync(`/proc/${readState()?.hosts[host.name]?.init?.pid}/root${binary}`), `${host.name} starts without ${binary}`);
    }
  }
});

labTest('ssh via the exit reaches every host', async (t) => {
  const { hosts, startedByUs } = requireLab();
  if (!startedByUs) return skipBecause(t, NOT_OURS);
  for (const host of hosts) {
    // A stream through the exit sometimes fails or stalls when the machine is busy; Tor clients retry.
    let last = { code: -1, stdout: '', stderr: '' };
    let attempts = 0;
    const result = await waitFor(`ssh to ${host.address} through the exit`, 90_000, async () => {
      attempts++;
      last = await runSsh(host.address, ['hostname']);
      return last.code === 0 ? last : undefined;
    }, 1000).catch(() => last);
    if (attempts > 1) t.log(`${host.name}: ssh needed ${attempts} attempts`);
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout.trim(), host.name);
  }
});

labTest('ssh2 over socks reaches a host', async (t) => {
  const { hosts, socksPort, sshKey, startedByUs } = requireLab();
  if (!startedByUs) return skipBecause(t, NOT_OURS);
  const host = hosts[0];
  if (!host) return t.fail('no hosts');
  const { socket } = await waitFor('a SOCKS stream through the exit', 90_000, () =>
    SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: socksPort, type: 5, userId: 'lab-test', password: 'lab-test' },
      command: 'connect',
      destination: { host: host.address, port: 22 },
      timeout: 30_000,
    }),
  1000);
  const output = await new Promise<string>((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.exec('cat /etc/hostname', (error, stream) => {
        if (error) return reject(error);
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.on('close', () => {
          client.end();
          resolve(text);
        });
      });
    });
    client.connect({ sock: socket, username: 'root', privateKey: fs.readFileSync(sshKey) });
  });
  t.is(output.trim(), host.name);
});

labTest('test onion service answers', async (t) => {
  const { onion, socksPort } = requireLab();
  t.regex(onion, /^[a-z2-7]{56}\.onion$/);
  const body = await httpGetViaSocks({ proxyPort: socksPort, host: onion, port: 80, timeoutMs: 60_000 });
  t.is(body, PROBE_HTTP_BODY);
});

labTest('unknown onion reports a reason', async (t) => {
  const { socksPort } = requireLab();
  const error = await t.throwsAsync(
    socksConnect({ proxyPort: socksPort, host: `${'a'.repeat(56)}.onion`, port: 80, timeoutMs: 60_000 }),
  );
  t.regex(error?.message ?? '', /invalid onion address|descriptor not found/);
});

labTest('apt in a host reaches the mirror', async (t) => {
  const { hosts } = requireLab();
  const host = hosts[0];
  if (!host) return t.fail('no hosts');
  // Another test process may run apt in the same host, so wait out its lock.
  const result = await waitFor('apt-get update to succeed', 120_000, async () => {
    const attempt = await hostExec(host.name, ['apt-get', '-o', 'Acquire::Retries=2', 'update']);
    if (attempt.code !== 0 && !attempt.stderr.includes('Could not get lock')) return attempt;
    return attempt.code === 0 ? attempt : undefined;
  }, 2000);
  t.is(result.code, 0, result.stderr);
});

labTest('root namespace unchanged while up', async (t) => {
  if (!before) return skipBecause(t, 'a lab was already running before this test; nothing to compare');
  const during = await snapshotMachine();
  t.is(during.ipForward, before.ipForward);
  t.is(during.ipv6Forwarding, before.ipv6Forwarding);
  t.is(during.nftRuleset, before.nftRuleset);
  const added = during.routes.split('\n').filter((line) => line && !before?.routes.includes(line));
  // The kernel adds link routes (such as IPv6 multicast) for each interface that is up.
  const onLabInterface = (line: string) => / dev (opbr0|opveth\d+) /.test(line);
  t.deepEqual(
    added.filter((line) => !onLabInterface(line)),
    [],
    'every route the lab adds is on its bridge or its veths',
  );
});

labTest('stopHost and startHost keep the disk', async (t) => {
  if (!requireLab().startedByUs) return skipBecause(t, NOT_OURS);
  const name = 'ciclope';
  const host = requireLab().hosts.find((h) => h.name === name);
  if (!host) return t.fail(`no host ${name}`);
  await hostExec(name, ['sh', '-c', 'echo kept > /root/marker']);
  await stopHost(name);
  t.false(await tcpOpen(host.address, 22), 'sshd is gone after stopHost');
  await t.throwsAsync(hostExec(name, ['true']), { message: /not running/ });
  await startHost(name);
  const marker = await hostExec(name, ['cat', '/root/marker']);
  t.is(marker.stdout.trim(), 'kept');
});

labTest('rebuildHost gives a fresh host', async (t) => {
  if (!requireLab().startedByUs) return skipBecause(t, NOT_OURS);
  const { knownHosts } = requireLab();
  const name = 'grendel';
  const host = requireLab().hosts.find((h) => h.name === name);
  if (!host) return t.fail(`no host ${name}`);
  await hostExec(name, ['sh', '-c', 'echo old > /root/marker']);
  const oldKey = hostKey(knownHosts, host.address);
  await rebuildHost(name);
  const marker = await hostExec(name, ['test', '-e', '/root/marker']);
  t.not(marker.code, 0, 'the rebuilt host has a fresh disk');
  const newKey = hostKey(knownHosts, host.address);
  t.truthy(newKey);
  t.not(newKey, oldKey, 'the rebuilt host has new host keys');
  const result = await waitFor('ssh to the rebuilt host', 60_000, async () => {
    const attempt = await runSsh(host.address, ['hostname']);
    return attempt.code === 0 ? attempt : undefined;
  }, 1000);
  t.is(result.stdout.trim(), name);
});

labTest('restartClientTor keeps the lab usable', async (t) => {
  if (!requireLab().startedByUs) return skipBecause(t, NOT_OURS);
  const { onion, socksPort } = requireLab();
  await restartClientTor();
  const body = await waitFor('the test onion service through the restarted client', 60_000, () =>
    httpGetViaSocks({ proxyPort: socksPort, host: onion, port: 80, timeoutMs: 20_000 }),
  1000);
  t.is(body, PROBE_HTTP_BODY);
});

labTest('host tor joins via site vars', async (t) => {
  if (!requireLab().startedByUs) return skipBecause(t, NOT_OURS);
  const { siteDir, socksPort } = requireLab();
  const name = 'grendel';
  const generated = loadYaml(fs.readFileSync(path.join(siteDir, 'group_vars', 'all', 'tor-network.yaml'), 'utf8')) as {
    tor_extra_config: string[];
  };
  t.true(generated.tor_extra_config.includes('TestingTorNetwork 1'));
  t.is(generated.tor_extra_config.filter((line) => line.startsWith('DirAuthority ')).length, 3);

  const install = await hostExec(name, ['sh', '-c', 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tor']);
  t.is(install.code, 0, install.stderr);
  const torrc = [...generated.tor_extra_config, 'SocksPort 0', 'HiddenServiceDir /var/lib/tor/ssh', 'HiddenServicePort 22 127.0.0.1:22'];
  const restart = await hostExec(name, ['sh', '-c', 'cat > /etc/tor/torrc && systemctl restart tor'], `${torrc.join('\n')}\n`);
  t.is(restart.code, 0, restart.stderr);
  const onion = await waitFor('the host onion address', 30_000, async () => {
    const result = await hostExec(name, ['cat', '/var/lib/tor/ssh/hostname']);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }, 250);
  // The hostname file appears before the descriptor is published, so connect until it works.
  const socket = await waitFor(`a stream to ${onion}:22`, 120_000, () => socksConnect({ proxyPort: socksPort, host: onion, port: 22, timeoutMs: 30_000 }), 1000);
  const banner = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString())));
  socket.destroy();
  t.regex(banner, /^SSH-2\.0-/);
  // Put the host back as the roles expect it: without tor.
  await rebuildHost(name);
});

/** Namespace links (like net:[4026532301]) of a process. */
function namespacesOf(pid: number): string[] {
  const found: string[] = [];
  for (const kind of ['net', 'mnt', 'pid', 'uts', 'ipc', 'cgroup']) {
    try {
      found.push(fs.readlinkSync(`/proc/${pid}/ns/${kind}`));
    } catch {
      // The process is gone.
    }
  }
  return found;
}

function namespacesInUse(): Set<string> {
  const all = new Set<string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) for (const ns of namespacesOf(Number(entry))) all.add(ns);
  }
  return all;
}

labTest('down leaves nothing behind', async (t) => {
  const current = requireLab();
  if (!current.startedByUs || !before) return skipBecause(t, 'the lab was started outside this test, so it stays up');
  const snapshotBefore = before;
  const processes: ProcessRef[] = labProcesses();
  t.true(processes.length > 0);
  const hostNamespaces = Object.values(readState()?.hosts ?? {}).flatMap((host) => (host.init ? namespacesOf(host.init.pid) : []));
  const ownNamespaces = new Set(namespacesOf(process.pid));
  const labNamespaces = hostNamespaces.filter((ns) => !ownNamespaces.has(ns));
  t.true(labNamespaces.length >= 3 * 6, 'each host has its own net, mnt, pid, uts, ipc and cgroup namespace');

  // Holding the lock keeps another test process from starting a new lab before the snapshot.
  const { after, stateAfter } = await withLock(async () => {
    const started = Date.now();
    await current.stop();
    lab = undefined;
    t.log(`down took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { after: await snapshotMachine(), stateAfter: readState() };
  });
  t.deepEqual(processes.filter(isAlive), [], 'no lab process is alive');
  const inUse = namespacesInUse();
  t.deepEqual(labNamespaces.filter((ns) => inUse.has(ns)), [], 'no host namespace is left');
  t.deepEqual(after.netns, snapshotBefore.netns);
  t.deepEqual(after.labCgroups, snapshotBefore.labCgroups);
  const labMount = (mount: string) => mount.includes('netns') || mount.includes('onionplay');
  t.deepEqual(after.mounts.filter(labMount), snapshotBefore.mounts.filter(labMount));
  if (after.mounts.join('\n') !== snapshotBefore.mounts.join('\n')) {
    t.log('mount points changed outside the lab (other processes on this machine?):', after.mounts, snapshotBefore.mounts);
  }
  t.is(after.ipForward, snapshotBefore.ipForward);
  t.is(after.ipv6Forwarding, snapshotBefore.ipv6Forwarding);
  t.is(after.nftRuleset, snapshotBefore.nftRuleset);
  t.is(after.routes, snapshotBefore.routes);
  t.deepEqual(after.links, snapshotBefore.links);
  t.is(stateAfter, undefined, 'the state file is removed');
});
