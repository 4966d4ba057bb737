// The bootstrap playbook on the lab: fresh hosts, reached first through the
// private Tor network's exit at their clearnet addresses, end up reachable
// only as onion services behind a firewall that lets only tor out.

import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';
import { XMLValidator } from 'fast-xml-parser';

import { main } from '../../runner/cli/main.ts';
import { loadSite } from '../../runner/inventory/load.ts';
import type { HostRecap, RunEvent } from '../../runner/report/events.ts';
import { OnionKeyStore, readPassphrase } from '../../runner/secrets/store.ts';
import { sshTransport } from '../../runner/transport/ssh.ts';
import { ensureLabPassphrase } from '../lab/demo-support.ts';
import { hostExec, httpGetViaSocks, labGate, type Lab, rebuildHost, restartClientTor, startHost, stopHost, useLab } from '../lab/helper.ts';
import { labHealthy } from '../lab/lab.ts';
import { readState } from '../lab/state.ts';

const gate = labGate();
const labTest = gate.enabled ? test.serial : test.serial.skip;
if (!gate.enabled) test(`lab tests skipped: ${gate.reason}`, (t) => t.pass());

const fixture = new URL('../fixtures/lab-bootstrap/', import.meta.url).pathname;
const repoRoot = new URL('../../', import.meta.url).pathname;

let lab: Lab | undefined;
let work = '';
let site = '';
const addresses = new Map<string, { ssh: string; web: string }>();
/** Everything the runs of this file printed, scanned for secrets at the end. */
const outputs: string[] = [];

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface RunOutput {
  code: number;
  events: RunEvent[];
  recaps: HostRecap[];
  text: string;
}

async function run(extra: string[] = [], playbook = 'playbook.yaml'): Promise<RunOutput> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['run', join(site, playbook), '-i', site, '--output', 'json', '--stats', '-vvv', ...extra], { stdout, stderr });
  outputs.push(stdout.text, stderr.text);
  const events = stdout.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
  const recap = events.find((event) => event.type === 'recap');
  const failures = events
    .filter((event) => event.type === 'task_result' && event.status === 'failed')
    .map((event) => (event.type === 'task_result' ? `${event.host}: ${event.task}: ${event.message}` : ''));
  const unreachable = events.filter((event) => event.type === 'host_unreachable').map((event) => JSON.stringify(event));
  return {
    code,
    events,
    recaps: recap?.type === 'recap' ? recap.hosts : [],
    text: `${stderr.text}\n${[...failures, ...unreachable].join('\n')}`,
  };
}

async function storedAddresses(): Promise<Map<string, { ssh: string; web: string }>> {
  const inventory = await loadSite(site);
  const store = new OnionKeyStore(site, () => readPassphrase(inventory.settings, site));
  const found = new Map<string, { ssh: string; web: string }>();
  for (const host of await store.hosts()) {
    const services = await store.load(host);
    found.set(host, { ssh: services.ssh?.hostname ?? '', web: services.web?.hostname ?? '' });
  }
  return found;
}

