import test from 'ava';

import { kubeadmPreflightModule } from '../../../runner/modules/kubernetes/kubeadm-preflight.ts';
import { checkRow, type PlanRow } from '../table.ts';

interface Host {
  cpus?: number;
  memKb?: number;
  swap?: string[];
  brNetfilter?: boolean;
  sysctls?: Record<string, string>;
  kubeletDriver?: string;
  containerd?: 'absent' | { systemdCgroup?: string; criDisabled?: boolean };
  docker?: string;
  socket?: boolean;
}

/** Probe output of kubeadm_preflight for a host; the default is a healthy 2-CPU, 4 GiB node. */
function probe(host: Host = {}): string {
  const lines = [`cpus ${host.cpus ?? 2}`, `memtotal_kb ${host.memKb ?? 4_026_532}`];
  for (const device of host.swap ?? []) lines.push(`swap ${device}`);
  lines.push(`br_netfilter ${host.brNetfilter === false ? 'missing' : 'loaded'}`);
  const sysctls = {
    'net/bridge/bridge-nf-call-iptables': host.brNetfilter === false ? 'missing' : '1',
    'net/bridge/bridge-nf-call-ip6tables': host.brNetfilter === false ? 'missing' : '1',
    'net/ipv4/ip_forward': '1',
    ...host.sysctls,
  };
  for (const [path, value] of Object.entries(sysctls)) lines.push(`sysctl:${path} ${value}`);
  if (host.kubeletDriver !== undefined) lines.push(`kubelet_driver ${host.kubeletDriver}`);
  if (host.docker !== undefined) lines.push(`docker_driver ${host.docker}`);
  else if (host.containerd === 'absent') lines.push('containerd_config absent');
  else {
    lines.push('containerd_config present');
    const value = host.containerd?.systemdCgroup ?? 'true';
    if (value !== '') lines.push(`systemd_cgroup ${value}`);
    if (host.containerd?.criDisabled) lines.push('cri_disabled yes');
  }
  lines.push(`socket ${host.socket === false ? 'absent' : 'present'}`);
  return `${lines.join('\n')}\n`;
}

