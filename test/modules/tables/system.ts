import { aptRepositoryModule } from '../../../runner/modules/apt-repository.ts';
import { aptModule } from '../../../runner/modules/apt.ts';
import { modprobeModule } from '../../../runner/modules/modprobe.ts';
import { sha256Hex, shortHash } from '../../../runner/modules/shell-lib.ts';
import { sysctlModule } from '../../../runner/modules/sysctl.ts';
import { serviceModule, systemdModule } from '../../../runner/modules/systemd.ts';
import { fileProbeOutput, stateLine, type PlanRow } from '../table.ts';

const tor = 'pkg:tor installed 0.4.9.11-0+deb12u1\n';
const freshCache = 'cache-mtime 1000\nnow 1600\n';
const staleCache = 'cache-mtime 1000\nnow 99000\n';

export const aptRows: PlanRow[] = [
  {
    name: 'apt package already installed',
    module: aptModule,
    args: { name: 'tor' },
    stdout: tor,
    expect: { status: 'ok', reason: 'tor 0.4.9.11-0+deb12u1 already installed' },
  },
  {
    name: 'apt several packages installed',
    module: aptModule,
    args: { name: ['tor', 'nftables'], update_cache: true },
    stdout: `${tor}pkg:nftables installed 1.0.6-2+deb12u2\n${staleCache}`,
    expect: { status: 'ok', reason: 'tor 0.4.9.11-0+deb12u1, nftables 1.0.6-2+deb12u2 already installed' },
  },
  {
    name: 'apt installs a missing package',
    module: aptModule,
    args: { name: ['tor', 'torsocks'] },
    stdout: `${tor}pkg:torsocks not-installed\n`,
    expect: {
      status: 'change',
      summary: 'install torsocks',
      affects: 'everything',
      steps: ['DEBIAN_FRONTEND=noninteractive', 'apt-get', '-o DPkg::Lock::Timeout=300', '--no-install-recommends install torsocks'],
      notInSteps: ['update', 'install tor '],
    },
  },
  {
    name: 'apt config-files counts as missing',
    module: aptModule,
    args: { name: 'tor', install_recommends: true },
    stdout: 'pkg:tor config-files 0.4.8.9-1\n',
    expect: { status: 'change', summary: 'install tor', notInSteps: ['--no-install-recommends'] },
  },
  {
    name: 'apt updates a stale cache first',
    module: aptModule,
    args: { name: 'torsocks', update_cache: true, cache_valid_time: 3600 },
    stdout: `pkg:torsocks not-installed\n${staleCache}`,
    expect: { status: 'change', summary: 'update the apt cache, then install torsocks', steps: [' update\n', 'touch /var/lib/apt/periodic/update-success-stamp', ' install torsocks'] },
  },
  {
    name: 'apt skips update for a fresh cache',
    module: aptModule,
    args: { name: 'torsocks', update_cache: true, cache_valid_time: 3600 },
    stdout: `pkg:torsocks not-installed\n${freshCache}`,
    expect: { status: 'change', summary: 'install torsocks', notInSteps: [' update\n'] },
  },
  {
    name: 'apt update only with fresh cache',
    module: aptModule,
    args: { update_cache: true, cache_valid_time: 3600 },
    stdout: freshCache,
    expect: { status: 'ok', reason: 'apt cache is 600 s old, within cache_valid_time 3600 s' },
  },
  {
    name: 'apt update only with stale cache',
    module: aptModule,
    args: { update_cache: true, cache_valid_time: 3600 },
    stdout: staleCache,
    expect: { status: 'change', summary: 'update the apt cache (98000 s old)', steps: ['apt-get -q -y'] },
  },
  {
    name: 'apt pinned version differs',
    module: aptModule,
    args: { name: 'tor=0.4.9.12-1' },
    stdout: tor,
    expect: { status: 'change', summary: 'install tor=0.4.9.12-1', steps: ['install tor=0.4.9.12-1'] },
  },
  {
    name: 'apt pinned version installed',
    module: aptModule,
    args: { name: 'tor=0.4.9.11-0+deb12u1' },
    stdout: tor,
    expect: { status: 'ok', reason: 'tor 0.4.9.11-0+deb12u1 already installed' },
  },
  {
    name: 'apt latest already',
    module: aptModule,
    args: { name: 'tor', state: 'latest' },
    stdout: `${tor}candidate:tor 0.4.9.11-0+deb12u1\n`,
    expect: { status: 'ok', reason: 'tor 0.4.9.11-0+deb12u1 already at the candidate version' },
  },
  {
    name: 'apt latest with a fresh cache',
    module: aptModule,
    args: { name: 'tor', state: 'latest', update_cache: true, cache_valid_time: 3600 },
    stdout: `${tor}candidate:tor 0.4.9.11-0+deb12u1\n${freshCache}`,
    expect: { status: 'ok', reason: 'tor 0.4.9.11-0+deb12u1 already at the candidate version (apt cache 600 s old)' },
  },
  {
    name: 'apt latest upgrades',
    module: aptModule,
    args: { name: 'tor', state: 'latest' },
    stdout: `${tor}candidate:tor 0.4.9.12-1\n`,
    expect: { status: 'change', summary: 'install or upgrade tor', steps: ['install tor'] },
  },
  {
    name: 'apt latest with stale cache updates',
    module: aptModule,
    args: { name: 'tor', state: 'latest', update_cache: true, cache_valid_time: 60 },
    stdout: `${tor}candidate:tor 0.4.9.11-0+deb12u1\n${staleCache}`,
    expect: { status: 'change', summary: 'update the apt cache, then install or upgrade tor' },
  },
  {
    name: 'apt latest without candidate fails',
    module: aptModule,
    args: { name: 'tor', state: 'latest' },
    stdout: 'pkg:tor not-installed\ncandidate:tor (none)\n',
    expect: { status: 'failed', message: /^package tor has no installation candidate/ },
  },
  {
    name: 'apt absent removes',
    module: aptModule,
    args: { name: 'exim4', state: 'absent', purge: true },
    stdout: 'pkg:exim4 installed 4.96-15\n',
    expect: { status: 'change', summary: 'purge exim4', steps: [' purge exim4'] },
  },
  {
    name: 'apt absent purges leftovers',
    module: aptModule,
    args: { name: 'exim4', state: 'absent', purge: true },
    stdout: 'pkg:exim4 config-files 4.96-15\n',
    expect: { status: 'change', summary: 'purge exim4' },
  },
  {
    name: 'apt absent already',
    module: aptModule,
    args: { name: ['exim4', 'rpcbind'], state: 'absent' },
    stdout: 'pkg:exim4 not-installed\npkg:rpcbind config-files 1.2\n',
    expect: { status: 'ok', reason: 'exim4, rpcbind (only its configuration files remain) are not installed' },
  },
  {
    name: 'apt reports a failed probe',
    module: aptModule,
    args: { name: 'tor' },
    stdout: '',
    stderr: 'dpkg-query: not found',
    exitCode: 127,
    expect: { status: 'failed', message: 'probing packages failed with exit code 127: dpkg-query: not found' },
  },
];

