// Plan tables: rows of (arguments, probed stdout) in, expected plan out.

import type { ExecutionContext } from 'ava';

import { sha256Hex } from '../../runner/modules/shell-lib.ts';
import type { ModuleDefinition, Plan } from '../../runner/modules/types.ts';

export interface PlanRow {
  name: string;
  module: ModuleDefinition;
  args: Record<string, unknown>;
  stdout: string;
  stderr?: string;
  exitCode?: number;
  expect: {
    status: Plan['status'];
    /** Exact reason of an ok plan. */
    reason?: string;
    summary?: string | RegExp;
    message?: string | RegExp;
    affects?: string[] | 'everything';
    /** Fragments that must appear in the joined step scripts, in order. */
    steps?: string[];
    /** Fragments that must not appear in the step scripts. */
    notInSteps?: string[];
    diff?: string | RegExp;
    outputNeeded?: boolean;
  };
}

/** Plan one row. `prepare` is not run, so rows give prepared arguments. */
export function planRow(row: PlanRow): Plan {
  if (!row.module.plan) throw new Error(`${row.module.name} has no plan`);
  return row.module.plan(row.args, { stdout: row.stdout, stderr: row.stderr ?? '', exitCode: row.exitCode ?? 0 }, { host: 'test', check: false });
}

function matches(t: ExecutionContext, actual: string, expected: string | RegExp, what: string): void {
  if (typeof expected === 'string') t.is(actual, expected, what);
  else t.regex(actual, expected, what);
}

/** Check one row's plan against its expectation, one assert per field. */
export function checkRow(t: ExecutionContext, row: PlanRow): void {
  const plan = planRow(row);
  t.is(plan.status, row.expect.status, `${row.name}: status (${JSON.stringify(plan).slice(0, 300)})`);
  const { expect } = row;
  if (plan.status === 'ok') {
    t.true(plan.reason.length > 0, `${row.name}: reason is empty`);
    if (expect.reason !== undefined) t.is(plan.reason, expect.reason, `${row.name}: reason`);
  }
  if (plan.status === 'failed' && expect.message !== undefined) matches(t, plan.message, expect.message, `${row.name}: message`);
  if (plan.status === 'change') {
    if (expect.summary !== undefined) matches(t, plan.summary, expect.summary, `${row.name}: summary`);
    if (expect.affects !== undefined) t.deepEqual(plan.affects, expect.affects, `${row.name}: affects`);
    if (expect.diff !== undefined) matches(t, plan.diff ?? '', expect.diff, `${row.name}: diff`);
    if (expect.outputNeeded !== undefined) t.is(plan.outputNeeded === true, expect.outputNeeded, `${row.name}: outputNeeded`);
    const script = plan.steps.map((step) => step.script).join('\n');
    let from = 0;
    for (const fragment of expect.steps ?? []) {
      const at = script.indexOf(fragment, from);
      t.true(at >= 0, `${row.name}: steps lack ${JSON.stringify(fragment)} (in order) in:\n${script}`);
      if (at >= 0) from = at + fragment.length;
    }
    for (const fragment of expect.notInSteps ?? []) t.false(script.includes(fragment), `${row.name}: steps contain ${JSON.stringify(fragment)}`);
  }
}

/** Build a state line as `op_state` prints it. */
export function stateLine(
  key: string,
  state: { type: 'file' | 'directory' | 'link' | 'other' | 'absent'; mode?: string; owner?: string; group?: string; content?: string; size?: number; target?: string },
): string {
  if (state.type === 'absent') return `${key} absent\n`;
  const owner = state.owner ?? 'root';
  const group = state.group ?? 'root';
  const uid = owner === 'root' ? 0 : 1000;
  const gid = group === 'root' ? 0 : 1000;
  const size = state.size ?? (state.content === undefined ? 4096 : Buffer.byteLength(state.content));
  const hash = state.type === 'file' ? sha256Hex(state.content ?? '') : '-';
  const mode = (state.mode ?? (state.type === 'directory' ? '0755' : '0644')).replace(/^0(?=\d{3}$)/, '');
  return `${key} ${state.type} ${mode} ${uid} ${gid} ${owner} ${group} ${size} ${hash} ${state.target ?? ''}\n`;
}

/** Build a content line as `op_content` prints it. */
export function contentLine(key: string, content: string): string {
  return `${key} data ${Buffer.from(content).toString('base64')}\n`;
}

/** Probe output of a managed or edited file: parent, state and (optionally) content. */
export function fileProbeOutput(key: string, state: Parameters<typeof stateLine>[1], options: { parent?: string; sendContent?: boolean } = {}): string {
  let output = `${key}.parent ${options.parent ?? 'directory'}\n${stateLine(key, state)}`;
  if (state.type === 'file' && options.sendContent !== false && state.content !== undefined) output += contentLine(`${key}.content`, state.content);
  return output;
}
