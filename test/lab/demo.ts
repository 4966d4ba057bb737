// `npm run demo`: the main job on the built-in lab. Brings the lab up,
// bootstraps its hosts to onion-only (tor, sshd-onion, firewall) through
// the private Tor network, runs the playbook again to show it converged,
// and prints each host's onion addresses.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { main } from '../../runner/cli/main.ts';
import { loadSite } from '../../runner/inventory/load.ts';
import { OnionKeyStore, readPassphrase } from '../../runner/secrets/store.ts';
import { DATA_DIR, REPO_DIR, SITE_DIR } from './config.ts';
import { labHealthy, requireRoot, up } from './lab.ts';
import { readState } from './state.ts';

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

async function runPlaybook(label: string): Promise<number> {
  process.stdout.write(`\n=== ${label} ===\n`);
  const started = Date.now();
  const code = await main(['run', path.join(REPO_DIR, 'playbooks', 'bootstrap.yaml'), '-i', SITE_DIR, '--stats', '--output', 'plain']);
  process.stdout.write(`${label}: exit code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return code;
}

async function demo(): Promise<number> {
  requireRoot();
  const wasHealthy = labHealthy(readState());
  const started = Date.now();
  await up({ hosts: 3, startedBy: 'cli' });
  process.stdout.write(`lab ready after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  ensureLabPassphrase();
  if (!wasHealthy) forgetOldLabHosts(SITE_DIR);

  const first = await runPlaybook('bootstrap: first run');
  if (first !== 0) return first;
  const second = await runPlaybook('bootstrap: second run, expected to change nothing');

  const inventory = await loadSite(SITE_DIR);
  const store = new OnionKeyStore(SITE_DIR, () => readPassphrase(inventory.settings, SITE_DIR));
  process.stdout.write('\nonion addresses (SSH and web) of the lab hosts:\n');
  for (const host of await store.hosts()) {
    for (const [service, keys] of Object.entries(await store.load(host))) process.stdout.write(`  ${host.padEnd(10)} ${service.padEnd(5)} ${keys.hostname}\n`);
  }
  process.stdout.write('\nThe lab stays up: `npm run lab -- status`, `npm run lab -- down`.\n');
  return second;
}

demo().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
