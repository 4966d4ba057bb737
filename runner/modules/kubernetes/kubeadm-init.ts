// kubeadm_init: initialise the control plane once. On a node with
// /etc/kubernetes/admin.conf only the pod network is checked. A node that
// kubeadm left half-done is reported, never reset, because `kubeadm reset`
// wipes the cluster's state.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';
import {
  ADMIN_KUBECONFIG,
  captureCommand,
  KUBELET_KUBECONFIG,
  kubectl,
  lastLines,
  parseCidr,
  podSubnetOf,
  readCaptured,
  redactTokens,
  subnetSet,
} from './common.ts';

export interface KubeadmInitArgs {
  advertise_address: string;
  pod_network_cidr: string;
  cert_extra_sans?: string[];
  service_cidr?: string;
  kubernetes_version?: string;
  control_plane_endpoint?: string;
  cri_socket?: string;
  node_name?: string;
  ignore_preflight_errors?: string[];
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    advertise_address: {
      type: 'string',
      pattern: '^[0-9A-Fa-f.:]+$',
      description: 'IP address the API server advertises (--apiserver-advertise-address).',
    },
    pod_network_cidr: {
      type: 'string',
      minLength: 1,
      description: 'Pod network (--pod-network-cidr); must be the Network of the CNI, e.g. flannel\'s net-conf.json.',
    },
    cert_extra_sans: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9.:*-]+$' },
      default: [],
      description: 'Extra names and addresses in the API server certificate (--apiserver-cert-extra-sans).',
    },
    service_cidr: { type: 'string', description: 'Service network (--service-cidr); empty or unset keeps kubeadm\'s 10.96.0.0/12.' },
    kubernetes_version: {
      type: 'string',
      pattern: '^(v?\\d+\\.\\d+\\.\\d+)?$',
      description: 'Control-plane version (--kubernetes-version), e.g. v1.30.2. Empty or unset lets kubeadm use its own version.',
    },
    control_plane_endpoint: { type: 'string', description: 'Shared endpoint of the control plane (--control-plane-endpoint), HOST:PORT; empty for none.' },
    cri_socket: { type: 'string', pattern: '^(unix://\\S+)?$', description: 'Runtime socket (--cri-socket), e.g. unix:///var/run/cri-dockerd.sock; empty lets kubeadm find it.' },
    node_name: { type: 'string', pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$', description: 'Node name (--node-name); empty or unset is the host name.' },
    ignore_preflight_errors: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
      default: [],
      description: 'kubeadm preflight checks to turn into warnings (--ignore-preflight-errors), e.g. NumCPU.',
    },
  },
  required: ['advertise_address', 'pod_network_cidr'],
  additionalProperties: false,
};

/** Text of the success line that `kubeadm init` prints (checked in v1.30). */
export const INIT_SUCCESS = 'Your Kubernetes control-plane has initialized successfully!';

function probeInit(): Probe {
  const script = [
    'if command -v kubeadm >/dev/null 2>&1; then echo \'kubeadm present\'; else echo \'kubeadm absent\'; fi',
    `if [ -f ${ADMIN_KUBECONFIG} ]; then`,
    "  echo 'admin present'",
    captureCommand('config', `${kubectl(ADMIN_KUBECONFIG)} --request-timeout=20s -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'`),
    "else echo 'admin absent'; fi",
    "if [ -e /etc/kubernetes/manifests/kube-apiserver.yaml ]; then echo 'apiserver_manifest present'; fi",
    `if [ -f ${KUBELET_KUBECONFIG} ]; then echo 'kubelet_conf present'; fi`,
    '',
  ].join('\n');
  return { script, reads: ['/etc/kubernetes'] };
}

