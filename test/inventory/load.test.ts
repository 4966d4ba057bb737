import test from 'ava';
import path from 'node:path';
import { OnionplayError, ValidationErrors } from '../../runner/errors/index.ts';
import { loadLearnedFacts, loadSite } from '../../runner/inventory/load.ts';
import { checkOnionAddress } from '../../runner/inventory/onion.ts';
import { BASIC_HOSTS, makeProject, validOnion } from '../playbook/project.ts';

async function siteErrors(files: Record<string, string>): Promise<OnionplayError[]> {
  const root = await makeProject(files);
  try {
    await loadSite(root);
  } catch (error) {
    if (error instanceof ValidationErrors) return error.errors;
    if (error instanceof OnionplayError) return [error];
    throw error;
  }
  return [];
}

test('hosts and groups from hosts.yaml', async (t) => {
  const root = await makeProject({ 'hosts.yaml': BASIC_HOSTS });
  const inventory = await loadSite(root);
  t.deepEqual([...inventory.hosts.keys()], ['obelix', 'asterix', 'idefix']);
  t.deepEqual(inventory.groups.get('all')?.children, ['masters', 'workers']);
  t.deepEqual(inventory.groups.get('workers')?.hosts, ['asterix', 'idefix']);
  t.deepEqual(inventory.hosts.get('obelix')?.groups, ['all', 'masters']);
  t.is(inventory.groups.get('masters')?.depth, 1);
  t.is(inventory.hosts.get('obelix')?.position.line, 7);
  t.deepEqual(inventory.hosts.get('asterix')?.vars, { address: '192.0.2.2' });
});

test('nested children and depth', async (t) => {
  const root = await makeProject({
    'hosts.yaml': 'all:\n  children:\n    k8s:\n      children:\n        masters:\n          hosts: {m1: {}}\n        workers:\n          hosts: {w1: {}}\n',
  });
  const inventory = await loadSite(root);
  t.is(inventory.groups.get('k8s')?.depth, 1);
  t.is(inventory.groups.get('masters')?.depth, 2);
  t.deepEqual(inventory.hosts.get('w1')?.groups, ['all', 'k8s', 'workers']);
});

test('top-level groups are children of all', async (t) => {
  const root = await makeProject({ 'hosts.yaml': 'web:\n  hosts:\n    w1: {}\n' });
  const inventory = await loadSite(root);
  t.deepEqual(inventory.groups.get('all')?.children, ['web']);
  t.deepEqual(inventory.hosts.get('w1')?.groups, ['all', 'web']);
});

test('group_vars files and folders', async (t) => {
  const root = await makeProject({
    'hosts.yaml': BASIC_HOSTS,
    'group_vars/all.yaml': 'a: from-all-file\n',
    'group_vars/workers/20-b.yaml': 'x: second\n',
    'group_vars/workers/10-a.yaml': 'x: first\ny: only-first\n',
    'host_vars/obelix.yaml': 'h: 1\naddress: 192.0.2.9\n',
  });
  const inventory = await loadSite(root);
  t.is(inventory.groups.get('all')?.vars.a, 'from-all-file');
  t.is(inventory.groups.get('all')?.vars.user, 'admin');
  t.is(inventory.groups.get('workers')?.vars.x, 'second');
  t.is(inventory.groups.get('workers')?.vars.y, 'only-first');
  t.is(inventory.hosts.get('obelix')?.vars.address, '192.0.2.9');
  t.is(inventory.hosts.get('obelix')?.varSources?.address?.file, path.join(root, 'host_vars/obelix.yaml'));
});

test('vars file of unknown group warns', async (t) => {
  const root = await makeProject({ 'hosts.yaml': BASIC_HOSTS, 'group_vars/nobody.yaml': 'a: 1\n' });
  const inventory = await loadSite(root);
  t.true(inventory.warnings?.some((warning) => warning.includes('no group named "nobody"')));
});

test('site settings defaults', async (t) => {
  const root = await makeProject({ 'hosts.yaml': BASIC_HOSTS });
  const { settings } = await loadSite(root);
  t.deepEqual(settings.socks, { host: '127.0.0.1', port: 9050 });
  t.false(settings.trustNewHosts);
  t.is(settings.connectTimeoutMs, 120_000);
  t.is(settings.commandTimeoutMs, 0);
  t.is(settings.secretsPassphraseEnv, 'ONIONPLAY_PASSPHRASE');
  t.is(settings.secretsPassphraseFile, undefined);
});

