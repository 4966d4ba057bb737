// kubeconfig_copy: give a user the admin kubeconfig (~/.kube/config), kept
// equal to /etc/kubernetes/admin.conf when kubeadm renews its certificates.
// Only the files' sha256 travel in the probe: the content is a credential.

import { posix } from 'node:path';

import { defineModule } from '../define.ts';
import { groupSchema, ownerSchema, remotePath } from '../schema-parts.ts';
import { FILE_FUNCTIONS, fileStateProbe, ownerMatches, parseFileState, parseOrFail, parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';
import { ADMIN_KUBECONFIG } from './common.ts';

export interface KubeconfigCopyArgs {
  src?: string;
  dest: string;
  owner: string;
  group?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    src: { ...remotePath('Kubeconfig to copy.'), default: ADMIN_KUBECONFIG },
    dest: remotePath('Where the user reads it, e.g. /home/admin/.kube/config.'),
    owner: ownerSchema,
    group: groupSchema,
  },
  required: ['dest', 'owner'],
  additionalProperties: false,
};

function probeKubeconfig(args: KubeconfigCopyArgs): Probe {
  const src = args.src ?? ADMIN_KUBECONFIG;
  const script = FILE_FUNCTIONS + fileStateProbe('src', src) + fileStateProbe('dest', args.dest) + fileStateProbe('dir', posix.dirname(args.dest));
  return { script, reads: [src, args.dest] };
}

function planKubeconfig(args: KubeconfigCopyArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, args.dest);
  if (failure) return failure;
  const src = args.src ?? ADMIN_KUBECONFIG;
  const lines = parseProbeLines(probed.stdout);
  const states = parseOrFail(args.dest, () => ({
    src: parseFileState(lines.get('src')),
    dest: parseFileState(lines.get('dest')),
    dir: parseFileState(lines.get('dir')),
  }));
  if ('status' in states) return states;
  if (states.src.type !== 'file') return { status: 'failed', message: `${src} does not exist (or is not a file): run kubeadm_init first.` };
  if (states.src.sha256 === undefined) return { status: 'failed', message: `cannot read ${src} (permission denied). Run the task with become: true.` };
  const group = args.group ?? args.owner;
  const dest = states.dest;
  const same =
    dest.type === 'file' &&
    dest.sha256 === states.src.sha256 &&
    dest.mode === '0600' &&
    ownerMatches(args.owner, dest.uid, dest.owner) &&
    ownerMatches(group, dest.gid, dest.group);
  if (same) return { status: 'ok', reason: `${args.dest} equals ${src}, mode 0600, owner ${args.owner}:${group}` };

  const directory = posix.dirname(args.dest);
  const commands: string[] = [];
  if (states.dir.type === 'absent') commands.push(`install -d -m 0700 -o ${shellQuote(args.owner)} -g ${shellQuote(group)} ${shellQuote(directory)}`);
  commands.push(`install -m 0600 -o ${shellQuote(args.owner)} -g ${shellQuote(group)} ${shellQuote(src)} ${shellQuote(args.dest)}`);
  const script = `${commands.join('\n')}\n`;
  return {
    status: 'change',
    summary: dest.type === 'absent' ? `copy ${src} to ${args.dest}` : `update ${args.dest} from ${src}`,
    diff: `${args.dest}: kubeconfig content not shown (it is a credential)\n`,
    steps: [{ description: `install ${args.dest}`, script }],
    affects: [args.dest],
  };
}

export const kubeconfigCopyModule = defineModule<KubeconfigCopyArgs>({
  name: 'kubeconfig_copy',
  description: "Copy the admin kubeconfig to a user's ~/.kube/config (mode 0600) and keep it equal to the source.",
  schema,
  idempotent: true,
  probe: probeKubeconfig,
  plan: planKubeconfig,
});
