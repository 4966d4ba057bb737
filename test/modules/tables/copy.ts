import { copyModule } from '../../../runner/modules/copy.ts';
import { sha256Hex, shortHash } from '../../../runner/modules/shell-lib.ts';
import { templateModule } from '../../../runner/modules/template.ts';
import { fileProbeOutput, stateLine, type PlanRow } from '../table.ts';

const wanted = 'SocksPort 9050\n';
const hash = shortHash(sha256Hex(wanted));

export const copyRows: PlanRow[] = [
  {
    name: 'copy creates a missing file',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted },
    stdout: fileProbeOutput('dest', { type: 'absent' }),
    expect: {
      status: 'change',
      summary: 'create /etc/tor/torrc (15 B, mode 0644)',
      affects: ['/etc/tor/torrc'],
      steps: ['mktemp /etc/tor/.torrc.onionplay.XXXXXX', 'base64 -d', 'chmod 0644 "$op_t"', 'mv -fT "$op_t" /etc/tor/torrc'],
      notInSteps: ['chown'],
      diff: /^--- \/dev\/null\n\+\+\+ \/etc\/tor\/torrc \(after\)\n@@ -0,0 \+1,1 @@\n\+SocksPort 9050\n$/,
    },
  },
  {
    name: 'copy already in place',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, mode: '0644', owner: 'root', group: 'root' },
    stdout: fileProbeOutput('dest', { type: 'file', content: wanted }, { sendContent: false }),
    expect: { status: 'ok', reason: `/etc/tor/torrc already has the wanted content (sha256 ${hash}), mode 0644, owner root:root` },
  },
  {
    name: 'copy in place with numeric owner',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, owner: '0', group: '0', mode: '644' },
    stdout: fileProbeOutput('dest', { type: 'file', content: wanted }, { sendContent: false }),
    expect: { status: 'ok', reason: `/etc/tor/torrc already has the wanted content (sha256 ${hash}), mode 0644, owner root:root` },
  },
  {
    name: 'copy fixes only the mode',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, mode: '0600' },
    stdout: fileProbeOutput('dest', { type: 'file', content: wanted }, { sendContent: false }),
    expect: {
      status: 'change',
      summary: 'set mode 0644 -> 0600 on /etc/tor/torrc',
      affects: ['/etc/tor/torrc'],
      steps: ['chmod 00600 /etc/tor/torrc'],
      notInSteps: ['base64 -d', 'mktemp'],
    },
  },
  {
    name: 'copy fixes only the owner and group',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, owner: 'debian-tor', group: 'debian-tor' },
    stdout: fileProbeOutput('dest', { type: 'file', content: wanted }, { sendContent: false }),
    expect: {
      status: 'change',
      summary: 'set owner root -> debian-tor, group root -> debian-tor on /etc/tor/torrc',
      steps: ['chown debian-tor:debian-tor /etc/tor/torrc'],
    },
  },
  {
    name: 'copy updates differing content',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted },
    stdout: fileProbeOutput('dest', { type: 'file', mode: '0640', owner: 'root', group: 'debian-tor', content: 'SocksPort 0\n' }),
    expect: {
      status: 'change',
      summary: 'update /etc/tor/torrc (12 B -> 15 B)',
      affects: ['/etc/tor/torrc'],
      steps: ['base64 -d', 'chmod 0640 "$op_t"', "chown 0:1000 \"$op_t\"", 'mv -fT'],
      diff: '--- /etc/tor/torrc (before)\n+++ /etc/tor/torrc (after)\n@@ -1,1 +1,1 @@\n-SocksPort 0\n+SocksPort 9050\n',
    },
  },
  {
    name: 'copy with force false leaves content',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, force: false },
    stdout: fileProbeOutput('dest', { type: 'file', content: 'other\n' }),
    expect: { status: 'ok', reason: '/etc/tor/torrc exists and force is false, so its content was left as it is (mode 0644, owner root:root)' },
  },
  {
    name: 'copy with force false creates a missing file',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted, force: false },
    stdout: fileProbeOutput('dest', { type: 'absent' }),
    expect: { status: 'change', summary: 'create /etc/tor/torrc (15 B, mode 0644)' },
  },
  {
    name: 'copy fails without the parent directory',
    module: copyModule,
    args: { dest: '/etc/tor/torrc', content: wanted },
    stdout: fileProbeOutput('dest', { type: 'absent' }, { parent: 'absent' }),
    expect: { status: 'failed', message: 'cannot create /etc/tor/torrc: directory /etc/tor does not exist. Create it first with a file task (state: directory).' },
  },
  {
    name: 'copy fails onto a directory',
    module: copyModule,
    args: { dest: '/etc/tor', content: wanted },
    stdout: fileProbeOutput('dest', { type: 'directory' }),
    expect: { status: 'failed', message: /it exists and is a directory/ },
  },
  {
    name: 'copy replaces a symbolic link',
    module: copyModule,
    args: { dest: '/etc/resolv.conf', content: 'nameserver 127.0.0.1\n' },
    stdout: fileProbeOutput('dest', { type: 'link', mode: '0777', target: '../run/resolv.conf' }),
    expect: { status: 'change', summary: /^replace symbolic link \/etc\/resolv.conf -> \.\.\/run\/resolv.conf with a file/, steps: ['mv -fT'] },
  },
  {
    name: 'copy with force false keeps a link',
    module: copyModule,
    args: { dest: '/etc/resolv.conf', content: 'nameserver 127.0.0.1\n', force: false },
    stdout: fileProbeOutput('dest', { type: 'link', mode: '0777', target: '../run/resolv.conf' }),
    expect: { status: 'ok', reason: '/etc/resolv.conf exists as a symbolic link -> ../run/resolv.conf and force is false, so it was left as it is' },
  },
  {
    name: 'copy fails on an unreadable file',
    module: copyModule,
    args: { dest: '/etc/shadow', content: 'x' },
    stdout: 'dest.parent directory\ndest file 640 0 42 root shadow 900 ? \ndest.content unreadable\n',
    expect: { status: 'failed', message: /permission denied\)\. Run the task with become: true\./ },
  },
  {
    name: 'copy reports a failed probe',
    module: copyModule,
    args: { dest: '/etc/x', content: 'x' },
    stdout: '',
    stderr: 'stat: cannot statx: Permission denied\n',
    exitCode: 1,
    expect: { status: 'failed', message: 'probing /etc/x failed with exit code 1: stat: cannot statx: Permission denied' },
  },
  {
    name: 'copy reports a malformed probe',
    module: copyModule,
    args: { dest: '/etc/x', content: 'x' },
    stdout: 'dest.parent directory\ndest socket\n',
    expect: { status: 'failed', message: 'cannot plan /etc/x: unexpected file type "socket" in probe output' },
  },
  {
    name: 'copy in unsearchable directory fails',
    module: copyModule,
    args: { dest: '/var/lib/tor/ssh/hostname', content: 'x' },
    stdout: 'dest.parent directory\ndest denied\n',
    expect: {
      status: 'failed',
      message: 'cannot plan /var/lib/tor/ssh/hostname: permission denied: the SSH user cannot search its directory. Run the task with become: true.',
    },
  },
  {
    name: 'copy of binary content shows no text diff',
    module: copyModule,
    args: { dest: '/var/lib/tor/key', contentBase64: Buffer.from([0, 1, 2, 255]).toString('base64') },
    stdout: fileProbeOutput('dest', { type: 'file', content: 'old' }),
    expect: { status: 'change', diff: /content not shown/ },
  },
  {
    name: 'template runs validate before the rename',
    module: templateModule,
    args: { src: 'torrc.hbs', dest: '/etc/tor/torrc', content: wanted, validate: 'tor --verify-config -f %s' },
    stdout: fileProbeOutput('dest', { type: 'file', content: 'SocksPort 0\n' }),
    expect: {
      status: 'change',
      summary: 'update /etc/tor/torrc (12 B -> 15 B)',
      steps: ['base64 -d', '(\ntor --verify-config -f "$op_t"\n)', 'mv -fT "$op_t" /etc/tor/torrc'],
    },
  },
  {
    name: 'template already in place',
    module: templateModule,
    args: { src: 'torrc.hbs', dest: '/etc/tor/torrc', contentBase64: Buffer.from(wanted).toString('base64') },
    stdout: fileProbeOutput('dest', { type: 'file', content: wanted }, { sendContent: false }),
    expect: { status: 'ok', reason: `/etc/tor/torrc already has the wanted content (sha256 ${hash}), mode 0644, owner root:root` },
  },
  {
    name: 'copy keeps state line with spaces in path',
    module: copyModule,
    args: { dest: '/srv/a b/c', content: '' },
    stdout: `dest.parent directory\n${stateLine('dest', { type: 'file', content: '' })}`,
    expect: { status: 'ok', reason: `/srv/a b/c already has the wanted content (sha256 ${shortHash(sha256Hex(''))}), mode 0644, owner root:root` },
  },
];
