// `onionplay inventory`: the groups and hosts of a site, or one host's
// merged variables with secrets masked (see runner/inventory/mask.ts).

import { dump } from 'js-yaml';
import { ExitCode, OnionplayError, ValidationErrors, formatError } from '../errors/index.ts';
import { loadSite } from '../inventory/load.ts';
import { maskSecrets } from '../inventory/mask.ts';
import type { Inventory } from '../inventory/types.ts';
import { inventoryVariables } from '../inventory/vars.ts';
import { closestMatch } from '../schema/suggest.ts';

export interface InventoryCommandOptions {
  siteDir: string;
  host?: string;
  output: NodeJS.WritableStream;
  json?: boolean;
}

// A tree like `ansible-inventory --graph`: groups as @name, hosts below.
function graph(inventory: Inventory): string {
  const lines: string[] = [];
  const visit = (name: string, depth: number, seen: Set<string>): void => {
    const group = inventory.groups.get(name);
    if (group === undefined || seen.has(name)) return;
    lines.push(`${'  '.repeat(depth)}${depth > 0 ? '|--' : ''}@${name}:`);
    const inner = new Set(seen).add(name);
    for (const child of group.children) visit(child, depth + 1, inner);
    for (const host of group.hosts) lines.push(`${'  '.repeat(depth + 1)}|--${host}`);
  };
  visit('all', 0, new Set());
  return `${lines.join('\n')}\n`;
}

function listing(inventory: Inventory): Record<string, unknown> {
  const groups: Record<string, unknown> = {};
  for (const group of inventory.groups.values()) {
    groups[group.name] = { hosts: group.hosts, children: group.children, vars: maskSecrets(group.vars) };
  }
  const hosts: Record<string, unknown> = {};
  for (const host of inventory.hosts.values()) hosts[host.name] = { groups: host.groups };
  return { groups, hosts };
}

/** Print the site's groups and hosts, or one host's variables. Returns the exit code. */
export async function inventoryCommand(options: InventoryCommandOptions): Promise<number> {
  const { output } = options;
  let inventory: Inventory;
  try {
    inventory = await loadSite(options.siteDir);
  } catch (error) {
    if (!(error instanceof OnionplayError)) throw error;
    const errors = error instanceof ValidationErrors ? error.errors : [error];
    for (const problem of errors) output.write(`${formatError(problem)}\n`);
    return ExitCode.invalidInput;
  }

  if (options.host === undefined) {
    output.write(options.json ? `${JSON.stringify(listing(inventory), null, 2)}\n` : graph(inventory));
    return ExitCode.ok;
  }

  const host = inventory.hosts.get(options.host);
  if (host === undefined) {
    const suggestion = closestMatch(options.host, inventory.hosts.keys());
    const error = new OnionplayError('not_found', `host "${options.host}" not found in the inventory`, {
      value: options.host,
      allowed: [...inventory.hosts.keys()].join(', '),
      fix: suggestion ? `did you mean "${suggestion}"?` : 'use a host name from hosts.yaml',
    });
    output.write(`${formatError(error)}\n`);
    return ExitCode.invalidInput;
  }
  const vars = maskSecrets(inventoryVariables(inventory, host.name));
  const shown = { host: host.name, groups: host.groups, vars };
  output.write(options.json ? `${JSON.stringify(shown, null, 2)}\n` : dump(shown, { lineWidth: -1, noRefs: true }));
  return ExitCode.ok;
}
