import test from 'ava';

import { cniConfigCheckModule } from '../../../runner/modules/kubernetes/cni-config.ts';
import { nodeTaintModule } from '../../../runner/modules/kubernetes/node-taint.ts';
import { aptDebFilesModule, dpkgSelectionsModule, parseDebFileName } from '../../../runner/modules/kubernetes/packages.ts';
import { serviceAddressModule } from '../../../runner/modules/kubernetes/service-address.ts';
import { commentOutSwap, swapOffModule } from '../../../runner/modules/kubernetes/swap.ts';
import { sha256Hex } from '../../../runner/modules/shell-lib.ts';
import { checkRow, fileProbeOutput, planRow, stateLine, type PlanRow } from '../table.ts';
import { captured } from './outputs.ts';

const FLANNEL = ['10-flannel.conflist'];

const SERVICE = `kubeconfig present\n${captured('svc', 0, 'ClusterIP 10.100.0.141 http=8080')}`;
const SSH_ENTRY = { name: 'ssh', ports: [{ port: 22, target: '127.0.0.1:8089' }] };

const deb = (file: string, bytes: string) => {
  const parsed = parseDebFileName(file);
  if (!parsed) throw new Error(file);
  return { file, ...parsed, sha256: sha256Hex(bytes), base64: Buffer.from(bytes).toString('base64') };
};
const debs = [deb('kubeadm_1.30.2-1.1_amd64.deb', 'kubeadm bytes'), deb('kubelet_1.30.2-1.1_amd64.deb', 'kubelet bytes')];

const FSTAB = 'UUID=1b2c / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\n';