const rows: PlanRow[] = [
  {
    name: 'healthy control-plane node',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe(),
    expect: {
      status: 'ok',
      reason: 'preflight passed: 2 CPUs, 3.8 GiB RAM, no swap, runtime and kubelet cgroup drivers systemd/systemd, br_netfilter loaded',
    },
  },
  {
    name: '1 CPU on a control-plane node',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ cpus: 1 }),
    expect: { status: 'failed', message: /^1 preflight problem before kubeadm can run:\n- NumCPU: the host has 1 CPU, kubeadm needs at least 2 on a control-plane node\. Give it more CPUs/ },
  },
  {
    name: '1 CPU on a worker is fine',
    module: kubeadmPreflightModule,
    args: { node_role: 'worker' },
    stdout: probe({ cpus: 1, memKb: 1_000_000 }),
    expect: { status: 'ok', reason: 'preflight passed: 1 CPU, 976 MiB RAM, no swap, runtime and kubelet cgroup drivers systemd/systemd, br_netfilter loaded' },
  },
  {
    name: '1 GiB of memory',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ memKb: 1_016_000 }),
    expect: { status: 'failed', message: /- Mem: the host has 992 MiB of RAM \(MemTotal\), kubeadm needs at least 1700 MiB on a control-plane node\. Give it at least 2 GiB\./ },
  },
  {
    name: 'swap on',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ swap: ['/swapfile', '/dev/vda3'] }),
    expect: { status: 'failed', message: /- Swap: swap is on \(\/swapfile, \/dev\/vda3 in \/proc\/swaps\).*Run swapoff -a and comment out the swap lines of \/etc\/fstab/ },
  },
  {
    name: 'containerd on cgroupfs, kubelet on systemd',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ containerd: { systemdCgroup: 'false' } }),
    expect: {
      status: 'failed',
      message:
        /- cgroup driver: the runtime uses cgroupfs \(\/etc\/containerd\/config\.toml sets SystemdCgroup = false\) but the kubelet uses systemd \(kubeadm default\); kubeadm init then stalls at "\[kubelet-check\]"\. Fix: set SystemdCgroup = true/,
    },
  },
  {
    name: 'containerd without a config file',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ containerd: 'absent' }),
    expect: { status: 'failed', message: /the runtime uses cgroupfs \(\/etc\/containerd\/config\.toml does not exist, so containerd uses its default cgroupfs driver\)/ },
  },
  {
    name: 'docker on cgroupfs',
    module: kubeadmPreflightModule,
    args: { container_runtime: 'docker' },
    stdout: probe({ docker: 'cgroupfs' }),
    expect: { status: 'failed', message: /docker info reports CgroupDriver cgroupfs.*"exec-opts": \["native\.cgroupdriver=systemd"\] in \/etc\/docker\/daemon\.json/ },
  },
  {
    name: 'kubelet configured for cgroupfs',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ kubeletDriver: 'cgroupfs' }),
    expect: { status: 'failed', message: /runtime uses systemd .* but the kubelet uses cgroupfs \(\/var\/lib\/kubelet\/config\.yaml\)/ },
  },
  {
    name: 'br_netfilter missing',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ brNetfilter: false }),
    expect: { status: 'failed', message: /^1 preflight problem before kubeadm can run:\n- br_netfilter: the module is not loaded.*Run modprobe br_netfilter/ },
  },
  {
    name: 'ip_forward off',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ sysctls: { 'net/ipv4/ip_forward': '0' } }),
    expect: { status: 'failed', message: /- net\.ipv4\.ip_forward is 0, kubeadm needs 1\./ },
  },
  {
    name: "cri disabled by Docker's containerd package",
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ containerd: { criDisabled: true } }),
    expect: { status: 'failed', message: /- CRI: \/etc\/containerd\/config\.toml disables the cri plugin/ },
  },
  {
    name: 'runtime socket missing',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ socket: false }),
    expect: { status: 'failed', message: /- runtime: \/run\/containerd\/containerd\.sock does not exist, so containerd is not running/ },
  },
  {
    name: 'several problems at once',
    module: kubeadmPreflightModule,
    args: {},
    stdout: probe({ cpus: 1, memKb: 1_016_000, swap: ['/swapfile'], brNetfilter: false, containerd: { systemdCgroup: 'false' } }),
    expect: { status: 'failed', message: /^5 preflight problems before kubeadm can run:\n- NumCPU.*\n- Mem.*\n- Swap.*\n- br_netfilter.*\n- cgroup driver/ },
  },
  {
    name: 'problems not enforced',
    module: kubeadmPreflightModule,
    args: { enforce: false },
    stdout: probe({ swap: ['/swapfile'] }),
    expect: { status: 'ok', reason: '1 preflight problem found but not enforced (enforce: false):\n- Swap: swap is on (/swapfile in /proc/swaps) and the kubelet refuses to start with swap on (failSwapOn is true by default). Run swapoff -a and comment out the swap lines of /etc/fstab; the kubernetes-common role does both.' },
  },
];

for (const row of rows) test(`kubeadm_preflight: ${row.name}`, (t) => checkRow(t, row));

test('kubeadm_preflight: bridge parameters count as br_netfilter', (t) => {
  const stdout = probe().replace('br_netfilter loaded', 'br_netfilter missing');
  checkRow(t, {
    name: 'br_netfilter without /proc/modules',
    module: kubeadmPreflightModule,
    args: {},
    stdout,
    expect: { status: 'ok', reason: 'preflight passed: 2 CPUs, 3.8 GiB RAM, no swap, runtime and kubelet cgroup drivers systemd/systemd, br_netfilter loaded' },
  });
});
