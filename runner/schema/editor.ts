// JSON Schema files for editors (yaml-language-server), built from the same
// schemas the loader validates with, plus each module's argument schema.

import { getModule, moduleNames } from '../modules/registry.ts';
import { factsFileSchema, hostsFileSchema, siteFileSchema, varsFileSchema } from './inventory.ts';
import { handlerKeywordSchemas, playSchema, roleMetaSchema, taskKeywordSchemas } from './playbook.ts';
import type { JsonSchema } from './validate.ts';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** Schema of one task (or handler), with a property per module. */
export function taskSchema(handler: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = { ...taskKeywordSchemas, ...(handler ? handlerKeywordSchemas : {}) };
  properties.include_tasks = { type: 'string', description: 'read the tasks of this file in place, at load time' };
  properties.import_tasks = { type: 'string', description: 'same as include_tasks' };
  for (const name of moduleNames()) {
    const module = getModule(name);
    if (module === undefined) continue;
    const args = { ...module.schema, description: module.description };
    properties[name] = module.freeForm !== undefined ? { anyOf: [{ type: 'string', description: `free-form ${module.freeForm}` }, args] } : args;
  }
  return { type: 'object', additionalProperties: false, properties };
}

/** Build every editor schema, keyed by its file name under schemas/. */
export function editorSchemas(): Record<string, JsonSchema> {
  const task = taskSchema(false);
  const handler = taskSchema(true);
  const play = {
    ...playSchema,
    properties: {
      ...(playSchema.properties as Record<string, JsonSchema>),
      tasks: { type: ['array', 'null'], items: task },
      handlers: { type: ['array', 'null'], items: handler },
    },
  };
  return {
    'playbook.schema.json': { $schema: DRAFT, title: 'onionplay playbook', type: 'array', items: play },
    'tasks.schema.json': { $schema: DRAFT, title: 'onionplay role tasks.yaml', type: ['array', 'null'], items: task },
    'handlers.schema.json': { $schema: DRAFT, title: 'onionplay role handlers.yaml', type: ['array', 'null'], items: handler },
    'role-meta.schema.json': roleMetaSchema,
    'hosts.schema.json': hostsFileSchema,
    'vars.schema.json': varsFileSchema,
    'site.schema.json': siteFileSchema,
    'facts.schema.json': { $schema: DRAFT, title: 'onionplay learned facts (state/facts.yaml)', ...factsFileSchema },
  };
}