const keyPath = '/etc/apt/keyrings/tor.asc';
const keyContent = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n';
const sources = 'Types: deb\nURIs: https://deb.torproject.org/torproject.org\nSuites: bookworm\nComponents: main\nSigned-By: /etc/apt/keyrings/tor.asc\n';
const repoArgs = {
  name: 'tor',
  uris: 'https://deb.torproject.org/torproject.org',
  suites: 'bookworm',
  components: ['main'],
  signed_by: keyPath,
  key_content: keyContent,
};

export const aptRepositoryRows: PlanRow[] = [
  {
    name: 'apt_repository writes key, source, updates',
    module: aptRepositoryModule,
    args: repoArgs,
    stdout: fileProbeOutput('src', { type: 'absent' }) + fileProbeOutput('key', { type: 'absent' }, { parent: 'absent' }),
    expect: {
      status: 'change',
      summary: 'create /etc/apt/keyrings/tor.asc (76 B, mode 0644); create /etc/apt/sources.list.d/tor.sources (130 B, mode 0644); apt-get update',
      affects: 'everything',
      steps: ['mkdir -p /etc/apt/keyrings', 'mv -fT "$op_t" /etc/apt/keyrings/tor.asc', 'mv -fT "$op_t" /etc/apt/sources.list.d/tor.sources', 'apt-get -q -y -o DPkg::Lock::Timeout=300'],
      diff: /\+Signed-By: \/etc\/apt\/keyrings\/tor\.asc\n/,
    },
  },
  {
    name: 'apt_repository already in place',
    module: aptRepositoryModule,
    args: repoArgs,
    stdout:
      fileProbeOutput('key', { type: 'file', content: keyContent }, { sendContent: false }) +
      fileProbeOutput('src', { type: 'file', content: sources }, { sendContent: false }),
    expect: {
      status: 'ok',
      reason:
        `/etc/apt/keyrings/tor.asc already has the wanted content (sha256 ${shortHash(sha256Hex(keyContent))}), mode 0644, owner root:root; ` +
        `/etc/apt/sources.list.d/tor.sources already has the wanted content (sha256 ${shortHash(sha256Hex(sources))}), mode 0644, owner root:root`,
    },
  },
  {
    name: 'apt_repository one-line list',
    module: aptRepositoryModule,
    args: { name: 'tor', repo: 'deb https://deb.torproject.org/torproject.org bookworm main', signed_by: keyPath, update_cache: false },
    stdout: fileProbeOutput('src', { type: 'absent' }),
    expect: {
      status: 'change',
      summary: 'create /etc/apt/sources.list.d/tor.list (98 B, mode 0644)',
      affects: ['/etc/apt/sources.list.d/tor.list'],
      diff: /\+deb \[signed-by=\/etc\/apt\/keyrings\/tor\.asc\] https:\/\/deb\.torproject\.org\/torproject\.org bookworm main\n/,
      notInSteps: ['update'],
    },
  },
  {
    name: 'apt_repository armored key needs .asc',
    module: aptRepositoryModule,
    args: { ...repoArgs, signed_by: '/etc/apt/keyrings/tor.gpg' },
    stdout: fileProbeOutput('src', { type: 'absent' }) + fileProbeOutput('key', { type: 'absent' }),
    expect: { status: 'failed', message: 'signed_by /etc/apt/keyrings/tor.gpg must end in .asc, because apt reads an ASCII-armored key only from a .asc file.' },
  },
  {
    name: 'apt_repository absent removes',
    module: aptRepositoryModule,
    args: { name: 'tor', state: 'absent' },
    stdout: stateLine('src', { type: 'file', content: sources }),
    expect: { status: 'change', summary: 'remove /etc/apt/sources.list.d/tor.sources', steps: ['rm -f /etc/apt/sources.list.d/tor.sources', 'update'] },
  },
  {
    name: 'apt_repository absent already',
    module: aptRepositoryModule,
    args: { name: 'tor', state: 'absent' },
    stdout: stateLine('src', { type: 'absent' }),
    expect: { status: 'ok', reason: '/etc/apt/sources.list.d/tor.sources is already absent' },
  },
];

