// `npm run bench`: the ten tasks with onionplay and three Ansible setups,
// side by side, against real sshd instances on loopback. Every connection
// goes through one SOCKS5 proxy that adds latency. Then onionplay runs alone
// against many hosts. Every number it prints is measured in this run: wall
// time by this process, CPU time and peak RSS by GNU time, round trips by
// the proxy.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { makeTempDir, removeTempDir } from '../support/processes.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
import { checkAddedRtt, ECHO_NAME, startEchoServer, type EchoServer } from './latency-check.ts';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.ts';
import { ensurePackages } from './packages.ts';
import { connectionTable, rttTable, scaleTable, type Group, type Phase, type Sample, type Series } from './report.ts';
import { killRunningCommands } from './measure.ts';
import { exitAllControlMasters, runAnsible, runOnionplay, TOOL_LABELS, writeAnsibleProject, writeOnionplaySite, type BenchHost, type Tool, type ToolRun, type Workspace } from './tools.ts';
import { concurrentConnectsTable, handshakeTable, measureConcurrentConnects, measureHandshakes, type ConcurrentConnects, type HandshakeSample } from './handshake.ts';
import { describeMachine, engineRevision } from './machine.ts';

/** No single tool run may take longer than this. */
const RUN_TIMEOUT_MS = 15 * 60_000;
/** Changes a first run of the ten tasks makes: all but the package (already present) and the stat. */
const FIRST_RUN_CHANGES = 8;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** utime + stime + cutime + cstime of one process from /proc/PID/stat, in ms. */
function processCpuMs(pid: number | string): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in brackets and may hold spaces: state is field 3, utime field 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const ticks = (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
  // /proc reports USER_HZ ticks, 100 per second on Linux.
  return ticks * 10;
}

/**
 * CPU time used so far by the sshd listeners and the per-connection sshd
 * processes, shells and commands they have reaped, in ms.
 */
function sshdCpuMs(sshds: TestSshd[]): number {
  return sshds.reduce((total, sshd) => total + processCpuMs(fs.readFileSync(path.join(sshd.folder, 'sshd.pid'), 'utf8').trim()), 0);
}

/** PID of the SOCKS proxy's child process, found among this process's children in /proc. */
function findProxyPid(): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== process.pid) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('socks-server-child')) return Number(entry);
    } catch {
      // The process ended while being read.
    }
  }
  return undefined;
}

async function proxySample(proxy: SocksServerControl, run: ToolRun, hostCpu: { sshdMs: number; proxyMs: number } | undefined): Promise<Sample> {
  const connections = await proxy.connections();
  const sum = (pick: (item: (typeof connections)[number]) => number): number => connections.reduce((total, item) => total + pick(item), 0);
  const recaps = run.recaps;
  return {
    wallMs: run.wallMs,
    cpuMs: run.cpuMs,
    ...(hostCpu !== undefined ? { sshdCpuMs: hostCpu.sshdMs, proxyCpuMs: hostCpu.proxyMs } : {}),
    maxRssKiB: run.maxRssKiB,
    changed: run.changed,
    loadAverage: os.loadavg()[0] ?? Number.NaN,
    proxyRoundTrips: sum((item) => item.roundTrips),
    socksRoundTrips: connections[0]?.socksRoundTrips ?? 0,
    connections: connections.length,
    bytesFromClient: sum((item) => item.bytesFromClient),
    bytesToClient: sum((item) => item.bytesToClient),
    ...(recaps
      ? {
          connectRoundTrips: recaps.reduce((total, recap) => total + recap.connectRoundTrips, 0),
          execRoundTrips: recaps.reduce((total, recap) => total + recap.execRoundTrips, 0),
          maxConnectRoundTrips: Math.max(...recaps.map((recap) => recap.connectRoundTrips)),
          maxExecRoundTrips: Math.max(...recaps.map((recap) => recap.execRoundTrips)),
        }
      : {}),
  };
}

class Bench {
  readonly series: Series[] = [];
  private proxy: SocksServerControl | undefined;
  private echo: EchoServer | undefined;
  private sshds: TestSshd[] = [];
  private proxyPid: number | undefined;
  private readonly dir = makeTempDir('bench');

  constructor(private readonly options: BenchOptions) {}

  async setUp(): Promise<void> {
    const hostCount = Math.max(1, ...this.options.scaleHosts);
    log(`starting ${hostCount} sshd instance(s) on loopback`);
    for (let start = 0; start < hostCount; start += 10) {
      const batch = Array.from({ length: Math.min(10, hostCount - start) }, () => startSshd());
      this.sshds.push(...(await Promise.all(batch)));
    }
    this.echo = await startEchoServer();
    const names: Record<string, { host: string; port: number }> = { [ECHO_NAME]: { host: '127.0.0.1', port: this.echo.port } };
    this.sshds.forEach((sshd, index) => {
      names[`h${index + 1}.bench`] = { host: '127.0.0.1', port: sshd.port };
    });
    this.proxy = await spawnSocksServer({ names, allowNoAuth: true });
    this.proxyPid = findProxyPid();
    log(`SOCKS proxy on 127.0.0.1:${this.proxy.port}`);
  }

