// Command-line options of `npm run bench`.

import { parseArgs } from 'node:util';

import { TOOLS, type Tool } from './tools.ts';

export interface BenchOptions {
  /** Round trip times to run at, in ms; the proxy delays each direction by half. */
  rttsMs: number[];
  runs: number;
  /** Runs of Ansible's default settings at an RTT above 0, which take minutes each. */
  defaultRuns: number;
  tools: Tool[];
  /** Host counts of the scale runs; empty skips them. */
  scaleHosts: number[];
  scaleRttMs: number;
  scaleRuns: number;
  install: boolean;
  jsonPath: string | undefined;
}

export const USAGE = `npm run bench -- [options]

  --rtt LIST          round trip times in ms, comma-separated (default 0,250,500);
                      the proxy delays each direction by half of it
  --runs N            runs of each first run and rerun per tool and RTT (default 3)
  --default-runs N    runs of Ansible with default settings at an RTT above 0 (default 1);
                      at 500 ms one pair of runs takes about 4 minutes
  --tools LIST        any of ${TOOLS.join(',')} (default all)
  --scale LIST        host counts for the scale runs of onionplay (default 1,10,50; 0 skips them)
  --scale-rtt MS      round trip time of the scale runs (default 500)
  --scale-runs N      runs per host count (default 3)
  --no-install        do not install missing Debian packages
  --json FILE         also write every sample as JSON
  -h, --help          show this text
`;

function parseList(name: string, text: string, min: number, max: number): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  for (const value of values) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`invalid --${name} ${JSON.stringify(text)}: expected whole numbers from ${min} to ${max}, comma-separated`);
    }
  }
  return values;
}

function parseCount(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const [value] = parseList(name, text, 1, max);
  return value ?? fallback;
}

/** Parse argv; returns undefined when help was requested. */
export function parseBenchOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rtt: { type: 'string' },
      runs: { type: 'string' },
      'default-runs': { type: 'string' },
      tools: { type: 'string' },
      scale: { type: 'string' },
      'scale-rtt': { type: 'string' },
      'scale-runs': { type: 'string' },
      'no-install': { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const tools = (values.tools ?? TOOLS.join(',')).split(',').map((name) => name.trim());
  for (const tool of tools) {
    if (!(TOOLS as readonly string[]).includes(tool)) throw new Error(`invalid --tools entry ${JSON.stringify(tool)}: expected any of ${TOOLS.join(', ')}`);
  }
  const scale = parseList('scale', values.scale ?? '1,10,50', 0, 200).filter((count) => count > 0);
  return {
    rttsMs: parseList('rtt', values.rtt ?? '0,250,500', 0, 2000),
    runs: parseCount('runs', values.runs, 3, 20),
    defaultRuns: parseCount('default-runs', values['default-runs'], 1, 20),
    tools: tools as Tool[],
    scaleHosts: scale,
    scaleRttMs: parseList('scale-rtt', values['scale-rtt'] ?? '500', 0, 2000)[0] ?? 500,
    scaleRuns: parseCount('scale-runs', values['scale-runs'], 3, 20),
    install: !values['no-install'],
    jsonPath: values.json,
  };
}