function unit(load: string, active: string, fileState: string, needReload = 'no'): string {
  return `LoadState ${load}\nActiveState ${active}\nSubState x\nUnitFileState ${fileState}\nNeedDaemonReload ${needReload}\n`;
}

export const systemdRows: PlanRow[] = [
  {
    name: 'systemd started and enabled already',
    module: systemdModule,
    args: { name: 'tor', state: 'started', enabled: true },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'ok', reason: 'tor.service is enabled and active' },
  },
  {
    name: 'systemd starts and enables',
    module: systemdModule,
    args: { name: 'tor@default', state: 'started', enabled: true },
    stdout: unit('loaded', 'inactive', 'disabled'),
    expect: {
      status: 'change',
      summary: 'enable, start tor@default.service',
      affects: 'everything',
      steps: ['systemctl enable tor@default.service', 'systemctl start tor@default.service'],
    },
  },
  {
    name: 'systemd stopped already',
    module: systemdModule,
    args: { name: 'ssh.socket', state: 'stopped', enabled: false },
    stdout: unit('loaded', 'inactive', 'disabled'),
    expect: { status: 'ok', reason: 'ssh.socket is disabled and inactive' },
  },
  {
    name: 'systemd stops a running unit',
    module: serviceModule,
    args: { name: 'ssh.socket', state: 'stopped' },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'change', summary: 'stop ssh.socket', steps: ['systemctl stop ssh.socket'] },
  },
  {
    name: 'systemd restarted always acts',
    module: systemdModule,
    args: { name: 'tor', state: 'restarted' },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'change', summary: 'restart tor.service', steps: ['systemctl restart tor.service'] },
  },
  {
    name: 'systemd reloaded reloads a running unit',
    module: systemdModule,
    args: { name: 'tor', state: 'reloaded' },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'change', summary: 'reload tor.service', steps: ['systemctl reload tor.service'] },
  },
  {
    name: 'systemd reloaded starts a stopped unit',
    module: systemdModule,
    args: { name: 'tor', state: 'reloaded' },
    stdout: unit('loaded', 'inactive', 'enabled'),
    expect: { status: 'change', summary: 'start tor.service' },
  },
  {
    name: 'systemd daemon_reload when files changed',
    module: systemdModule,
    args: { name: 'kubelet', state: 'started', daemon_reload: true },
    stdout: unit('loaded', 'active', 'enabled', 'yes'),
    expect: { status: 'change', summary: 'reload unit files kubelet.service', steps: ['systemctl daemon-reload'] },
  },
  {
    name: 'systemd daemon_reload not needed',
    module: systemdModule,
    args: { name: 'kubelet', state: 'started', daemon_reload: true },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'ok', reason: 'kubelet.service is active' },
  },
  {
    name: 'systemd daemon_reload for a new unit',
    module: systemdModule,
    args: { name: 'onion-ssh', state: 'started', daemon_reload: true },
    stdout: unit('not-found', 'inactive', ''),
    expect: { status: 'change', steps: ['systemctl daemon-reload', 'systemctl start onion-ssh.service'] },
  },
  {
    name: 'systemd daemon_reload without name',
    module: systemdModule,
    args: { daemon_reload: true },
    stdout: '',
    expect: { status: 'change', summary: 'systemctl daemon-reload' },
  },
  {
    name: 'systemd unit not found fails',
    module: systemdModule,
    args: { name: 'nope', state: 'started' },
    stdout: unit('not-found', 'inactive', ''),
    expect: { status: 'failed', message: /^unit nope\.service not found\./ },
  },
  {
    name: 'systemd stopped for a missing unit',
    module: systemdModule,
    args: { name: 'nope', state: 'stopped' },
    stdout: unit('not-found', 'inactive', ''),
    expect: { status: 'ok', reason: 'nope.service is not loaded' },
  },
  {
    name: 'systemd masks',
    module: systemdModule,
    args: { name: 'ssh.socket', masked: true, state: 'stopped' },
    stdout: unit('loaded', 'inactive', 'disabled'),
    expect: { status: 'change', summary: 'mask ssh.socket', steps: ['systemctl mask ssh.socket'] },
  },
  {
    name: 'systemd masked already',
    module: systemdModule,
    args: { name: 'ssh.socket', masked: true },
    stdout: unit('masked', 'inactive', 'masked'),
    expect: { status: 'ok', reason: 'ssh.socket is masked' },
  },
  {
    name: 'systemd unmasks then starts',
    module: systemdModule,
    args: { name: 'tor', masked: false, state: 'started' },
    stdout: unit('masked', 'inactive', 'masked'),
    expect: { status: 'change', summary: 'unmask, start tor.service', steps: ['systemctl unmask', 'systemctl start'] },
  },
  {
    name: 'systemd masked and started conflict',
    module: systemdModule,
    args: { name: 'tor', masked: true, state: 'started' },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'failed', message: 'tor.service cannot be masked and started at once. Drop one of the two.' },
  },
  {
    name: 'systemd masked unit cannot start',
    module: systemdModule,
    args: { name: 'tor', state: 'started' },
    stdout: unit('masked', 'inactive', 'masked'),
    expect: { status: 'failed', message: 'tor.service is masked, so it cannot be started. Set masked: false to unmask it.' },
  },
  {
    name: 'systemd static unit cannot be enabled',
    module: systemdModule,
    args: { name: 'systemd-journald', enabled: true },
    stdout: unit('loaded', 'active', 'static'),
    expect: { status: 'ok', reason: 'systemd-journald.service is static (cannot be enabled or disabled)' },
  },
  {
    name: 'systemd disables',
    module: systemdModule,
    args: { name: 'apt-daily.timer', enabled: false },
    stdout: unit('loaded', 'active', 'enabled'),
    expect: { status: 'change', summary: 'disable apt-daily.timer' },
  },
  {
    name: 'systemd without systemd fails',
    module: systemdModule,
    args: { name: 'tor', state: 'started' },
    stdout: 'systemd none System has not been booted with systemd as init system (PID 1).\n',
    expect: { status: 'failed', message: /^systemctl does not work on this host \(System has not been booted/ },
  },
];

