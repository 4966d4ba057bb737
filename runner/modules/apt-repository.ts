// apt_repository: an apt source in /etc/apt/sources.list.d (deb822
// `.sources`, or a one-line `.list`) with its signing key file, and an
// apt-get update when either changed.

import { posix } from 'node:path';

import { aptUpdateStep } from './apt.ts';
import { defineModule } from './define.ts';
import { interpretWrite, managedFileProbe, planManagedFile, type FilePlan } from './files.ts';
import { remotePath } from './schema-parts.ts';
import {
  FILE_FUNCTIONS,
  fileStateProbe,
  parseFileState,
  parseOrFail,
  parseProbeLines,
  probeFailure,
  shellQuote,
  stderrTail,
} from './shell-lib.ts';
import type { JsonSchema, ModuleContext, Outcome, Plan, Probe, ProbeOutput, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface AptRepositoryArgs {
  name: string;
  repo?: string;
  types?: string | string[];
  uris?: string | string[];
  suites?: string | string[];
  components?: string | string[];
  architectures?: string | string[];
  signed_by?: string;
  key_content?: string;
  key_src?: string;
  state?: 'present' | 'absent';
  update_cache?: boolean;
  /** Set by prepare: bytes of the key file, base64. */
  keyBase64?: string;
}

const words = (description: string): JsonSchema => ({
  anyOf: [
    { type: 'string', pattern: '^\\S+$' },
    { type: 'array', items: { type: 'string', pattern: '^\\S+$' }, minItems: 1 },
  ],
  description,
});

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.-]+$',
      description: 'File name without suffix: /etc/apt/sources.list.d/NAME.sources (or NAME.list with repo).',
    },
    repo: {
      type: 'string',
      pattern: '^deb(-src)? ',
      description:
        'One-line source, e.g. "deb https://deb.torproject.org/torproject.org bookworm main", written to NAME.list. With signed_by, [signed-by=...] is added unless the line has options. Exclusive with uris.',
    },
    types: { ...words('deb822 Types, default deb.'), default: 'deb' },
    uris: words('deb822 URIs of the repository.'),
    suites: words('deb822 Suites, e.g. bookworm.'),
    components: words('deb822 Components, e.g. main.'),
    architectures: words('deb822 Architectures, e.g. amd64.'),
    signed_by: remotePath(
      'Keyring file that signs the repository (Signed-By), e.g. /etc/apt/keyrings/tor.asc. apt reads an ASCII-armored key only from a file ending in .asc, and a binary one from .gpg.',
    ),
    key_content: { type: 'string', minLength: 1, description: 'ASCII-armored key written to signed_by. Exclusive with key_src.' },
    key_src: { type: 'string', minLength: 1, description: "Key file of the role's files/ folder written to signed_by (armored or binary)." },
    state: { enum: ['present', 'absent'], default: 'present', description: 'absent removes the source file, and the key file when key_content or key_src is set.' },
    update_cache: { type: 'boolean', default: true, description: 'Run apt-get update when the source or its key changed.' },
  },
  required: ['name'],
  additionalProperties: false,
  allOf: [
    { if: { properties: { state: { const: 'absent' } }, required: ['state'] }, else: { oneOf: [{ required: ['repo'] }, { required: ['uris', 'suites'] }] } },
    { anyOf: [{ not: { required: ['key_content'] } }, { not: { required: ['key_src'] } }] },
    { if: { anyOf: [{ required: ['key_content'] }, { required: ['key_src'] }] }, then: { required: ['signed_by'] } },
  ],
};

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Path of the source file the task manages. */
export function sourcePath(args: AptRepositoryArgs): string {
  return `/etc/apt/sources.list.d/${args.name}.${args.repo !== undefined ? 'list' : 'sources'}`;
}

/** Text of the source file. */
export function renderSource(args: AptRepositoryArgs): string {
  if (args.repo !== undefined) {
    const line = args.repo.trim();
    if (args.signed_by === undefined || /^deb(-src)? \[/.test(line)) return `${line}\n`;
    return `${line.replace(/^(deb(-src)?) /, `$1 [signed-by=${args.signed_by}] `)}\n`;
  }
  const fields: Array<[string, string[]]> = [
    ['Types', list(args.types ?? 'deb')],
    ['URIs', list(args.uris)],
    ['Suites', list(args.suites)],
    ['Components', list(args.components)],
    ['Architectures', list(args.architectures)],
    ['Signed-By', list(args.signed_by)],
  ];
  return fields
    .filter(([, values]) => values.length > 0)
    .map(([key, values]) => `${key}: ${values.join(' ')}\n`)
    .join('');
}

function keyBytes(args: AptRepositoryArgs): Buffer | undefined {
  if (args.keyBase64 !== undefined) return Buffer.from(args.keyBase64, 'base64');
  if (args.key_content !== undefined) return Buffer.from(args.key_content.endsWith('\n') ? args.key_content : `${args.key_content}\n`);
  return undefined;
}

function probeRepository(args: AptRepositoryArgs): Probe {
  const source = sourcePath(args);
  const key = keyBytes(args);
  const reads = [source];
  let script = FILE_FUNCTIONS;
  if (args.state === 'absent') {
    script += fileStateProbe('src', source);
    if (key !== undefined && args.signed_by !== undefined) {
      script += fileStateProbe('key', args.signed_by);
      reads.push(args.signed_by);
    }
    return { script, reads };
  }
  script += managedFileProbe('src', source, Buffer.from(renderSource(args)));
  if (key !== undefined && args.signed_by !== undefined) {
    script += managedFileProbe('key', args.signed_by, key);
    reads.push(args.signed_by);
  }
  return { script, reads };
}

function interpretRepository(what: string): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode === 0) return { changed: true };
    return { changed: false, failed: `${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 15)}` };
  };
}

