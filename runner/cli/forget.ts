// `onionplay forget HOST -i SITE_DIR`: after a host was rebuilt, forget
// what runs learned about it (its SSH onion address and other learned
// facts, pending handlers, its pinned host key), so the next run makes
// first contact again. Its onion keys stay in the key store, so the
// rebuilt host gets its old onion addresses back.

import { ExitCode, OnionplayError } from '../errors/index.ts';
import { loadSite } from '../inventory/load.ts';
import { acquireSiteLock } from '../state/lock.ts';
import { SiteState } from '../state/site-state.ts';
import { HostKeyStore } from '../transport/hostkeys.ts';
import { type CliIo, type CliValues, requireSite } from './main.ts';

export async function forgetCommand(values: CliValues, positionals: string[], io: CliIo): Promise<number> {
  const host = positionals[0];
  if (!host) throw new OnionplayError('usage', 'missing the host name', { fix: 'onionplay forget HOST -i SITE_DIR' });
  const siteDir = requireSite(values);
  const inventory = await loadSite(siteDir);
  if (!inventory.hosts.has(host)) {
    throw new OnionplayError('not_found', `host ${host} is not in the inventory of ${siteDir}`, {
      value: host,
      allowed: [...inventory.hosts.keys()].join(', '),
      fix: 'give a host name from hosts.yaml',
    });
  }
  const lock = await acquireSiteLock(siteDir);
  try {
    const state = await SiteState.open(siteDir);
    const facts = await state.forgetHost(host);
    await state.settle();
    const pin = await HostKeyStore.forSite(siteDir).unpin(host);
    io.stdout.write(
      `${host}: ${facts ? 'learned facts forgotten' : 'no learned facts'}, ${pin ? 'host key pin removed' : 'no host key pin'}; ` +
        'the next run makes first contact at its clearnet address\n',
    );
    return ExitCode.ok;
  } finally {
    await lock.release();
  }
}
