// Parse one task or handler in Ansible's syntax: `- name: ...`, exactly one
// module key with its arguments, and task keywords.

import { OnionplayError } from '../errors/index.ts';
import { getModule, moduleNames } from '../modules/registry.ts';
import { formatKeyPath } from '../schema/format.ts';
import { handlerKeywordSchemas, includeKeywords, taskKeywordSchemas } from '../schema/playbook.ts';
import { closestMatch, listAllowed } from '../schema/suggest.ts';
import { validateValue } from '../schema/validate.ts';
import { checkConditionSyntax, checkTemplateSyntax } from '../template/index.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import type { Handler, RoleRef, Task } from './types.ts';

/** The source location of a task, kept for checks after loading. */
export interface TaskSource {
  doc: YamlDocument;
  path: YamlPath;
}

const sources = new WeakMap<Task, TaskSource>();

/** Return the document and path that a loaded task was read from. */
export function taskSource(task: Task): TaskSource | undefined {
  return sources.get(task);
}

export interface TaskContext {
  doc: YamlDocument;
  path: YamlPath;
  id: string;
  handler: boolean;
  baseDir: string;
  role?: RoleRef;
  errors: OnionplayError[];
}

/** Argument a free-form string becomes when the module names none. */
const FREE_FORM_KEY = 'cmd';

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  return [String(value)];
}

function tagList(value: unknown): string[] {
  return stringList(value)
    .flatMap((tag) => tag.split(','))
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

/** Join a list of conditions into one expression that holds when all hold. */
export function joinConditions(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const texts = items.map((item) => String(item).trim());
  if (texts.length === 1) return texts[0];
  return `and ${texts.map((text) => (/\s/.test(text) ? `(${text})` : text)).join(' ')}`;
}

/** Keys a task may have besides its module, for this kind of task. */
export function keywordNames(handler: boolean): string[] {
  return [...Object.keys(taskKeywordSchemas), ...(handler ? Object.keys(handlerKeywordSchemas) : [])];
}

/**
 * Find the include key of a task (`include_tasks:`/`import_tasks:`), if it
 * is one, so the loader can read the file in its place.
 */
export function includeOf(raw: unknown): { key: string; file: unknown } | undefined {
  if (!isMapping(raw)) return undefined;
  for (const key of includeKeywords) if (Object.hasOwn(raw, key)) return { key, file: raw[key] };
  return undefined;
}

/** Parse a task. Problems go to `context.errors`; returns undefined when unusable. */
export function parseTask(raw: unknown, context: TaskContext): Task | Handler | undefined {
  const { doc, path, errors } = context;
  const where = formatKeyPath(path) || 'task';
  if (!isMapping(raw)) {
    errors.push(
      new OnionplayError('invalid_value', `${where} must be a mapping with a module key, e.g. "- name: ...\\n  debug: {msg: hi}"`, {
        position: doc.positionOf(path),
        key: where,
        fix: 'write the task as a mapping: a `name:` line and one module key with its arguments',
      }),
    );
    return undefined;
  }

  const keywordSchemas = { ...taskKeywordSchemas, ...(context.handler ? handlerKeywordSchemas : {}) };
  const keywords = new Set(Object.keys(keywordSchemas));
  const moduleKeys: string[] = [];
  let failed = false;

  for (const key of Object.keys(raw)) {
    if (keywords.has(key)) continue;
    if (getModule(key) !== undefined) {
      moduleKeys.push(key);
      continue;
    }
    failed = true;
    errors.push(unknownKeyError(key, raw, context));
  }

  if (moduleKeys.length > 1) {
    errors.push(
      new OnionplayError('invalid_value', `task has ${moduleKeys.length} modules: ${moduleKeys.join(', ')}`, {
        position: doc.keyPositionOf([...path, moduleKeys[1] as string]),
        key: formatKeyPath([...path, moduleKeys[1] as string]),
        fix: 'split it into one task per module',
      }),
    );
    return undefined;
  }
  if (moduleKeys.length === 0) {
    if (!failed) {
      errors.push(
        new OnionplayError('missing_key', `task has no module${typeof raw.name === 'string' ? ` ("${raw.name}")` : ''}`, {
          position: doc.positionOf(path),
          key: where,
          allowed: listAllowed(moduleNames()),
          fix: 'add one module key with its arguments, e.g. `command: echo hello`',
        }),
      );
    }
    return undefined;
  }

  for (const [key, schema] of Object.entries(keywordSchemas)) {
    if (!Object.hasOwn(raw, key)) continue;
    const problems = validateValue(raw[key], schema, { doc, path: [...path, key] }, { skipTemplated: true });
    if (problems.length > 0) failed = true;
    errors.push(...problems);
  }

  const moduleName = moduleKeys[0] as string;
  const args = moduleArguments(moduleName, raw, context);
  if (args === undefined) return undefined;
  checkTemplates(raw, context);
  if (failed) return undefined;
  return buildTask(raw, moduleName, args, context);
}

function unknownKeyError(key: string, raw: Mapping, context: TaskContext): OnionplayError {
  const { doc, path } = context;
  const keywords = keywordNames(context.handler);
  const keywordGuess = closestMatch(key, keywords);
  const moduleGuess = closestMatch(key, moduleNames());
  const looksLikeArgs = isMapping(raw[key]) || typeof raw[key] === 'string';
  // A key with a mapping value is most likely a misspelled module.
  const suggestion = looksLikeArgs ? (moduleGuess ?? keywordGuess) : (keywordGuess ?? moduleGuess);
  const isModuleGuess = suggestion !== undefined && suggestion === moduleGuess && suggestion !== keywordGuess;
  const message = isModuleGuess || (suggestion === undefined && looksLikeArgs)
    ? `unknown module "${key}"`
    : `unknown task keyword "${key}"`;
  return new OnionplayError('unknown_key', message, {
    position: doc.keyPositionOf([...path, key]),
    key: formatKeyPath([...path, key]),
    allowed: isModuleGuess || message.startsWith('unknown module')
      ? `modules: ${listAllowed(moduleNames())}`
      : `keywords: ${listAllowed(keywords)}`,
    fix: suggestion ? `did you mean "${suggestion}"?` : 'check the spelling, or see `allowed` for the known names',
  });
}

// Read and validate the module's arguments. A string is a free-form command
// for modules that take `cmd`; `args:` adds keys next to it.
function moduleArguments(moduleName: string, raw: Mapping, context: TaskContext): Mapping | undefined {
  const { doc, path, errors } = context;
  const module = getModule(moduleName);
  if (module === undefined) return undefined;
  const properties = (module.schema.properties ?? {}) as Mapping;
  const value = raw[moduleName];
  let args: Mapping;

  if (value === null || value === undefined) args = {};
  else if (typeof value === 'string' && (module.freeForm !== undefined || Object.hasOwn(properties, FREE_FORM_KEY))) {
    args = { [module.freeForm ?? FREE_FORM_KEY]: value };
  }
  else if (isMapping(value)) args = { ...value };
  else {
    errors.push(
      new OnionplayError('invalid_value', `arguments of ${moduleName} must be a mapping`, {
        position: doc.positionOf([...path, moduleName]),
        key: formatKeyPath([...path, moduleName]),
        value: JSON.stringify(value),
        fix: `write them as keys under ${moduleName}:, e.g. "${moduleName}: {key: value}"`,
      }),
    );
    return undefined;
  }
  if (isMapping(raw.args)) args = { ...raw.args, ...args };

  const problems = validateValue(args, module.schema, { doc, path: [...path, moduleName] }, { skipTemplated: true });
  errors.push(...problems);
  return problems.length > 0 ? undefined : args;
}

// Compile every template string and condition of the task, so syntax errors
// are found at load time.
function checkTemplates(raw: Mapping, context: TaskContext): void {
  const { doc, path, errors } = context;
  const visit = (value: unknown, at: YamlPath): void => {
    if (typeof value === 'string' && value.includes('{{')) {
      try {
        const position = doc.positionOf(at);
        checkTemplateSyntax(value, { ...position, what: formatKeyPath(at) });
      } catch (error) {
        if (error instanceof OnionplayError) errors.push(error);
        else throw error;
      }
    } else if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...at, index]));
    else if (isMapping(value)) for (const [key, item] of Object.entries(value)) visit(item, [...at, key]);
  };
  for (const [key, value] of Object.entries(raw)) {
    if (['when', 'changed_when', 'failed_when', 'until'].includes(key)) {
      const items = Array.isArray(value) ? value : [value];
      items.forEach((item, index) => {
        const at = Array.isArray(value) ? [...path, key, index] : [...path, key];
        try {
          if (typeof item === 'string' || typeof item === 'boolean') {
            checkConditionSyntax(item, { ...doc.positionOf(at), what: formatKeyPath(at) });
          }
        } catch (error) {
          if (error instanceof OnionplayError) errors.push(error);
          else throw error;
        }
      });
    } else {
      visit(value, [...path, key]);
    }
  }
}

