// Encrypted store of onion service keys in the site folder, so an onion
// address survives a rebuild of its host. Each host has one file,
// encrypted with AES-256-GCM under a key that scrypt derives from a
// passphrase. The header is authenticated too, so a changed parameter
// fails the same way as a changed byte.

import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { OnionplayError } from '../errors/index.ts';
import type { SiteSettings } from '../inventory/types.ts';
import { stateDir, writeFileAtomic } from '../state/files.ts';

const FORMAT = 'onionplay-secrets-v1';
// scrypt cost parameters: N=2^15 and r=8 need 32 MiB of memory per derivation.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** Keys of one onion service, as tor writes them in its HiddenServiceDir. */
export interface OnionServiceKeys {
  /** The `.onion` address from the `hostname` file. Not secret. */
  hostname: string;
  /** Base64 of `hs_ed25519_secret_key`. Secret. */
  secretKey: string;
  /** Base64 of `hs_ed25519_public_key`. */
  publicKey: string;
}

interface Header {
  format: string;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  iv: string;
  tag: string;
}

type HostSecrets = Record<string, OnionServiceKeys>;

function scrypt(passphrase: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, salt, 32, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export function secretsDir(siteDir: string): string {
  return join(stateDir(siteDir), 'onion-keys');
}

function hostFile(siteDir: string, host: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(host)) throw new OnionplayError('invalid_value', `host name ${host} cannot name a key file`);
  return join(secretsDir(siteDir), `${host}.enc`);
}

/** Read the passphrase from the site's environment variable or file. */
export async function readPassphrase(settings: SiteSettings, siteDir: string): Promise<string> {
  const fromEnv = process.env[settings.secretsPassphraseEnv];
  if (fromEnv) return fromEnv;
  if (settings.secretsPassphraseFile) {
    const path = settings.secretsPassphraseFile;
    if (path.startsWith(siteDir)) {
      throw new OnionplayError('secret_store', `the passphrase file ${path} is inside the site folder`, {
        fix: 'keep the passphrase file outside the repository, e.g. in ~/.config/onionplay/',
      });
    }
    try {
      const text = (await readFile(path, 'utf8')).trim();
      if (text) return text;
    } catch (error) {
      throw new OnionplayError('secret_store', `cannot read the passphrase file ${path}`, { cause: error, fix: 'create it with mode 0600' });
    }
  }
  throw new OnionplayError('secret_store', 'no passphrase for the onion key store', {
    key: settings.secretsPassphraseEnv,
    fix: `export ${settings.secretsPassphraseEnv}=... or set secrets_passphrase_file in site.yaml`,
  });
}

export async function encryptSecrets(value: unknown, passphrase: string): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await scrypt(passphrase, salt, SCRYPT);
  const headerBase = { format: FORMAT, kdf: 'scrypt' as const, N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64'), iv: iv.toString('base64') };
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(JSON.stringify(headerBase)));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const header: Header = { ...headerBase, tag: cipher.getAuthTag().toString('base64') };
  return `${JSON.stringify(header)}\n${body.toString('base64')}\n`;
}

export async function decryptSecrets(text: string, passphrase: string, file: string): Promise<unknown> {
  const [headerLine, bodyLine] = text.split('\n');
  let header: Header;
  try {
    header = JSON.parse(headerLine ?? '') as Header;
  } catch (error) {
    throw new OnionplayError('secret_store', `${file} is not an onionplay key store`, { cause: error, fix: 'restore it from a backup' });
  }
  if (header.format !== FORMAT || header.kdf !== 'scrypt') {
    throw new OnionplayError('secret_store', `${file} has an unknown format ${String(header.format)}`, { fix: 'restore it from a backup' });
  }
  if (header.N > 1 << 20 || header.r > 32 || header.p > 16) {
    throw new OnionplayError('secret_store', `${file} asks for scrypt parameters beyond the allowed maximum`, { fix: 'restore it from a backup' });
  }
  const { tag, ...headerBase } = header;
  try {
    const key = await scrypt(passphrase, Buffer.from(header.salt, 'base64'), {
      N: header.N,
      r: header.r,
      p: header.p,
      maxmem: 256 * header.N * header.r + 1024 * 1024,
    });
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(header.iv, 'base64'));
    decipher.setAAD(Buffer.from(JSON.stringify(headerBase)));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(bodyLine ?? '', 'base64')), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch (error) {
    throw new OnionplayError('secret_store', `cannot decrypt ${file}: wrong passphrase, or the file was changed`, {
      cause: error,
      fix: 'check the passphrase; if the file was damaged, restore it from a backup',
    });
  }
}

/** The onion keys of a site, decrypted on demand with one passphrase. */
export class OnionKeyStore {
  private cache = new Map<string, HostSecrets>();

  constructor(private readonly siteDir: string, private readonly passphrase: () => Promise<string>) {}

  async hosts(): Promise<string[]> {
    try {
      return (await readdir(secretsDir(this.siteDir))).filter((name) => name.endsWith('.enc')).map((name) => name.slice(0, -4)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async load(host: string): Promise<HostSecrets> {
    const cached = this.cache.get(host);
    if (cached) return cached;
    const file = hostFile(this.siteDir, host);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const secrets = (await decryptSecrets(text, await this.passphrase(), file)) as HostSecrets;
    this.cache.set(host, secrets);
    return secrets;
  }

  async get(host: string, service: string): Promise<OnionServiceKeys | undefined> {
    return (await this.load(host))[service];
  }

  async put(host: string, service: string, keys: OnionServiceKeys): Promise<void> {
    const secrets = { ...(await this.load(host)), [service]: keys };
    await writeFileAtomic(hostFile(this.siteDir, host), await encryptSecrets(secrets, await this.passphrase()), 0o600);
    this.cache.set(host, secrets);
  }
}
