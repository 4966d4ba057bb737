// sysctl: keep a kernel parameter in a sysctl.d file and, unless `live` is
// false, set its live value. Containers share their host's kernel and
// usually mount /proc/sys read-only. A live value that cannot be set there
// fails the task with the fix, unless `live: try` accepts keeping only the file.

import { defineModule } from './define.ts';
import { editedFileProbe, interpretWrite, joinLines, planEditedFile, splitLines, type TextEdit } from './files.ts';
import { remotePath } from './schema-parts.ts';
import { FILE_FUNCTIONS, parseOrFail, parseProbeLines, probeFailure, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export const DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/99-onionplay.conf';

export interface SysctlArgs {
  name: string;
  value?: string | number;
  state?: 'present' | 'absent';
  sysctl_file?: string;
  live?: boolean | 'try';
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.\\-/]*$', description: 'Parameter name, e.g. net.ipv4.ip_forward.' },
    value: {
      type: ['string', 'number'],
      description: 'Wanted value. Values of several fields are compared with white space collapsed, e.g. "4096 87380 6291456".',
    },
    state: {
      enum: ['present', 'absent'],
      default: 'present',
      description: 'absent removes the line from sysctl_file; the live value is left as it is.',
    },
    sysctl_file: { ...remotePath('File that keeps the setting across reboots.'), default: DEFAULT_SYSCTL_FILE },
    live: {
      enum: [true, false, 'try'],
      default: true,
      description:
        "true: the live value must also be set, and the task fails when /proc/sys is read-only (a container shares its host's kernel). 'try': set it when writable, otherwise only keep the file and say so. false: only keep the file.",
    },
  },
  required: ['name'],
  additionalProperties: false,
  if: { properties: { state: { const: 'absent' } }, required: ['state'] },
  else: { required: ['value'] },
};

/** Path under /proc/sys of a parameter name written with dots or slashes. */
export function procPath(name: string): string {
  return `/proc/sys/${name.includes('/') ? name : name.replaceAll('.', '/')}`;
}

/** Collapse white space so `4096\t87380` equals `4096 87380`. */
export function normalizeValue(value: string | number): string {
  return String(value).trim().split(/\s+/).join(' ');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Keep one `name = value` line in a sysctl.d file, or remove it. */
export function editSysctlFile(text: string, args: SysctlArgs): TextEdit {
  const pattern = new RegExp(`^\\s*${escapeRegExp(args.name)}\\s*=`);
  const lines = splitLines(text);
  if (args.state === 'absent') {
    const kept = lines.filter((line) => !pattern.test(line));
    if (kept.length === lines.length) return { text, description: `${args.name} is not set in the file` };
    return { text: joinLines(kept), description: `remove ${args.name}` };
  }
  const wanted = `${args.name} = ${normalizeValue(args.value ?? '')}`;
  const matches = lines.map((line, index) => (pattern.test(line) ? index : -1)).filter((index) => index >= 0);
  const last = matches[matches.length - 1];
  if (last === undefined) return { text: joinLines([...lines, wanted]), description: `add ${wanted}` };
  const current = lines[last] ?? '';
  const currentValue = normalizeValue(current.slice(current.indexOf('=') + 1));
  const duplicates = matches.slice(0, -1);
  if (currentValue === normalizeValue(args.value ?? '') && duplicates.length === 0) {
    return { text, description: `${args.name} = ${currentValue} is already in the file` };
  }
  lines[last] = wanted;
  const kept = lines.filter((_line, index) => !duplicates.includes(index));
  return { text: joinLines(kept), description: `set ${wanted} (was ${currentValue})` };
}

function probeSysctl(args: SysctlArgs): Probe {
  const file = args.sysctl_file ?? DEFAULT_SYSCTL_FILE;
  let script = FILE_FUNCTIONS + editedFileProbe('path', file);
  if (args.state !== 'absent' && args.live !== false) {
    const proc = shellQuote(procPath(args.name));
    script += [
      `if [ -e ${proc} ]; then`,
      `  if [ -w ${proc} ]; then op_w=writable; else op_w=readonly; fi`,
      `  printf 'live %s %s\\n' "$op_w" "$(tr '\\n\\t' '  ' <${proc})"`,
      'else',
      "  echo 'live missing'",
      'fi',
      '',
    ].join('\n');
  }
  return { script, reads: [file, procPath(args.name)] };
}

const liveHint = "A container shares its host's kernel: set it on the container's host, or set live: 'try' to keep only the file.";

/**
 * Interpret an apply that may set the live value. With `live: try` the
 * step prints `live-failed MESSAGE` instead of failing, and the task counts
 * as changed only if the file changed.
 */
function interpretSysctl(args: SysctlArgs, fileChanged: boolean): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode !== 0) {
      const detail = stderrTail(result.stderr, 10);
      const hint = /sysctl/.test(detail) ? ` ${liveHint}` : '';
      return { changed: false, failed: `setting ${args.name} failed (exit ${result.exitCode}): ${detail}.${hint}` };
    }
    const failedLine = result.stdout.toString('utf8').split('\n').find((line) => line.startsWith('live-failed'));
    if (failedLine === undefined) return { changed: true };
    const reason = `the kernel rejected the live value (${failedLine.slice('live-failed'.length).trim()}), left as it is (live: try)`;
    return { changed: fileChanged, reason };
  };
}

