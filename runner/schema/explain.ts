// Words for each kind of ajv error, with the hints for YAML 1.1 habits that
// Ansible users bring along (unquoted octal modes, yes/no booleans).

import type { ErrorCode } from '../errors/index.ts';
import type { YamlHabit, YamlPath } from '../yaml/load.ts';
import { describeType, describeValue, typeOf } from './format.ts';
import { closestMatch, listAllowed } from './suggest.ts';
import type { SchemaError } from './validate.ts';

export interface Explanation {
  code: ErrorCode;
  message: string;
  allowed?: string;
  fix: string;
  /** Path that the error's position and key refer to, when not the value's own. */
  keyAt?: YamlPath;
  /** Point at the key rather than its value (unknown keys). */
  pointAtKey?: boolean;
  value?: string;
}

export interface ExplainContext {
  path: YamlPath;
  habit: YamlHabit | undefined;
  keyOf(extra: YamlPath): string;
}

type Schema = Record<string, unknown>;

const TRUE_WORDS = new Set(['yes', 'on', 'y', 'true']);

export function explainError(error: SchemaError, context: ExplainContext): Explanation {
  const key = context.keyOf([]) || 'the document';
  const name = String(context.path[context.path.length - 1] ?? 'value');
  const parentSchema = (error.parentSchema ?? {}) as Schema;
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const description = propertyDescription(parentSchema, missing);
      return {
        code: 'missing_key',
        message: `missing required key "${missing}" in ${key}`,
        keyAt: [...context.path, missing],
        value: undefined,
        fix: `add \`${missing}:\`${description ? ` (${description})` : ''}`,
      };
    }
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const extra = String(params.additionalProperty ?? params.unevaluatedProperty);
      const allowed = Object.keys((parentSchema.properties ?? {}) as Schema);
      const suggestion = closestMatch(extra, allowed);
      return {
        code: 'unknown_key',
        message: `unknown key "${extra}"${context.path.length > 0 ? ` in ${key}` : ''}`,
        keyAt: [...context.path, extra],
        pointAtKey: true,
        ...(allowed.length > 0 ? { allowed: listAllowed(allowed) } : {}),
        fix: suggestion ? `did you mean "${suggestion}"?` : 'remove the key, or use one of the allowed keys',
      };
    }
    case 'type':
      return explainType(error.data, (params.type as string[] | string) ?? [], name, key, context.habit);
    case 'enum': {
      const values = (params.allowedValues as unknown[]) ?? [];
      const suggestion = typeof error.data === 'string' ? closestMatch(error.data, values.map(String)) : undefined;
      const booleanHint = booleanHabitFix(error.data, context.habit, values);
      return {
        code: 'invalid_value',
        message: `invalid value for ${key}`,
        allowed: values.map((value) => describeValue(value)).join(', '),
        fix: booleanHint ?? (suggestion ? `did you mean "${suggestion}"?` : 'use one of the allowed values'),
      };
    }
    case 'const':
      return {
        code: 'invalid_value',
        message: `invalid value for ${key}`,
        allowed: describeValue(params.allowedValue),
        fix: `write ${describeValue(params.allowedValue)}`,
      };
    case 'pattern': {
      const description = typeof parentSchema.description === 'string' ? parentSchema.description : undefined;
      return {
        code: 'invalid_value',
        message: `invalid value for ${key}`,
        allowed: description ?? `a string matching /${String(params.pattern)}/`,
        fix: octalModeFix(name, error.data, context.habit) ?? `change the value to ${description ?? 'match the pattern'}`,
      };
    }
    case 'format':
      return {
        code: 'invalid_value',
        message: `invalid value for ${key}: not a valid ${String(params.format)}`,
        allowed: `a ${String(params.format)}`,
        fix: `write a valid ${String(params.format)}`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const range = rangeOf(parentSchema);
      return {
        code: 'invalid_value',
        message: `${key} is out of range`,
        allowed: range,
        fix: `use a number ${range}`,
      };
    }
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return {
        code: 'invalid_value',
        message: `${key} ${error.message ?? 'has the wrong size'}`,
        allowed: error.message ?? '',
        fix: `change ${key} so that it ${error.message ?? 'fits'}`,
      };
    default: {
      const description = typeof parentSchema.description === 'string' ? parentSchema.description : undefined;
      return {
        code: 'invalid_value',
        message: `invalid value for ${key}${error.message ? `: ${error.message}` : ''}`,
        ...(description ? { allowed: description } : {}),
        fix: description ? `change the value to ${description}` : 'check the value against the documentation',
      };
    }
  }
}

