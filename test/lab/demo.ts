// `npm run demo`: the main job on the built-in lab. Brings the lab up,
// bootstraps its hosts to onion-only (tor, sshd-onion, firewall) through
// the private Tor network, runs the playbook again to show it converged,
// and prints each host's onion addresses.

import path from 'node:path';

import { main } from '../../runner/cli/main.ts';
import { loadSite } from '../../runner/inventory/load.ts';
import { OnionKeyStore, readPassphrase } from '../../runner/secrets/store.ts';
import { REPO_DIR, SITE_DIR } from './config.ts';
import { ensureLabPassphrase, forgetOldLabHosts } from './demo-support.ts';
import { labHealthy, requireRoot, up } from './lab.ts';
import { readState } from './state.ts';

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
