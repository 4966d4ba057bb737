// json_merge: keep keys of a JSON file such as /etc/docker/daemon.json.
// The wanted keys are applied to the file's current document with JSON
// Merge Patch semantics (RFC 7386): objects merge key by key, any other
// value replaces the old one, and null removes the key. Keys the task does
// not name stay as they are, so each setting has one owner.

import { isDeepStrictEqual } from 'node:util';

import { defineModule } from '../define.ts';
import { editedFileProbe, formatBytes, interpretWrite, planManagedFileState, type TextEdit } from '../files.ts';
import { groupSchema, modeSchema, ownerSchema, remotePath, validateSchema } from '../schema-parts.ts';
import {
  describeAttributes,
  FILE_FUNCTIONS,
  MAX_CONTENT_BYTES,
  parseContent,
  parseFileState,
  parseOrFail,
  parseProbeLines,
  probeFailure,
  type FileState,
} from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';

export interface JsonMergeArgs {
  path: string;
  merge: Record<string, unknown>;
  create?: boolean;
  indent?: number;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    path: remotePath('JSON file to edit.'),
    merge: {
      type: 'object',
      description:
        'Keys to set, applied as a JSON Merge Patch (RFC 7386): nested objects merge key by key, lists and other values replace the old value, null removes the key.',
    },
    create: { type: 'boolean', default: true, description: 'Create the file (from {}) when it does not exist.' },
    indent: { type: 'integer', minimum: 0, maximum: 8, default: 2, description: 'Spaces per level when the file is rewritten.' },
    mode: { ...modeSchema, description: `${String(modeSchema.description)} A new file without mode gets 0644.` },
    owner: ownerSchema,
    group: groupSchema,
    validate: validateSchema,
  },
  required: ['path', 'merge'],
  additionalProperties: false,
};

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Apply a JSON Merge Patch (RFC 7386, section 2) to a document. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** Dotted names of the keys a patch sets or removes, for the summary. */
function patchKeys(patch: JsonObject, prefix = ''): string[] {
  return Object.entries(patch).flatMap(([key, value]) =>
    isObject(value) && Object.keys(value).length > 0 ? patchKeys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** Dotted names of the keys whose value differs between two documents. */
function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => changedKeys(before[key], after[key], `${prefix}${key}.`));
  }
  return isDeepStrictEqual(before, after) ? [] : [prefix.replace(/\.$/, '')];
}

/** Line and column of a character offset, for a JSON syntax error. */
function positionOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Merge the patch into the file's text; the text is kept byte for byte when nothing changes. */
export function editJson(text: string, args: JsonMergeArgs): TextEdit | { failed: string } {
  let current: unknown = {};
  if (text.trim() !== '') {
    try {
      current = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const offset = /position (\d+)/.exec(message)?.[1];
      const where = offset === undefined ? '' : ` at ${positionOf(text, Number(offset))}`;
      return { failed: `${args.path} is not valid JSON${where}: ${message}. Fix or remove the file, then rerun.` };
    }
  }
  if (!isObject(current)) {
    return { failed: `${args.path} holds a JSON ${Array.isArray(current) ? 'array' : typeof current}, not an object, so keys cannot be merged into it.` };
  }
  const merged = applyMergePatch(current, args.merge);
  const keys = patchKeys(args.merge).join(', ');
  if (isDeepStrictEqual(current, merged)) return { text, description: `already has the wanted values of ${keys}` };
  const changed = changedKeys(current, merged).join(', ');
  return { text: `${JSON.stringify(merged, null, args.indent ?? 2)}\n`, description: `set ${changed}` };
}

function probeJsonMerge(args: JsonMergeArgs): Probe {
  return { script: FILE_FUNCTIONS + editedFileProbe('path', args.path), reads: [args.path] };
}

/** The current text of the file, or a failure; empty for a file to create. */
function currentText(args: JsonMergeArgs, state: FileState, lines: Map<string, string>): { text: string; bytes?: Buffer } | { failed: string } {
  if (state.type === 'absent') {
    if (args.create === false) return { failed: `${args.path} does not exist. Set create: true to create it.` };
    return { text: '' };
  }
  if (state.type !== 'file') return { failed: `cannot edit ${args.path}: it is a ${state.type}, not a regular file.` };
  const content = parseContent(lines.get('path.content'));
  if (content === undefined || content.kind === 'unreadable') {
    return { failed: `cannot read ${args.path} (permission denied). Run the task with become: true.` };
  }
  if (content.kind === 'toolarge') {
    return { failed: `${args.path} is ${formatBytes(content.size)}, larger than the ${formatBytes(MAX_CONTENT_BYTES)} that json_merge reads.` };
  }
  return { text: content.bytes.toString('utf8'), bytes: content.bytes };
}

function planJsonMerge(args: JsonMergeArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.path);
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const state = parseOrFail(args.path, () => parseFileState(lines.get('path')));
  if ('status' in state) return state;
  const current = currentText(args, state, lines);
  if ('failed' in current) return { status: 'failed', message: current.failed };
  const edited = editJson(current.text, args);
  if ('failed' in edited) return { status: 'failed', message: edited.failed };

  const file = {
    path: args.path,
    content: Buffer.from(edited.text, 'utf8'),
    mode: args.mode,
    owner: args.owner,
    group: args.group,
    validate: args.validate,
  };
  const plan = planManagedFileState(file, state, lines.get('path.parent'), current.bytes);
  if (plan.kind === 'failed') return { status: 'failed', message: plan.message };
  if (plan.kind === 'ok' && state.type !== 'absent') {
    return { status: 'ok', reason: `${args.path} ${edited.description} (${describeAttributes(state)})` };
  }
  if (plan.kind === 'ok') return { status: 'ok', reason: plan.reason };
  const contentChanged = edited.text !== current.text || state.type === 'absent';
  return {
    status: 'change',
    summary: contentChanged ? `${args.path}: ${edited.description}` : plan.summary,
    diff: plan.diff,
    steps: plan.steps,
    affects: [args.path],
    interpret: interpretWrite(`writing ${args.path}`),
  };
}

export const jsonMergeModule = defineModule<JsonMergeArgs>({
  name: 'json_merge',
  description:
    'Merge keys into a JSON file (RFC 7386 merge patch) and rewrite it atomically only when a value differs; keys the task does not name are kept.',
  schema,
  idempotent: true,
  probe: probeJsonMerge,
  plan: planJsonMerge,
});
