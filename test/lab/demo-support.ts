// Site preparation shared by `npm run demo` and the lab tests.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { DATA_DIR } from './config.ts';

const PASSPHRASE_FILE = path.join(DATA_DIR, 'secrets-passphrase');

/** The lab site keeps its key store passphrase outside the repository, made once. */
export function ensureLabPassphrase(): void {
  if (fs.existsSync(PASSPHRASE_FILE)) return;
  fs.mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
  fs.writeFileSync(PASSPHRASE_FILE, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * Forget what runs learned about lab hosts that no longer exist: their
 * pinned host keys and recorded SSH onion addresses. The onion key store
 * stays, so new hosts get the old onion addresses back.
 */
export function forgetOldLabHosts(siteDir: string): void {
  for (const file of ['host_keys.yaml', 'facts.yaml', 'pending-handlers.yaml']) {
    fs.rmSync(path.join(siteDir, 'state', file), { force: true });
  }
}

