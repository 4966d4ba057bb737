// modprobe: load or unload a kernel module, and keep it in a
// modules-load.d file. A container shares its host's kernel and may not
// load modules, so a module that is already loaded is enough for "present".

import { defineModule } from './define.ts';
import { interpretWrite, managedFileProbe, planManagedFile } from './files.ts';
import { FILE_FUNCTIONS, fileStateProbe, parseFileState, parseOrFail, parseProbeLines, probeFailure, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface ModprobeArgs {
  name: string;
  state?: 'present' | 'absent';
  params?: string;
  persistent?: 'present' | 'absent' | 'disabled';
  /** A path that exists when the module's function is in the running kernel. */
  present_if_exists?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'Kernel module name, e.g. br_netfilter.' },
    state: { enum: ['present', 'absent'], default: 'present', description: 'Whether the module must be loaded.' },
    params: {
      type: 'string',
      description: 'Parameters passed to modprobe when the module is loaded; a module already loaded is not reloaded to change them.',
    },
    present_if_exists: {
      type: 'string',
      pattern: '^/',
      description:
        'A path that exists when the module\'s function is already in the running kernel, built in or loaded, e.g. /proc/sys/net/bridge for br_netfilter. A module built into the kernel is not listed in /sys/module when it takes no parameters, and a container has no /lib/modules to look it up in.',
    },
    persistent: {
      enum: ['present', 'absent', 'disabled'],
      default: 'disabled',
      description: 'present: keep the module in /etc/modules-load.d/NAME.conf so it loads at boot. absent: remove that file. disabled: leave it alone.',
    },
  },
  required: ['name'],
  additionalProperties: false,
};

/** Return the modules-load.d file of a module. */
export function modulesLoadFile(name: string): string {
  return `/etc/modules-load.d/${name}.conf`;
}

/** Name as /proc/modules and /sys/module spell it (dashes become underscores). */
function kernelName(name: string): string {
  return name.replaceAll('-', '_');
}

function probeModprobe(args: ModprobeArgs): Probe {
  const name = kernelName(args.name);
  const lines = [
    `if grep -q ${shellQuote(`^${name} `)} /proc/modules 2>/dev/null; then echo 'loaded module';`,
    `elif [ -d ${shellQuote(`/sys/module/${name}`)} ]; then echo 'loaded builtin';`,
    ...(args.present_if_exists === undefined ? [] : [`elif [ -e ${shellQuote(args.present_if_exists)} ]; then echo 'loaded marker';`]),
    "else echo 'loaded no'; fi",
  ];
  let script = lines.join('\n') + '\n';
  const file = modulesLoadFile(args.name);
  if (args.persistent === 'present') script += FILE_FUNCTIONS + managedFileProbe('conf', file, Buffer.from(`${args.name}\n`));
  if (args.persistent === 'absent') script += FILE_FUNCTIONS + fileStateProbe('conf', file);
  return { script, reads: 'everything' };
}

function interpretModprobe(args: ModprobeArgs): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode === 0) return { changed: true };
    const detail = stderrTail(result.stderr, 10);
    const action = args.state === 'absent' ? `modprobe -r ${args.name}` : `modprobe ${args.name}`;
    return {
      changed: false,
      failed:
        `${action} failed (exit ${result.exitCode}): ${detail}. ` +
        `A container cannot load or unload kernel modules: run "${action}" on the container's host, then rerun.`,
    };
  };
}

function planModprobe(args: ModprobeArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, `module ${args.name}`);
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const loaded = lines.get('loaded');
  const steps: Step[] = [];
  const reasons: string[] = [];
  const parts: string[] = [];
  const affects: string[] = [];
  let diff = '';

  if (args.state === 'absent') {
    if (loaded === 'builtin') return { status: 'failed', message: `module ${args.name} is built into the kernel and cannot be unloaded.` };
    if (loaded === 'module') {
      steps.push({ description: `unload ${args.name}`, script: `modprobe -r ${shellQuote(args.name)}\n` });
      parts.push(`unload ${args.name}`);
    } else reasons.push(`module ${args.name} is not loaded`);
  } else if (loaded === 'module') {
    reasons.push(`module ${args.name} is already loaded (listed in /proc/modules)`);
  } else if (loaded === 'builtin') {
    reasons.push(`module ${args.name} is built into the kernel (/sys/module/${kernelName(args.name)} exists)`);
  } else if (loaded === 'marker') {
    reasons.push(`module ${args.name} is in the running kernel, built in or loaded (${args.present_if_exists} exists)`);
  } else {
    const params = args.params === undefined ? '' : ` ${args.params.trim().split(/\s+/).map(shellQuote).join(' ')}`;
    steps.push({ description: `load ${args.name}`, script: `modprobe ${shellQuote(args.name)}${params}\n` });
    parts.push(`load ${args.name}`);
  }

  const file = modulesLoadFile(args.name);
  if (args.persistent === 'present') {
    const planned = parseOrFail(file, () => planManagedFile({ path: file, content: Buffer.from(`${args.name}\n`) }, lines, 'conf'));
    if ('status' in planned) return planned;
    if (planned.kind === 'failed') return { status: 'failed', message: planned.message };
    if (planned.kind === 'ok') reasons.push(`${file} already lists it`);
    else {
      // The file goes first, so a failing modprobe still leaves the boot-time setting in place.
      steps.unshift(...planned.steps);
      parts.unshift(planned.summary);
      affects.push(file);
      diff = planned.diff;
    }
  } else if (args.persistent === 'absent') {
    const state = parseOrFail(file, () => parseFileState(lines.get('conf')));
    if ('status' in state) return state;
    if (state.type === 'absent') reasons.push(`${file} does not exist`);
    else {
      steps.unshift({ description: `remove ${file}`, script: `rm -f ${shellQuote(file)}\n` });
      parts.unshift(`remove ${file}`);
      affects.push(file);
    }
  }

  if (steps.length === 0) return { status: 'ok', reason: reasons.join('; ') };
  const loads = steps.some((step) => step.script.startsWith('modprobe'));
  return {
    status: 'change',
    summary: parts.join('; '),
    ...(diff ? { diff } : {}),
    steps,
    affects: loads ? 'everything' : affects,
    interpret: loads ? interpretModprobe(args) : interpretWrite(parts.join('; ')),
  };
}

export const modprobeModule = defineModule<ModprobeArgs>({
  name: 'modprobe',
  description: 'Load or unload a kernel module and keep it in a modules-load.d file.',
  schema,
  idempotent: true,
  probe: probeModprobe,
  plan: planModprobe,
});
