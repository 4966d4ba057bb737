// Parsing of the machine's apt sources, which the lab builds its hosts
// from. These tests need no root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { debootstrapMirror, mirrorsFor, readDebianSources, renderHostSources } from './apt-sources.ts';

const tempDirs: string[] = [];

test.after.always(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function aptDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onionplay-apt-'));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

test('deb822 sources give mirror', (t) => {
  const dir = aptDir({ 'sources.list.d/debian.sources': DEB822 });
  const sources = readDebianSources('bookworm', dir);
  t.is(sources.length, 2);
  t.is(debootstrapMirror(sources, 'bookworm'), 'http://deb.debian.org/debian');
  t.deepEqual(mirrorsFor(sources), [{ host: 'deb.debian.org', port: 80, listenAddress: '10.200.0.1' }]);
});

test('one-line sources are parsed', (t) => {
  const dir = aptDir({
    'sources.list': [
      '# a comment',
      'deb http://ftp.example.org/debian bookworm main contrib',
      'deb [arch=amd64] https://security.example.org/debian-security bookworm-security main',
      'deb-src http://ftp.example.org/debian bookworm main',
    ].join('\n'),
  });
  const sources = readDebianSources('bookworm', dir);
  t.is(sources.length, 2);
  t.deepEqual(sources[0]?.components, ['main', 'contrib']);
  t.deepEqual(mirrorsFor(sources), [
    { host: 'ftp.example.org', port: 80, listenAddress: '10.200.0.1' },
    { host: 'security.example.org', port: 443, listenAddress: '10.200.0.2' },
  ]);
});

test('foreign and disabled sources are skipped', (t) => {
  const dir = aptDir({
    'sources.list.d/debian.sources': DEB822,
    'sources.list.d/nodesource.sources': [
      'Types: deb',
      'URIs: https://deb.nodesource.com/node_20.x',
      'Suites: nodistro',
      'Components: main',
      'Signed-By: /usr/share/keyrings/nodesource.gpg',
    ].join('\n'),
    'sources.list.d/other.list': 'deb [signed-by=/usr/share/keyrings/other.gpg] http://other.example.org/debian bookworm main\n',
    'sources.list.d/off.sources': 'Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n',
    'sources.list.d/old.list.disabled': 'deb http://disabled.example.org/debian bookworm main\n',
  });
  const hosts = readDebianSources('bookworm', dir).map((source) => source.uri.hostname);
  t.deepEqual([...new Set(hosts)], ['deb.debian.org']);
});

test('missing main source is reported', (t) => {
  const dir = aptDir({ 'sources.list': 'deb http://deb.debian.org/debian-security bookworm-security main\n' });
  const error = t.throws(() => debootstrapMirror(readDebianSources('bookworm', dir), 'bookworm'));
  t.regex(error?.message ?? '', /no Debian source for bookworm with component main/);
});

test('host sources render as deb822', (t) => {
  const dir = aptDir({ 'sources.list.d/debian.sources': DEB822 });
  const rendered = renderHostSources(readDebianSources('bookworm', dir));
  t.true(rendered.includes('URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n'));
  t.true(rendered.includes('Suites: bookworm-security\n'));
  t.is(rendered.split('Types: deb').length - 1, 2);
});
