// kubeadm_preflight: read the host facts that decide whether `kubeadm init`
// or `kubeadm join` can succeed, and fail with the fix for each problem
// before kubeadm itself stalls. Minimums follow kubeadm's own preflight
// checks (cmd/kubeadm/app/preflight/checks.go, v1.30): 2 CPUs and 1700 MB
// of RAM on a control-plane node, none on a worker.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface KubeadmPreflightArgs {
  node_role?: 'control-plane' | 'worker';
  container_runtime?: 'containerd' | 'docker';
  kubelet_cgroup_driver?: CgroupDriver;
  min_cpus?: number;
  min_memory_mb?: number;
  containerd_config?: string;
  enforce?: boolean;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    node_role: {
      enum: ['control-plane', 'worker'],
      default: 'control-plane',
      description: 'control-plane checks the CPU and memory minimums of kubeadm init; worker skips them, as kubeadm join does.',
    },
    container_runtime: {
      enum: ['containerd', 'docker'],
      default: 'containerd',
      description: 'Runtime the kubelet talks to: containerd directly, or Docker Engine through cri-dockerd.',
    },
    kubelet_cgroup_driver: {
      enum: ['systemd', 'cgroupfs'],
      default: 'systemd',
      description: "The kubelet's cgroup driver when /var/lib/kubelet/config.yaml does not set one yet (kubeadm 1.22 and later default to systemd).",
    },
    min_cpus: { type: 'integer', minimum: 1, description: 'Minimum CPU count; default 2 on a control-plane node, 1 on a worker.' },
    min_memory_mb: { type: 'integer', minimum: 0, description: 'Minimum MemTotal in MiB; default 1700 on a control-plane node, 0 on a worker.' },
    containerd_config: { type: 'string', pattern: '^/', default: '/etc/containerd/config.toml', description: "containerd's configuration file." },
    enforce: {
      type: 'boolean',
      default: true,
      description: 'false reports the problems in the ok reason instead of failing, for hosts where Kubernetes is not installed yet.',
    },
  },
  additionalProperties: false,
};

const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
const CRI_DOCKERD_SOCKET = '/run/cri-dockerd.sock';

function probePreflight(args: KubeadmPreflightArgs): Probe {
  const config = args.containerd_config ?? '/etc/containerd/config.toml';
  const lines = [
    'printf \'cpus %s\\n\' "$(nproc)"',
    "awk '$1 == \"MemTotal:\" { print \"memtotal_kb\", $2 }' /proc/meminfo",
    "awk 'NR > 1 { print \"swap\", $1 }' /proc/swaps 2>/dev/null",
    "if grep -q '^br_netfilter ' /proc/modules 2>/dev/null || [ -d /sys/module/br_netfilter ]; then echo 'br_netfilter loaded'; else echo 'br_netfilter missing'; fi",
    'for op_p in net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables net/ipv4/ip_forward; do',
    '  if [ -r /proc/sys/$op_p ]; then printf \'sysctl:%s %s\\n\' "$op_p" "$(cat /proc/sys/$op_p)"; else printf \'sysctl:%s missing\\n\' "$op_p"; fi',
    'done',
    "if [ -f /var/lib/kubelet/config.yaml ]; then awk '$1 == \"cgroupDriver:\" { print \"kubelet_driver\", $2 }' /var/lib/kubelet/config.yaml; fi",
  ];
  if ((args.container_runtime ?? 'containerd') === 'containerd') {
    const quoted = `'${config.replace(/'/g, `'"'"'`)}'`;
    lines.push(
      `if [ -f ${quoted} ]; then`,
      '  echo \'containerd_config present\'',
      `  awk '/^[[:space:]]*SystemdCgroup[[:space:]]*=/ { gsub(/[[:space:]]/, ""); sub(/^SystemdCgroup=/, ""); print "systemd_cgroup", $0 }' ${quoted}`,
      `  if grep -Eq '^[[:space:]]*disabled_plugins[[:space:]]*=.*"cri"' ${quoted}; then echo 'cri_disabled yes'; fi`,
      "else echo 'containerd_config absent'; fi",
      `if [ -S ${CONTAINERD_SOCKET} ]; then echo 'socket present'; else echo 'socket absent'; fi`,
    );
  } else {
    lines.push(
      "op_d=$(docker info --format '{{.CgroupDriver}}' 2>/dev/null) || op_d=unreachable",
      'printf \'docker_driver %s\\n\' "${op_d:-unreachable}"',
      `if [ -S ${CRI_DOCKERD_SOCKET} ]; then echo 'socket present'; else echo 'socket absent'; fi`,
    );
  }
  return { script: `${lines.join('\n')}\n`, reads: 'everything' };
}

/** Facts the probe read, parsed. */
export interface PreflightFacts {
  cpus: number;
  memoryMib: number;
  swap: string[];
  brNetfilter: boolean;
  sysctls: Map<string, string>;
  runtimeDriver: CgroupDriver | 'unknown';
  runtimeDetail: string;
  kubeletDriver: CgroupDriver;
  kubeletDriverSource: string;
  criDisabled: boolean;
  socketPresent: boolean;
}

