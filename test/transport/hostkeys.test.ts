import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { OnionplayError } from '../../runner/errors/index.ts';
import { fingerprintOf, HostKeyStore, hostKeysPath, keyTypeOf } from '../../runner/transport/hostkeys.ts';
import { makeTempDir, removeTempDir } from '../support/processes.ts';
import { generateKey } from '../support/sshd.ts';

function keyBlob(publicKeyFile: string): Buffer {
  return Buffer.from(fs.readFileSync(publicKeyFile, 'utf8').split(' ')[1] ?? '', 'base64');
}

test('fingerprint matches ssh-keygen', async (t) => {
  const folder = makeTempDir('keys');
  t.teardown(() => removeTempDir(folder));
  const keyPath = await generateKey(folder, 'k');
  const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyPath}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  t.is(fingerprintOf(keyBlob(`${keyPath}.pub`)), printed);
  t.is(keyTypeOf(keyBlob(`${keyPath}.pub`)), 'ssh-ed25519');
  t.is(keyTypeOf(Buffer.from([0, 0])), 'unknown');
});

test('pins are private and survive a reload', async (t) => {
  const site = makeTempDir('site');
  t.teardown(() => removeTempDir(site));
  const keyPath = await generateKey(site, 'k');
  const blob = keyBlob(`${keyPath}.pub`);
  const store = HostKeyStore.forSite(site);
  t.is(await store.verify('web1', blob, { trustNewHosts: true, via: 'onion x.onion:22' }), 'pinned');
  t.is(await new HostKeyStore(hostKeysPath(site)).verify('web1', blob, { trustNewHosts: false, via: 'onion x.onion:22' }), 'known');
  t.is(fs.statSync(path.join(site, 'state')).mode & 0o777, 0o700);
  t.is(fs.statSync(hostKeysPath(site)).mode & 0o777, 0o600);
  const pinned = await store.get('web1');
  t.is(pinned?.pinnedVia, 'onion x.onion:22');
  t.is(typeof pinned?.pinnedAt, 'string');
  t.deepEqual(fs.readdirSync(path.join(site, 'state')), ['host_keys.yaml'], 'no temporary file is left');
});

test('parallel pins keep every host', async (t) => {
  const site = makeTempDir('site');
  t.teardown(() => removeTempDir(site));
  const keyPath = await generateKey(site, 'k');
  const blob = keyBlob(`${keyPath}.pub`);
  const store = HostKeyStore.forSite(site);
  await Promise.all(['a', 'b', 'c', 'd'].map((name) => store.pin(name, blob, 'test')));
  t.deepEqual([...(await store.readAll()).keys()].sort(), ['a', 'b', 'c', 'd']);
});

test('changed key names both fingerprints', async (t) => {
  const site = makeTempDir('site');
  t.teardown(() => removeTempDir(site));
  const first = keyBlob(`${await generateKey(site, 'k1')}.pub`);
  const second = keyBlob(`${await generateKey(site, 'k2')}.pub`);
  const store = HostKeyStore.forSite(site);
  await store.pin('web1', first, 'test');
  const error = await t.throwsAsync(store.verify('web1', second, { trustNewHosts: true, via: 'test' }), { instanceOf: OnionplayError });
  t.is(error?.code, 'host_key');
  t.true(error?.message.includes(fingerprintOf(first)));
  t.true(error?.message.includes(fingerprintOf(second)));
  t.is((await store.get('web1'))?.fingerprint, fingerprintOf(first), 'trust does not replace a changed key');
});

test('broken file is reported with its path', async (t) => {
  const site = makeTempDir('site');
  t.teardown(() => removeTempDir(site));
  fs.mkdirSync(path.join(site, 'state'));
  fs.writeFileSync(hostKeysPath(site), 'hosts:\n  web1:\n    type: ssh-ed25519\n');
  const error = await t.throwsAsync(HostKeyStore.forSite(site).get('web1'), { instanceOf: OnionplayError });
  t.is(error?.code, 'invalid_value');
  t.true(error?.message.includes(hostKeysPath(site)));
  t.regex(error?.message ?? '', /hosts\.web1\.fingerprint/);
});
