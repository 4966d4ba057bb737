// Find roles on the search path and read their files: tasks.yaml,
// handlers.yaml, defaults.yaml, meta.yaml and the templates/ to check.

import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { OnionplayError } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { readLayer, readValidated } from '../inventory/load.ts';
import type { Collector } from '../inventory/load.ts';
import { defaultsFileSchema, roleMetaSchema, taskListSchema } from '../schema/playbook.ts';
import { closestMatch, listAllowed } from '../schema/suggest.ts';
import { schemaProblem } from '../schema/validate.ts';
import { checkTemplateSyntax } from '../template/index.ts';
import type { YamlDocument } from '../yaml/load.ts';
import type { VariableSources } from './types.ts';

/** The files of a role as read from disk, before its tasks are parsed per play. */
export interface RoleFiles {
  name: string;
  dir: string;
  tasks?: YamlDocument;
  handlers?: YamlDocument;
  defaults: Record<string, unknown>;
  defaultSources: VariableSources;
  meta?: YamlDocument;
  description?: string;
  variablesSchema?: Record<string, unknown>;
  /** Raw `dependencies:` entries of meta.yaml. */
  dependencies: unknown[];
  position: SourcePosition;
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

async function listRoles(dirs: string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
    } catch {
      // A search folder that does not exist contains no roles.
    }
  }
  return [...names].sort();
}

/**
 * Find a role's folder: the first of `searchPath` (the project's roles/,
 * the site's roles/, then each --roles-path) that has a folder of that name.
 */
export async function findRole(
  name: string,
  searchPath: string[],
  usedAt: SourcePosition,
): Promise<string | OnionplayError> {
  if (/[/\\]/.test(name) || name === '..' || name === '.') {
    return new OnionplayError('invalid_value', `invalid role name "${name}"`, {
      position: usedAt,
      value: name,
      fix: 'name the role by its folder name and add its parent folder with --roles-path',
    });
  }
  for (const dir of searchPath) {
    const candidate = path.join(dir, name);
    if (await isDirectory(candidate)) return candidate;
  }
  const known = await listRoles(searchPath);
  const suggestion = closestMatch(name, known);
  return new OnionplayError('not_found', `role "${name}" not found`, {
    position: usedAt,
    key: 'role',
    value: name,
    allowed: known.length > 0 ? listAllowed(known) : `no roles in ${searchPath.join(', ')}`,
    fix: suggestion
      ? `did you mean "${suggestion}"?`
      : `create ${path.join(searchPath[0] ?? 'roles', name)}/tasks.yaml, or add its parent folder with --roles-path (searched: ${searchPath.join(', ')})`,
  });
}

/** Read a role's files. Problems go to the collector. */
export async function readRoleFiles(name: string, dir: string, collector: Collector): Promise<RoleFiles> {
  const tasks = await readValidated(path.join(dir, 'tasks.yaml'), taskListSchema, collector, false);
  const handlers = await readValidated(path.join(dir, 'handlers.yaml'), taskListSchema, collector, false);
  const defaultsDoc = await readValidated(path.join(dir, 'defaults.yaml'), defaultsFileSchema, collector, false);
  const meta = await readValidated(path.join(dir, 'meta.yaml'), roleMetaSchema, collector, false);
  const layer = defaultsDoc ? readLayer(defaultsDoc, []) : { vars: {}, sources: {} };
  const metaValue = (meta?.value ?? {}) as { description?: string; dependencies?: unknown[]; variables?: Record<string, unknown> };

  const files: RoleFiles = {
    name,
    dir,
    defaults: layer.vars,
    defaultSources: layer.sources,
    dependencies: Array.isArray(metaValue.dependencies) ? metaValue.dependencies : [],
    position: { file: path.join(dir, 'tasks.yaml'), line: 1, column: 1 },
  };
  if (tasks) files.tasks = tasks;
  if (handlers) files.handlers = handlers;
  if (meta) files.meta = meta;
  if (typeof metaValue.description === 'string') files.description = metaValue.description;

  if (metaValue.variables !== undefined && meta !== undefined) {
    const problem = schemaProblem(metaValue.variables);
    if (problem === undefined) files.variablesSchema = metaValue.variables;
    else {
      collector.errors.push(
        new OnionplayError('invalid_value', `variables of role "${name}" is not a valid JSON Schema: ${problem}`, {
          position: meta.positionOf(['variables']),
          key: 'variables',
          fix: 'write `variables:` as a JSON Schema object, e.g. {type: object, properties: {tor_port: {type: integer}}}',
        }),
      );
    }
  }
  await checkAnsibleLayout(name, dir, collector);
  if (tasks === undefined && handlers === undefined && !(await hasAnyFile(dir))) {
    collector.warnings.push(`role "${name}" at ${dir} has no tasks.yaml or handlers.yaml`);
  }
  await checkTemplatesFolder(path.join(dir, 'templates'), collector);
  return files;
}

// Ansible keeps a role's parts in tasks/main.yml and the like; onionplay
// reads tasks.yaml and the like at the role's top level. Without this check
// such a role would load with no tasks at all.
async function checkAnsibleLayout(name: string, dir: string, collector: Collector): Promise<void> {
  for (const part of ['tasks', 'handlers', 'defaults', 'meta', 'vars']) {
    for (const extension of ['yml', 'yaml']) {
      const file = path.join(dir, part, `main.${extension}`);
      try {
        await stat(file);
      } catch {
        continue;
      }
      const target = part === 'vars' ? 'defaults.yaml' : `${part}.yaml`;
      collector.errors.push(
        new OnionplayError('invalid_value', `role "${name}" uses Ansible's folder layout: ${part}/main.${extension}`, {
          position: { file, line: 1, column: 1 },
          value: file,
          fix: `move it to ${path.join(dir, target)}: onionplay reads tasks.yaml, handlers.yaml, defaults.yaml and meta.yaml at the top of the role folder`,
        }),
      );
    }
  }
}

async function hasAnyFile(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

// Compile every file under templates/ so a syntax error is reported with
// the template's own file and line before anything runs.
async function checkTemplatesFolder(dir: string, collector: Collector): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await checkTemplatesFolder(file, collector);
      continue;
    }
    if (!entry.isFile()) continue;
    const bytes = await readFile(file);
    if (bytes.includes(0)) continue;
    try {
      checkTemplateSyntax(bytes.toString('utf8'), { file, line: 1, column: 1, what: `template ${entry.name}` });
    } catch (error) {
      if (error instanceof OnionplayError) collector.errors.push(error);
      else throw error;
    }
  }
}
