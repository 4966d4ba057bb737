// The template engine: handlebars without HTML escaping and in strict mode,
// so an undefined variable is an error that names it. Conditions (`when:`,
// `changed_when:`...) use the same expression language without braces.
// This is the only module that imports handlebars.

import Handlebars from 'handlebars';
import { OnionplayError } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { closestMatch, listAllowed } from '../schema/suggest.ts';
import { renderError } from './errors.ts';
import { LENIENT_HELPERS, helpers, isTruthy } from './helpers.ts';
import { collectReferences } from './references.ts';

type Program = hbs.AST.Program;
type Node = hbs.AST.Node;
type PathExpression = hbs.AST.PathExpression;
type Expression = hbs.AST.Expression;
type MustacheStatement = hbs.AST.MustacheStatement;
type SubExpression = hbs.AST.SubExpression;

/** The source of a template, for error messages. `what` names the value, e.g. "args of task 'Install tor'". */
export type TemplateSource = SourcePosition & { what?: string };

const CAPTURE = '__capture';
const GET = '__get';

const environment = Handlebars.create();
let captured: { value: unknown } | undefined;

for (const [name, helper] of Object.entries(helpers)) {
  environment.registerHelper(name, (...args: unknown[]) => helper(...args.slice(0, -1)));
}
environment.registerHelper(CAPTURE, (value: unknown) => {
  if (captured !== undefined) captured.value = value;
  return '';
});
environment.registerHelper(GET, (object: unknown, key: unknown) => {
  if (object === null || typeof object !== 'object') return undefined;
  return Object.hasOwn(object, String(key)) ? (object as Record<string, unknown>)[String(key)] : undefined;
});

const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/** Names usable as helpers in templates and conditions. */
export function helperNames(): string[] {
  return Object.keys(helpers).sort();
}

// ---- parsing and the strictness transform ----

function parseTemplate(text: string, where: TemplateSource): Program {
  try {
    return environment.parse(text);
  } catch (error) {
    const details = error as { message: string; lineNumber?: number; column?: number; hash?: { loc?: { first_line: number; first_column: number } } };
    const reported = /Parse error on line (\d+)/.exec(details.message)?.[1];
    const line = details.hash?.loc?.first_line ?? details.lineNumber ?? (reported !== undefined ? Number(reported) : 1);
    const column = details.hash?.loc?.first_column ?? details.column ?? 0;
    const lastLine = details.message.split('\n').filter((part) => part.trim() !== '').pop() ?? details.message;
    const reason = lastLine.replace(/ - \d+:\d+$/, '');
    throw new OnionplayError('template', `template syntax error${where.what ? ` in ${where.what}` : ''}: ${reason}`, {
      position: mapPosition(where, line, column),
      value: details.message.split('\n')[1]?.trim(),
      fix: 'check that every {{ has a matching }}, every {{#if}} or {{#each}} its {{/if}} or {{/each}}, and strings are in double quotes',
      cause: error,
    });
  }
}

function mapPosition(where: TemplateSource, line: number, column: number): SourcePosition {
  if (line <= 1) return { file: where.file, line: where.line, column: where.column + column };
  return { file: where.file, line: where.line + line - 1, column: column + 1 };
}

function isPath(node: Node | undefined): node is PathExpression {
  return node?.type === 'PathExpression';
}

// Turn a lenient path `a.b.c` into `(__get (__get a "b") "c")`, so a missing
// `a` yields undefined instead of a TypeError.
function lenientPath(path: PathExpression): Expression {
  if (path.parts.length <= 1) return path;
  const [first, ...rest] = path.parts;
  const prefix = `${path.data ? '@' : ''}${'../'.repeat(path.depth)}${/^this\b/.test(path.original) ? 'this.' : ''}`;
  let expression: Expression = { ...path, parts: [first as string], original: `${prefix}${first as string}` } as PathExpression;
  for (const part of rest) {
    const call: SubExpression = {
      type: 'SubExpression',
      path: { type: 'PathExpression', data: false, depth: 0, parts: [GET], original: GET, loc: path.loc } as PathExpression,
      params: [expression, { type: 'StringLiteral', value: part, original: part, loc: path.loc } as hbs.AST.StringLiteral],
      hash: undefined as unknown as hbs.AST.Hash,
      loc: path.loc,
    };
    expression = call;
  }
  return expression;
}

