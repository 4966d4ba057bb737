// `onionplay onion list|backup|restore -i SITE_DIR`: the site's stored
// onion service keys. Keys stay encrypted in every file this writes and
// are never printed; `list` shows addresses only.

import { readFile } from 'node:fs/promises';

import { ExitCode, OnionplayError } from '../errors/index.ts';
import { loadSite } from '../inventory/load.ts';
import { decryptSecrets, encryptSecrets, OnionKeyStore, readPassphrase, type OnionServiceKeys } from '../secrets/store.ts';
import { writeFileAtomic } from '../state/files.ts';
import { type CliIo, type CliValues, requireSite } from './main.ts';

const HELP = `Usage:
  onionplay onion list -i SITE_DIR             hosts, services and onion addresses in the key store
  onionplay onion backup -i SITE_DIR FILE      write every stored key into one encrypted file
  onionplay onion restore -i SITE_DIR FILE     put the keys of such a file back into the store
The passphrase comes from the site's secrets_passphrase_env (default ONIONPLAY_PASSPHRASE)
or secrets_passphrase_file.
`;

type Bundle = Record<string, Record<string, OnionServiceKeys>>;

export async function onionCommand(values: CliValues, positionals: string[], io: CliIo): Promise<number> {
  const [action, file] = positionals;
  if (!action || values.help) {
    io.stdout.write(HELP);
    return action ? ExitCode.ok : ExitCode.invalidInput;
  }
  const siteDir = requireSite(values);
  const inventory = await loadSite(siteDir);
  const passphrase = (): Promise<string> => readPassphrase(inventory.settings, siteDir);
  const store = new OnionKeyStore(siteDir, passphrase);

  if (action === 'list') {
    const hosts = await store.hosts();
    if (hosts.length === 0) io.stdout.write('no onion keys stored for this site\n');
    for (const host of hosts) {
      for (const [service, keys] of Object.entries(await store.load(host))) io.stdout.write(`${host}\t${service}\t${keys.hostname}\n`);
    }
    return ExitCode.ok;
  }
  if (!file) throw new OnionplayError('usage', `missing the file for onion ${action}`, { fix: `onionplay onion ${action} -i ${siteDir} FILE` });
  if (action === 'backup') {
    const bundle: Bundle = {};
    for (const host of await store.hosts()) bundle[host] = await store.load(host);
    await writeFileAtomic(file, await encryptSecrets(bundle, await passphrase()), 0o600);
    io.stdout.write(`wrote the keys of ${Object.keys(bundle).length} host(s) to ${file}\n`);
    return ExitCode.ok;
  }
  if (action === 'restore') {
    const bundle = (await decryptSecrets(await readFile(file, 'utf8'), await passphrase(), file)) as Bundle;
    let restored = 0;
    for (const [host, services] of Object.entries(bundle)) {
      for (const [service, keys] of Object.entries(services)) {
        const current = await store.get(host, service);
        if (current && current.secretKey !== keys.secretKey) {
          throw new OnionplayError('secret_store', `the store already has a different key for ${host} ${service} (${current.hostname}; the file has ${keys.hostname})`, {
            fix: 'decide which address to keep; remove the host file under state/onion-keys/ first to take the one from the backup',
          });
        }
        await store.put(host, service, keys);
        restored += 1;
      }
    }
    io.stdout.write(`restored ${restored} onion service key(s) from ${file}\n`);
    return ExitCode.ok;
  }
  throw new OnionplayError('usage', `unknown onion action ${action}`, { allowed: 'list, backup, restore', fix: HELP.trim() });
}
