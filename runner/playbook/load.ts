// Load a playbook with every role it uses (dependencies first, each once per
// play) and every task file they include, validating all of it.

import { access } from 'node:fs/promises';
import path from 'node:path';
import { OnionplayError, ValidationErrors } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { readLayer, readValidated, sourcedPosition } from '../inventory/load.ts';
import type { Collector } from '../inventory/load.ts';
import { formatKeyPath } from '../schema/format.ts';
import { playSchema, taskListSchema } from '../schema/playbook.ts';
import { closestMatch, listAllowed } from '../schema/suggest.ts';
import { validateValue } from '../schema/validate.ts';
import { loadYamlFile } from '../yaml/load.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import { findRole, readRoleFiles } from './role.ts';
import type { RoleFiles } from './role.ts';
import { includeOf, parseTask, taskSource } from './task.ts';
import type { Handler, Play, Playbook, Role, RoleUse, Task, VariableSources } from './types.ts';

export interface PlaybookOptions {
  siteDir: string;
  /** Extra role folders (--roles-path), searched after the project's and the site's roles/. */
  rolesPath: string[];
  /** The project folder whose roles/ is searched first. */
  projectRoot: string;
}

type Mapping = Record<string, unknown>;

interface Inherited {
  when: string[];
  tags: string[];
  vars: Mapping;
}

interface ListContext {
  idPrefix: string;
  counter: { next: number };
  handler: boolean;
  baseDir: string;
  role?: { name: string; dir: string };
  includeStack: string[];
  inherited: Inherited;
}