// Make helper arguments strict: handlebars' strict mode checks only plain
// `{{name}}` lookups, so `{{eq x 1}}` would silently compare undefined.
// The first argument of `default` and `defined` stays lenient.
function makeStrict(node: Node | undefined): void {
  if (node === undefined || node === null) return;
  switch (node.type) {
    case 'Program':
      for (const statement of (node as Program).body) makeStrict(statement);
      return;
    case 'MustacheStatement':
    case 'SubExpression':
    case 'BlockStatement': {
      const call = node as MustacheStatement & { program?: Program; inverse?: Program };
      const name = isPath(call.path) ? call.path.original : '';
      call.params = call.params.map((param, index) => {
        if (index === 0 && LENIENT_HELPERS.has(name) && isPath(param)) return lenientPath(param);
        if (isPath(param)) (param as PathExpression & { strict?: boolean }).strict = true;
        else makeStrict(param);
        return param;
      });
      for (const pair of call.hash?.pairs ?? []) {
        if (isPath(pair.value)) (pair.value as PathExpression & { strict?: boolean }).strict = true;
        else makeStrict(pair.value);
      }
      makeStrict(call.program);
      makeStrict(call.inverse);
      return;
    }
    default:
      return;
  }
}

/**
 * Return the only mustache of a template that is exactly `{{ expr }}`, else
 * undefined. Any text around it, even a newline, makes the result a string.
 */
function soleMustache(program: Program): MustacheStatement | undefined {
  const only = program.body[0];
  if (program.body.length !== 1 || only?.type !== 'MustacheStatement') return undefined;
  return only as MustacheStatement;
}

// Rewrite `{{ expr }}` as `{{__capture (expr)}}` so that rendering hands
// over the expression's value rather than its text.
function captureProgram(program: Program, mustache: MustacheStatement): Program {
  let argument: Expression;
  const path = mustache.path;
  const hasArguments = mustache.params.length > 0 || (mustache.hash?.pairs.length ?? 0) > 0;
  if (isPath(path) && (hasArguments || Object.hasOwn(helpers, path.original))) {
    argument = { type: 'SubExpression', path, params: mustache.params, hash: mustache.hash, loc: mustache.loc } as SubExpression;
  } else {
    argument = path as Expression;
    if (isPath(argument)) (argument as PathExpression & { strict?: boolean }).strict = true;
  }
  const capture: MustacheStatement = {
    ...mustache,
    path: { type: 'PathExpression', data: false, depth: 0, parts: [CAPTURE], original: CAPTURE, loc: mustache.loc } as PathExpression,
    params: [argument],
    hash: undefined as unknown as hbs.AST.Hash,
  };
  return { ...program, body: [capture] };
}

// ---- compiling and running ----

type Compiled = { run: (vars: Record<string, unknown>) => string; program: Program };
const textCache = new Map<string, Compiled>();
const valueCache = new Map<string, Compiled | null>();

function compile(program: Program): (vars: Record<string, unknown>) => string {
  makeStrict(program);
  const template = environment.compile(program as unknown as string, COMPILE_OPTIONS);
  return (vars) => template(vars);
}

function compiledText(text: string, where: TemplateSource): Compiled {
  let entry = textCache.get(text);
  if (entry === undefined) {
    const program = parseTemplate(text, where);
    entry = { run: compile(parseTemplate(text, where)), program };
    textCache.set(text, entry);
  }
  return entry;
}

