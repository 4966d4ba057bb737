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
const NOT_ENABLEABLE = new Set(['static', 'indirect', 'generated', 'transient']);

/** The probed state of one unit. */
interface UnitState {
  unit: string;
  load: string;
  active: string;
  fileState: string;
  needReload: boolean;
  masked: boolean;
}

/** The steps planned so far and the facts that needed none. */
class UnitPlan {
  readonly steps: Step[] = [];
  readonly actions: string[] = [];
  readonly facts: string[] = [];

  add(command: string, action: string): void {
    this.steps.push({ description: action, script: `${command}\n` });
    this.actions.push(action);
  }
}

function parseUnit(name: string, lines: Map<string, string>): UnitState {
  const load = lines.get('LoadState') ?? 'unknown';
  const fileState = lines.get('UnitFileState') ?? '';
  return {
    unit: unitName(name),
    load,
    active: lines.get('ActiveState') ?? 'unknown',
    fileState,
    needReload: lines.get('NeedDaemonReload') === 'yes',
    masked: load === 'masked' || fileState === 'masked' || fileState === 'masked-runtime',
  };
}

function planMasking(args: SystemdArgs, state: UnitState, plan: UnitPlan): string | undefined {
  const quoted = shellQuote(state.unit);
  if (args.masked === true) {
    if (args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true) {
      return `${state.unit} cannot be masked and ${args.state ?? 'enabled'} at once. Drop one of the two.`;
    }
    if (state.masked) plan.facts.push('masked');
    else plan.add(`systemctl mask ${quoted}`, 'mask');
  } else if (args.masked === false) {
    if (state.masked) plan.add(`systemctl unmask ${quoted}`, 'unmask');
    else plan.facts.push('not masked');
  } else if (state.masked && (args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true)) {
    return `${state.unit} is masked, so it cannot be ${args.state ?? 'enabled'}. Set masked: false to unmask it.`;
  }
  return undefined;
}

function planEnabling(enabled: boolean, state: UnitState, notFound: boolean, plan: UnitPlan): void {
  const quoted = shellQuote(state.unit);
  const isEnabled = state.fileState === 'enabled' || state.fileState === 'enabled-runtime' || state.fileState === 'alias';
  if (NOT_ENABLEABLE.has(state.fileState)) plan.facts.push(`${state.fileState} (cannot be enabled or disabled)`);
  else if (enabled && !isEnabled) plan.add(`systemctl enable ${quoted}`, 'enable');
  else if (!enabled && isEnabled) plan.add(`systemctl disable ${quoted}`, 'disable');
  else if (enabled) plan.facts.push('enabled');
  else plan.facts.push(notFound ? 'not installed' : 'disabled');
}

function planActiveState(wanted: SystemdArgs['state'], state: UnitState, notFound: boolean, plan: UnitPlan): void {
  const quoted = shellQuote(state.unit);
  const running = RUNNING.has(state.active);
  switch (wanted) {
    case 'started':
      if (running && !state.masked) plan.facts.push(state.active);
      else plan.add(`systemctl start ${quoted}`, 'start');
      break;
    case 'stopped':
      if (running) plan.add(`systemctl stop ${quoted}`, 'stop');
      else plan.facts.push(notFound ? 'not loaded' : state.active);
      break;
    case 'restarted':
      plan.add(`systemctl restart ${quoted}`, 'restart');
      break;
    case 'reloaded':
      plan.add(`systemctl ${running ? 'reload' : 'start'} ${quoted}`, running ? 'reload' : 'start');
      break;
    case undefined:
      break;
  }
}

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

  const state = parseUnit(args.name, lines);
  const plan = new UnitPlan();
  const reloads = args.daemon_reload === true && (state.needReload || state.load === 'not-found');
  if (reloads) plan.add('systemctl daemon-reload', 'reload unit files');

  const conflict = planMasking(args, state, plan);
  if (conflict) return { status: 'failed', message: conflict };

  // A unit not found may appear once daemon-reload has read a new unit file.
  const notFound = state.load === 'not-found' && !reloads;
  const needsUnit = args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true;
  if (notFound && needsUnit) {
    return { status: 'failed', message: `unit ${state.unit} not found. Install the package that provides it, or write its unit file and set daemon_reload: true.` };
  }
  if (args.enabled !== undefined && args.masked !== true) planEnabling(args.enabled, state, notFound, plan);
  planActiveState(args.state, state, notFound, plan);

  if (plan.steps.length === 0) {
    return { status: 'ok', reason: `${state.unit} is ${plan.facts.length > 0 ? plan.facts.join(' and ') : state.load}` };
  }
  const summary = `${plan.actions.join(', ')} ${state.unit}`;
  return {
    status: 'change',
    summary,
    diff: `${state.unit}: ${state.active}${state.fileState ? `, ${state.fileState}` : ''} -> ${plan.actions.join(', ')}\n`,
    steps: plan.steps,
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
