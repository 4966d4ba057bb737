// Load a site folder: hosts.yaml, group_vars/, host_vars/, site.yaml and the
// facts learned by earlier runs, validating all of it before any connection.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { OnionplayError, ValidationErrors } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { factsFileSchema, hostsFileSchema, siteFileSchema, varsFileSchema } from '../schema/inventory.ts';
import { validateValue } from '../schema/validate.ts';
import type { JsonSchema } from '../schema/validate.ts';
import { loadYamlFile } from '../yaml/load.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import { checkConnectionValues } from './connection.ts';
import { buildHostsTree } from './hosts.ts';
import { parseSettings } from './settings.ts';
import type { Inventory, VariableSources } from './types.ts';

/** Problems found while loading, collected so all are reported at once. */
export interface Collector {
  errors: OnionplayError[];
  warnings: string[];
}

/** Variables read from one mapping, with the position of each value. */
export interface VariableLayer {
  vars: Record<string, unknown>;
  sources: VariableSources;
}

/**
 * Load and validate the site folder. Throws ValidationErrors listing every
 * problem found, or a single `not_found` error when the folder is missing.
 */
export async function loadSite(siteDir: string): Promise<Inventory> {
  const dir = path.resolve(siteDir);
  await requireFolder(dir, siteDir);
  const collector: Collector = { errors: [], warnings: [] };

  const hostsDoc = await readValidated(path.join(dir, 'hosts.yaml'), hostsFileSchema, collector, true);
  const { hosts, groups } = buildHostsTree(hostsDoc, collector);

  await loadVarsFolder(dir, 'group_vars', collector, (name, layer, file) => {
    const group = groups.get(name);
    if (group === undefined) {
      collector.warnings.push(`${file}: no group named "${name}" in hosts.yaml; its variables are not used`);
      return;
    }
    Object.assign(group.vars, layer.vars);
    group.varSources = { ...group.varSources, ...layer.sources };
  });
  await loadVarsFolder(dir, 'host_vars', collector, (name, layer, file) => {
    const host = hosts.get(name);
    if (host === undefined) {
      collector.warnings.push(`${file}: no host named "${name}" in hosts.yaml; its variables are not used`);
      return;
    }
    Object.assign(host.vars, layer.vars);
    host.varSources = { ...host.varSources, ...layer.sources };
  });

  const siteDoc = await readValidated(path.join(dir, 'site.yaml'), siteFileSchema, collector, false);
  const settings = parseSettings(siteDoc, dir);
  const facts = await loadLearnedFactsInto(dir, collector);

  for (const name of facts.keys()) {
    if (!hosts.has(name)) collector.warnings.push(`state/facts.yaml: facts of "${name}", which is not in hosts.yaml, are not used`);
  }

  if (collector.errors.length > 0) throw new ValidationErrors(collector.errors);
  return {
    siteDir: dir,
    hosts,
    groups,
    settings,
    learnedFacts: new Map([...facts].map(([name, layer]) => [name, layer.vars])),
    learnedFactSources: new Map([...facts].map(([name, layer]) => [name, layer.sources])),
    warnings: collector.warnings,
  };
}

/**
 * Read state/facts.yaml of a site: the variables earlier runs learned per
 * host (such as `onion`). A missing file means no facts.
 */
export async function loadLearnedFacts(siteDir: string): Promise<Map<string, Record<string, unknown>>> {
  const collector: Collector = { errors: [], warnings: [] };
  const facts = await loadLearnedFactsInto(path.resolve(siteDir), collector);
  if (collector.errors.length > 0) throw new ValidationErrors(collector.errors);
  return new Map([...facts].map(([name, layer]) => [name, layer.vars]));
}

async function loadLearnedFactsInto(dir: string, collector: Collector): Promise<Map<string, VariableLayer>> {
  const result = new Map<string, VariableLayer>();
  const doc = await readValidated(path.join(dir, 'state', 'facts.yaml'), factsFileSchema, collector, false);
  if (doc === undefined) return result;
  const hosts = (doc.value as { hosts?: Record<string, unknown> } | null)?.hosts;
  if (hosts === null || hosts === undefined || typeof hosts !== 'object') return result;
  for (const [name, vars] of Object.entries(hosts)) {
    const layer = readLayer(doc, ['hosts', name]);
    checkConnectionValues(doc, ['hosts', name], vars, collector);
    result.set(name, layer);
  }
  return result;
}

