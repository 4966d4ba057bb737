// kubeadm_pod_network_check: read the podSubnet that kubeadm stored in the
// kube-system/kubeadm-config ConfigMap and compare it with the network a
// CNI manifest is about to use. A cluster's pod network cannot change in
// place, so a mismatch fails before the CNI is applied.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';
import { captureCommand, kubeconfigSchema, kubectl, lastLines, readCaptured } from './common.ts';
import { checkPodSubnet } from './kubeadm-init.ts';

export interface PodNetworkCheckArgs {
  pod_network_cidr: string;
  kubeconfig?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    pod_network_cidr: { type: 'string', minLength: 1, description: 'Network the CNI will use, e.g. the Network of flannel\'s net-conf.json.' },
    kubeconfig: kubeconfigSchema,
  },
  required: ['pod_network_cidr'],
  additionalProperties: false,
};

function probePodNetwork(args: PodNetworkCheckArgs): Probe {
  const command = `${kubectl(args.kubeconfig)} --request-timeout=20s -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'`;
  return { script: captureCommand('config', command), reads: 'everything' };
}

function planPodNetwork(args: PodNetworkCheckArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'kubeadm-config');
  if (failure) return failure;
  const config = readCaptured(parseProbeLines(probed.stdout), 'config');
  if (config === undefined || config.exitCode !== 0) {
    const detail = config === undefined ? 'no answer' : lastLines(config.stderr || config.stdout, 3);
    return { status: 'failed', message: `reading kube-system/kubeadm-config failed: ${detail}. Run this on an initialised control plane (kubeadm_init first).` };
  }
  const check = checkPodSubnet(config.stdout, args.pod_network_cidr, 'kube-system/kubeadm-config');
  if ('failed' in check) return { status: 'failed', message: check.failed };
  return { status: 'ok', reason: `the cluster's ${check.ok}` };
}

export const podNetworkCheckModule = defineModule<PodNetworkCheckArgs>({
  name: 'kubeadm_pod_network_check',
  description: "Fail when the cluster's podSubnet (kube-system/kubeadm-config) differs from the pod network a CNI is about to use.",
  schema,
  idempotent: true,
  probe: probePodNetwork,
  plan: planPodNetwork,
});
