// Host patterns as in Ansible: `all`, `*`, group and host names, globs,
// `a:b` or `a,b` (union), `a:&b` (intersection) and `a:!b` (exclusion).

import type { Inventory } from './types.ts';

export interface HostSelection {
  /** Selected host names, in inventory order. */
  hosts: string[];
  warnings: string[];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Split a pattern on `:` and `,`, keeping `[::1]`-style brackets whole. */
function splitPattern(pattern: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of pattern) {
    if (char === '[') depth += 1;
    if (char === ']') depth -= 1;
    if ((char === ':' || char === ',') && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function hostsOfGroup(inventory: Inventory, name: string): Set<string> {
  const result = new Set<string>();
  for (const host of inventory.hosts.values()) if (host.groups.includes(name)) result.add(host.name);
  return result;
}

/** Hosts matched by one term: a group, a host, or a glob over both. */
function matchTerm(inventory: Inventory, term: string): Set<string> {
  if (term === 'all' || term === '*') return new Set(inventory.hosts.keys());
  const result = new Set<string>();
  if (inventory.groups.has(term)) for (const name of hostsOfGroup(inventory, term)) result.add(name);
  if (inventory.hosts.has(term)) result.add(term);
  if (/[*?]/.test(term)) {
    const regexp = globToRegExp(term);
    for (const group of inventory.groups.keys()) {
      if (regexp.test(group)) for (const name of hostsOfGroup(inventory, group)) result.add(name);
    }
    for (const name of inventory.hosts.keys()) if (regexp.test(name)) result.add(name);
  }
  return result;
}

function applyPattern(inventory: Inventory, pattern: string, warnings: string[]): Set<string> {
  const terms = splitPattern(pattern);
  // Ansible applies unions first, then intersections, then exclusions,
  // whatever their order in the pattern.
  const unions = terms.filter((term) => !term.startsWith('&') && !term.startsWith('!'));
  const intersections = terms.filter((term) => term.startsWith('&')).map((term) => term.slice(1));
  const exclusions = terms.filter((term) => term.startsWith('!')).map((term) => term.slice(1));

  const selected = new Set<string>();
  const matchWarning = (term: string, found: Set<string>): void => {
    if (found.size === 0) warnings.push(`host pattern "${term}" matches no host`);
  };
  for (const term of unions) {
    const found = matchTerm(inventory, term);
    matchWarning(term, found);
    for (const name of found) selected.add(name);
  }
  if (unions.length === 0 && intersections.length + exclusions.length > 0) {
    for (const name of inventory.hosts.keys()) selected.add(name);
  }
  for (const term of intersections) {
    const found = matchTerm(inventory, term);
    matchWarning(term, found);
    for (const name of [...selected]) if (!found.has(name)) selected.delete(name);
  }
  for (const term of exclusions) {
    const found = matchTerm(inventory, term);
    matchWarning(term, found);
    for (const name of found) selected.delete(name);
  }
  return selected;
}

/**
 * Select hosts by a play's pattern, then by `--limit` if given. A pattern
 * that matches nothing yields a warning, not an error.
 */
export function selectHosts(inventory: Inventory, pattern: string, limit?: string): HostSelection {
  const warnings: string[] = [];
  let selected = applyPattern(inventory, pattern, warnings);
  if (limit !== undefined && limit.trim() !== '') {
    const limited = applyPattern(inventory, limit, warnings);
    selected = new Set([...selected].filter((name) => limited.has(name)));
  }
  const hosts = [...inventory.hosts.keys()].filter((name) => selected.has(name));
  if (hosts.length === 0 && inventory.hosts.size > 0) {
    warnings.push(`no hosts matched "${pattern}"${limit ? ` with --limit "${limit}"` : ''}; the play is skipped`);
  }
  return { hosts, warnings };
}