const rows: PlanRow[] = [
  {
    name: 'cni: only flannel',
    module: cniConfigCheckModule,
    args: { expected: FLANNEL },
    stdout: 'dir present\nfile:10-flannel.conflist\n',
    expect: { status: 'ok', reason: '/etc/cni/net.d holds only 10-flannel.conflist' },
  },
  {
    name: 'cni: folder not created yet',
    module: cniConfigCheckModule,
    args: { expected: FLANNEL },
    stdout: 'dir absent\n',
    expect: { status: 'ok', reason: '/etc/cni/net.d does not exist yet, so no other CNI is configured' },
  },
  {
    name: 'cni: empty folder',
    module: cniConfigCheckModule,
    args: { expected: FLANNEL },
    stdout: 'dir present\n',
    expect: { status: 'ok', reason: '/etc/cni/net.d is empty' },
  },
  {
    name: 'cni: calico leftovers',
    module: cniConfigCheckModule,
    args: { expected: FLANNEL },
    stdout: 'dir present\nfile:10-calico.conflist\nfile:10-flannel.conflist\nfile:calico-kubeconfig\n',
    expect: {
      status: 'failed',
      message: /^conflicting CNI configuration in \/etc\/cni\/net\.d: 10-calico\.conflist \(Calico\), calico-kubeconfig \(Calico\); only 10-flannel\.conflist should be there\./,
    },
  },
  {
    name: 'cni: podman bridge',
    module: cniConfigCheckModule,
    args: { expected: FLANNEL },
    stdout: 'dir present\nfile:87-podman-bridge.conflist\n',
    expect: { status: 'failed', message: /87-podman-bridge\.conflist \(Podman\)/ },
  },
  {
    name: 'service: address read',
    module: serviceAddressModule,
    args: { name: 'webapp' },
    stdout: SERVICE,
    expect: { status: 'ok', reason: 'Service default/webapp is at 10.100.0.141:8080 (ClusterIP)' },
  },
  {
    name: 'service: onion mapping',
    module: serviceAddressModule,
    args: { name: 'webapp', onion_service: { name: 'web', services: [SSH_ENTRY] } },
    stdout: SERVICE,
    expect: { status: 'ok', reason: 'Service default/webapp is at 10.100.0.141:8080; onion service web maps port 80 to it' },
  },
  {
    name: 'service: not found',
    module: serviceAddressModule,
    args: { name: 'webapp', namespace: 'web' },
    stdout: `kubeconfig present\n${captured('svc', 1, '', 'Error from server (NotFound): services "webapp" not found')}`,
    expect: { status: 'failed', message: 'Service web/webapp not found. Apply it first (kubectl_apply of its manifest).' },
  },
  {
    name: 'service: not found yet, missing_ok',
    module: serviceAddressModule,
    args: { name: 'webapp', missing_ok: true, onion_service: { name: 'web' } },
    stdout: `kubeconfig present\n${captured('svc', 1, '', 'Error from server (NotFound): services "webapp" not found')}`,
    expect: { status: 'ok', reason: 'Service default/webapp does not exist yet, so no onion mapping is set (missing_ok)' },
  },
  {
    name: 'service: no cluster yet, missing_ok',
    module: serviceAddressModule,
    args: { name: 'webapp', missing_ok: true },
    stdout: `kubeconfig absent\n${captured('svc', 1, '', 'error: stat /etc/kubernetes/admin.conf: no such file or directory')}`,
    expect: { status: 'ok', reason: '/etc/kubernetes/admin.conf does not exist, so there is no cluster to read Service default/webapp from yet (missing_ok)' },
  },
  {
    name: 'service: no cluster',
    module: serviceAddressModule,
    args: { name: 'webapp' },
    stdout: `kubeconfig absent\n${captured('svc', 1, '', 'error: stat /etc/kubernetes/admin.conf: no such file or directory')}`,
    expect: { status: 'failed', message: /^\/etc\/kubernetes\/admin\.conf does not exist, so kubectl cannot read Service default\/webapp/ },
  },
  {
    name: 'service: headless',
    module: serviceAddressModule,
    args: { name: 'webapp' },
    stdout: `kubeconfig present\n${captured('svc', 0, 'ClusterIP None http=8080')}`,
    expect: { status: 'failed', message: /is headless \(clusterIP: None\)/ },
  },
  {
    name: 'service: port by name',
    module: serviceAddressModule,
    args: { name: 'webapp', port: 'metrics' },
    stdout: `kubeconfig present\n${captured('svc', 0, 'ClusterIP 10.100.0.141 http=8080 metrics=9100')}`,
    expect: { status: 'ok', reason: 'Service default/webapp is at 10.100.0.141:9100 (ClusterIP)' },
  },
  {
    name: 'service: unknown port',
    module: serviceAddressModule,
    args: { name: 'webapp', port: 443 },
    stdout: SERVICE,
    expect: { status: 'failed', message: 'Service default/webapp has no port 443; its ports are http=8080.' },
  },
  {
    name: 'swap: active and in fstab',
    module: swapOffModule,
    args: {},
    stdout: `${fileProbeOutput('fstab', { type: 'file', content: FSTAB })}active /swapfile\n`,
    expect: {
      status: 'change',
      summary: 'turn off swap on /swapfile; /etc/fstab: comment out 1 swap line',
      steps: ['swapoff -a', 'mv -fT'],
      diff: /\+# \/swapfile none swap sw 0 0/,
    },
  },
  {
    name: 'swap: already off',
    module: swapOffModule,
    args: {},
    stdout: fileProbeOutput('fstab', { type: 'file', content: commentOutSwap(FSTAB).text }),
    expect: { status: 'ok', reason: 'no swap is active (/proc/swaps); /etc/fstab: has no active swap lines (mode 0644, owner root:root)' },
  },
  {
    name: 'swap: no fstab',
    module: swapOffModule,
    args: {},
    stdout: fileProbeOutput('fstab', { type: 'absent' }),
    expect: { status: 'ok', reason: 'no swap is active (/proc/swaps); /etc/fstab does not exist, so no swap is mounted at boot' },
  },
  {
    name: 'hold: already held',
    module: dpkgSelectionsModule,
    args: { name: ['kubelet', 'kubeadm', 'kubectl'], selection: 'hold' },
    stdout: 'sel:kubelet hold\nsel:kubeadm hold\nsel:kubectl hold\n',
    expect: { status: 'ok', reason: 'kubelet, kubeadm, kubectl already held' },
  },
  {
    name: 'hold: freshly installed',
    module: dpkgSelectionsModule,
    args: { name: ['kubelet', 'kubeadm', 'kubectl'], selection: 'hold' },
    stdout: 'sel:kubelet install\nsel:kubeadm hold\nsel:kubectl install\n',
    expect: { status: 'change', summary: 'set kubelet (install), kubectl (install) to hold', steps: ['apt-mark hold kubelet kubectl'] },
  },
  {
    name: 'hold: package not installed',
    module: dpkgSelectionsModule,
    args: { name: 'kubelet', selection: 'hold' },
    stdout: 'sel:kubelet unknown\n',
    expect: { status: 'failed', message: 'dpkg does not know kubelet: install it before setting the selection hold.' },
  },
  {
    name: 'debs: fresh host',
    module: aptDebFilesModule,
    args: { src: '/srv/debs', debs },
    stdout: `dest absent\ndeb0 absent\npkg0 not-installed\ndeb1 absent\npkg1 not-installed\n`,
    expect: {
      status: 'change',
      summary: 'copy 2 .deb files to /var/cache/onionplay/debs, then install kubeadm 1.30.2-1.1, kubelet 1.30.2-1.1',
      steps: ['mkdir -p /var/cache/onionplay/debs', 'kubeadm_1.30.2-1.1_amd64.deb', 'install /var/cache/onionplay/debs/kubeadm_1.30.2-1.1_amd64.deb /var/cache/onionplay/debs/kubelet_1.30.2-1.1_amd64.deb'],
    },
  },
  {
    name: 'debs: installed from an earlier run',
    module: aptDebFilesModule,
    args: { src: '/srv/debs', debs },
    stdout: `${stateLine('dest', { type: 'directory' })}${stateLine('deb0', { type: 'file', content: 'kubeadm bytes' })}pkg0 installed 1.30.2-1.1\n${stateLine('deb1', { type: 'file', content: 'kubelet bytes' })}pkg1 installed 1.30.2-1.1\n`,
    expect: { status: 'ok', reason: 'kubeadm 1.30.2-1.1, kubelet 1.30.2-1.1 already installed from the .deb files' },
  },
  {
    name: 'debs: file copied, older version installed',
    module: aptDebFilesModule,
    args: { src: '/srv/debs', debs },
    stdout: `${stateLine('dest', { type: 'directory' })}${stateLine('deb0', { type: 'file', content: 'kubeadm bytes' })}pkg0 installed 1.30.1-1.1\n${stateLine('deb1', { type: 'file', content: 'kubelet bytes' })}pkg1 installed 1.30.2-1.1\n`,
    expect: { status: 'change', summary: 'install kubeadm 1.30.2-1.1', notInSteps: ['base64 -d', 'kubelet_'] },
  },
];

