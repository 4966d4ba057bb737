// One test per precedence level: a variable set at a level and at the one
// below it takes the higher level's value.

import test from 'ava';
import { loadSite } from '../../runner/inventory/load.ts';
import { inventoryVariables, magicVariables, mergeVariables } from '../../runner/inventory/vars.ts';
import { loadPlaybook } from '../../runner/playbook/load.ts';
import { playVariables, taskVariables } from '../../runner/playbook/variables.ts';
import { makeProject } from '../playbook/project.ts';

const HOSTS = `all:
  vars: {level: all, only_all: 1}
  children:
    a_parent:
      vars: {level: parent}
      children:
        child:
          vars: {level: child}
          hosts:
            h1: {level: host-entry}
            h2: {}
    b_sibling:
      vars: {level: b_sibling}
      hosts:
        h2: {}
        h3: {}
    z_sibling:
      vars: {level: z_sibling}
      hosts:
        h3: {}
`;

async function site(extra: Record<string, string> = {}) {
  return loadSite(await makeProject({ 'hosts.yaml': HOSTS, ...extra }));
}

test('group all is lowest inventory level', async (t) => {
  const inventory = await site();
  t.is(inventoryVariables(inventory, 'h2').only_all, 1);
});

test('child group beats parent group', async (t) => {
  const inventory = await site();
  // h2 is in child (depth 2) and b_sibling (depth 1): depth wins over name.
  t.is(inventoryVariables(inventory, 'h2').level, 'child');
});

test('groups of equal depth ordered by name', async (t) => {
  const inventory = await site();
  t.is(inventoryVariables(inventory, 'h3').level, 'z_sibling');
});

test('group_vars file beats group vars in hosts.yaml', async (t) => {
  const inventory = await site({ 'group_vars/z_sibling.yaml': 'level: z-file\n' });
  t.is(inventoryVariables(inventory, 'h3').level, 'z-file');
});

test('host entry beats groups', async (t) => {
  const inventory = await site();
  t.is(inventoryVariables(inventory, 'h1').level, 'host-entry');
});

test('host_vars beats host entry', async (t) => {
  const inventory = await site({ 'host_vars/h1.yaml': 'level: host-file\n' });
  t.is(inventoryVariables(inventory, 'h1').level, 'host-file');
});

test('learned facts beat host_vars', async (t) => {
  const inventory = await site({ 'host_vars/h1.yaml': 'level: host-file\n', 'state/facts.yaml': 'hosts:\n  h1: {level: learned}\n' });
  t.is(inventoryVariables(inventory, 'h1').level, 'learned');
});

test('mergeVariables replaces mappings whole', (t) => {
  const merged = mergeVariables([{ tor: { port: 1, dir: '/a' }, x: 1 }, { tor: { port: 2 } }]);
  t.deepEqual(merged, { tor: { port: 2 }, x: 1 });
});

test('magic variables describe the inventory', async (t) => {
  const inventory = await site();
  const magic = magicVariables(inventory, 'h2');
  t.is(magic.inventory_hostname, 'h2');
  t.deepEqual(magic.group_names, ['a_parent', 'b_sibling', 'child']);
  t.deepEqual((magic.groups as Record<string, string[]>).child, ['h1', 'h2']);
});

// Play-level layers, loaded from a real playbook with two roles.
async function playLayers() {
  const root = await makeProject({
    'site/hosts.yaml': HOSTS,
    'site/host_vars/h1.yaml': 'inv_vs_default: inventory\ninv_vs_play: inventory\n',
    'roles/first/defaults.yaml': 'level: first-default\nown_default: first\n',
    'roles/second/defaults.yaml': 'level: second-default\nown_default: second\ninv_vs_default: default\n',
    'roles/second/tasks.yaml': '- debug: {msg: hi}\n',
    'play.yaml': `- hosts: all
  vars: {inv_vs_play: play, play_vs_param: play, param_vs_extra: play}
  roles:
    - first
    - role: second
      vars: {play_vs_param: param, param_vs_extra: param}
`,
  });
  const inventory = await loadSite(`${root}/site`);
  const playbook = await loadPlaybook(`${root}/play.yaml`, { siteDir: `${root}/site`, rolesPath: [], projectRoot: root });
  const play = playbook.plays[0];
  if (play === undefined) throw new Error('no play');
  const second = play.roles.find(({ role }) => role.name === 'second');
  return { inventory, play, second };
}

test('own role defaults beat other roles defaults', async (t) => {
  const { inventory, play, second } = await playLayers();
  const vars = playVariables(play, inventory, 'h3', { vars: {}, sources: {} }, second).vars;
  t.is(vars.own_default, 'second');
});

test('inventory beats role defaults', async (t) => {
  const { inventory, play, second } = await playLayers();
  const vars = playVariables(play, inventory, 'h1', { vars: {}, sources: {} }, second).vars;
  t.is(vars.inv_vs_default, 'inventory');
});

test('play vars beat inventory', async (t) => {
  const { inventory, play, second } = await playLayers();
  const vars = playVariables(play, inventory, 'h1', { vars: {}, sources: {} }, second).vars;
  t.is(vars.inv_vs_play, 'play');
});

test('role params beat play vars', async (t) => {
  const { inventory, play, second } = await playLayers();
  t.is(playVariables(play, inventory, 'h1', { vars: {}, sources: {} }, second).vars.play_vs_param, 'param');
  t.is(playVariables(play, inventory, 'h1', { vars: {}, sources: {} }).vars.play_vs_param, 'play');
});

test('extra vars beat role params', async (t) => {
  const { inventory, play, second } = await playLayers();
  const vars = playVariables(play, inventory, 'h1', { vars: { param_vs_extra: 'extra' }, sources: {} }, second).vars;
  t.is(vars.param_vs_extra, 'extra');
});

test('variable sources follow the winner', async (t) => {
  const { inventory, play, second } = await playLayers();
  const { sources } = playVariables(play, inventory, 'h1', { vars: {}, sources: {} }, second);
  t.regex(sources.inv_vs_default?.file ?? '', /host_vars\/h1\.yaml$/);
  t.regex(sources.play_vs_param?.file ?? '', /play\.yaml$/);
  t.is(sources.play_vs_param?.line, 6);
});

test('task vars beat play variables', (t) => {
  const vars = taskVariables({ play: { a: 'play' }, taskVars: { a: 'task' }, registered: {}, extraVars: {} });
  t.is(vars.a, 'task');
});

test('registered results beat task vars', (t) => {
  const vars = taskVariables({ play: {}, taskVars: { r: 'task' }, registered: { r: { rc: 0 } }, extraVars: {} });
  t.deepEqual(vars.r, { rc: 0 });
});

test('extra vars beat registered results', (t) => {
  const vars = taskVariables({ play: {}, taskVars: {}, registered: { r: 1 }, extraVars: { r: 'extra' } });
  t.is(vars.r, 'extra');
});
