// Load YAML 1.2 (core schema plus the `<<` merge key) together with the
// source position of every value, so that later validation can point at the
// user's file, line and column.

import { readFile } from 'node:fs/promises';
import { CORE_SCHEMA, YAMLException, constructFromEvents, mergeTag, parseEvents } from 'js-yaml';
import { OnionplayError } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import { buildPositionTable, pathKey } from './positions.ts';
import type { PositionTable, YamlHabit, YamlPath } from './positions.ts';

export type { YamlHabit, YamlPath } from './positions.ts';

const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

export interface YamlDocument {
  file: string;
  /** The document's value; null for an empty file. */
  value: unknown;
  /** Position of the value at `path`, or of its nearest ancestor that has one. */
  positionOf(path: YamlPath): SourcePosition;
  /** Position of the key whose value is at `path`, else `positionOf(path)`. */
  keyPositionOf(path: YamlPath): SourcePosition;
  /** The YAML 1.1 habit of the plain scalar at `path`, if any. */
  habitAt(path: YamlPath): YamlHabit | undefined;
}

/** Read and parse one YAML file. A missing file is a `not_found` error. */
export async function loadYamlFile(file: string): Promise<YamlDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new OnionplayError('not_found', `file not found: ${file}`, {
        position: { file, line: 1, column: 1 },
        fix: 'check the path, or create the file',
        cause: error,
      });
    }
    throw new OnionplayError('not_found', `cannot read ${file}: ${(error as Error).message}`, {
      position: { file, line: 1, column: 1 },
      fix: 'check that the file is readable',
      cause: error,
    });
  }
  return parseYaml(text, file);
}

/**
 * Parse YAML text holding at most one document. Syntax errors, tabs in
 * indentation and duplicate keys raise OnionplayError('yaml_syntax').
 */
export function parseYaml(text: string, file: string): YamlDocument {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let values: unknown[];
  let table: PositionTable;
  try {
    const events = parseEvents(source, { filename: file });
    values = constructFromEvents(events, { source, filename: file, schema: SCHEMA });
    table = buildPositionTable(source, events);
  } catch (error) {
    if (error instanceof YAMLException) throw syntaxError(error, file, source);
    throw error;
  }

  if (values.length > 1) {
    throw new OnionplayError('yaml_syntax', `${file} contains ${values.length} YAML documents, expected one`, {
      position: { file, line: 1, column: 1 },
      fix: 'remove the `---` separators, or split the documents into separate files',
    });
  }

  const lineStarts = computeLineStarts(source);
  const toPosition = (offset: number): SourcePosition => offsetToPosition(file, lineStarts, offset);

  const positionOf = (path: YamlPath): SourcePosition => {
    for (let length = path.length; length >= 0; length -= 1) {
      const offset = table.values.get(pathKey(path.slice(0, length)));
      if (offset !== undefined) return toPosition(offset);
    }
    return { file, line: 1, column: 1 };
  };

  return {
    file,
    value: values[0] ?? null,
    positionOf,
    keyPositionOf(path) {
      const offset = table.keys.get(pathKey(path));
      return offset === undefined ? positionOf(path) : toPosition(offset);
    },
    habitAt: (path) => table.habits.get(pathKey(path)),
  };
}

function syntaxError(error: YAMLException, file: string, source: string): OnionplayError {
  const mark = error.mark;
  const position: SourcePosition = mark
    ? { file, line: mark.line + 1, column: mark.column + 1 }
    : { file, line: 1, column: 1 };
  const reason = error.reason || 'invalid YAML';
  const line = mark ? lineAt(source, mark.line) : undefined;
  if (/duplicated? mapping key/i.test(reason)) {
    const key = line?.trim().replace(/^-\s+/, '').split(':')[0]?.trim();
    return new OnionplayError('yaml_syntax', `invalid YAML: duplicate key ${key ? `"${key}"` : ''}`.trimEnd(), {
      position,
      ...(key ? { key } : {}),
      ...(line !== undefined ? { value: line } : {}),
      fix: fixForReason(reason),
      cause: error,
    });
  }
  return new OnionplayError('yaml_syntax', `invalid YAML: ${reason}`, {
    position,
    ...(line !== undefined ? { value: line } : {}),
    fix: fixForReason(reason),
    cause: error,
  });
}

function fixForReason(reason: string): string {
  if (/tab/i.test(reason)) return 'indent with spaces: YAML does not allow tab characters in indentation';
  if (/duplicate|duplicated/i.test(reason)) {
    return 'remove one of the two keys; to reuse a mapping and override some keys, use an anchor and `<<: *anchor`';
  }
  if (/indentation/i.test(reason)) return 'align keys of the same mapping at the same column, and close every [ or {';
  return 'fix the YAML syntax at this position; quote values that contain `: `, `#` or start with `{`, `[`, `*`, `&`';
}

function lineAt(source: string, index: number): string | undefined {
  const line = source.split('\n')[index];
  return line === undefined ? undefined : line.replace(/\t/g, '\\t');
}

function computeLineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i += 1) {
    if (source.charCodeAt(i) === 10) starts.push(i + 1);
  }
  return starts;
}

function offsetToPosition(file: string, lineStarts: number[], offset: number): SourcePosition {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((lineStarts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return { file, line: low + 1, column: offset - (lineStarts[low] ?? 0) + 1 };
}