function readonlyMessage(name: string, live: string, wanted: string): string {
  return `cannot set ${name} live: ${procPath(name)} is read-only here (live value ${live}, wanted ${wanted}). ${liveHint}`;
}

/** Build the step that sets the live value; under `live: try` a rejection is printed, not raised. */
function liveStep(args: SysctlArgs, wanted: string): Step {
  const assignment = shellQuote(`${args.name}=${wanted}`);
  const script =
    args.live === 'try'
      ? `if ! op_e=$(sysctl -q -w ${assignment} 2>&1); then printf 'live-failed %s\\n' "$op_e"; fi\n`
      : `sysctl -q -w ${assignment}\n`;
  return { description: `set ${args.name} live`, script };
}

function planSysctl(args: SysctlArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.name);
  if (failure) return failure;
  const file = args.sysctl_file ?? DEFAULT_SYSCTL_FILE;
  const lines = parseProbeLines(probed.stdout);
  const filePlan = parseOrFail(file, () =>
    planEditedFile(
      { path: file, create: true, missingOk: args.state === 'absent' ? `${file} does not exist, so ${args.name} is not set in it` : undefined },
      lines,
      'path',
      (text) => editSysctlFile(text, args),
    ),
  );
  if ('status' in filePlan) return filePlan;
  if (filePlan.kind === 'failed') return { status: 'failed', message: filePlan.message };

  const steps: Step[] = filePlan.kind === 'change' ? [...filePlan.steps] : [];
  const parts: string[] = filePlan.kind === 'change' ? [filePlan.summary] : [];
  const reasons: string[] = filePlan.kind === 'ok' ? [filePlan.reason] : [];
  const affects = [file];

  const liveLine = lines.get('live');
  if (args.state !== 'absent' && args.live !== false && liveLine !== undefined) {
    const wanted = normalizeValue(args.value ?? '');
    if (liveLine === 'missing') {
      return { status: 'failed', message: `kernel parameter ${args.name} does not exist on this host (${procPath(args.name)} is missing). Check the name, or load the module that provides it.` };
    }
    const [access, ...rest] = liveLine.split(' ');
    const live = normalizeValue(rest.join(' '));
    if (live === wanted) {
      reasons.push(`live value is already ${live}`);
    } else if (access === 'writable') {
      steps.push(liveStep(args, wanted));
      parts.push(`set live ${args.name} ${live} -> ${wanted}`);
      affects.push(procPath(args.name));
    } else if (args.live === 'try') {
      reasons.push(`live value ${live} left as it is because ${procPath(args.name)} is read-only here (live: try)`);
    } else {
      return { status: 'failed', message: readonlyMessage(args.name, live, wanted) };
    }
  }

  if (steps.length === 0) return { status: 'ok', reason: reasons.join('; ') };
  const note = reasons.length > 0 ? `; ${reasons.join('; ')}` : '';
  return {
    status: 'change',
    summary: `${parts.join('; ')}${note}`,
    diff: filePlan.kind === 'change' ? filePlan.diff : `${args.name}: live value -> ${normalizeValue(args.value ?? '')}\n`,
    steps,
    affects,
    interpret: filePlan.kind === 'change' && steps.length === 1 ? interpretWrite(`writing ${file}`) : interpretSysctl(args, filePlan.kind === 'change'),
  };
}

export const sysctlModule = defineModule<SysctlArgs>({
  name: 'sysctl',
  description: 'Keep a kernel parameter in a sysctl.d file and set its live value.',
  schema,
  idempotent: true,
  probe: probeSysctl,
  plan: planSysctl,
});