const INCLUDE_KEYS = new Set(['name', 'when', 'tags', 'vars', 'include_tasks', 'import_tasks']);

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function valueAt(doc: YamlDocument, at: YamlPath): unknown {
  let node: unknown = doc.value;
  for (const segment of at) node = isMapping(node) || Array.isArray(node) ? (node as Mapping)[segment as string] : undefined;
  return node;
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function tagList(value: unknown): string[] {
  return stringList(value).flatMap((tag) => tag.split(',')).map((tag) => tag.trim()).filter(Boolean);
}

class PlaybookLoader {
  readonly collector: Collector = { errors: [], warnings: [] };
  private readonly roleFiles = new Map<string, Promise<RoleFiles | undefined>>();
  private readonly searchPath: string[];

  constructor(readonly options: PlaybookOptions) {
    this.searchPath = [
      path.resolve(options.projectRoot, 'roles'),
      path.resolve(options.siteDir, 'roles'),
      ...options.rolesPath.map((dir) => path.resolve(dir)),
    ];
  }

  get errors(): OnionplayError[] {
    return this.collector.errors;
  }

  async load(file: string): Promise<Playbook> {
    const doc = await loadYamlFile(file);
    const value = doc.value;
    if (value === null || (Array.isArray(value) && value.length === 0)) {
      this.errors.push(
        new OnionplayError('invalid_value', 'playbook has no plays', {
          position: { file, line: 1, column: 1 },
          fix: 'add a play, e.g. "- hosts: all\\n  tasks:\\n    - debug: {msg: hello}"',
        }),
      );
      return { file, plays: [] };
    }
    if (!Array.isArray(value)) {
      this.errors.push(
        new OnionplayError('invalid_value', 'a playbook must be a list of plays', {
          position: doc.positionOf([]),
          fix: isMapping(value) && 'hosts' in value ? 'start the play with "- ": write "- hosts: ..."' : 'write the playbook as a list: each play starts with "- hosts: ..."',
        }),
      );
      return { file, plays: [] };
    }
    const plays: Play[] = [];
    for (let index = 0; index < value.length; index += 1) {
      const play = await this.loadPlay(doc, index);
      if (play !== undefined) plays.push(play);
    }
    return { file, plays };
  }

  private async loadPlay(doc: YamlDocument, index: number): Promise<Play | undefined> {
    const at: YamlPath = [index];
    const raw = valueAt(doc, at);
    const problems = validateValue(raw, playSchema, { doc, path: at });
    this.errors.push(...problems);
    if (!isMapping(raw)) return undefined;

    const hosts = Array.isArray(raw.hosts) ? raw.hosts.map(String).join(':') : String(raw.hosts ?? '');
    const varsLayer = readLayer(doc, [...at, 'vars']);
    await this.readVarsFiles(doc, at, raw.vars_files, varsLayer);
    const playTags = tagList(raw.tags);
    const inherited: Inherited = { when: [], tags: playTags, vars: {} };
    const baseDir = path.dirname(doc.file);

    const uses = (Array.isArray(raw.roles) ? raw.roles : []).map((entry, i) => parseRoleUse(entry, doc, [...at, 'roles', i]));
    const ordered = await this.orderRoles(uses.filter((use): use is RoleUse => use !== undefined));

    const roles: Array<{ role: Role; use: RoleUse }> = [];
    const tasks: Task[] = [];
    const handlers: Handler[] = [];
    for (const { files, use } of ordered) {
      const role = await this.buildRole(files, use, `p${index}`, playTags);
      roles.push({ role, use });
      tasks.push(...role.tasks);
      handlers.push(...role.handlers);
    }

    const listContext = (prefix: string, handler: boolean): ListContext => ({
      idPrefix: `p${index}/${prefix}`,
      counter: { next: 0 },
      handler,
      baseDir,
      includeStack: [doc.file],
      inherited: handler ? { when: [], tags: [], vars: {} } : inherited,
    });
    tasks.push(...(await this.parseTaskList(doc, [...at, 'tasks'], listContext('tasks', false))));
    handlers.push(...((await this.parseTaskList(doc, [...at, 'handlers'], listContext('handlers', true))) as Handler[]));
    this.checkNotifications(tasks, handlers);
    if (problems.length > 0) return undefined;

    const play: Play = {
      name: typeof raw.name === 'string' ? raw.name : hosts,
      hosts,
      vars: varsLayer.vars,
      varSources: varsLayer.sources,
      roles,
      tasks,
      handlers,
      gatherFacts: raw.gather_facts === true,
      position: doc.positionOf(at),
    };
    if (typeof raw.become === 'boolean') play.become = raw.become;
    if (typeof raw.max_fail_percentage === 'number') play.serial = raw.max_fail_percentage / 100;
    return play;
  }

  // vars_files are read relative to the playbook and override the play's vars.
  private async readVarsFiles(doc: YamlDocument, at: YamlPath, value: unknown, layer: { vars: Mapping; sources: VariableSources }): Promise<void> {
    const files = stringList(value);
    for (const [i, name] of files.entries()) {
      const where = Array.isArray(value) ? [...at, 'vars_files', i] : [...at, 'vars_files'];
      const file = path.resolve(path.dirname(doc.file), name);
      const varsDoc = await readValidated(file, { type: ['object', 'null'] }, this.collector, false);
      if (varsDoc === undefined) {
        if (!this.errors.some((error) => error.details.position?.file === file)) {
          this.errors.push(
            new OnionplayError('not_found', `vars file not found: ${name}`, {
              position: doc.positionOf(where),
              key: formatKeyPath(where),
              value: file,
              fix: 'create the file, or fix the path (relative to the playbook)',
            }),
          );
        }
        continue;
      }
      const read = readLayer(varsDoc, []);
      Object.assign(layer.vars, read.vars);
      Object.assign(layer.sources, read.sources);
    }
  }

  private async filesOf(name: string, usedAt: SourcePosition): Promise<RoleFiles | undefined> {
    let pending = this.roleFiles.get(name);
    if (pending === undefined) {
      pending = (async () => {
        const dir = await findRole(name, this.searchPath, usedAt);
        if (dir instanceof OnionplayError) {
          this.errors.push(dir);
          return undefined;
        }
        return readRoleFiles(name, dir, this.collector);
      })();
      this.roleFiles.set(name, pending);
    }
    return pending;
  }

  // Depth-first: a role's dependencies come before it, and each role runs
  // once per play even when several roles depend on it.
  private async orderRoles(uses: RoleUse[]): Promise<Array<{ files: RoleFiles; use: RoleUse }>> {
    const ordered: Array<{ files: RoleFiles; use: RoleUse }> = [];
    const done = new Set<string>();
    const visit = async (use: RoleUse, stack: string[], inherited: { tags: string[]; when: string[] }): Promise<void> => {
      const cycleStart = stack.indexOf(use.name);
      if (cycleStart >= 0) {
        const cycle = [...stack.slice(cycleStart), use.name].join(' -> ');
        this.errors.push(
          new OnionplayError('cycle', `cyclic role dependencies: ${cycle}`, {
            position: use.position,
            key: 'dependencies',
            value: use.name,
            fix: `remove "${use.name}" from the dependencies of "${stack[stack.length - 1] ?? use.name}"`,
          }),
        );
        return;
      }
      if (done.has(use.name)) return;
      const files = await this.filesOf(use.name, use.position);
      if (files === undefined) {
        done.add(use.name);
        return;
      }
      const effective: RoleUse = { ...use, tags: [...inherited.tags, ...use.tags], when: [...inherited.when, ...use.when] };
      const dependencies = files.meta
        ? files.dependencies.map((entry, i) => parseRoleUse(entry, files.meta as YamlDocument, ['dependencies', i]))
        : [];
      for (const dependency of dependencies) {
        if (dependency !== undefined) await visit(dependency, [...stack, use.name], { tags: effective.tags, when: effective.when });
      }
      if (done.has(use.name)) return;
      done.add(use.name);
      ordered.push({ files, use: effective });
    };
    for (const use of uses) await visit(use, [], { tags: [], when: [] });
    return ordered;
  }

  private async buildRole(files: RoleFiles, use: RoleUse, playPrefix: string, playTags: string[]): Promise<Role> {
    const ref = { name: files.name, dir: files.dir };
    const inherited: Inherited = { when: use.when, tags: [...playTags, ...use.tags], vars: {} };
    const context = (suffix: string, handler: boolean): ListContext => ({
      idPrefix: `${playPrefix}/${files.name}${suffix}`,
      counter: { next: 0 },
      handler,
      baseDir: files.dir,
      role: ref,
      includeStack: [],
      inherited: handler ? { when: [], tags: [], vars: {} } : inherited,
    });
    const tasks = files.tasks ? await this.parseTaskList(files.tasks, [], { ...context('', false), includeStack: [files.tasks.file] }) : [];
    const handlers = files.handlers
      ? ((await this.parseTaskList(files.handlers, [], { ...context('/handlers', true), includeStack: [files.handlers.file] })) as Handler[])
      : [];
    const role: Role = {
      ...ref,
      defaults: files.defaults,
      defaultSources: files.defaultSources,
      dependencies: files.meta
        ? files.dependencies
            .map((entry, i) => parseRoleUse(entry, files.meta as YamlDocument, ['dependencies', i]))
            .filter((dependency): dependency is RoleUse => dependency !== undefined)
        : [],
      tasks,
      handlers,
      position: files.position,
    };
    if (files.variablesSchema !== undefined) role.variablesSchema = files.variablesSchema;
    if (files.description !== undefined) role.description = files.description;
    return role;
  }

  /** Parse a task list, reading `include_tasks`/`import_tasks` files in place. */
  private async parseTaskList(doc: YamlDocument, at: YamlPath, context: ListContext): Promise<Task[]> {
    const list = valueAt(doc, at);
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) {
      this.errors.push(...validateValue(list, taskListSchema, { doc, path: at }));
      return [];
    }
    const tasks: Task[] = [];
    for (let i = 0; i < list.length; i += 1) {
      const item = list[i];
      const include = includeOf(item);
      if (include !== undefined) {
        tasks.push(...(await this.includeTasks(doc, [...at, i], item as Mapping, include, context)));
        continue;
      }
      const task = parseTask(item, {
        doc,
        path: [...at, i],
        id: `${context.idPrefix}/${context.counter.next}`,
        handler: context.handler,
        baseDir: context.baseDir,
        ...(context.role ? { role: context.role } : {}),
        errors: this.errors,
      });
      context.counter.next += 1;
      if (task === undefined) continue;
      await this.checkSourceFile(task, doc, [...at, i]);
      task.when = [...context.inherited.when, ...task.when];
      task.tags = [...new Set([...context.inherited.tags, ...task.tags])];
      task.vars = { ...context.inherited.vars, ...task.vars };
      tasks.push(task);
    }
    return tasks;
  }

  private async includeTasks(doc: YamlDocument, at: YamlPath, raw: Mapping, include: { key: string; file: unknown }, context: ListContext): Promise<Task[]> {
    for (const key of Object.keys(raw)) {
      if (INCLUDE_KEYS.has(key)) continue;
      const suggestion = closestMatch(key, [...INCLUDE_KEYS]);
      this.errors.push(
        new OnionplayError('unknown_key', `unknown key "${key}" next to ${include.key}`, {
          position: doc.keyPositionOf([...at, key]),
          key: formatKeyPath([...at, key]),
          allowed: listAllowed(INCLUDE_KEYS),
          fix: suggestion ? `did you mean "${suggestion}"?` : `remove it; ${include.key} takes only ${[...INCLUDE_KEYS].join(', ')}`,
        }),
      );
    }
    if (typeof include.file !== 'string' || include.file.includes('{{')) {
      this.errors.push(
        new OnionplayError('invalid_value', `${include.key} needs a file name without templates`, {
          position: doc.positionOf([...at, include.key]),
          key: formatKeyPath([...at, include.key]),
          value: JSON.stringify(include.file),
          fix: 'task files are read when the playbook loads, so name the file literally, e.g. install.yaml',
        }),
      );
      return [];
    }
    const file = path.resolve(context.role?.dir ?? path.dirname(doc.file), include.file);
    if (context.includeStack.includes(file)) {
      this.errors.push(
        new OnionplayError('cycle', `task files include each other: ${[...context.includeStack, file].map((f) => path.basename(f)).join(' -> ')}`, {
          position: doc.positionOf([...at, include.key]),
          key: formatKeyPath([...at, include.key]),
          fix: `remove the ${include.key} of ${include.file}`,
        }),
      );
      return [];
    }
    let included: YamlDocument;
    try {
      included = await loadYamlFile(file);
    } catch (error) {
      if (!(error instanceof OnionplayError)) throw error;
      this.errors.push(
        error.code !== 'not_found'
          ? error
          : new OnionplayError('not_found', `task file not found: ${include.file}`, {
              position: doc.positionOf([...at, include.key]),
              key: formatKeyPath([...at, include.key]),
              value: file,
              fix: `create ${file}, or fix the name (relative to ${context.role ? 'the role folder' : 'the playbook'})`,
            }),
      );
      return [];
    }
    const problems = validateValue(included.value, taskListSchema, { doc: included, path: [] });
    this.errors.push(...problems);
    if (problems.length > 0) return [];
    const inherited: Inherited = {
      when: [...context.inherited.when, ...stringList(raw.when)],
      tags: [...context.inherited.tags, ...tagList(raw.tags)],
      vars: { ...context.inherited.vars, ...(isMapping(raw.vars) ? raw.vars : {}) },
    };
    return this.parseTaskList(included, [], { ...context, includeStack: [...context.includeStack, file], inherited });
  }

  // A literal `src:` of template or copy must exist: in the role's
  // templates/ or files/, or relative to the playbook outside a role.
  private async checkSourceFile(task: Task, doc: YamlDocument, at: YamlPath): Promise<void> {
    const kind = task.module === 'template' ? 'templates' : task.module === 'copy' ? 'files' : undefined;
    const src = (task.args as Mapping | null)?.src;
    if (kind === undefined || typeof src !== 'string' || src.includes('{{')) return;
    const file = path.isAbsolute(src) ? src : task.role ? path.join(task.role.dir, kind, src) : path.resolve(task.baseDir, src);
    try {
      await access(file);
    } catch {
      const where = [...at, task.module, 'src'];
      this.errors.push(
        new OnionplayError('not_found', `${task.module} source not found: ${src}`, {
          position: doc.positionOf(where),
          key: formatKeyPath(where),
          value: file,
          fix: task.role ? `create ${file}, or fix the name (relative to the role's ${kind}/ folder)` : `create ${file}, or fix the path (relative to the playbook)`,
        }),
      );
    }
  }

  // Every `notify:` must name a handler of the play, or one of its `listen:` topics.
  private checkNotifications(tasks: Task[], handlers: Handler[]): void {
    const names = new Set(handlers.flatMap((handler) => handler.listen));
    for (const task of tasks) {
      task.notify.forEach((name, index) => {
        if (names.has(name)) return;
        const source = taskSource(task);
        const at: YamlPath = source ? [...source.path, 'notify'] : [];
        const notify = source ? valueAt(source.doc, at) : undefined;
        const where = Array.isArray(notify) ? [...at, index] : at;
        const suggestion = closestMatch(name, names);
        this.errors.push(
          new OnionplayError('not_found', `task "${task.name}" notifies "${name}", but no handler has that name or listens to it`, {
            position: source ? source.doc.positionOf(where) : task.position,
            key: source ? formatKeyPath(where) : 'notify',
            value: name,
            allowed: names.size > 0 ? listAllowed(names) : 'no handlers are defined in this play',
            fix: suggestion ? `did you mean "${suggestion}"?` : 'add a handler with this name to handlers.yaml or the play\'s handlers:',
          }),
        );
      });
    }
  }
}

