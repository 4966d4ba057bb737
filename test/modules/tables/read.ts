import { sha256Hex, shortHash } from '../../../runner/modules/shell-lib.ts';
import { fetchModule, slurpModule } from '../../../runner/modules/slurp.ts';
import { statModule } from '../../../runner/modules/stat.ts';
import { waitForModule } from '../../../runner/modules/wait-for.ts';
import { fileProbeOutput, stateLine, type PlanRow } from '../table.ts';

const key = 'PT0gZWQyNTUxOXYxLXNlY3JldDogdHlwZTAgPT0A';
const keyHash = sha256Hex(key);

export const readRows: PlanRow[] = [
  {
    name: 'stat of a file',
    module: statModule,
    args: { path: '/etc/hostname' },
    stdout: stateLine('path', { type: 'file', content: 'node1\n' }),
    expect: { status: 'ok', reason: '/etc/hostname is a file of 6 bytes, mode 0644, owner root:root' },
  },
  {
    name: 'stat of a directory',
    module: statModule,
    args: { path: '/etc' },
    stdout: stateLine('path', { type: 'directory' }),
    expect: { status: 'ok', reason: '/etc is a directory, mode 0755, owner root:root' },
  },
  {
    name: 'stat of a missing path',
    module: statModule,
    args: { path: '/nope' },
    stdout: stateLine('path', { type: 'absent' }),
    expect: { status: 'ok', reason: '/nope does not exist' },
  },
  {
    name: 'slurp reads a file',
    module: slurpModule,
    args: { src: '/var/lib/tor/ssh/hostname' },
    stdout: fileProbeOutput('src', { type: 'file', content: key }),
    expect: { status: 'ok', reason: `read /var/lib/tor/ssh/hostname (${key.length} bytes, sha256 ${shortHash(keyHash)})` },
  },
  {
    name: 'slurp of a missing file fails',
    module: slurpModule,
    args: { src: '/var/lib/tor/ssh/hostname' },
    stdout: fileProbeOutput('src', { type: 'absent' }),
    expect: { status: 'failed', message: '/var/lib/tor/ssh/hostname does not exist.' },
  },
  {
    name: 'slurp of a directory fails',
    module: slurpModule,
    args: { src: '/var/lib/tor' },
    stdout: fileProbeOutput('src', { type: 'directory' }),
    expect: { status: 'failed', message: '/var/lib/tor is a directory, not a regular file.' },
  },
  {
    name: 'slurp of an unreadable file fails',
    module: slurpModule,
    args: { src: '/var/lib/tor/ssh/hs_ed25519_secret_key' },
    stdout: 'src.parent directory\nsrc file 600 100 100 debian-tor debian-tor 96 ? \nsrc.content unreadable\n',
    expect: { status: 'failed', message: 'cannot read /var/lib/tor/ssh/hs_ed25519_secret_key (permission denied). Run the task with become: true.' },
  },
  {
    name: 'fetch writes a new local copy',
    module: fetchModule,
    args: { src: '/var/lib/tor/ssh/hs_ed25519_secret_key', dest: 'keys', localPath: '/site/keys/node1/key' },
    stdout: fileProbeOutput('src', { type: 'file', content: key }),
    expect: { status: 'change', summary: `fetch /var/lib/tor/ssh/hs_ed25519_secret_key to /site/keys/node1/key (${key.length} bytes, sha256 ${shortHash(keyHash)})`, affects: [] },
  },
  {
    name: 'fetch local copy already matches',
    module: fetchModule,
    args: { src: '/var/lib/tor/ssh/hs_ed25519_secret_key', dest: 'keys', localPath: '/site/keys/node1/key', localSha256: keyHash },
    stdout: fileProbeOutput('src', { type: 'file', content: key }, { sendContent: false }),
    expect: { status: 'ok', reason: `/site/keys/node1/key already matches /var/lib/tor/ssh/hs_ed25519_secret_key (sha256 ${shortHash(keyHash)})` },
  },
  {
    name: 'fetch of a missing file fails',
    module: fetchModule,
    args: { src: '/nope', dest: 'keys', localPath: '/site/keys/node1/nope' },
    stdout: fileProbeOutput('src', { type: 'absent' }),
    expect: { status: 'failed', message: '/nope does not exist. Set fail_on_missing: false if that is expected.' },
  },
  {
    name: 'fetch of a missing file allowed',
    module: fetchModule,
    args: { src: '/nope', dest: 'keys', fail_on_missing: false, localPath: '/site/keys/node1/nope' },
    stdout: fileProbeOutput('src', { type: 'absent' }),
    expect: { status: 'ok', reason: '/nope does not exist, and fail_on_missing is false' },
  },
  {
    name: 'wait_for port already open',
    module: waitForModule,
    args: { port: 9050 },
    stdout: 'met yes\n',
    expect: { status: 'ok', reason: 'port 9050 on 127.0.0.1 is already open, no wait needed' },
  },
  {
    name: 'wait_for port not open yet',
    module: waitForModule,
    args: { port: 9050, timeout: 60 },
    stdout: 'met no\n',
    expect: { status: 'change', summary: 'wait up to 60 s for port 9050 on 127.0.0.1 to open', affects: [], outputNeeded: true, steps: ['op_check', 'sleep 0', 'timeout'] },
  },
  {
    name: 'wait_for port closed already',
    module: waitForModule,
    args: { port: 80, host: '10.0.0.1', state: 'stopped' },
    stdout: 'met yes\n',
    expect: { status: 'ok', reason: 'port 80 on 10.0.0.1 is already closed, no wait needed' },
  },
  {
    name: 'wait_for path exists already',
    module: waitForModule,
    args: { path: '/var/lib/tor/ssh/hostname' },
    stdout: 'met yes\n',
    expect: { status: 'ok', reason: '/var/lib/tor/ssh/hostname already exists, no wait needed' },
  },
  {
    name: 'wait_for path absent already',
    module: waitForModule,
    args: { path: '/run/lock/x', state: 'absent' },
    stdout: 'met yes\n',
    expect: { status: 'ok', reason: '/run/lock/x is already absent, no wait needed' },
  },
  {
    name: 'wait_for regex matches already',
    module: waitForModule,
    args: { path: '/var/log/tor/log', search_regex: 'Bootstrapped 100%' },
    stdout: 'met yes\n',
    expect: { status: 'ok', reason: '/var/log/tor/log already matches /Bootstrapped 100%/, no wait needed' },
  },
  {
    name: 'wait_for with delay always waits',
    module: waitForModule,
    args: { port: 22, delay: 5 },
    stdout: '',
    expect: { status: 'change', steps: ['sleep 5'] },
  },
];
