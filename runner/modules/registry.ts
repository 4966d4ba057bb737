// Placeholder module registry with a few schemas, so that playbook loading
// can be built and tested before the real modules land. The modules' own
// registry replaces this file.

import type { ModuleDefinition } from './types.ts';

const placeholders: ModuleDefinition[] = [
  {
    name: 'debug',
    description: 'Print a message or a variable.',
    idempotent: true,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { msg: {}, var: { type: 'string' } },
    },
  },
  {
    name: 'command',
    description: 'Run a command on the host.',
    idempotent: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cmd: { type: 'string' },
        argv: { type: 'array', items: { type: 'string' } },
        creates: { type: 'string' },
        removes: { type: 'string' },
        chdir: { type: 'string' },
      },
      anyOf: [{ required: ['cmd'] }, { required: ['argv'] }],
    },
  },
  {
    name: 'set_fact',
    description: 'Set host variables.',
    idempotent: true,
    schema: { type: 'object', minProperties: 1 },
  },
  {
    name: 'template',
    description: 'Render a template file of the role onto the host.',
    idempotent: true,
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['src', 'dest'],
      properties: {
        src: { type: 'string' },
        dest: { type: 'string', pattern: '^/' },
        mode: { type: 'string', pattern: '^[0-7]{3,4}$', description: 'a quoted string of octal digits' },
        owner: { type: 'string' },
        group: { type: 'string' },
      },
    },
  },
];

const byName = new Map(placeholders.map((module) => [module.name, module]));

export function getModule(name: string): ModuleDefinition | undefined {
  return byName.get(name);
}

export function moduleNames(): string[] {
  return [...byName.keys()].sort();
}
