// How key paths and values appear in error messages.

import { MASK, isSecretName } from '../inventory/mask.ts';
import type { YamlPath } from '../yaml/load.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Format a path as `tasks[2].copy.mode`. */
export function formatKeyPath(path: YamlPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * Format a value for an error message: JSON, cut to 80 characters, masked
 * when the last segment of `key` names a secret.
 */
export function describeValue(value: unknown, key?: string): string {
  const last = key?.split(/[.[\]"]+/).filter(Boolean).pop();
  if (last !== undefined && isSecretName(last)) return MASK;
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Name a JSON type the way messages do: "a string", "a list", "a mapping". */
export function describeType(type: string): string {
  switch (type) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean (true or false)';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'null':
      return 'null';
    default:
      return type;
  }
}

/** The JSON type name of a value. */
export function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