for (const row of rows) test(row.name, (t) => checkRow(t, row));

test('service: onion mapping replaces its own entry only', (t) => {
  const stale = { name: 'web', ports: [{ port: 80, target: '10.100.0.99:8080' }] };
  const plan = planRow({ ...(rows[6] as PlanRow), args: { name: 'webapp', onion_service: { name: 'web', services: [SSH_ENTRY, stale] } } });
  t.is(plan.status, 'ok');
  if (plan.status !== 'ok') return;
  t.deepEqual(plan.facts, { tor_onion_services: [SSH_ENTRY, { name: 'web', ports: [{ port: 80, target: '10.100.0.141:8080' }] }] });
  t.deepEqual(plan.result, { cluster_ip: '10.100.0.141', port: 8080, target: '10.100.0.141:8080', type: 'ClusterIP' });
});

test('service: onion mapping without a list', (t) => {
  const plan = planRow({ ...(rows[6] as PlanRow), args: { name: 'webapp', onion_service: { name: 'web', port: 8080, services: '' } } });
  t.true(plan.status === 'ok' && JSON.stringify(plan.facts) === JSON.stringify({ tor_onion_services: [{ name: 'web', ports: [{ port: 8080, target: '10.100.0.141:8080' }] }] }));
});

test('parseDebFileName: names and epochs', (t) => {
  t.deepEqual(parseDebFileName('kubelet_1.30.2-1.1_amd64.deb'), { package: 'kubelet', version: '1.30.2-1.1' });
  t.deepEqual(parseDebFileName('containerd_1%3a1.6.20~ds1-1_amd64.deb'), { package: 'containerd', version: '1:1.6.20~ds1-1' });
  t.is(parseDebFileName('kubelet.deb'), undefined);
});

test('commentOutSwap: keeps comments and other mounts', (t) => {
  const text = '# swap was on /dev/sda5\n/dev/sda5 none swap sw 0 0\nUUID=1 /boot ext4 defaults 0 2\n';
  t.deepEqual(commentOutSwap(text), { text: '# swap was on /dev/sda5\n# /dev/sda5 none swap sw 0 0\nUUID=1 /boot ext4 defaults 0 2\n', count: 1 });
});

const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane';
const taintRows: PlanRow[] = [
  {
    name: 'taint: control-plane taint removed',
    module: nodeTaintModule,
    args: { node: 'obelix', key: CONTROL_PLANE_TAINT, state: 'absent' },
    stdout: captured('taints', 0, `${CONTROL_PLANE_TAINT}=:NoSchedule\n`),
    expect: {
      status: 'change',
      summary: 'remove taint node-role.kubernetes.io/control-plane:NoSchedule from node obelix',
      steps: ['taint nodes obelix node-role.kubernetes.io/control-plane:NoSchedule-'],
    },
  },
  {
    name: 'taint: already removed',
    module: nodeTaintModule,
    args: { node: 'obelix', key: CONTROL_PLANE_TAINT, state: 'absent' },
    stdout: captured('taints', 0, ''),
    expect: { status: 'ok', reason: 'node obelix has no taint node-role.kubernetes.io/control-plane:NoSchedule' },
  },
  {
    name: 'taint: node not found',
    module: nodeTaintModule,
    args: { node: 'obelix', key: CONTROL_PLANE_TAINT, state: 'absent' },
    stdout: captured('taints', 1, '', 'Error from server (NotFound): nodes "obelix" not found'),
    expect: { status: 'failed', message: 'reading the taints of node obelix failed: Error from server (NotFound): nodes "obelix" not found' },
  },
  {
    name: 'taint: present with a value',
    module: nodeTaintModule,
    args: { node: 'grendel', key: 'dedicated', value: 'web', state: 'present' },
    stdout: captured('taints', 0, `${CONTROL_PLANE_TAINT}=:NoSchedule\n`),
    expect: { status: 'change', steps: ["taint nodes grendel dedicated=web:NoSchedule --overwrite"] },
  },
];

for (const row of taintRows) test(row.name, (t) => checkRow(t, row));
