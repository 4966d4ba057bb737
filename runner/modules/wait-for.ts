// wait_for: wait until a port opens or closes, a path appears or goes, or
// a file contains a pattern. The probe checks once, so a condition already
// met costs nothing extra. Otherwise the whole waiting loop runs on the
// host inside one script, which is one round trip however long it waits.

import { defineModule } from './define.ts';
import { remotePath } from './schema-parts.ts';
import { parseProbeLines, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface WaitForArgs {
  host?: string;
  port?: number;
  path?: string;
  state?: 'started' | 'stopped' | 'present' | 'absent';
  search_regex?: string;
  delay?: number;
  timeout?: number;
  sleep?: number;
  msg?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    host: {
      type: 'string',
      default: '127.0.0.1',
      pattern: '^[A-Za-z0-9.:_-]+$',
      description: 'Address to connect to, as seen from the managed host (the check runs there).',
    },
    port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port to wait for.' },
    path: remotePath('File to wait for.'),
    state: {
      enum: ['started', 'stopped', 'present', 'absent'],
      default: 'started',
      description: 'started/present: the port accepts connections or the path exists. stopped/absent: the port is closed or the path is gone.',
    },
    search_regex: {
      type: 'string',
      minLength: 1,
      description: 'With path: wait until the file contains a line matching this POSIX extended regular expression (grep -E).',
    },
    delay: { type: 'integer', minimum: 0, default: 0, description: 'Seconds to wait before the first check.' },
    timeout: { type: 'integer', minimum: 1, default: 300, description: 'Seconds to wait in total before the task fails.' },
    sleep: { type: 'integer', minimum: 1, default: 1, description: 'Seconds between checks.' },
    msg: { type: 'string', description: 'Message of the failure on timeout, in place of the default one.' },
  },
  additionalProperties: false,
  oneOf: [{ required: ['port'] }, { required: ['path'] }],
  dependentRequired: { search_regex: ['path'] },
};

/**
 * Build the shell function `op_check`, which returns 0 when the condition
 * holds. A port counts as open when `ss` lists a listener (for loopback
 * addresses), or when nc or bash's /dev/tcp can connect within 2 seconds.
 *
 * NOTE: for loopback, `ss` counts a listener on any local address with
 * that port, e.g. one bound only to 10.0.0.5 counts for 127.0.0.1 too.
 */
function checkFunction(args: WaitForArgs): string {
  const wantOpen = args.state !== 'stopped' && args.state !== 'absent';
  if (args.path !== undefined) {
    const path = shellQuote(args.path);
    let test = `[ -e ${path} ]`;
    if (args.search_regex !== undefined) test = `grep -Eq -- ${shellQuote(args.search_regex)} ${path} 2>/dev/null`;
    return `op_check() { ${wantOpen ? '' : '! '}${test}; }\n`;
  }
  const host = args.host ?? '127.0.0.1';
  const port = String(args.port);
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const lines = [
    'op_open() {',
    loopback
      ? `  if command -v ss >/dev/null 2>&1; then [ -n "$(ss -Hltn ${shellQuote(`sport = :${port}`)} 2>/dev/null)" ]; return; fi`
      : '',
    `  if command -v nc >/dev/null 2>&1; then nc -z -w 2 ${shellQuote(host)} ${port} >/dev/null 2>&1; return; fi`,
    `  if command -v bash >/dev/null 2>&1; then timeout 2 bash -c ${shellQuote(`exec 3<>/dev/tcp/${host}/${port}`)} >/dev/null 2>&1; return; fi`,
    "  echo 'onionplay: wait_for needs ss, nc or bash on the host to check a port' >&2; return 2",
    '}',
    `op_check() { ${wantOpen ? 'op_open' : '! op_open'}; }`,
    '',
  ];
  return lines.filter((line) => line !== '').join('\n') + '\n';
}

/** Describe what is awaited, for messages: "port 9050 on 127.0.0.1 to open". */
export function describeCondition(args: WaitForArgs): string {
  const stopped = args.state === 'stopped' || args.state === 'absent';
  if (args.path !== undefined) {
    if (args.search_regex !== undefined) return `${args.path} to ${stopped ? 'stop matching' : 'match'} /${args.search_regex}/`;
    return `${args.path} to ${stopped ? 'be removed' : 'exist'}`;
  }
  return `port ${args.port} on ${args.host ?? '127.0.0.1'} to ${stopped ? 'close' : 'open'}`;
}

/** Describe the condition as met: "port 9050 on 127.0.0.1 is already open". */
export function describeMet(args: WaitForArgs): string {
  const stopped = args.state === 'stopped' || args.state === 'absent';
  if (args.path !== undefined) {
    if (args.search_regex !== undefined) return `${args.path} ${stopped ? 'already does not match' : 'already matches'} /${args.search_regex}/`;
    return `${args.path} ${stopped ? 'is already absent' : 'already exists'}`;
  }
  return `port ${args.port} on ${args.host ?? '127.0.0.1'} is already ${stopped ? 'closed' : 'open'}`;
}

function probeWaitFor(args: WaitForArgs): Probe {
  if ((args.delay ?? 0) > 0) return { script: '', reads: [] };
  return { script: `${checkFunction(args)}if op_check; then echo 'met yes'; else echo 'met no'; fi\n`, reads: 'everything' };
}

function waitScript(args: WaitForArgs): string {
  const timeout = args.timeout ?? 300;
  return [
    checkFunction(args),
    `sleep ${args.delay ?? 0}`,
    'op_start=$(date +%s)',
    'while :; do',
    '  if op_check; then printf \'waited %s\\n\' "$(( $(date +%s) - op_start ))"; exit 0; fi',
    `  if [ $(( $(date +%s) - op_start )) -ge ${timeout} ]; then echo 'timeout'; exit 3; fi`,
    `  sleep ${args.sleep ?? 1}`,
    'done',
    '',
  ].join('\n');
}

function interpretWait(args: WaitForArgs): (result: RunResult) => Outcome {
  const what = describeCondition(args);
  return (result) => {
    const lines = parseProbeLines(result.stdout.toString('utf8'));
    const waited = lines.get('waited');
    if (result.exitCode === 0 && waited !== undefined) {
      return { changed: false, reason: `${what}: done after ${waited} s`, result: { elapsed: Number(waited) } };
    }
    if (result.exitCode === 3 && lines.has('timeout')) {
      return { changed: false, failed: args.msg ?? `timed out after ${args.timeout ?? 300} s waiting for ${what}` };
    }
    return { changed: false, failed: `waiting for ${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 5)}` };
  };
}

function planWaitFor(args: WaitForArgs, probed: ProbeOutput): Plan {
  const what = describeCondition(args);
  if ((args.delay ?? 0) === 0 && probed.exitCode === 0 && parseProbeLines(probed.stdout).get('met') === 'yes') {
    return { status: 'ok', reason: `${describeMet(args)}, no wait needed`, result: { elapsed: 0 } };
  }
  return {
    status: 'change',
    summary: `wait up to ${args.timeout ?? 300} s for ${what}`,
    steps: [{ description: `wait for ${what}`, script: waitScript(args) }],
    affects: [],
    outputNeeded: true,
    interpret: interpretWait(args),
  };
}

export const waitForModule = defineModule<WaitForArgs>({
  name: 'wait_for',
  description: 'Wait on the host until a port opens or closes, a path appears or goes, or a file matches a pattern.',
  schema,
  idempotent: true,
  probe: probeWaitFor,
  plan: planWaitFor,
});
