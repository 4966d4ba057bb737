// copy: put a file on the host from inline `content` or a role file `src`.

import { defineModule } from './define.ts';
import { interpretWrite, managedFileProbe, planManagedFile, type ManagedFile } from './files.ts';
import { groupSchema, modeSchema, ownerSchema, remotePath, validateSchema } from './schema-parts.ts';
import { FILE_FUNCTIONS, parseOrFail, parseProbeLines, probeFailure } from './shell-lib.ts';
import type { JsonSchema, ModuleContext, Plan, ProbeOutput } from './types.ts';

export interface CopyArgs {
  dest: string;
  content?: string;
  src?: string;
  mode?: string;
  owner?: string;
  group?: string;
  force?: boolean;
  validate?: string;
  /** Bytes to write, base64; set by `prepare` from `content` or `src`. */
  contentBase64?: string;
}

/** Properties shared by copy and template. */
export const fileWriteProperties: Record<string, JsonSchema> = {
  dest: remotePath('File to write.'),
  mode: { ...modeSchema, description: `${String(modeSchema.description)} A new file without mode gets 0644; an existing file keeps its mode.` },
  owner: ownerSchema,
  group: groupSchema,
  force: {
    type: 'boolean',
    default: true,
    description: 'Replace the content of an existing file that differs. False only creates missing files.',
  },
  validate: validateSchema,
};

const schema: JsonSchema = {
  type: 'object',
  properties: {
    ...fileWriteProperties,
    content: { type: 'string', description: 'Content of the file, written byte for byte. Exclusive with src.' },
    src: { type: 'string', minLength: 1, description: "File of the role's files/ folder (or next to the playbook) to copy. Exclusive with content." },
  },
  required: ['dest'],
  oneOf: [{ required: ['content'] }, { required: ['src'] }],
  additionalProperties: false,
};

/** Return the bytes a prepared copy or template writes. */
export function wantedContent(args: { contentBase64?: string | undefined; content?: string | undefined }): Buffer {
  if (args.contentBase64 !== undefined) return Buffer.from(args.contentBase64, 'base64');
  if (args.content !== undefined) return Buffer.from(args.content, 'utf8');
  throw new Error('internal error: copy or template planned before prepare() set its content');
}

/** Probe and plan of a file written whole (copy and template). */
export function probeWrittenFile(args: CopyArgs): { script: string; reads: string[] } {
  return { script: FILE_FUNCTIONS + managedFileProbe('dest', args.dest, wantedContent(args)), reads: [args.dest] };
}

export function planWrittenFile(args: CopyArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.dest);
  if (failure) return failure;
  const file: ManagedFile = {
    path: args.dest,
    content: wantedContent(args),
    mode: args.mode,
    owner: args.owner,
    group: args.group,
    validate: args.validate,
    force: args.force,
  };
  const plan = parseOrFail(args.dest, () => planManagedFile(file, parseProbeLines(probed.stdout), 'dest'));
  if ('status' in plan) return plan;
  if (plan.kind === 'ok') return { status: 'ok', reason: plan.reason };
  if (plan.kind === 'failed') return { status: 'failed', message: plan.message };
  return {
    status: 'change',
    summary: plan.summary,
    diff: plan.diff,
    steps: plan.steps,
    affects: [args.dest],
    interpret: interpretWrite(`writing ${args.dest}`),
  };
}

export const copyModule = defineModule<CopyArgs>({
  name: 'copy',
  description: 'Write a file on the host from inline content or from a file of the role.',
  schema,
  idempotent: true,
  async prepare(args: CopyArgs, context: ModuleContext): Promise<CopyArgs> {
    if (args.src !== undefined) {
      const bytes = await context.readFile(args.src, 'files');
      return { ...args, contentBase64: bytes.toString('base64') };
    }
    return { ...args, contentBase64: Buffer.from(args.content ?? '', 'utf8').toString('base64') };
  },
  probe: probeWrittenFile,
  plan: planWrittenFile,
});
