// JSON Schemas of playbooks, plays, task keywords and role meta.yaml.

import type { JsonSchema } from './validate.ts';

const identifier: JsonSchema = {
  type: 'string',
  pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
  description: 'a variable name: letters, digits and _, not starting with a digit',
};
const stringList: JsonSchema = { type: 'array', items: { type: 'string' } };
const stringOrList: JsonSchema = { type: ['string', 'array'], items: { type: 'string' } };
const condition: JsonSchema = {
  type: ['string', 'boolean', 'array'],
  items: { type: ['string', 'boolean'] },
  description: 'an expression such as `eq x "a"` or `result.changed`, or a list of them (all must hold)',
};

/** Schemas of the task keywords, keyed by keyword. */
export const taskKeywordSchemas: Record<string, JsonSchema> = {
  name: { type: 'string', description: 'what the task does, shown in the output' },
  when: condition,
  register: identifier,
  notify: { ...stringOrList, description: 'handler names or listen topics' },
  loop: { type: ['array', 'string'], description: 'a list, or a template that yields one' },
  loop_control: {
    type: 'object',
    additionalProperties: false,
    properties: { loop_var: identifier, label: { type: 'string' } },
  },
  tags: stringOrList,
  changed_when: condition,
  failed_when: condition,
  ignore_errors: { type: 'boolean' },
  no_log: { type: 'boolean', description: 'hide the task arguments and result from every output' },
  check_mode: { type: 'boolean' },
  retries: { type: 'integer', minimum: 0 },
  delay: { type: 'number', minimum: 0, description: 'seconds between retries' },
  until: condition,
  become: { type: 'boolean' },
  run_once: { type: 'boolean' },
  delegate_to: { type: 'string', minLength: 1 },
  timeout: { type: 'number', exclusiveMinimum: 0, description: 'remote time limit in seconds' },
  vars: { type: ['object', 'null'] },
  args: { type: 'object', description: 'extra module arguments next to a free-form command' },
};

/** Keywords that only handlers take. */
export const handlerKeywordSchemas: Record<string, JsonSchema> = {
  listen: { ...stringOrList, description: 'topics that notify this handler besides its name' },
};

/** Keys of a task that include or import a task file instead of a module. */
export const includeKeywords = ['include_tasks', 'import_tasks'] as const;

const roleUse: JsonSchema = {
  type: ['string', 'object'],
  required: ['role'],
  properties: {
    role: { type: 'string', minLength: 1 },
    vars: { type: ['object', 'null'] },
    tags: stringOrList,
    when: condition,
  },
  additionalProperties: true,
  description: 'a role name, or {role: NAME, vars: {...}}',
};

export const playSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['hosts'],
  properties: {
    name: { type: 'string' },
    hosts: { type: ['string', 'array'], items: { type: 'string' }, description: 'a host pattern such as all or masters:workers' },
    vars: { type: ['object', 'null'] },
    vars_files: stringOrList,
    roles: { type: ['array', 'null'], items: roleUse },
    tasks: { type: ['array', 'null'], items: { type: 'object' } },
    handlers: { type: ['array', 'null'], items: { type: 'object' } },
    become: { type: 'boolean' },
    gather_facts: { type: 'boolean' },
    tags: stringOrList,
    max_fail_percentage: { type: 'number', minimum: 0, maximum: 100 },
  },
};

/** A playbook file: a list of plays. */
export const playbookFileSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'onionplay playbook',
  type: 'array',
  items: playSchema,
};

/** A role's meta.yaml. */
export const roleMetaSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'onionplay role meta.yaml',
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    description: { type: 'string' },
    dependencies: { type: ['array', 'null'], items: roleUse },
    variables: {
      type: 'object',
      description: 'a JSON Schema (draft 2020-12) of the variables the role takes',
    },
  },
};

/** A list of tasks: tasks.yaml, handlers.yaml or an included file. */
export const taskListSchema: JsonSchema = {
  type: ['array', 'null'],
  items: { type: 'object' },
};

/** defaults.yaml of a role. */
export const defaultsFileSchema: JsonSchema = { type: ['object', 'null'] };

export { stringList };