/** Compile the capture form of a template that is one mustache; null when it is not one. */
function compiledValue(text: string, where: TemplateSource): Compiled | null {
  let entry = valueCache.get(text);
  if (entry === undefined) {
    const program = parseTemplate(text, where);
    const working = parseTemplate(text, where);
    const mustache = soleMustache(working);
    entry = mustache === undefined ? null : { run: compile(captureProgram(working, mustache)), program };
    valueCache.set(text, entry);
  }
  return entry;
}

function runCaptured(entry: Compiled, vars: Record<string, unknown>, where: TemplateSource): unknown {
  const slot = { value: undefined as unknown };
  const previous = captured;
  captured = slot;
  try {
    entry.run(vars);
  } catch (error) {
    throw renderError(error, entry.program, vars, where);
  } finally {
    captured = previous;
  }
  return slot.value;
}

/** Render a template string to text. Text without `{{` is returned as is. */
export function renderString(text: string, vars: Record<string, unknown>, where: TemplateSource): string {
  if (!text.includes('{{')) return text;
  const entry = compiledText(text, where);
  try {
    return entry.run(vars);
  } catch (error) {
    throw renderError(error, entry.program, vars, where);
  }
}

/**
 * Render every string inside a value. A string that is exactly one
 * `{{ expr }}` becomes the expression's value with its type, so
 * `"{{ ports }}"` yields a list and `"{{ ssh_port }}"` a number.
 */
export function renderValue(value: unknown, vars: Record<string, unknown>, where: TemplateSource): unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    const entry = compiledValue(value, where);
    if (entry !== null) return runCaptured(entry, vars, where);
    return renderString(value, vars, where);
  }
  if (Array.isArray(value)) return value.map((item) => renderValue(item, vars, where));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = renderValue(item, vars, where);
    return result;
  }
  return value;
}

/**
 * Evaluate a condition such as `eq tor_mode "relay"`, `result.changed` or
 * `not (eq a b)`. Booleans are taken as they are; empty lists and mappings,
 * '', 0, null and undefined are false.
 */
export function evaluateCondition(expression: string | boolean, vars: Record<string, unknown>, where: TemplateSource): boolean {
  if (typeof expression === 'boolean') return expression;
  const entry = compiledCondition(expression, where);
  return isTruthy(runCaptured(entry, vars, where));
}

const conditionCache = new Map<string, Compiled>();

function conditionText(expression: string): string {
  const trimmed = expression.trim();
  const braced = /^\{\{(.*)\}\}$/s.exec(trimmed);
  return `{{${braced?.[1] ?? trimmed}}}`;
}

function compiledCondition(expression: string, where: TemplateSource): Compiled {
  let entry = conditionCache.get(expression);
  if (entry !== undefined) return entry;
  // Jinja tests and operators parse as handlebars helper calls with odd
  // names, so catch them here with a message that shows the helper form.
  const unquoted = expression.replace(/"[^"]*"|'[^']*'/g, '""');
  if (/\bis\s+(not\s+)?(defined|undefined|none)\b|==|!=|\s(in|and|or)\s/.test(unquoted) && !/^\s*(and|or|not)\b/.test(unquoted)) {
    throw conditionSyntaxError(expression, where, undefined);
  }
  const text = conditionText(expression);
  let program: Program;
  try {
    program = environment.parse(text);
  } catch (error) {
    throw conditionSyntaxError(expression, where, error);
  }
  const mustache = soleMustache(program);
  if (mustache === undefined || program.body.length !== 1) throw conditionSyntaxError(expression, where, undefined);
  entry = { run: compile(captureProgram(program, mustache)), program: environment.parse(text) };
  conditionCache.set(expression, entry);
  return entry;
}

