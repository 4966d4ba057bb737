// Modules that run on the controller only: set_fact, assert, debug, fail.

import { defineModule } from './define.ts';
import type { JsonSchema, ModuleContext, Outcome } from './types.ts';

export type SetFactArgs = Record<string, unknown>;

export const setFactModule = defineModule<SetFactArgs>({
  name: 'set_fact',
  description: 'Set variables (facts) on the host from the arguments, for later tasks and for hostvars.',
  schema: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    minProperties: 1,
    description: 'Each key becomes a fact of the host with its value.',
  },
  idempotent: true,
  local(args: SetFactArgs): Outcome {
    const names = Object.keys(args);
    return { changed: false, reason: `set ${names.length === 1 ? 'fact' : 'facts'} ${names.join(', ')}`, facts: { ...args } };
  },
});

export interface AssertArgs {
  that: string | string[];
  fail_msg?: string;
  msg?: string;
  success_msg?: string;
}

const assertSchema: JsonSchema = {
  type: 'object',
  properties: {
    that: {
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
      description: 'Expression or list of expressions in the when: language; all must be true.',
    },
    fail_msg: { type: 'string', description: 'Message of the failure when an expression is false.' },
    msg: { type: 'string', description: 'Same as fail_msg.' },
    success_msg: { type: 'string', description: 'Reason shown when every expression is true.' },
  },
  required: ['that'],
  additionalProperties: false,
};

export const assertModule = defineModule<AssertArgs>({
  name: 'assert',
  description: 'Check that expressions are true for the host, and fail the host with a message otherwise.',
  schema: assertSchema,
  idempotent: true,
  local(args: AssertArgs, context: ModuleContext): Outcome {
    const expressions = Array.isArray(args.that) ? args.that : [args.that];
    for (const expression of expressions) {
      let value: boolean;
      try {
        value = context.evaluate(expression);
      } catch (error) {
        return { changed: false, failed: `cannot evaluate assertion "${expression}": ${(error as Error).message}` };
      }
      if (!value) {
        const message = args.fail_msg ?? args.msg;
        return {
          changed: false,
          failed: message === undefined ? `assertion failed: ${expression}` : `${message} (assertion failed: ${expression})`,
          result: { assertion: expression, evaluated_to: false },
        };
      }
    }
    const reason = args.success_msg ?? `${expressions.length === 1 ? 'assertion' : `all ${expressions.length} assertions`} passed: ${expressions.join(', ')}`;
    return { changed: false, reason };
  },
});

export interface DebugArgs {
  msg?: unknown;
  var?: string;
}

/** Look up a dotted variable path (`tor.onion`) in the host's variables. */
export function lookupVariable(vars: Record<string, unknown>, path: string): { found: boolean; value: unknown } {
  let current: unknown = vars;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !(part in current)) return { found: false, value: undefined };
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export const debugModule = defineModule<DebugArgs>({
  name: 'debug',
  description: 'Print a message or the value of a variable.',
  schema: {
    type: 'object',
    properties: {
      msg: { description: 'Message to print (any value; templates are rendered before).' },
      var: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.]*$', description: 'Name of a variable to print, dotted for nested keys.' },
    },
    additionalProperties: false,
    not: { required: ['msg', 'var'] },
  },
  freeForm: 'msg',
  idempotent: true,
  local(args: DebugArgs, context: ModuleContext): Outcome {
    if (args.var !== undefined) {
      const { found, value } = lookupVariable(context.vars, args.var);
      const text = found ? display(value) : 'VARIABLE IS NOT DEFINED!';
      return { changed: false, reason: `${args.var}: ${text}`, result: { [args.var]: found ? value : undefined } };
    }
    const message = args.msg ?? 'Hello world!';
    return { changed: false, reason: display(message), result: { msg: message } };
  },
});

export interface FailArgs {
  msg?: string;
}

export const failModule = defineModule<FailArgs>({
  name: 'fail',
  description: 'Fail the host with a message, usually under a when: condition.',
  schema: {
    type: 'object',
    properties: { msg: { type: 'string', default: 'Failed as requested from task', description: 'Message of the failure.' } },
    additionalProperties: false,
  },
  freeForm: 'msg',
  idempotent: true,
  local(args: FailArgs): Outcome {
    return { changed: false, failed: args.msg ?? 'Failed as requested from task' };
  },
});
