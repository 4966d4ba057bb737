// cni_config_check: report CNI configuration files that belong to another
// network plugin. The kubelet's runtime loads the first configuration in
// /etc/cni/net.d in lexical order, so a leftover calico or bridge file
// silently takes over from flannel (the failure of the source guide's
// calico attempt, in reverse).

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';

export interface CniConfigCheckArgs {
  dir?: string;
  expected: string[];
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    dir: { type: 'string', pattern: '^/', default: '/etc/cni/net.d', description: 'CNI configuration folder. Absolute path on the host.' },
    expected: {
      type: 'array',
      items: { type: 'string', pattern: '^[^/]+$' },
      minItems: 1,
      description: 'File names the wanted CNI writes there, e.g. 10-flannel.conflist.',
    },
  },
  required: ['expected'],
  additionalProperties: false,
};

/** Network plugins recognised by the names of the files they leave in /etc/cni/net.d. */
const KNOWN_PLUGINS: Array<[RegExp, string]> = [
  [/calico/, 'Calico'],
  [/canal/, 'Canal'],
  [/cilium/, 'Cilium'],
  [/weave/, 'Weave Net'],
  [/flannel/, 'flannel'],
  [/podman/, 'Podman'],
  [/containerd-net/, "containerd's example bridge"],
  [/bridge/, 'a bridge network'],
  [/kube-router/, 'kube-router'],
  [/antrea/, 'Antrea'],
];

function pluginOf(file: string): string | undefined {
  return KNOWN_PLUGINS.find(([pattern]) => pattern.test(file))?.[1];
}

function probeCni(args: CniConfigCheckArgs): Probe {
  const dir = shellQuote(args.dir ?? '/etc/cni/net.d');
  const script = [
    `if [ -d ${dir} ]; then`,
    "  echo 'dir present'",
    `  for op_f in ${dir}/* ${dir}/.[!.]*; do if [ -e "$op_f" ]; then printf 'file:%s\\n' "\${op_f##*/}"; fi; done`,
    "else echo 'dir absent'; fi",
    '',
  ].join('\n');
  return { script, reads: [args.dir ?? '/etc/cni/net.d'] };
}

function planCni(args: CniConfigCheckArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the CNI configuration folder');
  if (failure) return failure;
  const dir = args.dir ?? '/etc/cni/net.d';
  const lines = parseProbeLines(probed.stdout);
  if (lines.get('dir') !== 'present') return { status: 'ok', reason: `${dir} does not exist yet, so no other CNI is configured` };
  const files = [...lines.keys()].filter((key) => key.startsWith('file:')).map((key) => key.slice(5)).sort();
  const others = files.filter((file) => !args.expected.includes(file));
  if (others.length === 0) {
    return { status: 'ok', reason: files.length === 0 ? `${dir} is empty` : `${dir} holds only ${files.join(', ')}` };
  }
  const described = others.map((file) => {
    const plugin = pluginOf(file);
    return plugin === undefined ? file : `${file} (${plugin})`;
  });
  return {
    status: 'failed',
    message:
      `conflicting CNI configuration in ${dir}: ${described.join(', ')}; only ${args.expected.join(', ')} should be there. ` +
      'The runtime uses the first file in name order, so pods would be wired by the other plugin. ' +
      `Remove that plugin's DaemonSet (kubectl delete -f its manifest), delete these files, restart kubelet, then rerun.`,
  };
}

export const cniConfigCheckModule = defineModule<CniConfigCheckArgs>({
  name: 'cni_config_check',
  description: 'Fail, naming the files, when /etc/cni/net.d contains configuration files of another network plugin.',
  schema,
  idempotent: true,
  probe: probeCni,
  plan: planCni,
});
