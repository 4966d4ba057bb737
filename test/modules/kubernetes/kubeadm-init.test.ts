import test from 'ava';

import { kubeadmInitModule } from '../../../runner/modules/kubernetes/kubeadm-init.ts';
import { podNetworkCheckModule } from '../../../runner/modules/kubernetes/pod-network.ts';
import type { Outcome } from '../../../runner/modules/types.ts';
import { checkRow, planRow, type PlanRow } from '../table.ts';
import { captured, clusterConfiguration, INIT_KUBELET_UNHEALTHY, INIT_PREFLIGHT_FAILURE, INIT_SUCCESS_OUTPUT, TOKEN } from './outputs.ts';

const args = {
  advertise_address: '10.200.0.11',
  pod_network_cidr: '10.244.0.0/16',
  cert_extra_sans: ['10.200.0.11', 'obelix'],
};

const FRESH = 'kubeadm present\nadmin absent\n';
const INITIALISED = (podSubnet: string | undefined): string =>
  `kubeadm present\nadmin present\n${captured('config', 0, clusterConfiguration(podSubnet))}kubelet_conf present\napiserver_manifest present\n`;

const rows: PlanRow[] = [
  {
    name: 'fresh node runs kubeadm init',
    module: kubeadmInitModule,
    args,
    stdout: FRESH,
    expect: {
      status: 'change',
      summary: 'kubeadm init (advertise 10.200.0.11, pod network 10.244.0.0/16)',
      affects: 'everything',
      steps: [
        'kubeadm init',
        '--apiserver-advertise-address=10.200.0.11',
        '--pod-network-cidr=10.244.0.0/16',
        '--apiserver-cert-extra-sans=10.200.0.11,obelix',
        '--skip-token-print',
      ],
      notInSteps: ['reset', '--ignore-preflight-errors'],
    },
  },
  {
    name: 'fresh node with every option',
    module: kubeadmInitModule,
    args: {
      ...args,
      service_cidr: '10.96.0.0/12',
      kubernetes_version: 'v1.30.2',
      cri_socket: 'unix:///var/run/cri-dockerd.sock',
      node_name: 'obelix',
      ignore_preflight_errors: ['NumCPU'],
    },
    stdout: FRESH,
    expect: {
      status: 'change',
      steps: [
        '--service-cidr=10.96.0.0/12',
        '--kubernetes-version=v1.30.2',
        '--cri-socket=unix:///var/run/cri-dockerd.sock',
        '--node-name=obelix',
        '--ignore-preflight-errors=NumCPU',
      ],
    },
  },
  {
    name: 'initialised master with the same pod network',
    module: kubeadmInitModule,
    args,
    stdout: INITIALISED('10.244.0.0/16'),
    expect: {
      status: 'ok',
      reason: 'control plane already initialised (/etc/kubernetes/admin.conf exists), podSubnet 10.244.0.0/16 matches pod_network_cidr',
    },
  },
  {
    name: 'CIDR mismatch between kubeadm-config and pod_network_cidr',
    module: kubeadmInitModule,
    args: { ...args, pod_network_cidr: '10.245.0.0/16' },
    stdout: INITIALISED('10.244.0.0/16'),
    expect: {
      status: 'failed',
      message: /^pod network mismatch: the cluster's podSubnet is 10\.244\.0\.0\/16 \(kube-system\/kubeadm-config\) but pod_network_cidr is 10\.245\.0\.0\/16.*Set pod_network_cidr: 10\.244\.0\.0\/16/,
    },
  },
  {
    name: 'cluster initialised without a pod network',
    module: kubeadmInitModule,
    args,
    stdout: INITIALISED(undefined),
    expect: { status: 'failed', message: /initialised without --pod-network-cidr/ },
  },
  {
    name: 'API server down on an initialised master',
    module: kubeadmInitModule,
    args,
    stdout: `kubeadm present\nadmin present\n${captured('config', 1, '', 'The connection to the server 10.200.0.11:6443 was refused - did you specify the right host or port?')}`,
    expect: { status: 'failed', message: /did not return the kubeadm-config ConfigMap: The connection to the server 10\.200\.0\.11:6443 was refused/ },
  },
  {
    name: 'half-done init is reported, not reset',
    module: kubeadmInitModule,
    args,
    stdout: 'kubeadm present\nadmin absent\napiserver_manifest present\n',
    expect: { status: 'failed', message: /stopped half way.*kubeadm reset by hand.*never runs it/ },
  },
  {
    name: 'joined worker in the masters group',
    module: kubeadmInitModule,
    args,
    stdout: 'kubeadm present\nadmin absent\nkubelet_conf present\n',
    expect: { status: 'failed', message: /already joined a cluster as a worker/ },
  },
  {
    name: 'kubeadm missing',
    module: kubeadmInitModule,
    args,
    stdout: 'kubeadm absent\nadmin absent\n',
    expect: { status: 'failed', message: /kubeadm is not installed/ },
  },
  {
    name: 'invalid pod network',
    module: kubeadmInitModule,
    args: { ...args, pod_network_cidr: '10.244.0.0' },
    stdout: FRESH,
    expect: { status: 'failed', message: /is not a CIDR/ },
  },
];

