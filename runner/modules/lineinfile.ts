// lineinfile: make sure one line is in a file (or no line matching a
// pattern is). The new content is computed here from the probed content and
// the whole file is written atomically.

import { defineModule } from './define.ts';
import { editedFileProbe, interpretWrite, joinLines, planEditedFile, splitLines, type TextEdit } from './files.ts';
import { groupSchema, modeSchema, ownerSchema, remotePath, validateSchema } from './schema-parts.ts';
import { FILE_FUNCTIONS, parseOrFail, parseProbeLines, probeFailure } from './shell-lib.ts';
import { compilePattern, findLine, insertIndex, insertProperties, type InsertPosition } from './text-position.ts';
import type { JsonSchema, Plan, ProbeOutput } from './types.ts';

export interface LineInFileArgs extends InsertPosition {
  path: string;
  line?: string;
  regexp?: string;
  state?: 'present' | 'absent';
  backrefs?: boolean;
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
    line: { type: 'string', pattern: '^[^\\n]*$', description: 'The whole line to put in the file, without its newline.' },
    regexp: {
      type: 'string',
      minLength: 1,
      description:
        'JavaScript regular expression. With state present, the last matching line is replaced by line; with state absent, every matching line is removed.',
    },
    state: { enum: ['present', 'absent'], default: 'present', description: 'Whether the line must be in the file.' },
    backrefs: {
      type: 'boolean',
      default: false,
      description: 'Expand \\1 or \\g<name> in line from the regexp match; if nothing matches the file is left alone.',
    },
    create: { type: 'boolean', default: false, description: 'Create the file when it does not exist (state present).' },
    ...insertProperties,
    mode: modeSchema,
    owner: ownerSchema,
    group: groupSchema,
    validate: validateSchema,
  },
  required: ['path'],
  additionalProperties: false,
  allOf: [
    { if: { properties: { state: { const: 'absent' } }, required: ['state'] }, then: { anyOf: [{ required: ['regexp'] }, { required: ['line'] }] }, else: { required: ['line'] } },
    { if: { properties: { backrefs: { const: true } }, required: ['backrefs'] }, then: { required: ['regexp'] } },
  ],
};

/** Expand Python-style group references (`\1`, `\g<1>`, `\g<name>`) from a match. */
export function expandBackrefs(template: string, match: RegExpExecArray): string {
  return template.replace(/\\(\d+)|\\g<(\w+)>/g, (_whole, number: string | undefined, group: string | undefined) => {
    if (number !== undefined) return match[Number(number)] ?? '';
    const key = group ?? '';
    return /^\d+$/.test(key) ? (match[Number(key)] ?? '') : (match.groups?.[key] ?? '');
  });
}

/** Apply a lineinfile task to the text of a file. */
export function editLine(text: string, args: LineInFileArgs): TextEdit | { failed: string } {
  const lines = splitLines(text);
  const pattern = args.regexp === undefined ? undefined : compilePattern('regexp', args.regexp);
  if (typeof pattern === 'string') return { failed: pattern };

  if (args.state === 'absent') {
    const kept = lines.filter((line) => (pattern ? !pattern.test(line) : line !== args.line));
    const removed = lines.length - kept.length;
    if (removed === 0) return { text, description: 'no line matches, nothing to remove' };
    return { text: joinLines(kept), description: `remove ${removed} line${removed === 1 ? '' : 's'}` };
  }

  const wanted = args.line ?? '';
  if (pattern) {
    const index = findLine(lines, pattern);
    if (index >= 0) {
      const match = pattern.exec(lines[index] ?? '');
      const replacement = args.backrefs && match ? expandBackrefs(wanted, match) : wanted;
      if (lines[index] === replacement) return { text, description: `line ${index + 1} is already the wanted line` };
      lines[index] = replacement;
      return { text: joinLines(lines), description: `replace line ${index + 1}` };
    }
    if (args.backrefs) return { text, description: 'regexp matches no line, and backrefs leaves the file alone' };
  }
  const existing = lines.indexOf(wanted);
  if (existing >= 0) return { text, description: `line ${existing + 1} is already the wanted line` };

  const at = insertIndex(lines, args);
  if (typeof at === 'string') return { failed: at };
  lines.splice(at, 0, wanted);
  return { text: joinLines(lines), description: at === lines.length - 1 ? 'append the line' : `insert the line as line ${at + 1}` };
}

function planLineInFile(args: LineInFileArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.path);
  if (failure) return failure;
  const file = {
    path: args.path,
    mode: args.mode,
    owner: args.owner,
    group: args.group,
    create: args.create === true,
    validate: args.validate,
    missingOk: args.state === 'absent' ? `${args.path} does not exist, so there is no line to remove` : undefined,
  };
  const plan = parseOrFail(args.path, () => planEditedFile(file, parseProbeLines(probed.stdout), 'path', (text) => editLine(text, args)));
  if ('status' in plan) return plan;
  if (plan.kind === 'ok') return { status: 'ok', reason: plan.reason };
  if (plan.kind === 'failed') return { status: 'failed', message: plan.message };
  return { status: 'change', summary: plan.summary, diff: plan.diff, steps: plan.steps, affects: [args.path], interpret: interpretWrite(`writing ${args.path}`) };
}

export const lineInFileModule = defineModule<LineInFileArgs>({
  name: 'lineinfile',
  description: 'Make sure a line is in a file, replacing the line a regular expression matches, or remove matching lines.',
  schema,
  idempotent: true,
  probe: (args) => ({ script: FILE_FUNCTIONS + editedFileProbe('path', args.path), reads: [args.path] }),
  plan: planLineInFile,
});
