import { Ajv2020 } from 'ajv/dist/2020.js';
import test from 'ava';

import { allModules, coreModuleNames, getModule, moduleDocs, moduleNames } from '../../runner/modules/registry.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false });

function validator(name: string): (args: unknown) => boolean {
  const module = getModule(name);
  if (!module) throw new Error(`module ${name} missing`);
  const validate = ajv.compile(module.schema);
  return (args) => validate(args) as boolean;
}

test('registry lists every module', (t) => {
  t.deepEqual(coreModuleNames(), [
    'apt',
    'apt_repository',
    'assert',
    'blockinfile',
    'command',
    'copy',
    'debug',
    'fail',
    'fetch',
    'file',
    'lineinfile',
    'meta',
    'modprobe',
    'service',
    'set_fact',
    'shell',
    'slurp',
    'stat',
    'sysctl',
    'systemd',
    'template',
    'wait_for',
  ]);
  for (const name of coreModuleNames()) t.true(moduleNames().includes(name), name);
  t.is(new Set(allModules().map((module) => module.name)).size, allModules().length, 'module names are unique');
  t.is(getModule('nope'), undefined);
  for (const module of allModules()) {
    t.true(module.description.length > 0, `${module.name} has a description`);
    // meta has neither: the executor carries out its actions itself.
    if (module.name !== 'meta') t.true(Boolean(module.local) !== Boolean(module.plan), `${module.name} is either local or planned`);
  }
});

test('every schema compiles in strict mode', (t) => {
  for (const module of allModules()) {
    t.notThrows(() => ajv.compile(module.schema), module.name);
  }
});

test('every property has a description', (t) => {
  for (const module of allModules()) {
    const properties = (module.schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, property] of Object.entries(properties)) {
      t.true(typeof property.description === 'string' && property.description.length > 0, `${module.name}.${name}`);
    }
  }
});

test('modes must be octal strings', (t) => {
  const copy = validator('copy');
  t.true(copy({ dest: '/etc/x', content: '', mode: '0644' }));
  t.true(copy({ dest: '/etc/x', content: '', mode: '755' }));
  t.false(copy({ dest: '/etc/x', content: '', mode: 644 }));
  t.false(copy({ dest: '/etc/x', content: '', mode: 420 }));
  t.false(copy({ dest: '/etc/x', content: '', mode: '0944' }));
  t.false(copy({ dest: '/etc/x', content: '', mode: 'u+rw' }));
});

test('copy needs exactly one source', (t) => {
  const copy = validator('copy');
  t.false(copy({ dest: '/etc/x' }));
  t.false(copy({ dest: '/etc/x', content: 'a', src: 'b' }));
  t.false(copy({ dest: 'relative', content: 'a' }));
  t.false(copy({ dest: '/etc/x', content: 'a', backup: true }));
});

test('template validate needs %s', (t) => {
  const template = validator('template');
  t.true(template({ src: 'torrc.hbs', dest: '/etc/tor/torrc', validate: 'tor --verify-config -f %s' }));
  t.false(template({ src: 'torrc.hbs', dest: '/etc/tor/torrc', validate: 'tor --verify-config' }));
});

test('file link needs src', (t) => {
  const file = validator('file');
  t.true(file({ path: '/a', state: 'link', src: '/b' }));
  t.false(file({ path: '/a', state: 'link' }));
  t.true(file({ path: '/a', state: 'directory', mode: '0700' }));
  t.false(file({ path: '/a', state: 'present' }));
});

test('command takes cmd or argv', (t) => {
  const command = validator('command');
  t.true(command({ cmd: 'ls' }));
  t.true(command({ argv: ['ls', '-l'], creates: '/x' }));
  t.false(command({ cmd: 'ls', argv: ['ls'] }));
  t.false(command({ chdir: '/tmp' }));
  t.false(command({ cmd: 'ls', executable: '/bin/bash' }));
  t.true(validator('shell')({ cmd: 'ls', executable: '/bin/bash' }));
});

test('lineinfile needs line unless absent', (t) => {
  const lineinfile = validator('lineinfile');
  t.true(lineinfile({ path: '/a', line: 'x' }));
  t.false(lineinfile({ path: '/a' }));
  t.true(lineinfile({ path: '/a', state: 'absent', regexp: '^x' }));
  t.false(lineinfile({ path: '/a', state: 'absent' }));
  t.false(lineinfile({ path: '/a', line: 'x\ny' }));
  t.false(lineinfile({ path: '/a', line: 'x', backrefs: true }));
});