function conditionSyntaxError(expression: string, where: TemplateSource, cause: unknown): OnionplayError {
  return new OnionplayError('template', `invalid condition${where.what ? ` in ${where.what}` : ''}`, {
    position: { file: where.file, line: where.line, column: where.column },
    value: JSON.stringify(expression),
    allowed: `one expression with helpers: ${listAllowed(helperNames())}`,
    fix: 'write conditions with helpers, without braces: `eq x "a"`, `not result.changed`, `and a (ne b 1)`, `defined x`',
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * Collect the top-level variable names that a template string, or any
 * string inside a value, refers to. Helper names, `@data`, `this` and
 * names local to `{{#each}}`/`{{#with}}` blocks are left out. Conditions
 * may be passed
 * as they are written (without braces) with `condition: true`. With
 * `required: true`, names used only as the first argument of `default` or
 * `defined` are left out too, since those may be undefined.
 */
export function referencedVariables(textOrValue: unknown, options: { condition?: boolean; required?: boolean } = {}): string[] {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      const text = options.condition ? conditionText(value) : value;
      if (!text.includes('{{')) return;
      let program: Program;
      try {
        program = environment.parse(text);
      } catch {
        return;
      }
      const lenient = options.required ? LENIENT_HELPERS : new Set<string>();
      for (const name of collectReferences(program, new Set(Object.keys(helpers)), lenient)) names.add(name);
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value !== null && typeof value === 'object') {
      Object.values(value).forEach(visit);
    }
  };
  visit(textOrValue);
  return [...names];
}

/** Check a condition's syntax without evaluating it. */
export function checkConditionSyntax(expression: string | boolean, where: TemplateSource): void {
  if (typeof expression !== 'string') return;
  compiledCondition(expression, where);
  // conditionText adds `{{` before an expression written without braces.
  const added = expression.trim().startsWith('{{') ? 0 : 2;
  checkTemplateSyntax(conditionText(expression), { ...where, column: where.column - added });
}

function childNodes(child: unknown): Node[] {
  if (Array.isArray(child)) return child as Node[];
  if (child) return [child as Node];
  return [];
}

const BUILTIN_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

// The first helper call whose name is neither ours nor a handlebars builtin.
function unknownHelper(node: Node | undefined): PathExpression | undefined {
  if (node === undefined || node === null) return undefined;
  const record = node as unknown as Record<string, unknown>;
  if (node.type === 'MustacheStatement' || node.type === 'SubExpression' || node.type === 'BlockStatement') {
    const call = node as MustacheStatement;
    const hasArguments = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0 || node.type === 'BlockStatement';
    if (isPath(call.path) && hasArguments && !call.path.data && !Object.hasOwn(helpers, call.path.original) && !BUILTIN_HELPERS.has(call.path.original)) {
      return call.path;
    }
    for (const child of [...call.params, ...(call.hash?.pairs.map((pair) => pair.value) ?? [])]) {
      const found = unknownHelper(child);
      if (found !== undefined) return found;
    }
  }
  for (const key of ['body', 'program', 'inverse']) {
    const child = record[key];
    for (const inner of childNodes(child)) {
      const found = unknownHelper(inner);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Check a template's syntax and helper names without rendering it. */
export function checkTemplateSyntax(text: string, where: TemplateSource): void {
  const program = parseTemplate(text, where);
  const unknown = unknownHelper(program);
  if (unknown !== undefined) {
    const suggestion = closestMatch(unknown.original, Object.keys(helpers));
    throw new OnionplayError('template', `unknown helper "${unknown.original}"${where.what ? ` in ${where.what}` : ''}`, {
      position: mapPosition(where, unknown.loc?.start.line ?? 1, unknown.loc?.start.column ?? 0),
      key: unknown.original,
      allowed: listAllowed(helperNames()),
      fix: suggestion ? `did you mean "${suggestion}"?` : 'use one of the allowed helpers',
    });
  }
  makeStrict(program);
  try {
    environment.precompile(program as unknown as string, COMPILE_OPTIONS);
  } catch (error) {
    throw renderError(error, program, {}, where);
  }
}
