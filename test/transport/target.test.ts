import test from 'ava';

import { OnionplayError } from '../../runner/errors/index.ts';
import type { SiteSettings } from '../../runner/inventory/types.ts';
import { resolveTarget } from '../../runner/transport/target.ts';
import { randomOnionAddress } from '../support/transport-fixture.ts';

const settings: SiteSettings = {
  socks: { host: '127.0.0.1', port: 9050 },
  trustNewHosts: false,
  connectTimeoutMs: 120_000,
  commandTimeoutMs: 600_000,
  secretsPassphraseEnv: 'ONIONPLAY_PASSPHRASE',
};

test('defaults for a host with an address', (t) => {
  const target = resolveTarget('web1', { address: '192.0.2.10' }, settings, '/site');
  t.deepEqual(target, {
    name: 'web1',
    address: '192.0.2.10',
    port: 22,
    user: 'root',
    direct: false,
    socks: { host: '127.0.0.1', port: 9050 },
    connectTimeoutMs: 120_000,
    commandTimeoutMs: 600_000,
  });
});

test('all connection variables are read', (t) => {
  const onion = randomOnionAddress();
  const target = resolveTarget(
    'web1',
    { onion, address: 'web1.example', port: '2222', user: 'admin', ssh_key: 'keys/id_ed25519', direct: true, socks: '[::1]:9150' },
    settings,
    '/site',
  );
  t.is(target.onion, onion);
  t.is(target.address, 'web1.example');
  t.is(target.port, 2222);
  t.is(target.user, 'admin');
  t.is(target.sshKey, '/site/keys/id_ed25519');
  t.true(target.direct);
  t.deepEqual(target.socks, { host: '::1', port: 9150 });
});

test('absolute ssh_key is kept', (t) => {
  t.is(resolveTarget('web1', { address: 'a', ssh_key: '/keys/k' }, settings, '/site').sshKey, '/keys/k');
});

test('host without onion or address is rejected', (t) => {
  const error = t.throws(() => resolveTarget('web1', { user: 'root' }, settings, '/site'), { instanceOf: OnionplayError });
  t.is(error?.code, 'missing_key');
  t.regex(error?.message ?? '', /web1 has neither an onion nor an address/);
  t.regex(error?.details.fix ?? '', /host_vars\/web1.yaml/);
});

test('invalid values are rejected with the key', (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['onion', { onion: 'abc.onion' }],
    ['port', { address: 'a', port: 70000 }],
    ['port', { address: 'a', port: 'ssh' }],
    ['direct', { address: 'a', direct: 'yes' }],
    ['socks', { address: 'a', socks: '9050' }],
    ['user', { address: 'a', user: '' }],
  ];
  for (const [key, vars] of cases) {
    const error = t.throws(() => resolveTarget('web1', vars, settings, '/site'), { instanceOf: OnionplayError });
    t.is(error?.code, 'invalid_value', JSON.stringify(vars));
    t.is(error?.details.key, key, JSON.stringify(vars));
  }
});