test('site settings from site.yaml', async (t) => {
  const root = await makeProject({
    'hosts.yaml': BASIC_HOSTS,
    'site.yaml': 'socks: "[::1]:9150"\ntrust_new_hosts: true\nconnect_timeout: 30\ncommand_timeout: 5\nsecrets_passphrase_env: MY_PASS\nsecrets_passphrase_file: pass.txt\n',
  });
  const { settings } = await loadSite(root);
  t.deepEqual(settings.socks, { host: '::1', port: 9150 });
  t.true(settings.trustNewHosts);
  t.is(settings.connectTimeoutMs, 30_000);
  t.is(settings.commandTimeoutMs, 5000);
  t.is(settings.secretsPassphraseEnv, 'MY_PASS');
  t.is(settings.secretsPassphraseFile, path.join(root, 'pass.txt'));
});

test('unknown site setting is an error', async (t) => {
  const [error] = await siteErrors({ 'hosts.yaml': BASIC_HOSTS, 'site.yaml': 'trust_new_host: true\n' });
  t.is(error?.code, 'unknown_key');
  t.regex(error?.details.fix ?? '', /did you mean "trust_new_hosts"/);
});

test('learned facts are read', async (t) => {
  const onion = validOnion();
  const root = await makeProject({ 'hosts.yaml': BASIC_HOSTS, 'state/facts.yaml': `hosts:\n  obelix:\n    onion: ${onion}\n` });
  const inventory = await loadSite(root);
  t.is(inventory.learnedFacts?.get('obelix')?.onion, onion);
  t.is((await loadLearnedFacts(root)).get('obelix')?.onion, onion);
  t.is(inventory.learnedFactSources?.get('obelix')?.onion?.line, 3);
});

test('missing inventory folder', async (t) => {
  const root = await makeProject({});
  const error = await t.throwsAsync(loadSite(path.join(root, 'nope')));
  t.true(error instanceof OnionplayError);
  t.is((error as OnionplayError).code, 'not_found');
  t.regex((error as OnionplayError).details.fix ?? '', /-i/);
});

test('missing hosts.yaml', async (t) => {
  const [error] = await siteErrors({ 'site.yaml': 'trust_new_hosts: false\n' });
  t.is(error?.code, 'not_found');
  t.regex(error?.message ?? '', /hosts\.yaml not found/);
});

test('connection keys are validated', async (t) => {
  const errors = await siteErrors({ 'hosts.yaml': 'all:\n  hosts:\n    a: {port: 0, direct: yes, socks: "nohost"}\n' });
  t.deepEqual(errors.map((error) => error.details.key).sort(), ['all.hosts.a.direct', 'all.hosts.a.port', 'all.hosts.a.socks']);
});

test('invalid address', async (t) => {
  const [error] = await siteErrors({ 'hosts.yaml': 'all:\n  hosts:\n    a: {address: "192.0.2.1:22"}\n' });
  t.regex(error?.message ?? '', /invalid address/);
  t.regex(error?.details.fix ?? '', /port:/);
});

test('group cycle is an error', async (t) => {
  const errors = await siteErrors({ 'hosts.yaml': 'all:\n  children:\n    a:\n      children:\n        a: {}\n' });
  t.is(errors[0]?.code, 'cycle');
  t.regex(errors[0]?.message ?? '', /all -> a -> a/);
});

test('onion address checks', (t) => {
  t.is(checkOnionAddress(validOnion()), undefined);
  t.is(checkOnionAddress('duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion'), undefined);
  t.regex(checkOnionAddress('expyuzz4wqqyqhjn.onion')?.message ?? '', /v2/);
  t.regex(checkOnionAddress('duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczaa.onion')?.message ?? '', /checksum|version/);
  t.regex(checkOnionAddress('DUCKDUCKGOGG42XJOC72X3SJASOWOARFBGCMVFIMAFTT6TWAGSWZCZAD.onion')?.message ?? '', /lower case/);
  t.regex(checkOnionAddress('abc.onion')?.message ?? '', /3 characters/);
  t.regex(checkOnionAddress('example.com')?.message ?? '', /not an onion address/);
});

test('onion in host_vars is checked', async (t) => {
  const [error] = await siteErrors({ 'hosts.yaml': BASIC_HOSTS, 'host_vars/obelix.yaml': 'onion: expyuzz4wqqyqhjn.onion\n' });
  t.is(error?.details.key, 'onion');
  t.is(error?.details.position?.line, 1);
  t.regex(error?.message ?? '', /v2/);
});
