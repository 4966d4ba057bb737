// systemd (alias service): start, stop, restart or reload a unit, enable or
// mask it, and reload systemd's unit files when they changed on disk.

import { defineModule } from './define.ts';
import { parseProbeLines, probeFailure, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, ModuleDefinition, Outcome, Plan, Probe, ProbeOutput, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface SystemdArgs {
  name?: string;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  enabled?: boolean;
  masked?: boolean;
  daemon_reload?: boolean;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9:_.@\\\\-]+$', description: 'Unit name; without a suffix it is a .service.' },
    state: {
      enum: ['started', 'stopped', 'restarted', 'reloaded'],
      description: 'started and stopped converge; restarted and reloaded act on every run, as in Ansible (use them from handlers).',
    },
    enabled: { type: 'boolean', description: 'Whether the unit starts at boot.' },
    masked: { type: 'boolean', description: 'Whether the unit is masked (cannot be started at all).' },
    daemon_reload: {
      type: 'boolean',
      default: false,
      description:
        'Run systemctl daemon-reload first when the unit files changed on disk (NeedDaemonReload) or the unit is not loaded yet. Without name it runs every time.',
    },
  },
  additionalProperties: false,
  anyOf: [{ required: ['name'] }, { required: ['daemon_reload'] }],
};

/** Return the unit name systemctl reports, adding `.service` when no suffix is given. */
export function unitName(name: string): string {
  return /\.[a-z]+$/.test(name) ? name : `${name}.service`;
}

function probeSystemd(args: SystemdArgs): Probe {
  if (args.name === undefined) return { script: '', reads: [] };
  const unit = shellQuote(unitName(args.name));
  // `systemctl show` prints Key=Value lines; they are turned into `Key Value`.
  // Without a running systemd it fails, which is reported as `systemd none`.
  return {
    script: [
      `if op_s=$(systemctl show -p LoadState -p ActiveState -p SubState -p UnitFileState -p NeedDaemonReload -- ${unit} 2>&1); then`,
      `  printf '%s\\n' "$op_s" | sed 's/=/ /'`,
      'else',
      `  printf 'systemd none %s\\n' "$(printf '%s' "$op_s" | head -n 1)"`,
      'fi',
    ].join('\n'),
    reads: 'everything',
  };
}

function interpretSystemd(what: string): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode === 0) return { changed: true };
    return { changed: false, failed: `${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 15)}` };
  };
}

const RUNNING = new Set(['active', 'activating', 'reloading']);

function planSystemd(args: SystemdArgs, probed: ProbeOutput): Plan {
  if (args.name === undefined) {
    return {
      status: 'change',
      summary: 'systemctl daemon-reload',
      steps: [{ description: 'systemctl daemon-reload', script: 'systemctl daemon-reload\n' }],
      affects: 'everything',
      interpret: interpretSystemd('systemctl daemon-reload'),
    };
  }
  const failure = probeFailure(probed, args.name);
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const unavailable = lines.get('systemd');
  if (unavailable !== undefined) {
    return { status: 'failed', message: `systemctl does not work on this host (${unavailable.replace(/^none ?/, '') || 'no systemd'}). The host must run systemd as its init.` };
  }

  const unit = unitName(args.name);
  const quoted = shellQuote(unit);
  const load = lines.get('LoadState') ?? 'unknown';
  const active = lines.get('ActiveState') ?? 'unknown';
  const fileState = lines.get('UnitFileState') ?? '';
  const needReload = lines.get('NeedDaemonReload') === 'yes';
  const isMasked = load === 'masked' || fileState === 'masked' || fileState === 'masked-runtime';

  const steps: Step[] = [];
  const actions: string[] = [];
  const facts: string[] = [];
  const add = (command: string, what: string): void => {
    steps.push({ description: what, script: `${command}\n` });
    actions.push(what);
  };

  if (args.daemon_reload && (needReload || load === 'not-found')) add('systemctl daemon-reload', 'reload unit files');

  if (args.masked === true) {
    if (args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true) {
      return { status: 'failed', message: `${unit} cannot be masked and ${args.state ?? 'enabled'} at once. Drop one of the two.` };
    }
    if (isMasked) facts.push('masked');
    else add(`systemctl mask ${quoted}`, 'mask');
  } else if (args.masked === false) {
    if (isMasked) add(`systemctl unmask ${quoted}`, 'unmask');
    else facts.push('not masked');
  }

  const notFound = load === 'not-found' && !(args.daemon_reload && steps.length > 0);
  const needsUnit = args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true;
  if (notFound && needsUnit) {
    return { status: 'failed', message: `unit ${unit} not found. Install the package that provides it, or write its unit file and set daemon_reload: true.` };
  }

  if (args.enabled !== undefined && !(args.masked === true)) {
    const enabled = fileState === 'enabled' || fileState === 'enabled-runtime' || fileState === 'alias';
    if (fileState === 'static' || fileState === 'indirect' || fileState === 'generated' || fileState === 'transient') {
      facts.push(`${fileState} (cannot be enabled or disabled)`);
    } else if (args.enabled && !enabled) add(`systemctl enable ${quoted}`, 'enable');
    else if (!args.enabled && enabled) add(`systemctl disable ${quoted}`, 'disable');
    else if (args.enabled) facts.push('enabled');
    else facts.push(notFound ? 'not installed' : 'disabled');
  }

  switch (args.state) {
    case 'started':
      if (RUNNING.has(active) && !isMasked) facts.push(active);
      else add(`systemctl start ${quoted}`, 'start');
      break;
    case 'stopped':
      if (RUNNING.has(active)) add(`systemctl stop ${quoted}`, 'stop');
      else facts.push(notFound ? 'not loaded' : active);
      break;
    case 'restarted':
      add(`systemctl restart ${quoted}`, 'restart');
      break;
    case 'reloaded':
      add(`systemctl ${RUNNING.has(active) ? 'reload' : 'start'} ${quoted}`, RUNNING.has(active) ? 'reload' : 'start');
      break;
    case undefined:
      break;
  }

  if (steps.length === 0) {
    return { status: 'ok', reason: `${unit} is ${facts.length > 0 ? facts.join(' and ') : load}` };
  }
  const summary = `${actions.join(', ')} ${unit}`;
  return {
    status: 'change',
    summary,
    diff: `${unit}: ${active}${fileState ? `, ${fileState}` : ''} -> ${actions.join(', ')}\n`,
    steps,
    affects: 'everything',
    interpret: interpretSystemd(summary),
  };
}

function defineSystemd(name: 'systemd' | 'service'): ModuleDefinition {
  return defineModule<SystemdArgs>({
    name,
    description:
      name === 'systemd'
        ? 'Start, stop, restart or reload a systemd unit, enable or mask it, and reload changed unit files.'
        : 'Alias of systemd: manage a service through systemctl.',
    schema,
    idempotent: (args) =>
      args.state !== 'restarted' && args.state !== 'reloaded' && !(args.daemon_reload === true && args.name === undefined),
    probe: probeSystemd,
    plan: planSystemd,
  });
}

export const systemdModule = defineSystemd('systemd');
export const serviceModule = defineSystemd('service');
