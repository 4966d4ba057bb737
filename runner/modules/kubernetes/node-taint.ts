// k8s_node_taint: add or remove a taint of a node, e.g. remove
// node-role.kubernetes.io/control-plane:NoSchedule so a one-node cluster
// runs workloads on its control plane. `kubectl taint` itself fails when
// the taint is already gone, so the probe reads the node's taints first.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';
import { captureCommand, kubeconfigSchema, kubectl, lastLines, readCaptured } from './common.ts';

export interface NodeTaintArgs {
  node: string;
  key: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  value?: string;
  state?: 'present' | 'absent';
  kubeconfig?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    node: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: 'Node name, as kubectl get nodes lists it.' },
    key: { type: 'string', pattern: '^[A-Za-z0-9./_-]+$', description: 'Taint key, e.g. node-role.kubernetes.io/control-plane.' },
    effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], default: 'NoSchedule', description: 'Taint effect.' },
    value: { type: 'string', pattern: '^[A-Za-z0-9._-]*$', default: '', description: 'Taint value (state present only).' },
    state: { enum: ['present', 'absent'], default: 'present', description: 'Whether the node has the taint.' },
    kubeconfig: kubeconfigSchema,
  },
  required: ['node', 'key'],
  additionalProperties: false,
};

function probeTaint(args: NodeTaintArgs): Probe {
  const jsonpath = shellQuote('{range .spec.taints[*]}{.key}={.value}:{.effect}{"\\n"}{end}');
  return { script: captureCommand('taints', `${kubectl(args.kubeconfig)} --request-timeout=20s get node ${shellQuote(args.node)} -o jsonpath=${jsonpath}`), reads: 'everything' };
}

function planTaint(args: NodeTaintArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, `node ${args.node}`);
  if (failure) return failure;
  const captured = readCaptured(parseProbeLines(probed.stdout), 'taints');
  if (captured === undefined || captured.exitCode !== 0) {
    return { status: 'failed', message: `reading the taints of node ${args.node} failed: ${lastLines(captured?.stderr ?? 'no answer', 3)}` };
  }
  const effect = args.effect ?? 'NoSchedule';
  const taints = captured.stdout.split('\n').filter((line) => line.trim() !== '');
  const matching = taints.filter((line) => line.startsWith(`${args.key}=`) && line.endsWith(`:${effect}`));
  const spec = `${args.key}:${effect}`;
  if ((args.state ?? 'present') === 'absent') {
    if (matching.length === 0) return { status: 'ok', reason: `node ${args.node} has no taint ${spec}` };
    return {
      status: 'change',
      summary: `remove taint ${spec} from node ${args.node}`,
      steps: [{ description: `kubectl taint ${args.node} ${spec}-`, script: `${kubectl(args.kubeconfig)} taint nodes ${shellQuote(args.node)} ${shellQuote(`${spec}-`)}\n` }],
      affects: [],
    };
  }
  const wanted = `${args.key}=${args.value ?? ''}:${effect}`;
  if (matching.includes(wanted)) return { status: 'ok', reason: `node ${args.node} already has taint ${wanted}` };
  const taint = args.value ? `${args.key}=${args.value}:${effect}` : spec;
  return {
    status: 'change',
    summary: `taint node ${args.node} with ${taint}`,
    steps: [{ description: `kubectl taint ${args.node} ${taint}`, script: `${kubectl(args.kubeconfig)} taint nodes ${shellQuote(args.node)} ${shellQuote(taint)} --overwrite\n` }],
    affects: [],
  };
}

export const nodeTaintModule = defineModule<NodeTaintArgs>({
  name: 'k8s_node_taint',
  description: "Add or remove a node's taint with kubectl, after reading the node's taints so a rerun changes nothing.",
  schema,
  idempotent: true,
  probe: probeTaint,
  plan: planTaint,
});