/** Whether a TCP connection from this machine to the address opens within the time. */
function tcpOpens(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Give every running lab host a fresh overlay: sshd on its clearnet address, no tor, no firewall. */
async function freshHosts(): Promise<void> {
  const state = readState();
  if (!labHealthy(state) || !state) return;
  for (const host of Object.keys(state.hosts)) await rebuildHost(host);
}

test.before(async () => {
  if (!gate.enabled) return;
  // Earlier runs may have bootstrapped the hosts, which closes the clearnet
  // SSH port that the lab's readiness check uses: start from fresh hosts.
  await freshHosts();
  lab = await useLab();
  ensureLabPassphrase();
  work = await mkdtemp(join(tmpdir(), 'onionplay-bootstrap-'));
  site = join(work, 'site');
  await cp(lab.siteDir, site, { recursive: true, filter: (source) => !source.includes('/state') });
  await cp(join(fixture, 'playbook.yaml'), join(site, 'playbook.yaml'));
  await cp(join(fixture, 'roles'), join(site, 'roles'), { recursive: true });
});

test.after.always(async () => {
  // Leave the hosts as other lab tests expect them: fresh.
  if (lab) await freshHosts();
  await lab?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

labTest('bootstrap converges fresh hosts', async (t) => {
  const first = await run();
  t.is(first.code, 0, first.text);
  t.is(first.recaps.length, 3);
  for (const recap of first.recaps) {
    t.true(recap.changed > 0, `${recap.host} changed nothing`);
    t.is(recap.failed, 0, `${recap.host} failed`);
  }
  for (const [host, found] of await storedAddresses()) addresses.set(host, found);
  t.is(addresses.size, 3);
  for (const [host, found] of addresses) {
    t.regex(found.ssh, /^[a-z2-7]{56}\.onion$/, `${host} has no ssh onion address`);
    t.regex(found.web, /^[a-z2-7]{56}\.onion$/, `${host} has no web onion address`);
    t.not(found.ssh, found.web, `${host} shares one address for ssh and web`);
  }
});

labTest('sshd listens on loopback only', async (t) => {
  for (const host of lab?.hosts ?? []) {
    const listening = await hostExec(host.name, ['ss', '-Hltnp']);
    const sshd = listening.stdout.split('\n').filter((line) => line.includes('"sshd"'));
    t.true(sshd.length > 0, `${host.name}: no sshd socket in\n${listening.stdout}`);
    for (const line of sshd) t.regex(line, /\s127\.0\.0\.1:8089\s/, `${host.name}: ${line}`);
  }
});

labTest('login works through the SSH onion', async (t) => {
  for (const host of lab?.hosts ?? []) {
    const onion = addresses.get(host.name)?.ssh;
    t.truthy(onion);
    const connection = await sshTransport.connect(
      {
        name: host.name,
        onion,
        port: 22,
        user: 'root',
        sshKey: lab?.sshKey,
        direct: false,
        socks: { host: '127.0.0.1', port: lab?.socksPort ?? 0 },
        connectTimeoutMs: 120_000,
        commandTimeoutMs: 0,
      },
      { allowDirect: false, trustNewHosts: false, siteDir: site },
    );
    try {
      const result = await connection.run('hostname');
      t.is(result.stdout.toString().trim(), host.name);
    } finally {
      await connection.close();
    }
  }
});

labTest('clearnet SSH port no longer answers', async (t) => {
  for (const host of lab?.hosts ?? []) t.false(await tcpOpens(host.address, 22, 5000), `${host.name}:22 still accepts`);
});

labTest('web onion service answers through Tor', async (t) => {
  for (const host of lab?.hosts ?? []) {
    const web = addresses.get(host.name)?.web ?? '';
    const response = await httpGetViaSocks({ proxyPort: lab?.socksPort ?? 0, host: web, port: 80, timeoutMs: 120_000 });
    t.regex(response, new RegExp(`onionplay web target on ${host.name}`));
  }
});

labTest('firewall drops direct outbound traffic', async (t) => {
  for (const host of lab?.hosts ?? []) {
    const direct = await hostExec(host.name, ['bash', '-c', 'timeout 5 bash -c "exec 3<>/dev/tcp/10.200.0.1/19080" && echo open || echo blocked']);
    t.is(direct.stdout.trim(), 'blocked', `${host.name}: ${direct.stdout} ${direct.stderr}`);
    const table = await hostExec(host.name, ['nft', 'list', 'table', 'inet', 'onionplay']);
    t.regex(table.stdout, /outbound dropped: only tor may leave/);
    // nft lists the user by uid.
    t.regex(table.stdout, /meta skuid ("?debian-tor"?|\d+) accept/);
  }
});

labTest('second run changes nothing through the onions', async (t) => {
  const second = await run();
  t.is(second.code, 0, second.text);
  for (const recap of second.recaps) {
    t.is(recap.changed, 0, `${recap.host} changed something`);
    t.is(recap.failed, 0);
    t.is(recap.route, 'onion', `${recap.host} was reached via ${recap.route}`);
  }
});

labTest('latency through the web onion', async (t) => {
  const web = addresses.get('obelix')?.web ?? '';
  const svg = join(work, 'latency.svg');
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['latency', `http://${web}/`, '-n', '10', '--socks', `127.0.0.1:${lab?.socksPort ?? 0}`, '--plot', svg, '--json'], { stdout, stderr });
  t.is(code, 0, stderr.text);
  const report = JSON.parse(stdout.text) as { tor: { samples: number[]; meanMs: number } };
  t.is(report.tor.samples.length, 10);
  t.true(report.tor.meanMs > 0);
  const text = await readFile(svg, 'utf8');
  t.is(XMLValidator.validate(text), true);
  t.is(text.match(/<polyline /g)?.length, 2);
});

labTest('site playbook runs twice on the lab', async (t) => {
  const stdout = new Capture();
  const stderr = new Capture();
  const site1 = await main(['run', join(repoRoot, 'playbooks', 'site.yaml'), '-i', site, '--output', 'json', '-vvv'], { stdout, stderr });
  outputs.push(stdout.text, stderr.text);
  const events = stdout.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as RunEvent);
  const failures = events.filter((event) => event.type === 'task_result' && event.status === 'failed').map((event) => JSON.stringify(event));
  t.is(site1, 0, `${stderr.text}\n${failures.join('\n')}`);

  const again = new Capture();
  const againErr = new Capture();
  const site2 = await main(['run', join(repoRoot, 'playbooks', 'site.yaml'), '-i', site, '--output', 'json', '-vvv'], { stdout: again, stderr: againErr });
  outputs.push(again.text, againErr.text);
  t.is(site2, 0, againErr.text);
  const second = again.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as RunEvent);
  const changed = second.filter((event) => event.type === 'task_result' && event.status === 'changed').map((event) => (event.type === 'task_result' ? `${event.host}: ${event.task}` : ''));
  t.deepEqual(changed, [], 'the second run changed something');
  // The Kubernetes steps cannot run here: they are skipped with a reason, never ok.
  const kubernetesSteps = [
    'Initialise the control plane',
    'Give the admin user the cluster\'s kubeconfig',
    'Mint a join token for the workers',
    'Join the cluster',
    'Apply the flannel manifest',
    'Apply the web Deployment and its ClusterIP Service',
  ];
  const kubeadm = second.filter((event) => event.type === 'task_result' && kubernetesSteps.includes(event.task));
  t.true(kubeadm.length > 0);
  for (const event of kubeadm) {
    if (event.type !== 'task_result') continue;
    t.is(event.status, 'skipped', `${event.host}: ${event.task} was ${event.status}`);
    t.truthy(event.reason, `${event.task} has no reason`);
  }
});

