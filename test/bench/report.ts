// Markdown tables of the benchmark results, printed as the run goes.

import { TOOL_LABELS, type Tool } from './tools.ts';

export interface Sample {
  wallMs: number;
  /** CPU time of the tool's process tree, from GNU time. */
  cpuMs: number;
  /** CPU time of the hosts' side: the sshd processes, their shells and the commands they ran (scale runs only). */
  sshdCpuMs?: number;
  /** CPU time of the SOCKS proxy's process (scale runs only). */
  proxyCpuMs?: number;
  maxRssKiB: number;
  changed: number;
  /** The machine's 1-minute load average right after the run; other work shares the machine. */
  loadAverage: number;
  /** Round trips the proxy counted, summed over every connection of the run. */
  proxyRoundTrips: number;
  /** Round trips of the SOCKS exchange of the run's first connection, as the proxy saw it. */
  socksRoundTrips: number;
  connections: number;
  bytesFromClient: number;
  bytesToClient: number;
  /** onionplay's own counts, summed over hosts; max over hosts in `maxConnectRoundTrips`. */
  connectRoundTrips?: number;
  execRoundTrips?: number;
  maxConnectRoundTrips?: number;
  maxExecRoundTrips?: number;
}

export type Phase = 'first' | 'rerun';

/** `compare`: the four tools on one host; `scale`: onionplay on N hosts. */
export type Group = 'compare' | 'scale';

export interface Series {
  group: Group;
  rttMs: number;
  tool: Tool;
  phase: Phase;
  hosts: number;
  samples: Sample[];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

function find(series: Series[], rttMs: number, tool: Tool, phase: Phase, hosts = 1, group: Group = 'compare'): Series | undefined {
  return series.find((entry) => entry.group === group && entry.rttMs === rttMs && entry.tool === tool && entry.phase === phase && entry.hosts === hosts);
}

function cell(entry: Series | undefined): string {
  if (!entry || entry.samples.length === 0) return '– | –';
  const wall = median(entry.samples.map((sample) => sample.wallMs));
  const roundTrips = median(entry.samples.map((sample) => sample.proxyRoundTrips));
  return `${seconds(wall)} (n=${entry.samples.length}) | ${roundTrips}`;
}

function ratio(onionplay: Series | undefined, peer: Series | undefined): string {
  if (!onionplay || !peer || onionplay.samples.length === 0 || peer.samples.length === 0) return '–';
  const speedup = median(peer.samples.map((sample) => sample.wallMs)) / median(onionplay.samples.map((sample) => sample.wallMs));
  return `${speedup.toFixed(1)}x`;
}

/** Build one table per RTT: wall time and proxy round trips per tool and phase, and onionplay's speedup. */
export function rttTable(series: Series[], rttMs: number, tools: Tool[]): string {
  const lines = [
    `RTT ${rttMs} ms (${rttMs / 2} ms each way), 1 host, 10 tasks`,
    '',
    '| tool | first run s | first run round trips | rerun s | rerun round trips | onionplay faster, first run | onionplay faster, rerun |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const tool of tools) {
    const first = find(series, rttMs, tool, 'first');
    const rerun = find(series, rttMs, tool, 'rerun');
    const speedFirst = tool === 'onionplay' ? '' : ratio(find(series, rttMs, 'onionplay', 'first'), first);
    const speedRerun = tool === 'onionplay' ? '' : ratio(find(series, rttMs, 'onionplay', 'rerun'), rerun);
    lines.push(`| ${TOOL_LABELS[tool]} | ${cell(first)} | ${cell(rerun)} | ${speedFirst} | ${speedRerun} |`);
  }
  return lines.join('\n');
}

/** Build the table of where each tool's round trips go, per RTT: the SOCKS exchange, the SSH handshake and the scripts. */
export function connectionTable(series: Series[], rttsMs: number[], tools: Tool[]): string {
  const lines = [
    'Round trips by phase, median of the runs (proxy: counted by the SOCKS proxy; transport: counted by onionplay on its socket)',
    '',
    '| RTT ms | tool | phase | SOCKS (proxy) | connect incl. SOCKS (transport) | after connect (transport) | total (proxy) | connections | bytes up | bytes down |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const rttMs of rttsMs) {
    for (const tool of tools) {
      for (const phase of ['first', 'rerun'] as const) {
        const entry = find(series, rttMs, tool, phase);
        if (!entry || entry.samples.length === 0) continue;
        const pick = (value: (sample: Sample) => number | undefined): string => {
          const values = entry.samples.map(value).filter((item): item is number => item !== undefined);
          return values.length === 0 ? '–' : String(median(values));
        };
        lines.push(
          `| ${rttMs} | ${TOOL_LABELS[tool]} | ${phase} | ${pick((s) => s.socksRoundTrips)} | ${pick((s) => s.connectRoundTrips)} | ${pick((s) => s.execRoundTrips)} | ${pick((s) => s.proxyRoundTrips)} | ${pick((s) => s.connections)} | ${pick((s) => s.bytesFromClient)} | ${pick((s) => s.bytesToClient)} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** Build the table of onionplay with N hosts at one RTT: wall time, controller CPU and peak RSS. */
export function scaleTable(series: Series[], rttMs: number, hostCounts: number[]): string {
  const lines = [
    `Scale: onionplay, N hosts (one sshd each) at RTT ${rttMs} ms, --forks N`,
    '',
    '| hosts | first run s | rerun s | rerun / 1-host rerun | onionplay CPU s (rerun) | onionplay peak RSS MB (rerun) | sshd and scripts on the hosts, CPU s (rerun) | proxy CPU s (rerun) | load average after the rerun | max round trips per host, rerun (connect + after) | proxy round trips, rerun (all hosts) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const base = find(series, rttMs, 'onionplay', 'rerun', hostCounts[0] ?? 1, 'scale');
  const baseWall = base ? median(base.samples.map((sample) => sample.wallMs)) : Number.NaN;
  for (const hosts of hostCounts) {
    const first = find(series, rttMs, 'onionplay', 'first', hosts, 'scale');
    const rerun = find(series, rttMs, 'onionplay', 'rerun', hosts, 'scale');
    if (!rerun || rerun.samples.length === 0) continue;
    const wall = median(rerun.samples.map((sample) => sample.wallMs));
    const firstWall = first ? seconds(median(first.samples.map((sample) => sample.wallMs))) : '–';
    const cpu = median(rerun.samples.map((sample) => sample.cpuMs));
    const rss = median(rerun.samples.map((sample) => sample.maxRssKiB)) / 1024;
    const connect = median(rerun.samples.map((sample) => sample.maxConnectRoundTrips ?? Number.NaN));
    const exec = median(rerun.samples.map((sample) => sample.maxExecRoundTrips ?? Number.NaN));
    const proxy = median(rerun.samples.map((sample) => sample.proxyRoundTrips));
    const others = median(rerun.samples.map((sample) => sample.sshdCpuMs ?? Number.NaN));
    const proxyCpu = median(rerun.samples.map((sample) => sample.proxyCpuMs ?? Number.NaN));
    const load = median(rerun.samples.map((sample) => sample.loadAverage));
    lines.push(
      `| ${hosts} | ${firstWall} | ${seconds(wall)} (n=${rerun.samples.length}) | ${(wall / baseWall).toFixed(2)} | ${seconds(cpu)} | ${rss.toFixed(0)} | ${seconds(others)} | ${seconds(proxyCpu)} | ${load.toFixed(1)} | ${connect} + ${exec} | ${proxy} |`,
    );
  }
  return lines.join('\n');
}
