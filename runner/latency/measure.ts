// The source guide's measurement as code: N sequential HTTP requests
// through Tor (and optionally to a direct URL), timed end to end.

import { randomBytes } from 'node:crypto';
import net from 'node:net';

import { OnionplayError } from '../errors/index.ts';
import { openTunnel, RoundTripMeter } from '../transport/socks.ts';

export interface ParsedUrl {
  host: string;
  port: number;
  path: string;
}

export function parseHttpUrl(text: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new OnionplayError('usage', `invalid URL ${text}`, { value: text, cause: error, fix: 'give a URL such as http://ADDRESS.onion/' });
  }
  if (url.protocol !== 'http:') {
    throw new OnionplayError('usage', `unsupported URL scheme ${url.protocol}`, {
      value: text,
      allowed: 'http:',
      fix: 'onion services need no TLS; use http://',
    });
  }
  return { host: url.hostname, port: url.port ? Number(url.port) : 80, path: `${url.pathname}${url.search}` || '/' };
}

/** Send one GET over an open stream and wait until the server closes it. Returns the status code. */
function httpGet(stream: NodeJS.ReadWriteStream & { destroy(): void }, url: ParsedUrl, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new OnionplayError('timeout', `no complete HTTP response from ${url.host} within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      const head = Buffer.concat(chunks).toString('latin1', 0, 64);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!match) reject(new OnionplayError('transport', `the response from ${url.host} is not HTTP`));
      else resolve(Number(match[1]));
    });
    stream.write(`GET ${url.path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nUser-Agent: onionplay-latency\r\n\r\n`);
  });
}

export interface MeasureOptions {
  count: number;
  socks: { host: string; port: number };
  timeoutMs: number;
  /** Open the TCP connection without Tor; only for the comparison URL. */
  direct: boolean;
}

/** Time `count` sequential requests in milliseconds. */
export async function measure(urlText: string, options: MeasureOptions): Promise<number[]> {
  const url = parseHttpUrl(urlText);
  const samples: number[] = [];
  // One SOCKS username for the whole series keeps Tor on one circuit, as
  // a browser tab would be.
  const credentials = { username: `onionplay-latency-${randomBytes(4).toString('hex')}`, password: 'x' };
  for (let index = 0; index < options.count; index += 1) {
    const started = process.hrtime.bigint();
    let stream: NodeJS.ReadWriteStream & { destroy(): void };
    if (options.direct) {
      stream = net.connect({ host: url.host, port: url.port });
    } else {
      stream = await openTunnel({
        endpoint: options.socks,
        destination: { host: url.host, port: url.port },
        credentials,
        hostLabel: url.host,
        kind: 'pipelined',
        meter: new RoundTripMeter(),
      });
    }
    const status = await httpGet(stream, url, options.timeoutMs);
    if (status >= 500) throw new OnionplayError('transport', `${urlText} returned HTTP status ${status}`);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples;
}

export interface Summary {
  count: number;
  meanMs: number;
  stdDevMs: number;
  stdDevPercent: number;
  minMs: number;
  maxMs: number;
}

export function summarize(samples: number[]): Summary {
  const count = samples.length;
  const mean = samples.reduce((sum, value) => sum + value, 0) / count;
  const variance = samples.reduce((sum, value) => sum + (value - mean) ** 2, 0) / count;
  const stdDev = Math.sqrt(variance);
  return {
    count,
    meanMs: mean,
    stdDevMs: stdDev,
    stdDevPercent: mean === 0 ? 0 : (stdDev / mean) * 100,
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
  };
}
