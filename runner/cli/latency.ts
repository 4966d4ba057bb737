// `onionplay latency URL [--direct URL] [-n 100] [--plot FILE.svg] [--json]`

import { writeFileAtomic } from '../state/files.ts';
import { ExitCode, OnionplayError } from '../errors/index.ts';
import { measure, summarize, type Summary } from '../latency/measure.ts';
import { plotSvg, type Series } from '../latency/plot.ts';
import { parseEndpoint } from '../inventory/settings.ts';
import type { CliIo, CliValues } from './main.ts';

function row(label: string, summary: Summary): string {
  const cells = [
    summary.meanMs.toFixed(2),
    `${summary.stdDevMs.toFixed(2)} (${summary.stdDevPercent.toFixed(1)} %)`,
    summary.minMs.toFixed(2),
    summary.maxMs.toFixed(2),
  ];
  return `| ${label} | ${cells.join(' | ')} |`;
}

export async function latencyCommand(values: CliValues, positionals: string[], io: CliIo): Promise<number> {
  const url = positionals[0];
  if (!url) throw new OnionplayError('usage', 'missing the URL', { fix: 'onionplay latency http://ADDRESS.onion/ [-n 100]' });
  const count = values.n === undefined ? 100 : Number(values.n);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new OnionplayError('usage', `invalid -n ${values.n}`, { value: String(values.n), allowed: 'a whole number from 1 to 100000', fix: '-n 100' });
  }
  const socksText = values.socks ?? process.env.ONIONPLAY_SOCKS ?? '127.0.0.1:9050';
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(socksText)) {
    throw new OnionplayError('usage', `invalid --socks ${socksText}`, { value: socksText, allowed: 'HOST:PORT', fix: '--socks 127.0.0.1:9050' });
  }
  const socks = parseEndpoint(socksText);
  const tor = await measure(url, { count, socks, timeoutMs: 120_000, direct: false });
  const direct = values.direct ? await measure(values.direct, { count, socks, timeoutMs: 30_000, direct: true }) : undefined;
  const torSummary = summarize(tor);
  const directSummary = direct ? summarize(direct) : undefined;
  const ratio = directSummary ? torSummary.meanMs / directSummary.meanMs : undefined;

  if (values.plot) {
    const series: Series[] = [{ label: 'through Tor', color: '#7d4698', samples: tor }];
    if (direct) series.push({ label: 'direct', color: '#2a7ab0', samples: direct });
    await writeFileAtomic(values.plot, plotSvg(series, `onionplay latency: ${count} requests`), 0o644);
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ url, count, tor: { ...torSummary, samples: tor }, direct: direct && { url: values.direct, ...directSummary, samples: direct }, ratio })}\n`);
    return ExitCode.ok;
  }
  const lines = [`${count} sequential HTTP requests, times in ms`, '', '| | mean | std dev | min | max |', '| --- | --- | --- | --- | --- |'];
  if (directSummary) lines.push(row('direct', directSummary));
  lines.push(row('through Tor', torSummary));
  if (ratio !== undefined) lines.push('', `through Tor is ${ratio.toFixed(1)}x the direct mean (+${((ratio - 1) * 100).toFixed(0)} %)`);
  if (values.plot) lines.push(`plot written to ${values.plot}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}
