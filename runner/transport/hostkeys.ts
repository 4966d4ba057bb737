// Pinned SSH host keys of a site, in <site>/state/host_keys.yaml. Keys are
// pinned under the inventory host name, not under an address, so a host
// first reached by its clearnet address is checked against the same key
// when it is later reached by its onion address.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import * as yaml from 'js-yaml';

import { OnionplayError } from '../errors/index.ts';

export interface PinnedHostKey {
  /** SSH key type, e.g. `ssh-ed25519`. */
  type: string;
  /** `SHA256:` and the unpadded base64 SHA-256 of the key blob, as OpenSSH prints it. */
  fingerprint: string;
  /** The key blob in base64, as in a known_hosts line. */
  key: string;
  /** ISO 8601 time of first contact. */
  pinnedAt: string;
  /** Route and address of first contact, for the reader of the file. */
  pinnedVia: string;
}

/** Return the path of a site's pinned keys file. */
export function hostKeysPath(siteDir: string): string {
  return path.join(siteDir, 'state', 'host_keys.yaml');
}

/** Compute the OpenSSH-style SHA256 fingerprint of a public key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Read the key type named at the start of an SSH public key blob (RFC 4253 section 6.6). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  if (length > 64 || keyBlob.length < 4 + length) return 'unknown';
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

const FILE_HEADER = [
  '# SSH host keys pinned by onionplay, keyed by inventory host name.',
  '# A changed key stops that host. After checking the new key out of band,',
  '# run `onionplay forget HOST`, then run again with --trust-new-hosts.',
  '',
].join('\n');

/** Serialises writes per file inside this process; runs of one site are expected not to overlap. */
const fileLocks = new Map<string, Promise<unknown>>();

export type VerifyOutcome = 'known' | 'pinned';

export class HostKeyStore {
  constructor(readonly filePath: string) {}

  static forSite(siteDir: string): HostKeyStore {
    return new HostKeyStore(hostKeysPath(siteDir));
  }

  /** Read all pins; a missing file means none. */
  async readAll(): Promise<Map<string, PinnedHostKey>> {
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new OnionplayError('host_key', `cannot read the pinned host keys in ${this.filePath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return this.parse(text);
  }

  async get(hostName: string): Promise<PinnedHostKey | undefined> {
    return (await this.readAll()).get(hostName);
  }

  /**
   * Check a host's key against its pin. An unknown key is pinned only when
   * `trustNewHosts` is set; otherwise, and for a changed key, this throws
   * OnionplayError('host_key') with the fingerprints and the fix.
   */
  async verify(hostName: string, keyBlob: Buffer, options: { trustNewHosts: boolean; via: string }): Promise<VerifyOutcome> {
    const seen = fingerprintOf(keyBlob);
    const seenType = keyTypeOf(keyBlob);
    const pinned = await this.get(hostName);
    if (pinned) {
      if (pinned.key === keyBlob.toString('base64')) return 'known';
      throw new OnionplayError(
        'host_key',
        `the host key of ${hostName} changed: pinned ${pinned.type} ${pinned.fingerprint}, ` +
          `now offered ${seenType} ${seen} (via ${options.via}). Nothing was sent to the host. ` +
          'This is expected after a rebuild, but can also mean someone is intercepting the connection',
        {
          key: hostName,
          value: seen,
          fix: `check the new fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_${seenType.replace(/^ssh-/, '')}_key.pub); if it is right, run onionplay forget ${hostName} -i ${path.dirname(path.dirname(this.filePath))}, then run again with --trust-new-hosts`,
        },
      );
    }
    if (!options.trustNewHosts) {
      throw new OnionplayError(
        'host_key',
        `the host key of ${hostName} is not pinned yet: it offered ${seenType} ${seen} (via ${options.via})`,
        {
          key: hostName,
          value: seen,
          fix: 'check this fingerprint on the host (ssh-keygen -lf on its host key), then run again with --trust-new-hosts, or set trust_new_hosts: true in site.yaml',
        },
      );
    }
    await this.pin(hostName, keyBlob, options.via);
    return 'pinned';
  }

  /** Record a host's key, replacing any previous pin, with an atomic write. */
  async pin(hostName: string, keyBlob: Buffer, via: string): Promise<PinnedHostKey> {
    const entry: PinnedHostKey = {
      type: keyTypeOf(keyBlob),
      fingerprint: fingerprintOf(keyBlob),
      key: keyBlob.toString('base64'),
      pinnedAt: new Date().toISOString(),
      pinnedVia: via,
    };
    await this.withLock(async () => {
      const all = await this.readAll();
      all.set(hostName, entry);
      await this.writeAll(all);
    });
    return entry;
  }

  /** Remove a host's pin; returns whether there was one. */
  async unpin(hostName: string): Promise<boolean> {
    return this.withLock(async () => {
      const all = await this.readAll();
      if (!all.delete(hostName)) return false;
      await this.writeAll(all);
      return true;
    });
  }

  private async withLock<T>(action: () => Promise<T>): Promise<T> {
    const previous = fileLocks.get(this.filePath) ?? Promise.resolve();
    const next = previous.then(action, action);
    fileLocks.set(this.filePath, next.catch(() => undefined));
    return next;
  }

  private async writeAll(all: Map<string, PinnedHostKey>): Promise<void> {
    const directory = path.dirname(this.filePath);
    // A new state directory is private; an existing one keeps its mode.
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    const hosts: Record<string, Record<string, string>> = {};
    for (const [name, entry] of [...all].sort(([a], [b]) => a.localeCompare(b))) {
      hosts[name] = {
        type: entry.type,
        fingerprint: entry.fingerprint,
        key: entry.key,
        pinned_at: entry.pinnedAt,
        pinned_via: entry.pinnedVia,
      };
    }
    const text = FILE_HEADER + yaml.dump({ hosts }, { lineWidth: -1 });
    const temporary = `${this.filePath}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
      await fs.rename(temporary, this.filePath);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw new OnionplayError('host_key', `cannot write the pinned host keys to ${this.filePath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private parse(text: string): Map<string, PinnedHostKey> {
    const invalid = (detail: string): OnionplayError =>
      new OnionplayError('invalid_value', `the pinned host keys file ${this.filePath} is invalid: ${detail}`, {
        fix: 'restore the file from version control, or delete the broken entry and pin the host again with --trust-new-hosts',
      });
    let document: unknown;
    try {
      document = yaml.load(text);
    } catch (error) {
      throw invalid((error as Error).message);
    }
    const result = new Map<string, PinnedHostKey>();
    if (document === null || document === undefined) return result;
    if (typeof document !== 'object' || Array.isArray(document)) throw invalid('expected a mapping with a hosts key');
    const hosts = (document as { hosts?: unknown }).hosts;
    if (hosts === null || hosts === undefined) return result;
    if (typeof hosts !== 'object' || Array.isArray(hosts)) throw invalid('hosts must be a mapping of host name to key');
    for (const [name, value] of Object.entries(hosts as Record<string, unknown>)) {
      const entry = value as Record<string, unknown> | null;
      const field = (key: string): string => {
        const fieldValue = entry?.[key];
        if (typeof fieldValue !== 'string' || fieldValue === '') throw invalid(`hosts.${name}.${key} is missing or not a string`);
        return fieldValue;
      };
      result.set(name, {
        type: field('type'),
        fingerprint: field('fingerprint'),
        key: field('key'),
        pinnedAt: typeof entry?.pinned_at === 'string' ? entry.pinned_at : '',
        pinnedVia: typeof entry?.pinned_via === 'string' ? entry.pinned_via : '',
      });
    }
    return result;
  }
}
