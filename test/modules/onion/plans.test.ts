// Plan tables of the Tor modules: onion_keys, nftables_table,
// nftables_confirm and apt_tor_sources.

import { createHash } from 'node:crypto';

import test from 'ava';

import { aptTorSourcesModule, rewriteSources } from '../../../runner/modules/onion/apt-tor-sources.ts';
import { onionKeysModule } from '../../../runner/modules/onion/onion-keys.ts';
import { nftablesConfirmModule, nftablesTableModule, tableFile } from '../../../runner/modules/nftables/table.ts';
import { checkRow, type PlanRow, stateLine } from '../table.ts';

const secretKey = Buffer.from('== ed25519v1-secret: type0 ==\0\0\0 saved secret bytes').toString('base64');
const publicKey = Buffer.from('== ed25519v1-public: type0 ==\0\0\0 saved public bytes').toString('base64');
const savedAddress = 'a'.repeat(56) + '.onion';
const liveAddress = 'b'.repeat(56) + '.onion';
const saved = { hostname: savedAddress, secretKey, publicKey };
const savedSha = createHash('sha256').update(Buffer.from(secretKey, 'base64')).digest('hex');
const otherSha = 'f'.repeat(64);
const dir = '/var/lib/tor/ssh';

const keyRows: PlanRow[] = [
  {
    name: 'restore with nothing saved and no keys',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'restore', saved: null },
    stdout: '',
    expect: { status: 'ok', reason: 'no saved keys for onion service ssh; tor creates new ones when it starts' },
  },
  {
    name: 'restore with nothing saved and live keys',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'restore', saved: null },
    stdout: `secret ${otherSha}\nhostname ${liveAddress}\n`,
    expect: { status: 'ok', reason: `onion service ssh already has keys (${liveAddress}); they are saved after tor starts` },
  },
  {
    name: 'restore saved keys into an empty directory',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'restore', owner: 'debian-tor', saved },
    stdout: '',
    expect: {
      status: 'change',
      summary: `restore the keys of onion service ssh (${savedAddress}) from the site's key store`,
      affects: [dir],
      steps: ['chmod 00700 /var/lib/tor/ssh', 'hs_ed25519_secret_key', 'hs_ed25519_public_key', '/var/lib/tor/ssh/hostname'],
    },
  },
  {
    name: 'restore when live keys match the record',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'restore', saved },
    stdout: `secret ${savedSha}\nhostname ${savedAddress}\n`,
    expect: { status: 'ok', reason: `keys of onion service ssh match the site's record (${savedAddress})` },
  },
  {
    name: 'restore when live keys differ from the record',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'restore', saved },
    stdout: `secret ${otherSha}\nhostname ${liveAddress}\n`,
    expect: { status: 'failed', message: new RegExp(`has the address ${liveAddress}, but the site's key store records ${savedAddress}`) },
  },
  {
    name: 'save new keys',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'save', saved: null },
    stdout: `secret ${otherSha}\nhostname ${liveAddress}\n`,
    expect: {
      status: 'change',
      summary: `save the keys of onion service ssh (${liveAddress}) in the site's encrypted key store`,
      affects: [],
      outputNeeded: true,
      steps: ['base64 -w0 /var/lib/tor/ssh/hs_ed25519_secret_key'],
    },
  },
  {
    name: 'save keys already in the store',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'save', saved },
    stdout: `secret ${savedSha}\nhostname ${savedAddress}\n`,
    expect: { status: 'ok', reason: `keys of onion service ssh are in the site's key store (${savedAddress})` },
  },
  {
    name: 'save before tor wrote keys',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'save', saved: null },
    stdout: '',
    expect: { status: 'failed', message: /tor has not written the keys of onion service ssh/ },
  },
  {
    name: 'save when live keys differ from the record',
    module: onionKeysModule,
    args: { name: 'ssh', dir, stage: 'save', saved },
    stdout: `secret ${otherSha}\nhostname ${liveAddress}\n`,
    expect: { status: 'failed', message: /records a{56}\.onion/ },
  },
];

for (const row of keyRows) test(`onion_keys plan: ${row.name}`, (t) => checkRow(t, row));

test('onion_keys restore steps never carry the key in clear text', (t) => {
  const plan = onionKeysModule.plan?.({ name: 'ssh', dir, stage: 'restore', saved }, { stdout: '', stderr: '', exitCode: 0 }, { host: 'h', check: false });
  t.is(plan?.status, 'change');
  const script = plan?.status === 'change' ? plan.steps.map((step) => step.script).join('\n') : '';
  t.false(script.includes('saved secret bytes'));
});

const rules = 'chain output {\n  type filter hook output priority filter; policy drop;\n  oif "lo" accept\n}\n';
const { content, sha256 } = tableFile({ rules });
const file = '/etc/onionplay/firewall.nft';