for (const row of rows) test(`kubeadm_init: ${row.name}`, (t) => checkRow(t, row));

function interpret(stdout: string, stderr: string, exitCode: number): Outcome {
  const plan = planRow(rows[0] as PlanRow);
  if (plan.status !== 'change' || plan.interpret === undefined) throw new Error('expected a change plan with interpret');
  return plan.interpret({ stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode, timedOut: false });
}

test('kubeadm_init: success output is a change without the token', (t) => {
  const outcome = interpret(INIT_SUCCESS_OUTPUT, '', 0);
  t.true(outcome.changed);
  t.is(outcome.failed, undefined);
  t.false(JSON.stringify(outcome.result).includes(TOKEN), 'the bootstrap token is in the result');
  t.regex(String(outcome.result?.stdout), /--token <token>/);
});

test('kubeadm_init: preflight errors are listed', (t) => {
  const outcome = interpret('[init] Using Kubernetes version: v1.30.2\n[preflight] Running pre-flight checks\n', INIT_PREFLIGHT_FAILURE, 1);
  t.regex(outcome.failed ?? '', /^kubeadm init failed \(exit 1\): kubeadm preflight failed:/);
  t.regex(outcome.failed ?? '', /\[ERROR NumCPU\]: the number of available CPUs 1 is less than the required 2/);
  t.regex(outcome.failed ?? '', /\[ERROR Mem\]: the system RAM \(975 MB\) is less than the minimum 1700 MB/);
});

test('kubeadm_init: unhealthy kubelet names the cgroup driver', (t) => {
  const outcome = interpret(INIT_KUBELET_UNHEALTHY, 'error execution phase wait-control-plane: could not initialize a Kubernetes cluster', 1);
  t.regex(outcome.failed ?? '', /cgroup driver mismatch: containerd needs SystemdCgroup = true/);
});

test('kubeadm_init: exit 0 without the success line fails', (t) => {
  const outcome = interpret('[init] Using Kubernetes version: v1.30.2\n', '', 0);
  t.regex(outcome.failed ?? '', /exited 0 without printing "Your Kubernetes control-plane has initialized successfully!"/);
});

const networkRows: PlanRow[] = [
  {
    name: 'flannel network equals podSubnet',
    module: podNetworkCheckModule,
    args: { pod_network_cidr: '10.244.0.0/16' },
    stdout: captured('config', 0, clusterConfiguration('10.244.0.0/16')),
    expect: { status: 'ok', reason: "the cluster's podSubnet 10.244.0.0/16 matches pod_network_cidr" },
  },
  {
    name: 'flannel network differs from podSubnet',
    module: podNetworkCheckModule,
    args: { pod_network_cidr: '10.244.0.0/16' },
    stdout: captured('config', 0, clusterConfiguration('192.168.0.0/16')),
    expect: { status: 'failed', message: /^pod network mismatch: the cluster's podSubnet is 192\.168\.0\.0\/16 .* but pod_network_cidr is 10\.244\.0\.0\/16, which flannel's net-conf\.json would use/ },
  },
  {
    name: 'dual-stack podSubnet in another order',
    module: podNetworkCheckModule,
    args: { pod_network_cidr: 'fd00:10:244::/56,10.244.0.0/16' },
    stdout: captured('config', 0, clusterConfiguration('10.244.0.0/16,fd00:10:244::/56')),
    expect: { status: 'ok', reason: "the cluster's podSubnet 10.244.0.0/16,fd00:10:244::/56 matches pod_network_cidr" },
  },
  {
    name: 'no cluster yet',
    module: podNetworkCheckModule,
    args: { pod_network_cidr: '10.244.0.0/16' },
    stdout: captured('config', 1, '', 'error: stat /etc/kubernetes/admin.conf: no such file or directory'),
    expect: { status: 'failed', message: /^reading kube-system\/kubeadm-config failed: error: stat \/etc\/kubernetes\/admin\.conf/ },
  },
];

for (const row of networkRows) test(`kubeadm_pod_network_check: ${row.name}`, (t) => checkRow(t, row));