test('apt argument forms', (t) => {
  const apt = validator('apt');
  t.true(apt({ name: 'tor' }));
  t.true(apt({ name: ['tor', 'tor=0.4.9.11-1'], state: 'latest' }));
  t.true(apt({ update_cache: true, cache_valid_time: 3600 }));
  t.false(apt({}));
  t.false(apt({ name: 'tor; rm -rf /' }));
  t.false(apt({ name: 'tor', state: 'installed' }));
  t.false(apt({ name: 'tor', cache_valid_time: '1h' }));
});

test('apt_repository argument forms', (t) => {
  const repository = validator('apt_repository');
  t.true(repository({ name: 'tor', uris: 'https://deb.torproject.org/torproject.org', suites: 'bookworm', components: 'main' }));
  t.true(repository({ name: 'tor', repo: 'deb https://x bookworm main', signed_by: '/etc/apt/keyrings/tor.asc', key_src: 'tor.asc' }));
  t.false(repository({ name: 'tor', repo: 'deb https://x bookworm main', key_content: 'k' }));
  t.false(repository({ name: 'tor' }));
  t.true(repository({ name: 'tor', state: 'absent' }));
  t.false(repository({ name: 'tor', repo: 'deb https://x b m', uris: 'https://x', suites: 'b' }));
});

test('sysctl and modprobe arguments', (t) => {
  const sysctl = validator('sysctl');
  t.true(sysctl({ name: 'net.ipv4.ip_forward', value: 1 }));
  t.true(sysctl({ name: 'net.ipv4.ip_forward', value: '1', live: 'try' }));
  t.false(sysctl({ name: 'net.ipv4.ip_forward' }));
  t.true(sysctl({ name: 'net.ipv4.ip_forward', state: 'absent' }));
  t.false(sysctl({ name: 'net.ipv4.ip_forward', value: 1, live: 'maybe' }));
  const modprobe = validator('modprobe');
  t.true(modprobe({ name: 'br_netfilter', persistent: 'present' }));
  t.false(modprobe({ name: 'br netfilter' }));
});

test('systemd and wait_for arguments', (t) => {
  const systemd = validator('systemd');
  t.true(systemd({ name: 'tor', state: 'started', enabled: true }));
  t.true(systemd({ daemon_reload: true }));
  t.false(systemd({ state: 'started' }));
  t.false(systemd({ name: 'tor', state: 'running' }));
  const waitFor = validator('wait_for');
  t.true(waitFor({ port: 9050, timeout: 60 }));
  t.true(waitFor({ path: '/var/log/tor/log', search_regex: 'Bootstrapped 100%' }));
  t.false(waitFor({ port: 9050, path: '/x' }));
  t.false(waitFor({ port: 70000 }));
  t.false(waitFor({ port: 22, search_regex: 'x' }));
});

test('controller module arguments', (t) => {
  t.true(validator('set_fact')({ onion_address: 'x' }));
  t.false(validator('set_fact')({}));
  t.false(validator('set_fact')({ 'bad-name': 1 }));
  t.true(validator('assert')({ that: ['a', 'b'], fail_msg: 'x' }));
  t.false(validator('assert')({}));
  t.true(validator('debug')({ msg: { any: 'value' } }));
  t.false(validator('debug')({ msg: 'x', var: 'y' }));
  t.true(validator('fail')({ msg: 'x' }));
});

test('free-form argument names', (t) => {
  t.is(getModule('command')?.freeForm, 'cmd');
  t.is(getModule('shell')?.freeForm, 'cmd');
  t.is(getModule('debug')?.freeForm, 'msg');
  t.is(getModule('fail')?.freeForm, 'msg');
  t.is(getModule('copy')?.freeForm, undefined);
});

test('docs mention every module and argument', (t) => {
  const docs = moduleDocs();
  for (const module of allModules()) {
    t.true(docs.includes(`## ${module.name}\n`), module.name);
    for (const name of Object.keys((module.schema.properties ?? {}) as object)) {
      t.true(docs.includes(`| \`${name}\` |`), `${module.name}.${name}`);
    }
  }
});

test('idempotent functions accept any arguments', (t) => {
  for (const module of allModules()) {
    if (typeof module.idempotent !== 'function') continue;
    const idempotent = module.idempotent;
    t.notThrows(() => idempotent({}), module.name);
  }
});
