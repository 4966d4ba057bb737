// stat: report the state of a path as a result for `register`.

import { defineModule } from './define.ts';
import { remotePath } from './schema-parts.ts';
import { FILE_FUNCTIONS, fileStateProbe, parseFileState, parseOrFail, parseProbeLines, probeFailure, type FileState } from './shell-lib.ts';
import type { JsonSchema, Plan, ProbeOutput } from './types.ts';

export interface StatArgs {
  path: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: { path: remotePath('Path to inspect; a symbolic link is reported as a link, not followed.') },
  required: ['path'],
  additionalProperties: false,
};

/** Build the `stat` result of a probed path, with Ansible's field names where they exist. */
export function statResult(path: string, state: FileState): Record<string, unknown> {
  if (state.type === 'absent') return { exists: false, path };
  return {
    exists: true,
    path,
    type: state.type,
    isreg: state.type === 'file',
    isdir: state.type === 'directory',
    islnk: state.type === 'link',
    mode: state.mode,
    uid: state.uid,
    gid: state.gid,
    owner: state.owner,
    group: state.group,
    size: state.size,
    ...(state.sha256 === undefined ? {} : { sha256: state.sha256, checksum: state.sha256 }),
    ...(state.linkTarget === undefined ? {} : { lnk_target: state.linkTarget }),
  };
}

function planStat(args: StatArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.path);
  if (failure) return failure;
  const state = parseOrFail(args.path, () => parseFileState(parseProbeLines(probed.stdout).get('path')));
  if ('status' in state) return state;
  const reason =
    state.type === 'absent'
      ? `${args.path} does not exist`
      : `${args.path} is a ${state.type === 'file' ? `file of ${state.size} bytes` : state.type}, mode ${state.mode}, owner ${state.owner}:${state.group}`;
  return { status: 'ok', reason, result: { stat: statResult(args.path, state) } };
}

export const statModule = defineModule<StatArgs>({
  name: 'stat',
  description: 'Read the type, mode, ownership, size and sha256 of a path into the registered result.',
  schema,
  idempotent: true,
  probe: (args) => ({ script: FILE_FUNCTIONS + fileStateProbe('path', args.path), reads: [args.path] }),
  plan: planStat,
});