  /** Measure the connect round trips of ssh2 with and without each shortcut, at the current RTT. */
  async handshakes(runs: number): Promise<HandshakeSample[]> {
    const [host] = this.workspace(1).hosts;
    if (!host) throw new Error('no sshd is running');
    return measureHandshakes(host, this.requireProxy(), runs);
  }

  /** Connect to the first `count` hosts at once without the proxy, twice for each count. */
  async concurrentConnects(counts: number[]): Promise<ConcurrentConnects[]> {
    const rounds: ConcurrentConnects[] = [];
    for (const count of counts) {
      for (let round = 0; round < 2; round += 1) rounds.push(await measureConcurrentConnects(this.workspace(count).hosts));
    }
    return rounds;
  }

  async tearDown(): Promise<void> {
    await this.proxy?.close();
    await this.echo?.close();
    await Promise.all(this.sshds.map((sshd) => sshd.stop()));
    removeTempDir(this.dir);
  }

  private workspace(hostCount: number): Workspace {
    const hosts: BenchHost[] = this.sshds.slice(0, hostCount).map((sshd, index) => ({
      name: `h${index + 1}`,
      address: `h${index + 1}.bench`,
      sshd,
      rootDir: path.join(this.dir, 'targets', `h${index + 1}`),
    }));
    return { dir: this.dir, socksPort: this.requireProxy().port, hosts };
  }

  private requireProxy(): SocksServerControl {
    if (!this.proxy) throw new Error('the SOCKS proxy is not running');
    return this.proxy;
  }

  /** Set the proxy's one-way delay to half of `rttMs` and check the added round trip time. */
  async setRtt(rttMs: number): Promise<void> {
    const proxy = this.requireProxy();
    await proxy.configure({ delayMs: rttMs / 2 });
    const check = await checkAddedRtt(proxy.port, rttMs / 2);
    log(`RTT ${rttMs} ms: the proxy adds ${check.medianMs.toFixed(1)} ms per round trip (samples ${check.samplesMs.map((ms) => ms.toFixed(1)).join(', ')} ms)`);
  }

  private record(group: Group, rttMs: number, tool: Tool, phase: Phase, hosts: number, sample: Sample): void {
    let entry = this.series.find((item) => item.group === group && item.rttMs === rttMs && item.tool === tool && item.phase === phase && item.hosts === hosts);
    if (!entry) {
      entry = { group, rttMs, tool, phase, hosts, samples: [] };
      this.series.push(entry);
    }
    entry.samples.push(sample);
  }

