// Variable precedence of the inventory layers. docs/VARIABLES.md lists the
// full order, from role defaults up to extra vars.

import type { SourcePosition } from '../errors/index.ts';
import type { Inventory, InventoryGroup, VariableSources } from './types.ts';

/**
 * Merge variable layers, lowest precedence first. A later layer replaces a
 * top-level key as a whole (Ansible's default hash_behaviour=replace):
 * mappings are not merged key by key.
 */
export function mergeVariables(layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) Object.assign(merged, layer);
  return merged;
}

/** Return the host's groups in precedence order: `all`, then by depth (parents first), then by name. */
export function groupsInPrecedenceOrder(inventory: Inventory, host: string): InventoryGroup[] {
  const entry = inventory.hosts.get(host);
  if (entry === undefined) return [];
  const groups = entry.groups
    .map((name) => inventory.groups.get(name))
    .filter((group): group is InventoryGroup => group !== undefined);
  return groups.sort((a, b) => {
    if (a.name === 'all') return -1;
    if (b.name === 'all') return 1;
    if (a.depth !== b.depth) return a.depth - b.depth;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/**
 * Merge the inventory variables of a host: group `all` < other groups by depth,
 * then name < the host's own vars (hosts.yaml, then host_vars/) < facts
 * learned by earlier runs (state/facts.yaml).
 */
export function inventoryVariables(inventory: Inventory, host: string): Record<string, unknown> {
  const layers = groupsInPrecedenceOrder(inventory, host).map((group) => group.vars);
  layers.push(inventory.hosts.get(host)?.vars ?? {});
  layers.push(inventory.learnedFacts?.get(host) ?? {});
  return mergeVariables(layers);
}

/** Return the position where each of `inventoryVariables(inventory, host)` was set. */
export function inventoryVariableSources(inventory: Inventory, host: string): VariableSources {
  const layers: VariableSources[] = groupsInPrecedenceOrder(inventory, host).map((group) => group.varSources ?? {});
  layers.push(inventory.hosts.get(host)?.varSources ?? {});
  layers.push(inventory.learnedFactSources?.get(host) ?? {});
  return mergeVariables(layers) as Record<string, SourcePosition>;
}

/**
 * Variables that describe the inventory itself, as Ansible's magic
 * variables do: `inventory_hostname`, `group_names` (without `all`) and
 * `groups` (group name to host names, in inventory order).
 */
export function magicVariables(inventory: Inventory, host: string): Record<string, unknown> {
  const groups: Record<string, string[]> = {};
  for (const group of inventory.groups.keys()) {
    groups[group] = [...inventory.hosts.values()].filter((entry) => entry.groups.includes(group)).map((entry) => entry.name);
  }
  const names = inventory.hosts.get(host)?.groups.filter((name) => name !== 'all') ?? [];
  return { inventory_hostname: host, group_names: names, groups };
}
