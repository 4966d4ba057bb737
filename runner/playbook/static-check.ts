// Find undefined template variables before anything runs. A task's
// arguments are checked only when the task has no `when:`, because a
// condition may guard a variable that is only sometimes set. Every name
// they use must be a variable, a loop variable, or registered or set by an
// earlier task.
// Arguments whose names are all plain variables are also rendered, which
// catches a missing key such as `{{ tor.port }}`.

import { OnionplayError } from '../errors/index.ts';
import type { Inventory } from '../inventory/types.ts';
import { formatKeyPath } from '../schema/format.ts';
import { getModule } from '../modules/registry.ts';
import { referencedVariables, renderValue } from '../template/index.ts';
import { hasTemplate, resolveVariables } from '../template/resolve.ts';
import type { YamlPath } from '../yaml/load.ts';
import { taskSource } from './task.ts';
import type { Play, Playbook, Task, VariableSources } from './types.ts';
import { addOnce, playVariables, sourcedExtraVars } from './variables.ts';
import type { SourcedVariables } from './variables.ts';

/** Names the executor defines while a play runs. */
export const RUNTIME_NAMES = ['hostvars', 'play_hosts', 'ansible_play_hosts', 'ansible_check_mode', 'omit', 'role_path', 'ansible_loop'];

// Find the argument path whose string uses `name`, for the error position.
function pathUsing(value: unknown, name: string, at: YamlPath): YamlPath | undefined {
  if (typeof value === 'string') return referencedVariables(value).includes(name) ? at : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = pathUsing(item, name, [...at, index]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = pathUsing(item, name, [...at, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function undefinedVariableError(task: Task, name: string): OnionplayError {
  const source = taskSource(task);
  let position = task.position;
  let key = task.module;
  if (source !== undefined) {
    const modulePath = [...source.path, task.module];
    const found =
      pathUsing(task.args, name, modulePath) ??
      (task.loop !== undefined ? pathUsing(task.loop, name, [...source.path, 'loop']) : undefined) ??
      modulePath;
    // A free-form command string sits at the module key itself.
    position = source.doc.positionOf(found);
    key = formatKeyPath(found);
  }
  return new OnionplayError('template', `undefined variable "${name}" in task "${task.name}"`, {
    position,
    key,
    value: name,
    fix: `define ${name} in the role's defaults.yaml, the inventory, the play's vars or with -e ${name}=..., register it in an earlier task, or guard the task with when: defined ${name}`,
  });
}

function checkTask(
  task: Task,
  vars: Record<string, unknown>,
  dynamic: Set<string>,
  report: (error: OnionplayError) => void,
): void {
  if (task.when.length > 0) return;
  const names = new Set([
    ...referencedVariables(task.args, { required: true }),
    ...referencedVariables(task.loop ?? null, { required: true }),
    ...referencedVariables(task.delegateTo ?? null, { required: true }),
  ]);
  const local = new Set([task.loopVar, ...Object.keys(task.vars)]);
  for (const name of names) {
    if (Object.hasOwn(vars, name) || dynamic.has(name) || local.has(name) || RUNTIME_NAMES.includes(name)) continue;
    if (matchesFactPattern(name, dynamic)) continue;
    report(undefinedVariableError(task, name));
    return;
  }
  const onlyKnownValues = [...names].every((name) => Object.hasOwn(vars, name) && !hasTemplate(vars[name]));
  if (!onlyKnownValues || task.loop !== undefined) return;
  try {
    const source = taskSource(task);
    const where = source ? source.doc.positionOf([...source.path, task.module]) : task.position;
    renderValue(task.args, { ...vars, ...task.vars }, { ...where, what: `task "${task.name}"` });
  } catch (error) {
    if (error instanceof OnionplayError && error.code === 'template') report(error);
    else if (!(error instanceof OnionplayError)) throw error;
  }
}

// Whether a module declared a fact pattern (`tor_onion_address_*`) that covers the name.
function matchesFactPattern(name: string, dynamic: Set<string>): boolean {
  for (const pattern of dynamic) {
    if (!pattern.includes('*')) continue;
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (regex.test(name)) return true;
  }
  return false;
}

// Names a task makes available to the tasks after it.
function namesSetBy(task: Task): string[] {
  const names: string[] = [...(getModule(task.module)?.factNames ?? [])];
  if (task.register !== undefined) names.push(task.register);
  if (task.module === 'set_fact' && task.args !== null && typeof task.args === 'object') names.push(...Object.keys(task.args));
  return names;
}

function checkPlay(play: Play, inventory: Inventory, host: string, extra: SourcedVariables, report: (error: OnionplayError) => void): void {
  const dynamic = new Set<string>();
  for (const facts of inventory.learnedFacts?.values() ?? []) for (const name of Object.keys(facts)) dynamic.add(name);
  const roleVars = new Map<string, Record<string, unknown>>();
  const varsFor = (task: Task): Record<string, unknown> => {
    const key = task.role?.name ?? '';
    let vars = roleVars.get(key);
    if (vars === undefined) {
      const entry = play.roles.find(({ role }) => role.name === task.role?.name);
      vars = resolveVariables(playVariables(play, inventory, host, extra, entry).vars).vars;
      roleVars.set(key, vars);
    }
    return vars;
  };
  for (const task of play.tasks) {
    checkTask(task, varsFor(task), dynamic, report);
    for (const name of namesSetBy(task)) dynamic.add(name);
  }
  for (const handler of play.handlers) {
    checkTask(handler, varsFor(handler), dynamic, report);
    for (const name of namesSetBy(handler)) dynamic.add(name);
  }
}

/**
 * Check the template variables of every task for every selected host
 * (`hosts[i]` for `playbook.plays[i]`). Each problem is reported once.
 */
export function checkTemplateVariables(
  playbook: Playbook,
  inventory: Inventory,
  hosts: string[][],
  extraVars: Record<string, unknown>,
  extraSources: VariableSources = {},
): OnionplayError[] {
  const errors: OnionplayError[] = [];
  const seen = new Set<string>();
  const extra = sourcedExtraVars(extraVars, extraSources);
  playbook.plays.forEach((play, index) => {
    for (const host of hosts[index] ?? []) {
      checkPlay(play, inventory, host, extra, (error) => addOnce(errors, seen, error, host));
    }
  });
  return errors;
}
