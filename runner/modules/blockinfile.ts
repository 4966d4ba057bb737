// blockinfile: keep a block of lines between two marker lines in a file.

import { defineModule } from './define.ts';
import { editedFileProbe, interpretWrite, joinLines, planEditedFile, splitLines, type TextEdit } from './files.ts';
import { groupSchema, modeSchema, ownerSchema, remotePath, validateSchema } from './schema-parts.ts';
import { FILE_FUNCTIONS, parseOrFail, parseProbeLines, probeFailure } from './shell-lib.ts';
import { insertIndex, insertProperties, type InsertPosition } from './text-position.ts';
import type { JsonSchema, Plan, ProbeOutput } from './types.ts';

export const DEFAULT_MARKER = '# {mark} ONIONPLAY MANAGED BLOCK';

export interface BlockInFileArgs extends InsertPosition {
  path: string;
  block?: string;
  marker?: string;
  marker_begin?: string;
  marker_end?: string;
  state?: 'present' | 'absent';
  create?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    path: remotePath('File to edit.'),
    block: { type: 'string', default: '', description: 'Lines to keep between the markers. An empty block removes the markers and the block.' },
    marker: {
      type: 'string',
      pattern: '\\{mark\\}',
      default: DEFAULT_MARKER,
      description: 'Marker line template; {mark} becomes marker_begin or marker_end. Use a comment syntax of the file.',
    },
    marker_begin: { type: 'string', default: 'BEGIN', description: 'Text for {mark} in the first marker line.' },
    marker_end: { type: 'string', default: 'END', description: 'Text for {mark} in the last marker line.' },
    state: { enum: ['present', 'absent'], default: 'present', description: 'Whether the block must be in the file.' },
    create: { type: 'boolean', default: false, description: 'Create the file when it does not exist (state present).' },
    ...insertProperties,
    mode: modeSchema,
    owner: ownerSchema,
    group: groupSchema,
    validate: validateSchema,
  },
  required: ['path'],
  additionalProperties: false,
};

/** Apply a blockinfile task to the text of a file. */
export function editBlock(text: string, args: BlockInFileArgs): TextEdit | { failed: string } {
  const lines = splitLines(text);
  const marker = args.marker ?? DEFAULT_MARKER;
  const begin = marker.replace('{mark}', args.marker_begin ?? 'BEGIN');
  const end = marker.replace('{mark}', args.marker_end ?? 'END');
  const beginAt = lines.indexOf(begin);
  const endAt = beginAt < 0 ? lines.indexOf(end) : lines.indexOf(end, beginAt + 1);
  if ((beginAt < 0) !== (endAt < 0)) {
    const found = beginAt < 0 ? end : begin;
    return { failed: `${args.path} has the marker line "${found}" without its pair. Fix or remove it by hand.` };
  }

  const block = args.block ?? '';
  const remove = args.state === 'absent' || block === '';
  if (remove) {
    if (beginAt < 0) return { text, description: 'no managed block, nothing to remove' };
    lines.splice(beginAt, endAt - beginAt + 1);
    return { text: joinLines(lines), description: 'remove the managed block' };
  }

  const wanted = [begin, ...splitLines(block.endsWith('\n') ? block : `${block}\n`), end];
  if (beginAt >= 0) {
    const current = lines.slice(beginAt, endAt + 1);
    if (current.length === wanted.length && current.every((line, index) => line === wanted[index])) {
      return { text, description: 'the managed block is already as wanted' };
    }
    lines.splice(beginAt, endAt - beginAt + 1, ...wanted);
    return { text: joinLines(lines), description: 'update the managed block' };
  }
  const at = insertIndex(lines, args);
  if (typeof at === 'string') return { failed: at };
  lines.splice(at, 0, ...wanted);
  return { text: joinLines(lines), description: 'insert the managed block' };
}

function planBlockInFile(args: BlockInFileArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.path);
  if (failure) return failure;
  const removing = args.state === 'absent' || (args.block ?? '') === '';
  const file = {
    path: args.path,
    mode: args.mode,
    owner: args.owner,
    group: args.group,
    create: args.create === true,
    validate: args.validate,
    missingOk: removing ? `${args.path} does not exist, so there is no block to remove` : undefined,
  };
  const plan = parseOrFail(args.path, () => planEditedFile(file, parseProbeLines(probed.stdout), 'path', (text) => editBlock(text, args)));
  if ('status' in plan) return plan;
  if (plan.kind === 'ok') return { status: 'ok', reason: plan.reason };
  if (plan.kind === 'failed') return { status: 'failed', message: plan.message };
  return { status: 'change', summary: plan.summary, diff: plan.diff, steps: plan.steps, affects: [args.path], interpret: interpretWrite(`writing ${args.path}`) };
}

export const blockInFileModule = defineModule<BlockInFileArgs>({
  name: 'blockinfile',
  description: 'Keep a block of lines between two marker lines in a file, or remove it.',
  schema,
  idempotent: true,
  probe: (args) => ({ script: FILE_FUNCTIONS + editedFileProbe('path', args.path), reads: [args.path] }),
  plan: planBlockInFile,
});
