// file: make a path a directory, an empty file, a symbolic link, or absent,
// and set its mode and ownership.

import { posix } from 'node:path';

import { defineModule } from './define.ts';
import { interpretWrite } from './files.ts';
import { groupSchema, modeSchema, ownerSchema, remotePath } from './schema-parts.ts';
import {
  attributeChanges,
  describeAttributes,
  FILE_FUNCTIONS,
  fileStateProbe,
  chmodMode,
  normalizeMode,
  parseFileState,
  parseOrFail,
  parseProbeLines,
  probeFailure,
  shellQuote,
  type FileState,
  type PresentFileState,
} from './shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput, Step } from './types.ts';

export type FileStateName = 'file' | 'directory' | 'link' | 'absent' | 'touch';

export interface FileArgs {
  path: string;
  state?: FileStateName;
  src?: string;
  mode?: string;
  owner?: string;
  group?: string;
  recurse?: boolean;
  force?: boolean;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    path: remotePath('Path to manage.'),
    state: {
      enum: ['file', 'directory', 'link', 'absent', 'touch'],
      default: 'file',
      description:
        'directory: create it with its parents. file: only set attributes of an existing file. touch: create an empty file if missing (an existing one keeps its times, unlike Ansible). link: a symbolic link to src. absent: remove it, recursively for a directory.',
    },
    src: { type: 'string', minLength: 1, description: 'Target of the symbolic link (state: link), stored as written.' },
    mode: { ...modeSchema, description: `${String(modeSchema.description)} New directories get 0755 and new files 0644 without it.` },
    owner: ownerSchema,
    group: groupSchema,
    recurse: {
      type: 'boolean',
      default: false,
      description: 'With state: directory, also set mode, owner and group on everything inside, files included.',
    },
    force: {
      type: 'boolean',
      default: false,
      description: 'With state: link, replace an existing file or empty directory at path by the link.',
    },
  },
  required: ['path'],
  additionalProperties: false,
  if: { properties: { state: { const: 'link' } }, required: ['state'] },
  then: { required: ['src'] },
};

function recurseProbe(args: FileArgs): string {
  const tests: string[] = [];
  if (args.owner !== undefined) tests.push(`! -user ${shellQuote(args.owner)}`);
  if (args.group !== undefined) tests.push(`! -group ${shellQuote(args.group)}`);
  if (args.mode !== undefined) tests.push(`! -perm ${normalizeMode(args.mode)}`);
  if (tests.length === 0) return '';
  const path = shellQuote(args.path);
  // Prints the number of entries below path (at most 1) whose attributes differ.
  return `if [ -d ${path} ]; then printf 'recurse %s\\n' "$(find ${path} -mindepth 1 ! -type l \\( ${tests.join(' -o ')} \\) -print 2>/dev/null | head -n 1 | wc -l)"; fi\n`;
}

function probeFile(args: FileArgs): Probe {
  let script = FILE_FUNCTIONS + fileStateProbe('path', args.path);
  if (args.state === 'absent') return { script, reads: [args.path] };
  script += `op_state parent ${shellQuote(posix.dirname(args.path))} || exit 1\n`;
  // For a link to a directory, the trailing slash makes stat describe the directory.
  script += `if [ -L ${shellQuote(args.path)} ] && [ -d ${shellQuote(args.path)} ]; then op_state target ${shellQuote(`${args.path}/`)} || exit 1; fi\n`;
  if (args.recurse) script += recurseProbe(args);
  return { script, reads: [args.path] };
}

function change(summary: string, path: string, scripts: string[], diff?: string): Plan {
  const steps: Step[] = [{ description: summary, script: `${scripts.filter((line) => line !== '').join('\n')}\n` }];
  return {
    status: 'change',
    summary,
    diff: diff ?? `${path}: ${summary}\n`,
    steps,
    affects: [path],
    interpret: interpretWrite(summary),
  };
}

function attributesPlan(args: FileArgs, state: PresentFileState, okReason: string, recurseDiffers = false): Plan {
  const attributes = attributeChanges(args.path, state, args);
  if (attributes.changes.length === 0 && !recurseDiffers) return { status: 'ok', reason: okReason };
  const scripts = [attributes.script];
  if (recurseDiffers) scripts.push(recurseScript(args));
  const what = [...attributes.changes, ...(recurseDiffers ? ['attributes of entries inside'] : [])];
  return change(`set ${what.join(', ')} on ${args.path}`, args.path, scripts);
}

function recurseScript(args: FileArgs): string {
  const path = shellQuote(args.path);
  const lines: string[] = [];
  const spec = `${args.owner ?? ''}${args.group === undefined ? '' : `:${args.group}`}`;
  if (spec !== '') lines.push(`chown -R ${shellQuote(spec)} ${path}`);
  if (args.mode !== undefined) lines.push(`chmod -R ${chmodMode(args.mode)} ${path}`);
  return lines.join('\n');
}

function createAttributes(args: FileArgs, defaultMode: string): string {
  const path = shellQuote(args.path);
  const lines = [`chmod ${chmodMode(args.mode ?? defaultMode)} ${path}`];
  const spec = `${args.owner ?? ''}${args.group === undefined ? '' : `:${args.group}`}`;
  if (spec !== '') lines.push(`chown ${shellQuote(spec)} ${path}`);
  return lines.join('\n');
}