labTest('rebuilt host gets its onion addresses back', async (t) => {
  const before = addresses.get('obelix');
  await rebuildHost('obelix');
  const forget = new Capture();
  t.is(await main(['forget', 'obelix', '-i', site], { stdout: forget, stderr: forget }), 0, forget.text);
  const again = await run(['--limit', 'obelix']);
  t.is(again.code, 0, again.text);
  const live = await hostExec('obelix', ['cat', '/var/lib/tor/ssh/hostname', '/var/lib/tor/web/hostname']);
  t.is(live.stdout, `${before?.ssh}\n${before?.web}\n`);
  const converged = await run(['--limit', 'obelix']);
  t.is(converged.code, 0, converged.text);
  t.is(converged.recaps[0]?.changed, 0);
});

labTest('torrc that tor rejects leaves tor running', async (t) => {
  const before = await hostExec('ciclope', ['sha256sum', '/etc/tor/torrc']);
  const extra = join(work, 'bad-tor.yaml');
  const inventory = await loadSite(site);
  const current = (inventory.groups.get('all')?.vars.tor_extra_config as string[] | undefined) ?? [];
  await writeFile(extra, `tor_extra_config: ${JSON.stringify([...current, 'NoSuchTorOption 1'])}\n`);
  const rejected = await run(['--limit', 'ciclope', '-e', `@${extra}`]);
  t.is(rejected.code, 2, rejected.text);
  t.regex(rejected.text, /validate command failed/);
  const after = await hostExec('ciclope', ['sha256sum', '/etc/tor/torrc']);
  t.is(after.stdout, before.stdout);
  const active = await hostExec('ciclope', ['systemctl', 'is-active', 'tor@default']);
  t.is(active.stdout.trim(), 'active');
});

labTest('tor restarted by a handler while connected through it', async (t) => {
  const extra = join(work, 'restart-tor.yaml');
  const inventory = await loadSite(site);
  const current = (inventory.groups.get('all')?.vars.tor_extra_config as string[] | undefined) ?? [];
  // A change to tor_extra_config restarts tor, which drops the controller's
  // connection: it runs through this host's own onion service.
  await writeFile(extra, `tor_extra_config: ${JSON.stringify([...current, 'HeartbeatPeriod 30 minutes'])}\n`);
  const restarted = await run(['--limit', 'grendel', '-e', `@${extra}`]);
  t.is(restarted.code, 0, restarted.text);
  const recap = restarted.recaps[0];
  t.is(recap?.failed, 0);
  t.true((recap?.changed ?? 0) >= 2, `changed ${recap?.changed}`);
  t.true((recap?.reconnects ?? 0) >= 1, `reconnects ${recap?.reconnects}`);
  const again = await run(['--limit', 'grendel', '-e', `@${extra}`]);
  t.is(again.code, 0, again.text);
  t.is(again.recaps[0]?.changed, 0);
  const back = await run(['--limit', 'grendel']);
  t.is(back.code, 0, back.text);
});

labTest('controller tor restarted mid-run: nothing applied twice', async (t) => {
  await writeFile(
    join(site, 'slow.yaml'),
    `- name: Slow tasks
  hosts: obelix
  tasks:
    - name: Append once, slowly
      command: { argv: [sh, -c, "sleep 8; echo ran >> /root/onionplay-ran-once"] }
    - name: Write afterwards
      copy: { content: "after\\n", dest: /root/onionplay-after }
`,
  );
  await hostExec('obelix', ['rm', '-f', '/root/onionplay-ran-once', '/root/onionplay-after']);
  const running = run([], 'slow.yaml');
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await restartClientTor();
  const result = await running;
  t.is(result.code, 0, result.text);
  t.is((await hostExec('obelix', ['cat', '/root/onionplay-ran-once'])).stdout, 'ran\n');
  t.is((await hostExec('obelix', ['cat', '/root/onionplay-after'])).stdout, 'after\n');
  t.true((result.recaps[0]?.reconnects ?? 0) >= 1);
});