const tableRows: PlanRow[] = [
  {
    name: 'table not loaded and no file',
    module: nftablesTableModule,
    args: { rules },
    stdout: `${stateLine('file', { type: 'absent' })}live none\n`,
    expect: {
      status: 'change',
      summary: 'load table inet onionplay (table inet onionplay is not loaded), rolled back in 120 s unless confirmed',
      affects: [file, 'nft:inet onionplay'],
      steps: ["nft -c -f", 'systemd-run --quiet --unit=onionplay-firewall-rollback --on-active=120', 'nft -f /etc/onionplay/firewall.nft'],
    },
  },
  {
    name: 'table loaded and file matches',
    module: nftablesTableModule,
    args: { rules },
    stdout: `${stateLine('file', { type: 'file', mode: '0600', content })}live ${sha256}\n`,
    expect: { status: 'ok', reason: `table inet onionplay is loaded with the wanted rules and ${file} matches (sha256 ${sha256.slice(0, 12)})` },
  },
  {
    name: 'table flushed by someone else',
    module: nftablesTableModule,
    args: { rules },
    stdout: `${stateLine('file', { type: 'file', mode: '0600', content })}live none\n`,
    expect: { status: 'change', summary: /table inet onionplay is not loaded/ },
  },
  {
    name: 'table with other rules, no rollback',
    module: nftablesTableModule,
    args: { rules, rollback_seconds: 0 },
    stdout: `${stateLine('file', { type: 'file', mode: '0600', content: 'old' })}live ${'0'.repeat(64)}\n`,
    expect: { status: 'change', summary: 'load table inet onionplay (table inet onionplay has other rules)', notInSteps: ['systemd-run'] },
  },
  {
    name: 'nft missing',
    module: nftablesTableModule,
    args: { rules },
    stdout: `${stateLine('file', { type: 'absent' })}live missing-nft\n`,
    expect: { status: 'failed', message: /nft is not installed/ },
  },
  {
    name: 'confirm with nothing pending',
    module: nftablesConfirmModule,
    args: {},
    stdout: 'armed none\n',
    expect: { status: 'ok', reason: 'no firewall rollback is pending' },
  },
  {
    name: 'confirm a pending timer',
    module: nftablesConfirmModule,
    args: {},
    stdout: 'armed timer\n',
    expect: { status: 'change', summary: 'keep the new firewall rules: cancel the pending rollback', steps: ['systemctl stop onionplay-firewall-rollback.timer'] },
  },
];

for (const row of tableRows) test(`nftables plan: ${row.name}`, (t) => checkRow(t, row));

test('nftables file replaces only its own table', (t) => {
  t.regex(content, /^table inet onionplay\ndelete table inet onionplay\ntable inet onionplay \{/m);
  t.notRegex(content, /flush ruleset/);
  t.regex(content, new RegExp(`comment "onionplay sha256:${sha256}"`));
});

const listLine = (path: string, text: string): string => `file ${path} 644 ${Buffer.from(text).toString('base64')}\n`;

const sourceRows: PlanRow[] = [
  {
    name: 'sources to Tor',
    module: aptTorSourcesModule,
    args: {},
    stdout: listLine('/etc/apt/sources.list.d/debian.sources', 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n'),
    expect: { status: 'change', summary: "send apt through Tor (tor+http): /etc/apt/sources.list.d/debian.sources", affects: ['/etc/apt/sources.list.d/debian.sources'] },
  },
  {
    name: 'sources already through Tor',
    module: aptTorSourcesModule,
    args: {},
    stdout: listLine('/etc/apt/sources.list', 'deb tor+http://deb.debian.org/debian bookworm main\n'),
    expect: { status: 'ok', reason: 'all 1 apt sources file(s) already go through Tor (tor+http)' },
  },
  {
    name: 'no sources files',
    module: aptTorSourcesModule,
    args: {},
    stdout: '',
    expect: { status: 'ok', reason: 'the host has no apt sources files' },
  },
  {
    name: 'sources back to plain http',
    module: aptTorSourcesModule,
    args: { state: 'absent' },
    stdout: listLine('/etc/apt/sources.list', 'deb tor+https://mirror.example/debian bookworm main\n'),
    expect: { status: 'change', summary: 'send apt without Tor: /etc/apt/sources.list' },
  },
];

for (const row of sourceRows) test(`apt_tor_sources plan: ${row.name}`, (t) => checkRow(t, row));

test('rewriteSources leaves comments and other fields', (t) => {
  const text = '# deb http://old.example/ bookworm main\nURIs: http://a.example/ https://b.example/\nSigned-By: /usr/share/keyrings/x.gpg\ndeb-src http://c.example/ bookworm main\n';
  t.is(
    rewriteSources(text, true),
    '# deb http://old.example/ bookworm main\nURIs: tor+http://a.example/ tor+https://b.example/\nSigned-By: /usr/share/keyrings/x.gpg\ndeb-src tor+http://c.example/ bookworm main\n',
  );
  t.is(rewriteSources(rewriteSources(text, true), false), text);
});