function missingParent(args: FileArgs, parent: FileState): Plan | undefined {
  if (parent.type === 'directory' || parent.type === 'link') return undefined;
  return {
    status: 'failed',
    message: `cannot create ${args.path}: directory ${posix.dirname(args.path)} does not exist. Create it first with state: directory.`,
  };
}

function planDirectory(args: FileArgs, state: FileState, target: FileState | undefined, recurseDiffers: boolean): Plan {
  const path = shellQuote(args.path);
  if (state.type === 'absent') {
    // The apply runs under umask 022, but the shell loop of a transport may
    // use 077, so the parents get 0755 explicitly through the subshell's umask.
    const scripts = [`(umask 022 && mkdir -p ${path})`, createAttributes(args, '0755')];
    if (args.recurse) scripts.push(recurseScript(args));
    return change(`create directory ${args.path}`, args.path, scripts);
  }
  if (state.type === 'link' && target?.type === 'directory') {
    // chmod and chown without -h act on the directory the link points to.
    const reason = `${args.path} is a symbolic link to the directory ${state.linkTarget ?? '?'} (${describeAttributes(target)})`;
    return attributesPlan(args, target, reason, recurseDiffers);
  }
  if (state.type !== 'directory') {
    return { status: 'failed', message: `cannot make ${args.path} a directory: it exists as a ${describeType(state)}. Remove it first with state: absent.` };
  }
  return attributesPlan(args, state, `${args.path} is already a directory (${describeAttributes(state)})`, recurseDiffers);
}

function planLink(args: FileArgs, state: FileState): Plan {
  const target = args.src ?? '';
  const path = shellQuote(args.path);
  const make = [
    `op_t=${shellQuote(`${posix.dirname(args.path)}/.${posix.basename(args.path)}.onionplay-link`)}`,
    'rm -f "$op_t"',
    `ln -s ${shellQuote(target)} "$op_t"`,
  ];
  const ownership = `${args.owner ?? ''}${args.group === undefined ? '' : `:${args.group}`}`;
  if (ownership !== '') make.push(`chown -h ${shellQuote(ownership)} "$op_t"`);
  if (state.type === 'directory') make.push(`rmdir ${path}`);
  make.push(`mv -fT "$op_t" ${path}`);

  if (state.type === 'link') {
    if (state.linkTarget === target) {
      return attributesPlan({ ...args, mode: undefined }, state, `${args.path} already links to ${target}`);
    }
    return change(`point ${args.path} to ${target} (was ${state.linkTarget ?? '?'})`, args.path, make);
  }
  if (state.type === 'absent') return change(`link ${args.path} to ${target}`, args.path, make);
  if (!args.force) {
    return {
      status: 'failed',
      message: `cannot create link ${args.path}: it exists as a ${describeType(state)}. Set force: true to replace it.`,
    };
  }
  return change(`replace ${describeType(state)} ${args.path} by a link to ${target}`, args.path, make);
}

function describeType(state: PresentFileState): string {
  return { file: 'regular file', directory: 'directory', link: 'symbolic link', other: 'special file' }[state.type];
}

/** Plan a file task from its probe output. */
export function planFile(args: FileArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.path);
  if (failure) return failure;
  const parsed = parseOrFail(args.path, () => {
    const lines = parseProbeLines(probed.stdout);
    const parent = lines.has('parent') ? parseFileState(lines.get('parent')) : undefined;
    const target = lines.has('target') ? parseFileState(lines.get('target')) : undefined;
    return { state: parseFileState(lines.get('path')), parent, target, recurse: lines.get('recurse') };
  });
  if ('status' in parsed) return parsed;
  const { state, parent } = parsed;
  const path = shellQuote(args.path);

  switch (args.state ?? 'file') {
    case 'absent':
      if (state.type === 'absent') return { status: 'ok', reason: `${args.path} is already absent` };
      return change(`remove ${describeType(state)} ${args.path}`, args.path, [`rm -rf -- ${path}`]);
    case 'directory':
      // mkdir -p creates missing parents, so only the path itself matters.
      return planDirectory(args, state, parsed.target, parsed.recurse === '1');
    case 'touch':
      if (state.type === 'absent') {
        const missing = parent ? missingParent(args, parent) : undefined;
        if (missing) return missing;
        return change(`create empty file ${args.path}`, args.path, [`: >>${path}`, createAttributes(args, '0644')]);
      }
      return attributesPlan(args, state, `${args.path} already exists (${describeAttributes(state)}); touch leaves its times alone`);
    case 'link':
      return planLink(args, state);
    case 'file':
      if (state.type === 'absent') {
        return { status: 'failed', message: `${args.path} does not exist. Use state: touch to create an empty file, or copy to create it with content.` };
      }
      if (state.type === 'directory') {
        return { status: 'failed', message: `${args.path} is a directory, not a file. Use state: directory.` };
      }
      return attributesPlan(args, state, `${args.path} already exists with ${describeAttributes(state)}`);
  }
}

export const fileModule = defineModule<FileArgs>({
  name: 'file',
  description: 'Make a path a directory, an empty file, a symbolic link or absent, and set its mode and ownership.',
  schema,
  idempotent: true,
  probe: probeFile,
  plan: planFile,
});