/** Build the `kubeadm init` command line, quoted for the shell. */
export function initCommand(args: KubeadmInitArgs): string {
  const words = [
    'kubeadm',
    'init',
    `--apiserver-advertise-address=${args.advertise_address}`,
    `--pod-network-cidr=${args.pod_network_cidr}`,
  ];
  const sans = args.cert_extra_sans ?? [];
  if (sans.length > 0) words.push(`--apiserver-cert-extra-sans=${sans.join(',')}`);
  // Optional flags are left out when unset or empty, so roles can pass "" for "kubeadm's default".
  const optional: Array<[string, string | undefined]> = [
    ['--service-cidr', args.service_cidr],
    ['--kubernetes-version', args.kubernetes_version],
    ['--control-plane-endpoint', args.control_plane_endpoint],
    ['--cri-socket', args.cri_socket],
    ['--node-name', args.node_name],
  ];
  for (const [flag, value] of optional) if (value !== undefined && value !== '') words.push(`${flag}=${value}`);
  const ignored = args.ignore_preflight_errors ?? [];
  if (ignored.length > 0) words.push(`--ignore-preflight-errors=${ignored.join(',')}`);
  // The default bootstrap token is not printed: workers get a fresh one from kubeadm_join_command.
  words.push('--skip-token-print');
  return words.map(shellQuote).join(' ');
}

/** Hints for the failures of `kubeadm init` and `kubeadm join` that have a known fix. */
export function kubeadmFailureHints(output: string): string[] {
  const hints: string[] = [];
  const errors = [...output.matchAll(/\[ERROR ([^\]]+)\]: ([^\n]*)/g)].map((match) => `[ERROR ${match[1]}]: ${match[2]}`);
  if (errors.length > 0) hints.push(`kubeadm preflight failed:\n${errors.join('\n')}\nFix each check (the kubeadm_preflight task names the fixes), or add it to ignore_preflight_errors.`);
  if (/\[kubelet-check\] (It seems like the kubelet isn't running or healthy|The kubelet is not healthy after)/.test(output)) {
    hints.push(
      'The kubelet did not become healthy. The usual cause is a cgroup driver mismatch: containerd needs SystemdCgroup = true (or Docker "native.cgroupdriver=systemd") to match the kubelet\'s systemd driver. See journalctl -u kubelet.',
    );
  }
  if (/could not find a JWS signature in the cluster-info ConfigMap for token ID/.test(output)) {
    hints.push(
      'The bootstrap token was rejected: it expired or was deleted. Rerun the playbook: the master mints a fresh token on every run (kubeadm_join_command) and the worker joins with it in the same run.',
    );
  }
  if (/failed to request the cluster-info ConfigMap|connect: connection refused|i\/o timeout|no route to host/.test(output)) {
    hints.push('The API server could not be reached from this node. Check that port 6443 of the master is reachable from the worker and that the master\'s API server runs (crictl ps on the master).');
  }
  if (/x509: certificate|cluster CA found in cluster-info ConfigMap is invalid|none of the public keys .* are pinned/.test(output)) {
    hints.push('The discovery CA hash does not match the cluster CA: the join command comes from another cluster or an old run. Rerun so the master prints a fresh join command.');
  }
  return hints;
}

function interpretInit(result: RunResult): Outcome {
  const stdout = redactTokens(result.stdout.toString('utf8'));
  const stderr = redactTokens(result.stderr.toString('utf8'));
  const fields = { rc: result.exitCode, stdout, stderr };
  if (result.exitCode === 0 && stdout.includes(INIT_SUCCESS)) return { changed: true, result: fields };
  const hints = kubeadmFailureHints(`${stdout}\n${stderr}`);
  const detail = hints.length > 0 ? hints.join('\n') : lastLines(`${stdout}\n${stderr}`, 12);
  const what = result.exitCode === 0 ? `kubeadm init exited 0 without printing "${INIT_SUCCESS}"` : `kubeadm init failed (exit ${result.exitCode})`;
  return { changed: true, failed: `${what}: ${detail}`, result: fields };
}