function parseFacts(args: KubeadmPreflightArgs, stdout: string): PreflightFacts {
  const lines = parseProbeLines(stdout);
  const swap = stdout
    .split('\n')
    .filter((line) => line.startsWith('swap '))
    .map((line) => line.slice(5));
  const sysctls = new Map<string, string>();
  for (const [key, value] of lines) if (key.startsWith('sysctl:')) sysctls.set(key.slice(7), value);

  const kubeletConfigured = lines.get('kubelet_driver');
  let kubeletDriver: CgroupDriver = args.kubelet_cgroup_driver ?? 'systemd';
  let kubeletDriverSource = 'kubeadm default';
  if (kubeletConfigured === 'cgroupfs' || kubeletConfigured === 'systemd') {
    kubeletDriver = kubeletConfigured;
    kubeletDriverSource = '/var/lib/kubelet/config.yaml';
  }

  let runtimeDriver: CgroupDriver | 'unknown' = 'unknown';
  let runtimeDetail: string;
  const config = args.containerd_config ?? '/etc/containerd/config.toml';
  if ((args.container_runtime ?? 'containerd') === 'containerd') {
    const value = lines.get('systemd_cgroup');
    if (lines.get('containerd_config') !== 'present') {
      runtimeDriver = 'cgroupfs';
      runtimeDetail = `${config} does not exist, so containerd uses its default cgroupfs driver`;
    } else if (value === 'true') {
      runtimeDriver = 'systemd';
      runtimeDetail = `${config} sets SystemdCgroup = true`;
    } else {
      runtimeDriver = 'cgroupfs';
      runtimeDetail = value === undefined ? `${config} does not set SystemdCgroup (default false)` : `${config} sets SystemdCgroup = ${value}`;
    }
  } else {
    const value = lines.get('docker_driver');
    if (value === 'systemd' || value === 'cgroupfs') {
      runtimeDriver = value;
      runtimeDetail = `docker info reports CgroupDriver ${value}`;
    } else {
      runtimeDetail = 'docker info failed, so the Docker cgroup driver is unknown';
    }
  }
  return {
    cpus: Number(lines.get('cpus')),
    memoryMib: Math.floor(Number(lines.get('memtotal_kb')) / 1024),
    swap,
    // The net.bridge.bridge-nf-* parameters exist only while br_netfilter is active, which also
    // covers kernels with the module built in or without /proc/modules.
    brNetfilter: lines.get('br_netfilter') === 'loaded' || (sysctls.get('net/bridge/bridge-nf-call-iptables') ?? 'missing') !== 'missing',
    sysctls,
    runtimeDriver,
    runtimeDetail,
    kubeletDriver,
    kubeletDriverSource,
    criDisabled: lines.get('cri_disabled') === 'yes',
    socketPresent: lines.get('socket') === 'present',
  };
}

function driverFix(args: KubeadmPreflightArgs, wanted: CgroupDriver): string {
  if ((args.container_runtime ?? 'containerd') === 'docker') {
    return `set "exec-opts": ["native.cgroupdriver=${wanted}"] in /etc/docker/daemon.json, then systemctl daemon-reload and restart docker and kubelet (the docker role does this with docker_cgroup_driver)`;
  }
  const config = args.containerd_config ?? '/etc/containerd/config.toml';
  return `set SystemdCgroup = ${wanted === 'systemd'} under [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options] in ${config}, then restart containerd and kubelet (the kubernetes-common role writes this file)`;
}

