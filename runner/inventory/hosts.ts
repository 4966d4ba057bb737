// Build hosts and groups from hosts.yaml (Ansible's YAML inventory shape):
// `all: {vars, hosts, children: {masters: {hosts: {obelix: {...}}}}}`.
// Top-level groups other than `all` are children of `all`.

import { OnionplayError } from '../errors/index.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import { checkConnectionValues } from './connection.ts';
import type { Collector } from './load.ts';
import { readLayer } from './load.ts';
import type { InventoryGroup, InventoryHost } from './types.ts';

export interface HostsTree {
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
}

type Mapping = Record<string, unknown>;

function asMapping(value: unknown): Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : {};
}

export function buildHostsTree(doc: YamlDocument | undefined, collector: Collector): HostsTree {
  const hosts = new Map<string, InventoryHost>();
  const groups = new Map<string, InventoryGroup>();
  const ensureGroup = (name: string): InventoryGroup => {
    let group = groups.get(name);
    if (group === undefined) {
      group = { name, hosts: [], children: [], vars: {}, varSources: {}, depth: 0 };
      groups.set(name, group);
    }
    return group;
  };
  const all = ensureGroup('all');
  if (doc === undefined) return { hosts, groups };

  const walk = (name: string, node: unknown, at: YamlPath, ancestry: string[]): void => {
    if (ancestry.includes(name)) {
      collector.errors.push(
        new OnionplayError('cycle', `group "${name}" contains itself: ${[...ancestry, name].join(' -> ')}`, {
          position: doc.keyPositionOf(at),
          key: name,
          fix: `remove "${name}" from the children of "${ancestry[ancestry.length - 1] ?? name}"`,
        }),
      );
      return;
    }
    const group = ensureGroup(name);
    const body = asMapping(node);

    for (const hostName of Object.keys(asMapping(body.hosts))) {
      const hostPath = [...at, 'hosts', hostName];
      let host = hosts.get(hostName);
      if (host === undefined) {
        host = { name: hostName, groups: [], vars: {}, varSources: {}, position: doc.keyPositionOf(hostPath) };
        hosts.set(hostName, host);
      }
      const layer = readLayer(doc, hostPath);
      checkConnectionValues(doc, hostPath, layer.vars, collector);
      Object.assign(host.vars, layer.vars);
      host.varSources = { ...host.varSources, ...layer.sources };
      if (!group.hosts.includes(hostName)) group.hosts.push(hostName);
    }

    const layer = readLayer(doc, [...at, 'vars']);
    checkConnectionValues(doc, [...at, 'vars'], layer.vars, collector);
    Object.assign(group.vars, layer.vars);
    group.varSources = { ...group.varSources, ...layer.sources };

    for (const [childName, childNode] of Object.entries(asMapping(body.children))) {
      if (!group.children.includes(childName)) group.children.push(childName);
      walk(childName, childNode, [...at, 'children', childName], [...ancestry, name]);
    }
  };

  for (const [name, node] of Object.entries(asMapping(doc.value))) {
    if (name !== 'all' && !all.children.includes(name)) all.children.push(name);
    walk(name, node, [name], name === 'all' ? [] : ['all']);
  }

  assignDepths(groups);
  assignHostGroups(hosts, groups);
  for (const name of groups.keys()) {
    if (hosts.has(name)) collector.warnings.push(`"${name}" is both a host and a group; patterns match both`);
  }
  return { hosts, groups };
}

// Depth is the longest path from `all`, as Ansible orders group variables.
function assignDepths(groups: Map<string, InventoryGroup>): void {
  const visit = (name: string, depth: number, seen: Set<string>): void => {
    const group = groups.get(name);
    if (group === undefined || seen.has(name)) return;
    group.depth = Math.max(group.depth, depth);
    const next = new Set(seen).add(name);
    for (const child of group.children) visit(child, depth + 1, next);
  };
  visit('all', 0, new Set());
}

function assignHostGroups(hosts: Map<string, InventoryHost>, groups: Map<string, InventoryGroup>): void {
  const parents = new Map<string, string[]>();
  for (const group of groups.values()) {
    for (const child of group.children) parents.set(child, [...(parents.get(child) ?? []), group.name]);
  }
  const ancestorsOf = (name: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(name)) return seen;
    seen.add(name);
    for (const parent of parents.get(name) ?? []) ancestorsOf(parent, seen);
    return seen;
  };
  for (const host of hosts.values()) {
    const names = new Set<string>(['all']);
    for (const group of groups.values()) {
      if (group.hosts.includes(host.name)) for (const name of ancestorsOf(group.name)) names.add(name);
    }
    host.groups = [...names].sort((a, b) => {
      const depth = (groups.get(a)?.depth ?? 0) - (groups.get(b)?.depth ?? 0);
      return depth !== 0 ? depth : a < b ? -1 : a > b ? 1 : 0;
    });
  }
}
