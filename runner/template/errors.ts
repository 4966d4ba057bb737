// Turn handlebars' run-time errors into OnionplayErrors that name the
// undefined variable or unknown helper and point at the template's line.

import { OnionplayError } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { closestMatch, listAllowed } from '../schema/suggest.ts';
import { helpers } from './helpers.ts';

type Node = hbs.AST.Node;
type PathExpression = hbs.AST.PathExpression;
type TemplateSource = SourcePosition & { what?: string };

interface FoundPath {
  path: PathExpression;
  /** The path names a helper: it is called with arguments. */
  called: boolean;
}

// Find the path expression that starts at a template line and column.
function findPath(node: Node | undefined, line: number, column: number): FoundPath | undefined {
  if (node === undefined || node === null) return undefined;
  const record = node as unknown as Record<string, unknown>;
  if (node.type === 'PathExpression') {
    const start = node.loc?.start;
    if (start !== undefined && start.line === line && start.column === column) return { path: node as PathExpression, called: false };
    return undefined;
  }
  const call = record as { path?: Node; params?: Node[]; hash?: { pairs: Array<{ value: Node }> } };
  const hasArguments = (call.params?.length ?? 0) > 0 || (call.hash?.pairs.length ?? 0) > 0;
  if (call.path !== undefined) {
    const found = findPath(call.path, line, column);
    if (found !== undefined) return { path: found.path, called: hasArguments };
  }
  for (const child of [...(call.params ?? []), ...(call.hash?.pairs.map((pair) => pair.value) ?? [])]) {
    const found = findPath(child, line, column);
    if (found !== undefined) return found;
  }
  for (const key of ['body', 'program', 'inverse']) {
    const child = record[key];
    const children = Array.isArray(child) ? (child as Node[]) : child ? [child as Node] : [];
    for (const inner of children) {
      const found = findPath(inner, line, column);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function positionIn(where: TemplateSource, line: number, column: number): SourcePosition {
  if (line <= 1) return { file: where.file, line: where.line, column: where.column + column };
  return { file: where.file, line: where.line + line - 1, column: column + 1 };
}

// Say which segment of `a.b.c` is missing, looking from the root variables.
function describeMissing(path: PathExpression, vars: Record<string, unknown>): string {
  const original = path.original;
  if (path.depth > 0 || path.data || path.parts.length < 2) return `undefined variable "${original}"`;
  let node: unknown = vars;
  for (let i = 0; i < path.parts.length; i += 1) {
    const part = path.parts[i] as string;
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) {
      if (i === 0) return `undefined variable "${part}"`;
      return `undefined variable "${original}": "${path.parts.slice(0, i).join('.')}" has no key "${part}"`;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return `undefined variable "${original}"`;
}

/** Convert an error thrown while rendering `program`. OnionplayErrors pass through. */
export function renderError(error: unknown, program: hbs.AST.Program, vars: Record<string, unknown>, where: TemplateSource): OnionplayError {
  if (error instanceof OnionplayError) return error;
  const details = error as { message?: string; lineNumber?: number; column?: number };
  const message = String(details.message ?? error).replace(/ - \d+:\d+$/, '');
  const line = details.lineNumber ?? 1;
  const column = details.column ?? 0;
  const position = positionIn(where, line, column);
  const suffix = where.what ? ` in ${where.what}` : '';
  const found = details.lineNumber !== undefined ? findPath(program, line, column) : undefined;

  if (found?.called) {
    const name = found.path.original;
    const suggestion = closestMatch(name, Object.keys(helpers));
    return new OnionplayError('template', `unknown helper "${name}"${suffix}`, {
      position,
      key: name,
      allowed: listAllowed(Object.keys(helpers).sort()),
      fix: suggestion ? `did you mean "${suggestion}"?` : 'use one of the allowed helpers',
      cause: error,
    });
  }
  if (found !== undefined || /not defined in/.test(message)) {
    const name = found?.path.original ?? /^"([^"]+)"/.exec(message)?.[1] ?? 'unknown';
    const text = found !== undefined ? describeMissing(found.path, vars) : `undefined variable "${name}"`;
    const head = name.split('.')[0] ?? name;
    return new OnionplayError('template', `${text}${suffix}`, {
      position,
      key: name,
      fix: `define ${head} in the inventory, the play's vars, the role's defaults or with -e ${head}=...; for an optional value write {{default ${name} "..."}}`,
      cause: error,
    });
  }
  return new OnionplayError('template', `template failed${suffix}: ${message}`, {
    position,
    fix: 'check the helper arguments at this position',
    cause: error,
  });
}