/** Parse a `roles:` or `dependencies:` entry: a name or `{role, vars, tags, when, ...params}`. */
function parseRoleUse(entry: unknown, doc: YamlDocument, at: YamlPath): RoleUse | undefined {
  const position = doc.positionOf(at);
  if (typeof entry === 'string') return { name: entry, vars: {}, varSources: {}, tags: [], when: [], position };
  if (!isMapping(entry) || typeof entry.role !== 'string') return undefined;
  const vars: Mapping = {};
  const varSources: VariableSources = {};
  for (const [key, value] of Object.entries(entry)) {
    if (['role', 'vars', 'tags', 'when'].includes(key)) continue;
    vars[key] = value;
    varSources[key] = sourcedPosition(doc, [...at, key]);
  }
  const explicit = readLayer(doc, [...at, 'vars']);
  Object.assign(vars, explicit.vars);
  Object.assign(varSources, explicit.sources);
  return { name: entry.role, vars, varSources, tags: tagList(entry.tags), when: stringList(entry.when), position };
}

/**
 * Load and validate a playbook and its roles. Throws ValidationErrors with
 * every problem found.
 */
export async function loadPlaybook(file: string, options: PlaybookOptions): Promise<Playbook> {
  const loader = new PlaybookLoader(options);
  let playbook: Playbook = { file, plays: [] };
  try {
    playbook = await loader.load(path.resolve(file));
  } catch (error) {
    if (!(error instanceof OnionplayError)) throw error;
    loader.errors.push(...(error instanceof ValidationErrors ? error.errors : [error]));
  }
  if (loader.errors.length > 0) throw new ValidationErrors(loader.errors);
  playbook.warnings = loader.collector.warnings;
  return playbook;
}