labTest('large file cut off mid-transfer stays whole', async (t) => {
  const big = 'onionplay-large-file-line\n'.repeat(200_000);
  const vars = join(work, 'big.yaml');
  await writeFile(vars, `big: ${JSON.stringify(big)}\n`);
  await writeFile(
    join(site, 'big.yaml'),
    `- name: Large file
  hosts: ciclope
  tasks:
    - name: Write the large file
      copy: { content: "{{ big }}", dest: /root/onionplay-big }
`,
  );
  await hostExec('ciclope', ['sh', '-c', 'echo old > /root/onionplay-big']);
  const running = run(['-e', `@${vars}`], 'big.yaml');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await restartClientTor();
  const first = await running;
  const sum = (await hostExec('ciclope', ['sha256sum', '/root/onionplay-big'])).stdout.split(' ')[0];
  const oldSum = createHash('sha256').update('old\n').digest('hex');
  const newSum = createHash('sha256').update(big).digest('hex');
  t.true(sum === oldSum || sum === newSum, `partial file after exit code ${first.code}`);
  const leftovers = (await hostExec('ciclope', ['sh', '-c', 'ls -a /root | grep onionplay-big'])).stdout.trim().split('\n');
  t.deepEqual(leftovers, ['onionplay-big']);
  const second = await run(['-e', `@${vars}`], 'big.yaml');
  t.is(second.code, 0, second.text);
  t.is((await hostExec('ciclope', ['sha256sum', '/root/onionplay-big'])).stdout.split(' ')[0], newSum);
});

labTest('unreachable host does not stop the others', async (t) => {
  // A shorter connect timeout than the default 120 s keeps the test short;
  // the stopped host fails the same way.
  const settingsFile = join(site, 'site.yaml');
  const settings = await readFile(settingsFile, 'utf8');
  await writeFile(settingsFile, `${settings}\nconnect_timeout: 30\n`);
  await stopHost('grendel');
  try {
    const partial = await run();
    t.is(partial.code, 3, partial.text);
    const byHost = new Map(partial.recaps.map((recap) => [recap.host, recap]));
    t.true(byHost.get('grendel')?.unreachable);
    t.is(byHost.get('obelix')?.failed, 0);
    t.is(byHost.get('ciclope')?.failed, 0);
    t.false(byHost.get('obelix')?.unreachable);
  } finally {
    await startHost('grendel');
    await writeFile(settingsFile, settings);
  }
  const whole = await run();
  t.is(whole.code, 0, whole.text);
  for (const recap of whole.recaps) t.is(recap.changed, 0, recap.host);
});

labTest('no secret in outputs or site files', async (t) => {
  const inventory = await loadSite(site);
  const store = new OnionKeyStore(site, () => readPassphrase(inventory.settings, site));
  const secrets: string[] = [];
  for (const host of await store.hosts()) {
    for (const keys of Object.values(await store.load(host))) {
      secrets.push(keys.secretKey);
      // The 64 bytes of key material after tor's 32-byte file header.
      secrets.push(Buffer.from(keys.secretKey, 'base64').subarray(32).toString('base64').slice(0, 40));
    }
  }
  t.true(secrets.length >= 12);
  const passphrase = await readPassphrase(inventory.settings, site);
  const labKey = (await readFile(lab?.sshKey ?? '', 'utf8')).split('\n').filter((line) => line && !line.startsWith('-----')).join('');
  const text = outputs.join('\n');
  t.true(text.length > 0);
  for (const secret of secrets) t.false(text.includes(secret), 'an onion secret key appears in the output');
  t.false(text.includes(passphrase), 'the key store passphrase appears in the output');
  t.false(text.includes(labKey.slice(0, 40)), 'the SSH private key appears in the output');
  t.false(/PRIVATE KEY-----/.test(text));

  for (const file of await listFiles(site)) {
    const content = await readFile(file);
    for (const secret of secrets) t.false(content.includes(secret), `${file} holds an onion secret key`);
    t.false(content.includes(labKey.slice(0, 40)), `${file} holds the SSH private key`);
  }
  for (const file of ['state/host_keys.yaml', 'state/facts.yaml', 'state/onion-keys/obelix.enc']) {
    t.is((await stat(join(site, file))).mode & 0o077, 0, `${file} is readable by others`);
  }
  t.is((await stat(join(site, 'state'))).mode & 0o777, 0o700);
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
