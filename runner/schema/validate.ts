// The ajv adapter: validate a loaded YAML value against a JSON Schema and
// turn ajv's errors into OnionplayErrors that point at the user's file.
// This is the only module that imports ajv.

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { OnionplayError } from '../errors/index.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import { describeValue, formatKeyPath } from './format.ts';
import { explainError } from './explain.ts';

export type JsonSchema = Record<string, unknown>;

/** One error as ajv reports it, for the wording in explain.ts. */
export type SchemaError = ErrorObject;

// ajv-formats is CommonJS; under NodeNext its default export is the module.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true, allowUnionTypes: true });
addFormats(ajv);

const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function compile(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    // Two loads of the same role give equal schemas as different objects;
    // ajv rejects a second schema with an `$id` it already has.
    if (typeof schema.$id === 'string') ajv.removeSchema(schema.$id);
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** The location of a validated value: its document and its path in it. */
export interface ValidationTarget {
  doc: YamlDocument;
  path: YamlPath;
}

/**
 * Validate `value` against `schema`. Returns one OnionplayError per problem,
 * each with the position, key path, bad value, allowed values and a fix;
 * an empty list means the value is valid.
 */
export interface ValidateOptions {
  /**
   * Ignore problems of string values that contain `{{`: their type is
   * known only once they are rendered for a host.
   */
  skipTemplated?: boolean;
}

export function validateValue(
  value: unknown,
  schema: JsonSchema,
  target: ValidationTarget,
  options: ValidateOptions = {},
): OnionplayError[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  let errors = selectErrors(validate.errors ?? []);
  if (options.skipTemplated) {
    errors = errors.filter((error) => !(typeof error.data === 'string' && error.data.includes('{{')));
  }
  return errors.map((error) => toOnionplayError(error, value, target));
}

/** Check that a schema compiles; returns the compile error's message if not. */
export function schemaProblem(schema: JsonSchema): string | undefined {
  try {
    compile(schema);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// With allErrors, ajv reports every failed branch of anyOf/oneOf and the
// umbrella error too. Keep the most specific errors: drop umbrellas when a
// branch error exists at the same place, and merge `type` errors of the same
// place into one.
function selectErrors(errors: ErrorObject[]): ErrorObject[] {
  const kept: ErrorObject[] = [];
  const typeByPath = new Map<string, ErrorObject>();
  const umbrellas = new Set(['anyOf', 'oneOf', 'if', 'then', 'else']);
  const hasSpecific = (path: string): boolean =>
    errors.some((e) => !umbrellas.has(e.keyword) && (e.instancePath === path || e.instancePath.startsWith(`${path}/`)));

  for (const error of errors) {
    if (umbrellas.has(error.keyword) && hasSpecific(error.instancePath)) continue;
    if (error.keyword === 'if') continue;
    if (error.keyword === 'type') {
      const existing = typeByPath.get(error.instancePath);
      if (existing !== undefined) {
        const types = new Set([...asList(existing.params.type), ...asList(error.params.type)]);
        existing.params = { ...existing.params, type: [...types] };
        continue;
      }
      typeByPath.set(error.instancePath, { ...error, params: { ...error.params } });
      kept.push(typeByPath.get(error.instancePath) as ErrorObject);
      continue;
    }
    kept.push(error);
  }

  // A value of the wrong type under anyOf also fails the other branches'
  // keywords (required, additionalProperties...). When a place has a type
  // error and also errors from a branch whose type did match, the type error
  // is noise.
  return dropDuplicates(
    kept.filter((error) => {
      if (error.keyword !== 'type') return true;
      const others = kept.some((e) => e !== error && e.keyword !== 'type' && e.instancePath.startsWith(error.instancePath));
      return !others || !isUnderAlternatives(error);
    }),
  );
}

function isUnderAlternatives(error: ErrorObject): boolean {
  return /\/(anyOf|oneOf)\/\d+/.test(error.schemaPath);
}

function dropDuplicates(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const id = `${error.instancePath}|${error.keyword}|${JSON.stringify(error.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Turn a JSON pointer into path segments, using numbers for array indexes. */
function pointerToPath(pointer: string, root: unknown): YamlPath {
  if (pointer === '') return [];
  const path: YamlPath = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(segment)) {
      path.push(Number(segment));
      node = node[Number(segment)];
    } else {
      path.push(segment);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}

function toOnionplayError(error: ErrorObject, root: unknown, target: ValidationTarget): OnionplayError {
  const relative = pointerToPath(error.instancePath, root);
  const path = [...target.path, ...relative];
  const explained = explainError(error, {
    path,
    habit: target.doc.habitAt(path),
    keyOf: (extra) => formatKeyPath([...path, ...extra]),
  });
  const valuePath = explained.keyAt ?? path;
  const position = explained.pointAtKey
    ? target.doc.keyPositionOf(valuePath)
    : target.doc.positionOf(valuePath);
  const key = formatKeyPath(valuePath);
  const showsValue = explained.code !== 'missing_key' && explained.pointAtKey !== true;
  const habit = target.doc.habitAt(valuePath);
  const written = habit !== undefined ? habit.source : describeValue(error.data, key);
  const value = explained.value ?? (showsValue ? written : undefined);
  return new OnionplayError(explained.code, explained.message, {
    position,
    key,
    ...(value !== undefined ? { value } : {}),
    ...(explained.allowed !== undefined ? { allowed: explained.allowed } : {}),
    fix: explained.fix,
  });
}
