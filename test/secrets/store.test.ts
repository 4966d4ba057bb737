import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { OnionplayError } from '../../runner/errors/index.ts';
import { OnionKeyStore, secretsDir } from '../../runner/secrets/store.ts';

const keys = {
  hostname: 'exampleexampleexampleexampleexampleexampleexampleexampl.onion',
  secretKey: Buffer.from('== ed25519v1-secret: type0 == test secret key bytes').toString('base64'),
  publicKey: Buffer.from('== ed25519v1-public: type0 == test public key bytes').toString('base64'),
};

async function withSite(run: (site: string) => Promise<void>): Promise<void> {
  const site = await mkdtemp(join(tmpdir(), 'onionplay-secrets-'));
  try {
    await run(site);
  } finally {
    await rm(site, { recursive: true, force: true });
  }
}

test('store round-trips keys through the encrypted file', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'correct horse').put('obelix', 'ssh', keys);
    const reread = new OnionKeyStore(site, async () => 'correct horse');
    t.deepEqual(await reread.get('obelix', 'ssh'), keys);
    t.deepEqual(await reread.hosts(), ['obelix']);
  });
});

test('store file holds no key material in clear', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'pass').put('obelix', 'ssh', keys);
    const text = await readFile(join(secretsDir(site), 'obelix.enc'), 'utf8');
    t.false(text.includes(keys.secretKey));
    t.false(text.includes(keys.hostname));
  });
});

test('store files have restrictive modes', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'pass').put('obelix', 'ssh', keys);
    t.is((await stat(join(secretsDir(site), 'obelix.enc'))).mode & 0o777, 0o600);
    t.is((await stat(join(site, 'state'))).mode & 0o777, 0o700);
  });
});

test('store fails closed on a wrong passphrase', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'right').put('obelix', 'ssh', keys);
    const error = await t.throwsAsync(new OnionKeyStore(site, async () => 'wrong').get('obelix', 'ssh'));
    t.true(error instanceof OnionplayError);
    t.regex(error?.message ?? '', /wrong passphrase, or the file was changed/);
  });
});

test('store fails closed on a tampered body', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'pass').put('obelix', 'ssh', keys);
    const file = join(secretsDir(site), 'obelix.enc');
    const [header, body] = (await readFile(file, 'utf8')).split('\n');
    const bytes = Buffer.from(body ?? '', 'base64');
    bytes[3] = (bytes[3] ?? 0) ^ 0x01;
    await writeFile(file, `${header}\n${bytes.toString('base64')}\n`);
    await t.throwsAsync(new OnionKeyStore(site, async () => 'pass').get('obelix', 'ssh'), { message: /cannot decrypt/ });
  });
});

test('store fails closed on a tampered header', async (t) => {
  await withSite(async (site) => {
    await new OnionKeyStore(site, async () => 'pass').put('obelix', 'ssh', keys);
    const file = join(secretsDir(site), 'obelix.enc');
    const [header, body] = (await readFile(file, 'utf8')).split('\n');
    const changed = { ...JSON.parse(header ?? '{}'), r: 4 };
    await writeFile(file, `${JSON.stringify(changed)}\n${body}\n`);
    await t.throwsAsync(new OnionKeyStore(site, async () => 'pass').get('obelix', 'ssh'), { message: /cannot decrypt/ });
  });
});

test('store returns nothing for an unknown host', async (t) => {
  await withSite(async (site) => {
    t.is(await new OnionKeyStore(site, async () => 'pass').get('nobody', 'ssh'), undefined);
  });
});