/** Compare the cluster's podSubnet with the wanted pod network; a failed plan when they differ. */
export function checkPodSubnet(clusterConfiguration: string, wanted: string, source: string): { ok: string } | { failed: string } {
  const subnet = podSubnetOf(clusterConfiguration);
  if (subnet === undefined) return { failed: `${source} did not return a ClusterConfiguration document, so the pod network cannot be checked: ${lastLines(clusterConfiguration, 3)}` };
  if (subnet === null) {
    return {
      failed:
        `the cluster was initialised without --pod-network-cidr (no networking.podSubnet in ${source}), so nodes get no pod CIDR and flannel cannot start. ` +
        'The pod network of an existing cluster cannot be changed in place: rebuild it with kubeadm reset by hand (onionplay never runs it), then rerun.',
    };
  }
  if (subnetSet(subnet).join(',') !== subnetSet(wanted).join(',')) {
    return {
      failed:
        `pod network mismatch: the cluster's podSubnet is ${subnet} (${source}) but pod_network_cidr is ${wanted}, which flannel's net-conf.json would use, so pods would get addresses outside the cluster's range. ` +
        `Set pod_network_cidr: ${subnet} in the inventory, or rebuild the cluster (kubeadm reset by hand, then rerun).`,
    };
  }
  return { ok: `podSubnet ${subnet} matches pod_network_cidr` };
}

function planInit(args: KubeadmInitArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the control-plane state');
  if (failure) return failure;
  if (parseCidr(args.pod_network_cidr) === undefined && args.pod_network_cidr.split(',').some((part) => parseCidr(part) === undefined)) {
    return { status: 'failed', message: `pod_network_cidr ${JSON.stringify(args.pod_network_cidr)} is not a CIDR such as 10.244.0.0/16.` };
  }
  const lines = parseProbeLines(probed.stdout);

  if (lines.get('admin') === 'present') {
    const config = readCaptured(lines, 'config');
    if (config === undefined || config.exitCode !== 0) {
      const detail = config === undefined ? 'no answer' : lastLines(config.stderr || config.stdout, 3);
      return {
        status: 'failed',
        message: `${ADMIN_KUBECONFIG} exists but the API server did not return the kubeadm-config ConfigMap: ${detail}. Check systemctl status kubelet and crictl ps on this node.`,
      };
    }
    const check = checkPodSubnet(config.stdout, args.pod_network_cidr, 'kube-system/kubeadm-config');
    if ('failed' in check) return { status: 'failed', message: check.failed };
    return { status: 'ok', reason: `control plane already initialised (${ADMIN_KUBECONFIG} exists), ${check.ok}` };
  }

  if (lines.get('apiserver_manifest') === 'present') {
    return {
      status: 'failed',
      message:
        `a previous kubeadm init stopped half way: /etc/kubernetes/manifests/kube-apiserver.yaml exists but ${ADMIN_KUBECONFIG} does not. ` +
        'Read journalctl -u kubelet for the cause, run kubeadm reset by hand if the node holds nothing you need (onionplay never runs it), then rerun.',
    };
  }
  if (lines.get('kubelet_conf') === 'present') {
    return {
      status: 'failed',
      message: `this node already joined a cluster as a worker (${KUBELET_KUBECONFIG} exists without ${ADMIN_KUBECONFIG}). Move it from the masters group to workers, or reset it by hand.`,
    };
  }
  if (lines.get('kubeadm') !== 'present') {
    return { status: 'failed', message: 'kubeadm is not installed on this host. Install kubelet, kubeadm and kubectl first (the kubernetes-common role).' };
  }

  const command = initCommand(args);
  return {
    status: 'change',
    summary: `kubeadm init (advertise ${args.advertise_address}, pod network ${args.pod_network_cidr})`,
    diff: `${command}\n`,
    steps: [{ description: 'kubeadm init', script: `${command}\n` }],
    affects: 'everything',
    interpret: interpretInit,
  };
}

export const kubeadmInitModule = defineModule<KubeadmInitArgs>({
  name: 'kubeadm_init',
  description:
    'Run kubeadm init once, when /etc/kubernetes/admin.conf is absent; on an initialised node check the cluster podSubnet against pod_network_cidr. Never runs kubeadm reset.',
  schema,
  idempotent: true,
  probe: probeInit,
  plan: planInit,
});
