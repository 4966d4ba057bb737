// Load everything a run needs (site, playbook, roles, extra vars), select
// hosts and check variables, collecting every problem into one list before
// any connection is made.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnionplayError, ValidationErrors } from '../errors/index.ts';
import { loadSite } from '../inventory/load.ts';
import { readLayer } from '../inventory/load.ts';
import { selectHosts } from '../inventory/pattern.ts';
import type { Inventory } from '../inventory/types.ts';
import { loadPlaybook } from '../playbook/load.ts';
import { checkTemplateVariables } from '../playbook/static-check.ts';
import { selectTasksByTags } from '../playbook/tags.ts';
import type { Play, Playbook, VariableSources } from '../playbook/types.ts';
import { validateRoleVariables } from '../playbook/variables.ts';
import { loadYamlFile, parseYaml } from '../yaml/load.ts';

/** The onionplay project folder, whose roles/ is searched first. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadRunOptions {
  playbookFile: string;
  siteDir: string;
  rolesPath: string[];
  /** Raw `-e` values: `key=value` (several separated by spaces), `@file.yaml`, or a YAML/JSON mapping. */
  extraVars: string[];
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  /** Folder whose roles/ is searched first; defaults to the onionplay project. */
  projectRoot?: string;
}

export interface LoadedRun {
  inventory: Inventory;
  playbook: Playbook;
  extraVars: Record<string, unknown>;
  /** Each play with the hosts it runs on; its tasks are filtered by --tags and --skip-tags. */
  plays: Array<{ play: Play; hosts: string[] }>;
  warnings: string[];
}

function collect(errors: OnionplayError[], error: unknown): void {
  if (error instanceof ValidationErrors) errors.push(...error.errors);
  else if (error instanceof OnionplayError) errors.push(error);
  else throw error;
}

function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}

// A YAML 1.2 scalar (number, boolean, null), or the text itself.
function scalarOf(text: string): unknown {
  if (text === '') return '';
  try {
    const value = parseYaml(text, '<command line -e>').value;
    return value !== null && typeof value === 'object' ? text : value;
  } catch {
    return text;
  }
}

/**
 * Parse `-e` values into variables, later values winning. `key=value`
 * values are read as YAML 1.2 scalars, so `port=22` is a number and
 * `name="22"` a string.
 */
export async function parseExtraVars(raw: string[]): Promise<{ vars: Record<string, unknown>; sources: VariableSources }> {
  const vars: Record<string, unknown> = {};
  const sources: VariableSources = {};
  for (const item of raw) {
    if (item.startsWith('@')) {
      const doc = await loadYamlFile(path.resolve(item.slice(1)));
      if (doc.value !== null && (typeof doc.value !== 'object' || Array.isArray(doc.value))) {
        throw new OnionplayError('usage', `extra vars file ${item.slice(1)} must hold a mapping of variables`, {
          position: doc.positionOf([]),
          fix: 'write it as "name: value" lines',
        });
      }
      const layer = readLayer(doc, []);
      Object.assign(vars, layer.vars);
      Object.assign(sources, layer.sources);
      continue;
    }
    if (/^\s*\{/.test(item)) {
      const doc = parseYaml(item, '<command line -e>');
      const layer = readLayer(doc, []);
      Object.assign(vars, layer.vars);
      Object.assign(sources, layer.sources);
      continue;
    }
    for (const pair of item.trim().split(/\s+(?=[A-Za-z_][A-Za-z0-9_]*=)/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
      if (match === null) {
        throw new OnionplayError('usage', `invalid -e value: ${JSON.stringify(item)}`, {
          value: item,
          allowed: 'name=value, @file.yaml, or a mapping such as \'{"name": 1}\'',
          fix: 'write -e name=value',
        });
      }
      const [, name, text] = match as unknown as [string, string, string];
      vars[name] = scalarOf(text);
      sources[name] = { file: '<command line -e>', line: 1, column: 1 };
    }
  }
  return { vars, sources };
}

/** Load and check a run. Throws ValidationErrors listing every problem. */
export async function loadRun(options: LoadRunOptions): Promise<LoadedRun> {
  const errors: OnionplayError[] = [];
  const warnings: string[] = [];
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;

  let inventory: Inventory | undefined;
  let playbook: Playbook | undefined;
  let extra: { vars: Record<string, unknown>; sources: VariableSources } = { vars: {}, sources: {} };

  try {
    inventory = await loadSite(options.siteDir);
    warnings.push(...(inventory.warnings ?? []));
  } catch (error) {
    collect(errors, error);
  }
  try {
    playbook = await loadPlaybook(options.playbookFile, { siteDir: options.siteDir, rolesPath: options.rolesPath, projectRoot });
    warnings.push(...(playbook.warnings ?? []));
  } catch (error) {
    collect(errors, error);
  }
  try {
    extra = await parseExtraVars(options.extraVars);
  } catch (error) {
    collect(errors, error);
  }
  if (inventory === undefined || playbook === undefined) throw new ValidationErrors(errors);

  const hostLists = playbook.plays.map((play) => {
    const selection = selectHosts(inventory as Inventory, play.hosts, options.limit);
    warnings.push(...selection.warnings.map((warning) => `play "${play.name}": ${warning}`));
    return selection.hosts;
  });
  errors.push(...validateRoleVariables(playbook, inventory, hostLists, extra.vars, extra.sources));
  errors.push(...checkTemplateVariables(playbook, inventory, hostLists, extra.vars, extra.sources));
  if (errors.length > 0) throw new ValidationErrors(errors);

  const tags = splitList(options.tags);
  const skipTags = splitList(options.skipTags);
  const plays = playbook.plays.map((play, index) => ({
    play: { ...play, tasks: selectTasksByTags(play.tasks, tags, skipTags) },
    hosts: hostLists[index] ?? [],
  }));
  return { inventory, playbook, extraVars: extra.vars, plays, warnings };
}
