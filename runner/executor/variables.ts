// The variables visible to a task on one host, layered by precedence (low to
// high): role defaults, inventory (groups, host, learned facts), play
// vars, role parameters, task vars, registered results and set_fact,
// extra vars. Magic variables (inventory_hostname, groups, hostvars...)
// are added on top; they cannot be overridden.

import type { Inventory } from '../inventory/types.ts';
import { inventoryVariables, mergeVariables } from '../inventory/vars.ts';
import type { Play, Task } from '../playbook/types.ts';
import { resolveVariables } from '../template/resolve.ts';

/** Per-run knowledge of every host: registered results and facts. */
export class HostFacts {
  private readonly byHost = new Map<string, Record<string, unknown>>();

  get(host: string): Record<string, unknown> {
    let facts = this.byHost.get(host);
    if (!facts) {
      facts = {};
      this.byHost.set(host, facts);
    }
    return facts;
  }

  set(host: string, name: string, value: unknown): void {
    this.get(host)[name] = value;
  }
}

export interface VariableContext {
  inventory: Inventory;
  play: Play;
  playHosts: string[];
  facts: HostFacts;
  extraVars: Record<string, unknown>;
  /** Facts remembered from earlier runs, by host. */
  learned: (host: string) => Record<string, unknown>;
}

function roleDefaults(play: Play): Record<string, unknown> {
  return mergeVariables(play.roles.map(({ role }) => role.defaults));
}

function roleParameters(play: Play, task: Task): Record<string, unknown> {
  if (!task.role) return {};
  const entry = play.roles.find(({ role }) => role.name === task.role?.name);
  return entry?.use.vars ?? {};
}

function groupsMap(inventory: Inventory): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const [name] of inventory.groups) groups[name] = [];
  for (const host of inventory.hosts.values()) {
    for (const group of host.groups) (groups[group] ??= []).push(host.name);
  }
  groups.all = [...inventory.hosts.keys()];
  return groups;
}

/** Merge the layers, then render values that are templates of other variables, as Ansible does on use. */
function resolveMerged(layers: Array<Record<string, unknown>>): Record<string, unknown> {
  return resolveVariables(mergeVariables(layers)).vars;
}

/** Variables of a host without task scope: what `hostvars[name]` shows other hosts. */
export function hostLevelVariables(context: VariableContext, host: string): Record<string, unknown> {
  return resolveMerged([
    roleDefaults(context.play),
    inventoryVariables(context.inventory, host),
    context.learned(host),
    context.play.vars,
    context.facts.get(host),
    context.extraVars,
  ]);
}

/** Return every variable visible to a task on a host, magic variables included. */
export function taskVariables(
  context: VariableContext,
  host: string,
  task: Task,
  loop?: { name: string; value: unknown; index: number },
): Record<string, unknown> {
  const merged = resolveMerged([
    roleDefaults(context.play),
    inventoryVariables(context.inventory, host),
    context.learned(host),
    context.play.vars,
    roleParameters(context.play, task),
    task.vars,
    context.facts.get(host),
    context.extraVars,
  ]);
  const hostvars: Record<string, unknown> = {};
  for (const name of context.inventory.hosts.keys()) {
    Object.defineProperty(hostvars, name, {
      enumerable: true,
      get: () => (name === host ? merged : hostLevelVariables(context, name)),
    });
  }
  const inventoryHost = context.inventory.hosts.get(host);
  const magic: Record<string, unknown> = {
    inventory_hostname: host,
    group_names: inventoryHost?.groups.filter((group) => group !== 'all') ?? [],
    groups: groupsMap(context.inventory),
    hostvars,
    play_hosts: context.playHosts,
    site_dir: context.inventory.siteDir,
  };
  const scope: Record<string, unknown> = { ...merged, ...magic };
  if (loop) {
    scope[loop.name] = loop.value;
    scope.loop_index = loop.index;
  }
  return scope;
}

const SECRET_NAME = /(password|passphrase|secret|token|private_key)$/i;

/** Tell whether a variable's value is treated as a secret and masked everywhere. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Collect string values of secret-named variables, at any depth. */
export function collectSecrets(value: unknown, into: Set<string>, nameIsSecret = false): void {
  if (typeof value === 'string') {
    if (nameIsSecret) into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectSecrets(item, into, nameIsSecret);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) collectSecrets(item, into, nameIsSecret || isSecretName(key));
  }
}
