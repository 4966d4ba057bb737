// `onionplay latency` through the test SOCKS5 proxy (which adds a delay
// to every chunk) against a local HTTP server, with a direct baseline.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

import { main } from '../../runner/cli/main.ts';
import { summarize } from '../../runner/latency/measure.ts';
import { spawnSocksServer } from '../support/socks-server.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function startHttp(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

test('summary of known samples', (t) => {
  const summary = summarize([10, 20, 30, 40]);
  t.is(summary.meanMs, 25);
  t.is(summary.minMs, 10);
  t.is(summary.maxMs, 40);
  t.is(summary.stdDevMs.toFixed(4), Math.sqrt(125).toFixed(4));
  t.is(summary.stdDevPercent.toFixed(2), ((Math.sqrt(125) / 25) * 100).toFixed(2));
});

test('latency through a delaying proxy', async (t) => {
  const { server, port } = await startHttp();
  const proxy = await spawnSocksServer({ delayMs: 20 });
  const work = await mkdtemp(join(tmpdir(), 'onionplay-latency-'));
  try {
    const svg = join(work, 'plot.svg');
    const stdout = new Capture();
    const stderr = new Capture();
    const url = `http://127.0.0.1:${port}/`;
    const code = await main(
      ['latency', url, '--direct', url, '-n', '8', '--socks', `127.0.0.1:${proxy.port}`, '--plot', svg, '--json'],
      { stdout, stderr },
    );
    t.is(code, 0, stderr.text);
    const report = JSON.parse(stdout.text) as {
      tor: { count: number; meanMs: number; samples: number[] };
      direct: { meanMs: number; samples: number[] };
      ratio: number;
    };
    t.is(report.tor.samples.length, 8);
    t.is(report.direct.samples.length, 8);
    // Each request crosses the proxy's delay at least twice (request out,
    // response back), 20 ms each way.
    t.true(report.tor.meanMs >= 40, `mean through the proxy was ${report.tor.meanMs} ms`);
    t.true(report.ratio > 1, `ratio was ${report.ratio}`);

    // Two series in two panels (linear and log) make four polylines.
    const text = await readFile(svg, 'utf8');
    t.true(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    t.is(text.match(/<polyline /g)?.length, 4);
    t.regex(text, /linear scale/);
    t.regex(text, /log scale/);
    t.is(XMLValidator.validate(text), true);
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(text) as { svg: { '@_width': string; polyline: unknown[] } };
    t.is(parsed.svg['@_width'], '720');
    t.is(parsed.svg.polyline.length, 4);
    for (const points of text.matchAll(/points="([^"]*)"/g)) {
      const pairs = (points[1] ?? '').split(' ');
      t.is(pairs.length, 8);
      t.true(pairs.every((pair) => /^\d+(\.\d)?,\d+(\.\d)?$/.test(pair)), `bad points ${points[1]}`);
    }
  } finally {
    await proxy.close();
    server.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('latency table in plain output', async (t) => {
  const { server, port } = await startHttp();
  const proxy = await spawnSocksServer({});
  try {
    const stdout = new Capture();
    const stderr = new Capture();
    const url = `http://127.0.0.1:${port}/`;
    const code = await main(['latency', url, '--direct', url, '-n', '3', '--socks', `127.0.0.1:${proxy.port}`], { stdout, stderr });
    t.is(code, 0, stderr.text);
    t.regex(stdout.text, /\| direct \| [\d.]+ \| [\d.]+ \([\d.]+ %\) \| [\d.]+ \| [\d.]+ \|/);
    t.regex(stdout.text, /\| through Tor \|/);
    t.regex(stdout.text, /x the direct mean/);
  } finally {
    await proxy.close();
    server.close();
  }
});

test('latency rejects an https URL', async (t) => {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['latency', 'https://example.onion/'], { stdout, stderr });
  t.is(code, 4);
  t.regex(stderr.text, /unsupported URL scheme https:/);
});