/** List the problems of the facts, one sentence each, naming its fix. */
export function preflightProblems(args: KubeadmPreflightArgs, facts: PreflightFacts): string[] {
  const controlPlane = (args.node_role ?? 'control-plane') === 'control-plane';
  const minCpus = args.min_cpus ?? (controlPlane ? 2 : 1);
  const minMemory = args.min_memory_mb ?? (controlPlane ? 1700 : 0);
  const where = controlPlane ? 'a control-plane node' : 'a worker';
  const problems: string[] = [];

  if (facts.cpus < minCpus) {
    problems.push(
      `NumCPU: the host has ${facts.cpus} CPU, kubeadm needs at least ${minCpus} on ${where}. Give it more CPUs: --ignore-preflight-errors=NumCPU only turns the check into a warning, and the control plane and the CNI then starve.`,
    );
  }
  if (facts.memoryMib < minMemory) {
    problems.push(`Mem: the host has ${facts.memoryMib} MiB of RAM (MemTotal), kubeadm needs at least ${minMemory} MiB on ${where}. Give it at least 2 GiB.`);
  }
  if (facts.swap.length > 0) {
    problems.push(
      `Swap: swap is on (${facts.swap.join(', ')} in /proc/swaps) and the kubelet refuses to start with swap on (failSwapOn is true by default). Run swapoff -a and comment out the swap lines of /etc/fstab; the kubernetes-common role does both.`,
    );
  }
  if (!facts.brNetfilter) {
    problems.push(
      'br_netfilter: the module is not loaded, so bridged pod traffic bypasses iptables and kube-proxy Services do not work. Run modprobe br_netfilter and list it in /etc/modules-load.d (the kubernetes-common role does both; on a container, load it in the host kernel).',
    );
  }
  const sysctlNames: Array<[string, string]> = [
    ['net/bridge/bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-iptables'],
    ['net/ipv4/ip_forward', 'net.ipv4.ip_forward'],
  ];
  for (const [path, name] of sysctlNames) {
    const value = facts.sysctls.get(path);
    if (value === undefined || value === 'missing') {
      if (path.startsWith('net/bridge') && !facts.brNetfilter) continue;
      problems.push(`${name}: /proc/sys/${path} is missing. Load br_netfilter, then set ${name} = 1 in /etc/sysctl.d/99-kubernetes-cri.conf and run sysctl --system.`);
    } else if (value.trim() !== '1') {
      problems.push(`${name} is ${value.trim()}, kubeadm needs 1. Set ${name} = 1 in /etc/sysctl.d/99-kubernetes-cri.conf and run sysctl --system (the kubernetes-common role does both).`);
    }
  }
  if (facts.criDisabled) {
    const config = args.containerd_config ?? '/etc/containerd/config.toml';
    problems.push(`CRI: ${config} disables the cri plugin (disabled_plugins contains "cri", as Docker's containerd.io package ships it), so the kubelet cannot use containerd. Remove "cri" from disabled_plugins and restart containerd.`);
  }
  if (facts.runtimeDriver === 'unknown') {
    problems.push(`cgroup driver: ${facts.runtimeDetail}. Start Docker (systemctl start docker) and rerun.`);
  } else if (facts.runtimeDriver !== facts.kubeletDriver) {
    problems.push(
      `cgroup driver: the runtime uses ${facts.runtimeDriver} (${facts.runtimeDetail}) but the kubelet uses ${facts.kubeletDriver} (${facts.kubeletDriverSource}); kubeadm init then stalls at "[kubelet-check]". Fix: ${driverFix(args, facts.kubeletDriver)}.`,
    );
  }
  if (!facts.socketPresent) {
    const docker = (args.container_runtime ?? 'containerd') === 'docker';
    const socket = docker ? CRI_DOCKERD_SOCKET : CONTAINERD_SOCKET;
    problems.push(`runtime: ${socket} does not exist, so ${docker ? 'cri-dockerd' : 'containerd'} is not running. Run systemctl enable --now ${docker ? 'cri-docker.socket' : 'containerd'} and check its journal.`);
  }
  return problems;
}

function describeFacts(facts: PreflightFacts): string {
  const memory = facts.memoryMib >= 1024 ? `${(facts.memoryMib / 1024).toFixed(1)} GiB` : `${facts.memoryMib} MiB`;
  return [
    `${facts.cpus} CPU${facts.cpus === 1 ? '' : 's'}`,
    `${memory} RAM`,
    facts.swap.length === 0 ? 'no swap' : `swap on ${facts.swap.join(', ')}`,
    `runtime and kubelet cgroup drivers ${facts.runtimeDriver}/${facts.kubeletDriver}`,
    `br_netfilter ${facts.brNetfilter ? 'loaded' : 'missing'}`,
  ].join(', ');
}

function planPreflight(args: KubeadmPreflightArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'preflight facts');
  if (failure) return failure;
  const facts = parseFacts(args, probed.stdout);
  if (!Number.isFinite(facts.cpus) || !Number.isFinite(facts.memoryMib)) {
    return { status: 'failed', message: `cannot read the CPU count or MemTotal from the probe output: ${probed.stdout.slice(0, 200)}` };
  }
  const problems = preflightProblems(args, facts);
  const result = {
    cpus: facts.cpus,
    memory_mib: facts.memoryMib,
    swap: facts.swap,
    br_netfilter: facts.brNetfilter,
    runtime_cgroup_driver: facts.runtimeDriver,
    kubelet_cgroup_driver: facts.kubeletDriver,
    problems,
  };
  if (problems.length === 0) return { status: 'ok', reason: `preflight passed: ${describeFacts(facts)}`, result };
  const list = problems.map((problem) => `- ${problem}`).join('\n');
  const count = `${problems.length} preflight problem${problems.length === 1 ? '' : 's'}`;
  if (args.enforce === false) {
    return { status: 'ok', reason: `${count} found but not enforced (enforce: false):\n${list}`, result };
  }
  return { status: 'failed', message: `${count} before kubeadm can run:\n${list}` };
}

export const kubeadmPreflightModule = defineModule<KubeadmPreflightArgs>({
  name: 'kubeadm_preflight',
  description:
    'Check CPU count, memory, swap, br_netfilter, the kernel parameters and the runtime/kubelet cgroup drivers before kubeadm, and fail with the fix for each problem.',
  schema,
  idempotent: true,
  probe: probePreflight,
  plan: planPreflight,
});