// Ansible retries an `until` task 3 times when `retries` is not set.
function retriesOf(retries: unknown, until: string | undefined): number {
  if (typeof retries === 'number') return retries;
  return until !== undefined ? 3 : 0;
}

function buildTask(raw: Mapping, moduleName: string, args: Mapping, context: TaskContext): Task | Handler {
  const loopControl = isMapping(raw.loop_control) ? raw.loop_control : {};
  const until = joinConditions(raw.until);
  const task: Task = {
    id: context.id,
    name: typeof raw.name === 'string' ? raw.name : moduleName,
    module: moduleName,
    args,
    when: stringList(raw.when),
    notify: stringList(raw.notify),
    loopVar: typeof loopControl.loop_var === 'string' ? loopControl.loop_var : 'item',
    tags: tagList(raw.tags),
    ignoreErrors: raw.ignore_errors === true,
    noLog: raw.no_log === true,
    retries: retriesOf(raw.retries, until),
    delayMs: Math.round((typeof raw.delay === 'number' ? raw.delay : 5) * 1000),
    runOnce: raw.run_once === true,
    vars: isMapping(raw.vars) ? { ...raw.vars } : {},
    position: context.doc.positionOf(context.path),
    baseDir: context.baseDir,
  };
  if (typeof raw.register === 'string') task.register = raw.register;
  if (raw.loop !== undefined) task.loop = raw.loop;
  const changedWhen = joinConditions(raw.changed_when);
  if (changedWhen !== undefined) task.changedWhen = changedWhen;
  const failedWhen = joinConditions(raw.failed_when);
  if (failedWhen !== undefined) task.failedWhen = failedWhen;
  if (until !== undefined) task.until = until;
  if (typeof raw.check_mode === 'boolean') task.checkMode = raw.check_mode;
  if (typeof raw.become === 'boolean') task.become = raw.become;
  if (typeof raw.delegate_to === 'string') task.delegateTo = raw.delegate_to;
  if (typeof raw.timeout === 'number') task.timeoutMs = Math.round(raw.timeout * 1000);
  if (context.role !== undefined) task.role = context.role;
  sources.set(task, { doc: context.doc, path: context.path });

  if (!context.handler) return task;
  const handler: Handler = { ...task, listen: [task.name, ...stringList(raw.listen)] };
  sources.set(handler, { doc: context.doc, path: context.path });
  return handler;
}