function explainType(data: unknown, expected: string[] | string, name: string, key: string, habit: YamlHabit | undefined): Explanation {
  const types = Array.isArray(expected) ? expected : [expected];
  const allowed = types.map(describeType).join(' or ');
  const actual = typeOf(data);

  if (types.includes('string') && typeof data === 'number') {
    const octal = octalModeFix(name, data, habit);
    if (octal !== undefined) {
      return { code: 'invalid_value', message: `${name} must be a string of octal digits, not a number`, allowed: "a quoted string of octal digits, e.g. '0644'", fix: octal };
    }
    return {
      code: 'invalid_value',
      message: `${key} must be ${allowed}, not ${describeType(actual)}`,
      allowed,
      fix: `quote it: ${name}: "${habit?.source ?? String(data)}"`,
    };
  }
  if (types.includes('boolean') && typeof data === 'string') {
    const hint = booleanHabitFix(data, habit, [true, false]);
    if (hint !== undefined) {
      return { code: 'invalid_value', message: `\`${data}\` is a string in YAML 1.2, not a boolean`, allowed, fix: hint };
    }
  }
  if ((types.includes('integer') || types.includes('number')) && typeof data === 'string' && /^-?\d+(\.\d+)?$/.test(data)) {
    return { code: 'invalid_value', message: `${key} must be ${allowed}, not a string`, allowed, fix: `remove the quotes: ${name}: ${data}` };
  }
  return {
    code: 'invalid_value',
    message: `${key} must be ${allowed}, not ${describeType(actual)}`,
    allowed,
    fix: `change ${key} to ${allowed}`,
  };
}

/** Build the fix for a mode written as a YAML number; undefined when the key is not a mode. */
function octalModeFix(name: string, data: unknown, habit: YamlHabit | undefined): string | undefined {
  const looksLikeMode = /mode$/i.test(name) || habit?.kind === 'octal';
  if (!looksLikeMode || typeof data !== 'number') return undefined;
  let digits: string;
  // A plain 0644 or 644 was meant as octal digits. Without that habit the
  // number was written another way (0o644, 420), so show its octal value.
  if (habit?.kind === 'octal') digits = habit.source.replace(/^0*/, '');
  else digits = Math.trunc(data).toString(8);
  const quoted = digits.padStart(4, '0');
  return `mode must be a string of octal digits: quote it, ${name}: '${quoted}'`;
}

/** Build the fix for `yes`/`no`/`on`/`off` where a boolean is expected. */
function booleanHabitFix(data: unknown, habit: YamlHabit | undefined, allowedValues: unknown[]): string | undefined {
  if (typeof data !== 'string' || !allowedValues.includes(true)) return undefined;
  const word = data.toLowerCase();
  if (habit?.kind === 'boolean' || word === 'true' || word === 'false') {
    const replacement = TRUE_WORDS.has(word) ? 'true' : 'false';
    if (habit?.kind === 'boolean') return `\`${data}\` is a string in YAML 1.2: write ${replacement}`;
    return `write ${replacement} without quotes`;
  }
  return undefined;
}

function propertyDescription(schema: Schema, property: string): string | undefined {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const description = properties[property]?.description;
  return typeof description === 'string' ? description : undefined;
}

function rangeOf(schema: Schema): string {
  const parts: string[] = [];
  if (typeof schema.minimum === 'number') parts.push(`>= ${schema.minimum}`);
  if (typeof schema.exclusiveMinimum === 'number') parts.push(`> ${schema.exclusiveMinimum}`);
  if (typeof schema.maximum === 'number') parts.push(`<= ${schema.maximum}`);
  if (typeof schema.exclusiveMaximum === 'number') parts.push(`< ${schema.exclusiveMaximum}`);
  if (typeof schema.minimum === 'number' && typeof schema.maximum === 'number') {
    return `from ${schema.minimum} to ${schema.maximum}`;
  }
  return parts.join(' and ');
}