  /** Run one tool once from empty target folders and once more as a rerun, and record both. */
  async runPair(group: Group, tool: Tool, rttMs: number, hostCount: number): Promise<void> {
    const proxy = this.requireProxy();
    const workspace = this.workspace(hostCount);
    for (const host of workspace.hosts) fs.rmSync(host.rootDir, { recursive: true, force: true });
    const site = tool === 'onionplay' ? writeOnionplaySite(workspace) : undefined;
    const project = tool === 'onionplay' ? undefined : writeAnsibleProject(workspace);
    for (const phase of ['first', 'rerun'] as const) {
      await proxy.reset();
      const sshds = workspace.hosts.map((host) => host.sshd);
      const proxyPid = this.proxyPid;
      const cpuBefore = group === 'scale' ? sshdCpuMs(sshds) : 0;
      const proxyCpuBefore = group === 'scale' && proxyPid !== undefined ? processCpuMs(proxyPid) : 0;
      // Per-connection sshd processes hand their CPU time to the listener
      // only once it reaps them, some time after the run. Only the scale
      // runs report it, so only they wait.
      const sshdCpuOfRun = async (): Promise<{ sshdMs: number; proxyMs: number } | undefined> => {
        if (group !== 'scale') return undefined;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const proxyMs = proxyPid !== undefined ? processCpuMs(proxyPid) - proxyCpuBefore : Number.NaN;
        return { sshdMs: sshdCpuMs(sshds) - cpuBefore, proxyMs };
      };
      let sample: Sample | undefined;
      let run: ToolRun;
      if (site !== undefined) {
        run = await runOnionplay(workspace, site, RUN_TIMEOUT_MS);
        sample = await proxySample(proxy, run, await sshdCpuOfRun());
      } else {
        run = await runAnsible(tool as Exclude<Tool, 'onionplay'>, workspace, project!, RUN_TIMEOUT_MS, async (finished) => {
          sample = await proxySample(proxy, finished, await sshdCpuOfRun());
        });
      }
      if (!sample) throw new Error('no sample was taken');
      const expected = phase === 'first' ? FIRST_RUN_CHANGES * hostCount : 0;
      if (run.changed !== expected || run.failed !== 0 || run.unreachable !== 0) {
        throw new Error(`${TOOL_LABELS[tool]} ${phase} run at RTT ${rttMs} ms with ${hostCount} host(s): changed ${run.changed} (expected ${expected}), failed ${run.failed}, unreachable ${run.unreachable}`);
      }
      this.record(group, rttMs, tool, phase, hostCount, sample);
      log(`${TOOL_LABELS[tool]}, ${hostCount} host(s), RTT ${rttMs} ms, ${phase}: ${(sample.wallMs / 1000).toFixed(2)} s, ${sample.proxyRoundTrips} round trips, ${sample.changed} changed`);
    }
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 4;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run bench must run as root, because sshd privilege separation needs it\n');
    return 4;
  }
  const started = Date.now();
  const revisionAtStart = await engineRevision();
  log(`engine at ${revisionAtStart}`);
  log(`load average (1, 5, 15 min) at the start: ${os.loadavg().map((load) => load.toFixed(2)).join(', ')} on ${os.cpus().length} CPUs`);
  if (options.install) await ensurePackages(log);
  const bench = new Bench(options);
  const stopOnSignal = (): void => {
    log('interrupted: stopping the running command, the SSH control masters, sshd instances and the proxy');
    // Before process.exit: its handlers remove the temporary folders that hold the control sockets.
    killRunningCommands();
    exitAllControlMasters();
    process.exit(130);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  let handshakeSamples: HandshakeSample[] = [];
  let handshakeRttMs = 0;
  let concurrent: ConcurrentConnects[] = [];
  try {
    await bench.setUp();
    for (const rttMs of options.rttsMs) {
      await bench.setRtt(rttMs);
      for (const tool of options.tools) {
        const runs = tool === 'ansible' && rttMs > 0 ? options.defaultRuns : options.runs;
        for (let run = 0; run < runs; run += 1) await bench.runPair('compare', tool, rttMs, 1);
      }
      process.stdout.write(`\n${rttTable(bench.series, rttMs, options.tools)}\n\n`);
    }
    handshakeRttMs = Math.max(...options.rttsMs);
    await bench.setRtt(handshakeRttMs);
    handshakeSamples = await bench.handshakes(options.runs);
    process.stdout.write(`\n${handshakeTable(handshakeSamples, handshakeRttMs)}\n\n`);
    if (options.scaleHosts.length > 0) {
      await bench.setRtt(options.scaleRttMs);
      for (const hosts of options.scaleHosts) {
        for (let run = 0; run < options.scaleRuns; run += 1) await bench.runPair('scale', 'onionplay', options.scaleRttMs, hosts);
      }
      // How much of the scale runs' wall time the handshakes cost on this machine alone.
      concurrent = await bench.concurrentConnects(options.scaleHosts);
      process.stdout.write(`\n${concurrentConnectsTable(concurrent)}\n\n`);
    }
  } finally {
    await bench.tearDown();
  }
  const revisionAtEnd = await engineRevision();
  const revision = revisionAtEnd === revisionAtStart ? revisionAtStart : `${revisionAtStart} at the start, ${revisionAtEnd} at the end: the engine changed during the run`;
  const machine = `${await describeMachine()}\nEngine: ${revision}`;
  process.stdout.write(`\n${machine}\n\nCommand: npm run bench -- ${process.argv.slice(2).join(' ')}\n\n`);
  for (const rttMs of options.rttsMs) process.stdout.write(`${rttTable(bench.series, rttMs, options.tools)}\n\n`);
  process.stdout.write(`${connectionTable(bench.series, options.rttsMs, options.tools)}\n\n`);
  process.stdout.write(`${handshakeTable(handshakeSamples, handshakeRttMs)}\n\n`);
  if (options.scaleHosts.length > 0) {
    process.stdout.write(`${scaleTable(bench.series, options.scaleRttMs, options.scaleHosts)}\n\n`);
    process.stdout.write(`${concurrentConnectsTable(concurrent)}\n\n`);
  }
  process.stdout.write(`Total benchmark time: ${((Date.now() - started) / 60_000).toFixed(1)} min on ${os.hostname()}\n`);
  if (options.jsonPath) fs.writeFileSync(options.jsonPath, `${JSON.stringify({ machine, series: bench.series, handshakes: handshakeSamples, concurrentConnects: concurrent }, null, 2)}\n`);
  return 0;
}

process.exitCode = await main();
