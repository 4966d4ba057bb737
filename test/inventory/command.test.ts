import test from 'ava';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inventoryCommand } from '../../runner/cli/inventory.ts';
import { ExitCode } from '../../runner/errors/index.ts';
import { isSecretName, maskSecrets } from '../../runner/inventory/mask.ts';
import { BASIC_HOSTS, makeProject } from '../playbook/project.ts';

async function run(options: { host?: string; json?: boolean; files?: Record<string, string>; siteDir?: string }) {
  const root = await makeProject({ 'hosts.yaml': BASIC_HOSTS, ...options.files });
  let output = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const code = await inventoryCommand({
    siteDir: options.siteDir ?? root,
    output: sink,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.json !== undefined ? { json: options.json } : {}),
  });
  return { code, output };
}

test('graph of groups and hosts', async (t) => {
  const { code, output } = await run({});
  t.is(code, ExitCode.ok);
  t.is(output, '@all:\n  |--@masters:\n    |--obelix\n  |--@workers:\n    |--asterix\n    |--idefix\n');
});

test('json listing', async (t) => {
  const { output } = await run({ json: true });
  const listing = JSON.parse(output) as { groups: Record<string, { hosts: string[] }>; hosts: Record<string, { groups: string[] }> };
  t.deepEqual(listing.groups.workers?.hosts, ['asterix', 'idefix']);
  t.deepEqual(listing.hosts.obelix?.groups, ['all', 'masters']);
});

test('host variables with secrets masked', async (t) => {
  const { code, output } = await run({
    host: 'obelix',
    json: true,
    files: {
      'host_vars/obelix.yaml': 'admin_password: hunter2\njoin_token: abc\nssh_key: keys/obelix\napi_key: k\ntor: {control_secret: s, port: 9051}\n',
    },
  });
  t.is(code, ExitCode.ok);
  const shown = JSON.parse(output) as { vars: Record<string, unknown> };
  t.is(shown.vars.admin_password, '********');
  t.is(shown.vars.join_token, '********');
  t.is(shown.vars.api_key, '********');
  t.is(shown.vars.ssh_key, 'keys/obelix');
  t.deepEqual(shown.vars.tor, { control_secret: '********', port: 9051 });
  t.is(shown.vars.user, 'admin');
  t.false(output.includes('hunter2'));
});

test('host variables as YAML', async (t) => {
  const { output } = await run({ host: 'asterix' });
  t.regex(output, /^host: asterix\n/);
  t.regex(output, /address: 192\.0\.2\.2/);
});

test('unknown host suggests a name', async (t) => {
  const { code, output } = await run({ host: 'obelx' });
  t.is(code, ExitCode.invalidInput);
  t.regex(output, /did you mean "obelix"/);
});

test('missing site folder', async (t) => {
  const { code, output } = await run({ siteDir: path.join('/nonexistent', 'site') });
  t.is(code, ExitCode.invalidInput);
  t.regex(output, /inventory folder not found/);
});

test('secret name rule', (t) => {
  for (const name of ['password', 'sudo_pass', 'join_token', 'client_secret', 'ssh_private_key', 'onion_key', 'PRIVATE_DATA']) {
    t.true(isSecretName(name), name);
  }
  for (const name of ['ssh_key', 'user', 'keyring_dir', 'address', 'port']) t.false(isSecretName(name), name);
  t.deepEqual(maskSecrets([{ token: 1 }]), [{ token: '********' }]);
});