async function requireFolder(dir: string, asGiven: string): Promise<void> {
  let isFolder = false;
  try {
    isFolder = (await stat(dir)).isDirectory();
  } catch {
    isFolder = false;
  }
  if (!isFolder) {
    throw new OnionplayError('not_found', `inventory folder not found: ${asGiven}`, {
      position: { file: dir, line: 1, column: 1 },
      value: dir,
      fix: 'pass -i with the site folder that holds hosts.yaml, e.g. -i inventory/mysite',
    });
  }
}

/**
 * Read a YAML file and validate it against a schema. Errors go to the
 * collector; returns undefined when the file is missing or unusable.
 */
export async function readValidated(
  file: string,
  schema: JsonSchema,
  collector: Collector,
  required: boolean,
): Promise<YamlDocument | undefined> {
  let doc: YamlDocument;
  try {
    doc = await loadYamlFile(file);
  } catch (error) {
    if (!(error instanceof OnionplayError)) throw error;
    if (error.code === 'not_found' && !required) return undefined;
    if (error.code === 'not_found') {
      collector.errors.push(
        new OnionplayError('not_found', `${path.basename(file)} not found in the inventory folder`, {
          position: { file, line: 1, column: 1 },
          fix: `create ${file} with your groups and hosts, e.g. "all: {hosts: {web1: {address: 192.0.2.10}}}"`,
        }),
      );
      return undefined;
    }
    collector.errors.push(error);
    return undefined;
  }
  const problems = validateValue(doc.value, schema, { doc, path: [] });
  collector.errors.push(...problems);
  return problems.length > 0 ? undefined : doc;
}

const origins = new WeakMap<SourcePosition, { doc: YamlDocument; path: YamlPath }>();

/**
 * Return the position of the value at `path`, remembering its document so
 * that `originOf` can later find nested positions and YAML 1.1 habits.
 */
export function sourcedPosition(doc: YamlDocument, path: YamlPath): SourcePosition {
  const position = doc.positionOf(path);
  origins.set(position, { doc, path });
  return position;
}

/** Return the document and path of a position made by `sourcedPosition` or `readLayer`. */
export function originOf(position: SourcePosition | undefined): { doc: YamlDocument; path: YamlPath } | undefined {
  return position === undefined ? undefined : origins.get(position);
}

/** Read the mapping at `at` as variables, keeping each value's position. */
export function readLayer(doc: YamlDocument, at: YamlPath): VariableLayer {
  let node: unknown = doc.value;
  for (const segment of at) {
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[segment] : undefined;
  }
  const vars: Record<string, unknown> = {};
  const sources: VariableSources = {};
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return { vars, sources };
  for (const [name, value] of Object.entries(node)) {
    vars[name] = value;
    sources[name] = sourcedPosition(doc, [...at, name]);
  }
  return { vars, sources };
}

// Load group_vars/NAME.yaml and group_vars/NAME/*.yaml (sorted) and the
// same under host_vars/, handing each file's variables to `apply`.
async function loadVarsFolder(
  dir: string,
  folder: 'group_vars' | 'host_vars',
  collector: Collector,
  apply: (name: string, layer: VariableLayer, file: string) => void,
): Promise<void> {
  const base = path.join(dir, folder);
  let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>;
  try {
    entries = await readdir(base, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const entry of entries) {
    const files: Array<{ name: string; file: string }> = [];
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) {
      files.push({ name: entry.name.replace(/\.ya?ml$/, ''), file: path.join(base, entry.name) });
    } else if (entry.isDirectory()) {
      const inner = (await readdir(path.join(base, entry.name))).filter((name) => /\.ya?ml$/.test(name)).sort();
      for (const name of inner) files.push({ name: entry.name, file: path.join(base, entry.name, name) });
    }
    for (const { name, file } of files) {
      const doc = await readValidated(file, varsFileSchema, collector, true);
      if (doc === undefined) continue;
      checkConnectionValues(doc, [], doc.value, collector);
      apply(name, readLayer(doc, []), path.relative(dir, file));
    }
  }
}

export type { SourcePosition };