const sysctlFile = '/etc/sysctl.d/99-onionplay.conf';

export const sysctlRows: PlanRow[] = [
  {
    name: 'sysctl file and live in place',
    module: sysctlModule,
    args: { name: 'net.ipv4.ip_forward', value: 1 },
    stdout: fileProbeOutput('path', { type: 'file', content: 'net.ipv4.ip_forward = 1\n' }) + 'live writable 1 \n',
    expect: { status: 'ok', reason: `${sysctlFile}: net.ipv4.ip_forward = 1 is already in the file (mode 0644, owner root:root); live value is already 1` },
  },
  {
    name: 'sysctl writes file and live value',
    module: sysctlModule,
    args: { name: 'net.ipv4.ip_forward', value: '1' },
    stdout: fileProbeOutput('path', { type: 'absent' }) + 'live writable 0 \n',
    expect: {
      status: 'change',
      summary: `${sysctlFile}: add net.ipv4.ip_forward = 1; set live net.ipv4.ip_forward 0 -> 1`,
      affects: [sysctlFile, '/proc/sys/net/ipv4/ip_forward'],
      steps: ['mv -fT', 'sysctl -q -w net.ipv4.ip_forward=1'],
    },
  },
  {
    name: 'sysctl replaces the value in the file',
    module: sysctlModule,
    args: { name: 'vm.swappiness', value: 10, live: false },
    stdout: fileProbeOutput('path', { type: 'file', content: '# tuning\nvm.swappiness=60\n' }),
    expect: { status: 'change', summary: `${sysctlFile}: set vm.swappiness = 10 (was 60)`, diff: /-vm\.swappiness=60\n\+vm\.swappiness = 10\n/ },
  },
  {
    name: 'sysctl multi-field value compares collapsed',
    module: sysctlModule,
    args: { name: 'net.ipv4.tcp_rmem', value: '4096 87380   6291456' },
    stdout: fileProbeOutput('path', { type: 'file', content: 'net.ipv4.tcp_rmem = 4096 87380 6291456\n' }) + 'live writable 4096 87380 6291456 \n',
    expect: { status: 'ok', reason: `${sysctlFile}: net.ipv4.tcp_rmem = 4096 87380 6291456 is already in the file (mode 0644, owner root:root); live value is already 4096 87380 6291456` },
  },
  {
    name: 'sysctl read-only live value fails',
    module: sysctlModule,
    args: { name: 'net.ipv4.ip_forward', value: 1 },
    stdout: fileProbeOutput('path', { type: 'file', content: 'net.ipv4.ip_forward = 1\n' }) + 'live readonly 0 \n',
    expect: {
      status: 'failed',
      message:
        "cannot set net.ipv4.ip_forward live: /proc/sys/net/ipv4/ip_forward is read-only here (live value 0, wanted 1). A container shares its host's kernel: set it on the container's host, or set live: 'try' to keep only the file.",
    },
  },
  {
    name: 'sysctl read-only live with try',
    module: sysctlModule,
    args: { name: 'net.ipv4.ip_forward', value: 1, live: 'try' },
    stdout: fileProbeOutput('path', { type: 'file', content: 'net.ipv4.ip_forward = 1\n' }) + 'live readonly 0 \n',
    expect: {
      status: 'ok',
      reason: `${sysctlFile}: net.ipv4.ip_forward = 1 is already in the file (mode 0644, owner root:root); live value 0 left as it is because /proc/sys/net/ipv4/ip_forward is read-only here (live: try)`,
    },
  },
  {
    name: 'sysctl try still writes the file',
    module: sysctlModule,
    args: { name: 'net.ipv4.ip_forward', value: 1, live: 'try' },
    stdout: fileProbeOutput('path', { type: 'absent' }) + 'live readonly 0 \n',
    expect: { status: 'change', summary: /^\/etc\/sysctl\.d\/99-onionplay\.conf: add net\.ipv4\.ip_forward = 1; live value 0 left as it is/, affects: [sysctlFile] },
  },
  {
    name: 'sysctl unknown parameter fails',
    module: sysctlModule,
    args: { name: 'net.ipv4.nope', value: 1 },
    stdout: fileProbeOutput('path', { type: 'absent' }) + 'live missing\n',
    expect: { status: 'failed', message: /^kernel parameter net\.ipv4\.nope does not exist on this host/ },
  },
  {
    name: 'sysctl absent removes the line',
    module: sysctlModule,
    args: { name: 'vm.swappiness', state: 'absent', sysctl_file: '/etc/sysctl.d/10-x.conf' },
    stdout: fileProbeOutput('path', { type: 'file', content: 'vm.swappiness = 10\nfs.file-max = 100\n' }),
    expect: { status: 'change', summary: '/etc/sysctl.d/10-x.conf: remove vm.swappiness', affects: ['/etc/sysctl.d/10-x.conf'] },
  },
  {
    name: 'sysctl absent already',
    module: sysctlModule,
    args: { name: 'vm.swappiness', state: 'absent' },
    stdout: fileProbeOutput('path', { type: 'file', content: 'fs.file-max = 100\n' }),
    expect: { status: 'ok', reason: `${sysctlFile}: vm.swappiness is not set in the file (mode 0644, owner root:root)` },
  },
  {
    name: 'sysctl absent without the file',
    module: sysctlModule,
    args: { name: 'vm.swappiness', state: 'absent' },
    stdout: fileProbeOutput('path', { type: 'absent' }),
    expect: { status: 'ok', reason: `${sysctlFile} does not exist, so vm.swappiness is not set in it` },
  },
];