function planAbsent(args: AptRepositoryArgs, lines: Map<string, string>): Plan {
  const paths = [sourcePath(args)];
  if (keyBytes(args) !== undefined && args.signed_by !== undefined) paths.push(args.signed_by);
  const present = paths.filter((path, index) => parseFileState(lines.get(index === 0 ? 'src' : 'key')).type !== 'absent');
  if (present.length === 0) return { status: 'ok', reason: `${paths.join(' and ')} ${paths.length === 1 ? 'is' : 'are'} already absent` };
  const steps: Step[] = [{ description: `remove ${present.join(', ')}`, script: `rm -f ${present.map(shellQuote).join(' ')}\n` }];
  if (args.update_cache !== false) steps.push(aptUpdateStep());
  return {
    status: 'change',
    summary: `remove ${present.join(', ')}`,
    steps,
    affects: args.update_cache !== false ? 'everything' : present,
    interpret: interpretRepository(`removing ${present.join(', ')}`),
  };
}

/** Plan the key file, creating a missing keyring directory first. */
function planKey(args: AptRepositoryArgs, lines: Map<string, string>, key: Buffer, signedBy: string): FilePlan {
  const directory = posix.dirname(signedBy);
  const missingDirectory = lines.get('key.parent') === 'absent';
  if (missingDirectory) lines.set('key.parent', 'directory');
  const plan = planManagedFile({ path: signedBy, content: key, mode: '0644' }, lines, 'key');
  if (plan.kind !== 'change' || !missingDirectory) return plan;
  const mkdir = { description: `create ${directory}`, script: `(umask 022 && mkdir -p ${shellQuote(directory)})\n` };
  return { ...plan, steps: [mkdir, ...plan.steps] };
}

function planRepository(args: AptRepositoryArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.name);
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  if (args.state === 'absent') {
    const plan = parseOrFail(args.name, () => planAbsent(args, lines));
    return plan;
  }

  const source = sourcePath(args);
  const key = keyBytes(args);
  const armored = key !== undefined && key.subarray(0, 40).toString('latin1').includes('-----BEGIN PGP');
  if (armored && args.signed_by !== undefined && !args.signed_by.endsWith('.asc')) {
    return { status: 'failed', message: `signed_by ${args.signed_by} must end in .asc, because apt reads an ASCII-armored key only from a .asc file.` };
  }
  const plans = parseOrFail(args.name, () => {
    const result: Array<[string, FilePlan]> = [];
    if (key !== undefined && args.signed_by !== undefined) result.push([args.signed_by, planKey(args, lines, key, args.signed_by)]);
    result.push([source, planManagedFile({ path: source, content: Buffer.from(renderSource(args)), mode: '0644' }, lines, 'src')]);
    return result;
  });
  if ('status' in plans) return plans;

  const steps: Step[] = [];
  const summaries: string[] = [];
  const reasons: string[] = [];
  const diffs: string[] = [];
  const affects: string[] = [];
  for (const [path, plan] of plans) {
    if (plan.kind === 'failed') return { status: 'failed', message: plan.message };
    if (plan.kind === 'ok') {
      reasons.push(plan.reason);
      continue;
    }
    steps.push(...plan.steps);
    summaries.push(plan.summary);
    diffs.push(path === args.signed_by ? `${path}: key changed\n` : plan.diff);
    affects.push(path);
  }
  if (steps.length === 0) return { status: 'ok', reason: reasons.join('; ') };

  const update = args.update_cache !== false;
  if (update) steps.push(aptUpdateStep());
  return {
    status: 'change',
    summary: `${summaries.join('; ')}${update ? '; apt-get update' : ''}`,
    diff: diffs.join(''),
    steps,
    affects: update ? 'everything' : affects,
    interpret: update ? interpretRepository(`apt source ${args.name}`) : interpretWrite(`writing apt source ${args.name}`),
  };
}

export const aptRepositoryModule = defineModule<AptRepositoryArgs>({
  name: 'apt_repository',
  description: 'Keep an apt source file (deb822 or one-line) and its signing key, and update the package lists when they change.',
  schema,
  idempotent: true,
  async prepare(args: AptRepositoryArgs, context: ModuleContext): Promise<AptRepositoryArgs> {
    if (args.key_src === undefined) return args;
    const bytes = await context.readFile(args.key_src, 'files');
    return { ...args, keyBase64: bytes.toString('base64') };
  },
  probe: probeRepository,
  plan: planRepository,
});
