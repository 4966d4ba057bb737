// Template helpers, as plain functions of their arguments (the handlebars
// `options` argument is removed before they are called). Each one returns
// the same output for the same input, so templates render the same bytes.

import path from 'node:path';
import { dump } from 'js-yaml';

type Helper = (...args: unknown[]) => unknown;

/** Truthiness of conditions and of `and`/`or`/`not`: empty lists and mappings are false. */
export function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote a value for a POSIX shell, like Python's shlex.quote. */
export function shellQuote(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  if (text === '') return "''";
  if (SHELL_SAFE.test(text)) return text;
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function indent(value: unknown, width: unknown = 4, first: unknown = false): string {
  const pad = typeof width === 'string' ? width : ' '.repeat(Number(width));
  return text(value)
    .split('\n')
    .map((line, index) => ((index > 0 || first === true) && line !== '' ? `${pad}${line}` : line))
    .join('\n');
}

function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) return container.includes(item);
  if (typeof container === 'string') return container.includes(String(item));
  if (container !== null && typeof container === 'object') return Object.hasOwn(container, String(item));
  return false;
}

function regexReplace(value: unknown, pattern: unknown, replacement: unknown = ''): string {
  // Python-style back references (\1) become JavaScript ones ($1).
  const target = String(replacement).replace(/\\(\d)/g, '$$$1');
  return text(value).replace(new RegExp(String(pattern), 'g'), target);
}

/** Helpers by name. `default` and `defined` accept undefined variables. */
export const helpers: Record<string, Helper> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => (a as number) < (b as number),
  gt: (a, b) => (a as number) > (b as number),
  le: (a, b) => (a as number) <= (b as number),
  ge: (a, b) => (a as number) >= (b as number),
  and: (...values) => values.every(isTruthy),
  or: (...values) => values.some(isTruthy),
  not: (value) => !isTruthy(value),
  default: (value, fallback) => (value === undefined || value === null ? fallback : value),
  defined: (value) => value !== undefined,
  contains: (container, item) => contains(container, item),
  join: (list, separator = '') => (Array.isArray(list) ? list.map(text).join(String(separator)) : text(list)),
  split: (value, separator = ' ') => text(value).split(String(separator)),
  lines: (value) => text(value).split('\n').filter((line, index, all) => line !== '' || index < all.length - 1),
  indent,
  to_json: (value, spaces) => JSON.stringify(value, null, typeof spaces === 'number' ? spaces : undefined) ?? 'null',
  to_yaml: (value) => dump(value, { lineWidth: -1, noRefs: true }).replace(/\n$/, ''),
  quote: (value) => shellQuote(value),
  b64encode: (value) => Buffer.from(text(value), 'utf8').toString('base64'),
  b64decode: (value) => Buffer.from(text(value), 'base64').toString('utf8'),
  basename: (value) => path.posix.basename(text(value)),
  dirname: (value) => path.posix.dirname(text(value)),
  regex_replace: regexReplace,
  lower: (value) => text(value).toLowerCase(),
  upper: (value) => text(value).toUpperCase(),
  trim: (value) => text(value).trim(),
  length: (value) => (Array.isArray(value) || typeof value === 'string' ? value.length : value && typeof value === 'object' ? Object.keys(value).length : 0),
  int: (value) => Number.parseInt(text(value), 10),
};

/** Helpers whose first argument may name an undefined variable. */
export const LENIENT_HELPERS = new Set(['default', 'defined']);