const modulesConf = '/etc/modules-load.d/br_netfilter.conf';

export const modprobeRows: PlanRow[] = [
  {
    name: 'modprobe already loaded',
    module: modprobeModule,
    args: { name: 'br_netfilter' },
    stdout: 'loaded module\n',
    expect: { status: 'ok', reason: 'module br_netfilter is already loaded (listed in /proc/modules)' },
  },
  {
    name: 'modprobe built into the kernel',
    module: modprobeModule,
    args: { name: 'overlay' },
    stdout: 'loaded builtin\n',
    expect: { status: 'ok', reason: 'module overlay is built into the kernel (/sys/module/overlay exists)' },
  },
  {
    name: 'modprobe loads a module',
    module: modprobeModule,
    args: { name: 'br_netfilter', params: 'a=1 b=2' },
    stdout: 'loaded no\n',
    expect: { status: 'change', summary: 'load br_netfilter', affects: 'everything', steps: ['modprobe br_netfilter a=1 b=2'] },
  },
  {
    name: 'modprobe loaded and persistent in place',
    module: modprobeModule,
    args: { name: 'br_netfilter', persistent: 'present' },
    stdout: `loaded module\n${fileProbeOutput('conf', { type: 'file', content: 'br_netfilter\n' }, { sendContent: false })}`,
    expect: { status: 'ok', reason: `module br_netfilter is already loaded (listed in /proc/modules); ${modulesConf} already lists it` },
  },
  {
    name: 'modprobe loaded but file missing',
    module: modprobeModule,
    args: { name: 'br_netfilter', persistent: 'present' },
    stdout: `loaded module\n${fileProbeOutput('conf', { type: 'absent' })}`,
    expect: { status: 'change', summary: `create ${modulesConf} (13 B, mode 0644)`, affects: [modulesConf], notInSteps: ['modprobe '] },
  },
  {
    name: 'modprobe writes file before loading',
    module: modprobeModule,
    args: { name: 'br_netfilter', persistent: 'present' },
    stdout: `loaded no\n${fileProbeOutput('conf', { type: 'absent' })}`,
    expect: { status: 'change', summary: `create ${modulesConf} (13 B, mode 0644); load br_netfilter`, steps: [`mv -fT "$op_t" ${modulesConf}`, 'modprobe br_netfilter'] },
  },
  {
    name: 'modprobe unloads',
    module: modprobeModule,
    args: { name: 'dccp', state: 'absent', persistent: 'absent' },
    stdout: `loaded module\n${stateLine('conf', { type: 'file', content: 'dccp\n' })}`,
    expect: { status: 'change', summary: 'remove /etc/modules-load.d/dccp.conf; unload dccp', steps: ['rm -f /etc/modules-load.d/dccp.conf', 'modprobe -r dccp'] },
  },
  {
    name: 'modprobe absent already',
    module: modprobeModule,
    args: { name: 'dccp', state: 'absent', persistent: 'absent' },
    stdout: `loaded no\n${stateLine('conf', { type: 'absent' })}`,
    expect: { status: 'ok', reason: 'module dccp is not loaded; /etc/modules-load.d/dccp.conf does not exist' },
  },
  {
    name: 'modprobe cannot unload builtin',
    module: modprobeModule,
    args: { name: 'overlay', state: 'absent' },
    stdout: 'loaded builtin\n',
    expect: { status: 'failed', message: 'module overlay is built into the kernel and cannot be unloaded.' },
  },
];
