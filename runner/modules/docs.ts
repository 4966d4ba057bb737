// Markdown documentation of the modules, generated from their argument
// schemas, so the docs cannot drift from what the loader accepts.

import type { JsonSchema, ModuleDefinition } from './types.ts';

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' or ');
  const type = schema.type;
  if (Array.isArray(type)) return type.join(' or ');
  if (type === 'array') {
    const items = schema.items as JsonSchema | undefined;
    return `list of ${items ? typeOf(items) : 'values'}`;
  }
  return typeof type === 'string' ? type : 'any';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Sentences for `oneOf`/`anyOf` lists of `required` alternatives. */
function constraints(schema: JsonSchema): string[] {
  const sentences: string[] = [];
  const alternatives = (key: 'oneOf' | 'anyOf'): string[][] | undefined => {
    const list = schema[key];
    if (!Array.isArray(list)) return undefined;
    const sets = (list as JsonSchema[]).map((entry) => entry.required);
    return sets.every(Array.isArray) ? (sets as string[][]) : undefined;
  };
  const one = alternatives('oneOf');
  if (one) sentences.push(`Give exactly one of: ${one.map((set) => set.map((name) => `\`${name}\``).join(' + ')).join(', ')}.`);
  const any = alternatives('anyOf');
  if (any) sentences.push(`Give at least one of: ${any.map((set) => set.map((name) => `\`${name}\``).join(' + ')).join(', ')}.`);
  return sentences;
}

/** Render the Markdown section of one module. */
export function renderModule(module: ModuleDefinition): string {
  const lines = [`## ${module.name}`, '', module.description, ''];
  const notes: string[] = [];
  if (module.local) notes.push('Runs on the controller only; it never contacts the host.');
  if (module.idempotent === false) notes.push('Not idempotent: it acts on every run.');
  if (typeof module.idempotent === 'function') notes.push('Idempotent only under some arguments (see their descriptions); otherwise it acts on every run.');
  if (module.freeForm) notes.push(`A free-form string after the module name sets \`${module.freeForm}\`.`);
  notes.push(...constraints(module.schema));
  if (notes.length > 0) lines.push(...notes.map((note) => `- ${note}`), '');

  const properties = (module.schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((module.schema.required as string[] | undefined) ?? []);
  const names = Object.keys(properties);
  if (names.length === 0) {
    if (typeof module.schema.description === 'string') lines.push(module.schema.description, '');
    return lines.join('\n');
  }
  lines.push('| argument | type | required | default | description |', '| --- | --- | --- | --- | --- |');
  for (const name of names) {
    const property = properties[name] ?? {};
    const fallback = property.default === undefined ? '' : `\`${JSON.stringify(property.default)}\``;
    const description = typeof property.description === 'string' ? property.description : '';
    lines.push(`| \`${name}\` | ${cell(typeOf(property))} | ${required.has(name) ? 'yes' : ''} | ${cell(fallback)} | ${cell(description)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Render the Markdown page of all modules. */
export function renderModuleDocs(modules: ModuleDefinition[]): string {
  const header = [
    '# Modules',
    '',
    'Generated from the argument schemas by `npm run docs:modules`; do not edit by hand.',
    '',
    'Each task first probes the host read-only, then plans from what the probe printed, then',
    'applies the planned steps unless the run is in check mode. The probes of consecutive',
    'tasks travel in one round trip, and so do their steps. An ok task always says why',
    'nothing was needed; a changed task can show a diff with --diff.',
    '',
    'Files are written as a temporary file in the target\'s directory, then renamed onto it,',
    'so an interrupted run leaves the old file or the new one. A new file without `mode` gets',
    '0644 and an existing file keeps its mode and owner. Modes are strings of octal digits',
    '("0644"), and paths on the host are absolute. Regular expressions of lineinfile and',
    'blockinfile are JavaScript ones; wait_for\'s search_regex is POSIX extended (grep -E).',
    '',
    modules.map((module) => `[${module.name}](#${module.name})`).join(' · '),
    '',
  ];
  return `${[...header, ...modules.map(renderModule)].join('\n').trimEnd()}\n`;
}
