import test from 'ava';
import path from 'node:path';
import { OnionplayError, ValidationErrors } from '../../runner/errors/index.ts';
import { loadPlaybook } from '../../runner/playbook/load.ts';
import { selectTasksByTags } from '../../runner/playbook/tags.ts';
import type { Task } from '../../runner/playbook/types.ts';
import { makeProject } from './project.ts';

async function load(files: Record<string, string>, extraRolesPath: string[] = []) {
  const root = await makeProject(files);
  const playbook = await loadPlaybook(path.join(root, 'play.yaml'), {
    siteDir: path.join(root, 'site'),
    rolesPath: extraRolesPath.map((dir) => path.join(root, dir)),
    projectRoot: root,
  });
  return { root, playbook };
}

async function loadErrors(files: Record<string, string>): Promise<OnionplayError[]> {
  try {
    await load(files);
  } catch (error) {
    if (error instanceof ValidationErrors) return error.errors;
    throw error;
  }
  throw new Error('expected errors');
}

test('play with tasks and handlers', async (t) => {
  const { playbook } = await load({
    'play.yaml': `- name: setup
  hosts: masters:workers
  become: true
  vars: {a: 1}
  tasks:
    - name: say hi
      debug: {msg: hi}
      notify: [done]
      register: out
      when: eq a 1
      tags: greet,hello
      loop: [1, 2]
      loop_control: {loop_var: n}
      retries: 2
      delay: 1.5
      timeout: 30
    - command: echo plain
  handlers:
    - name: finish
      debug: {msg: bye}
      listen: done
`,
  });
  const play = playbook.plays[0];
  t.is(play?.name, 'setup');
  t.is(play?.hosts, 'masters:workers');
  t.true(play?.become);
  t.false(play?.gatherFacts);
  const [first, second] = play?.tasks ?? [];
  t.is(first?.id, 'p0/tasks/0');
  t.is(first?.module, 'debug');
  t.deepEqual(first?.args, { msg: 'hi' });
  t.deepEqual(first?.when, ['eq a 1']);
  t.deepEqual(first?.tags, ['greet', 'hello']);
  t.is(first?.loopVar, 'n');
  t.is(first?.register, 'out');
  t.is(first?.retries, 2);
  t.is(first?.delayMs, 1500);
  t.is(first?.timeoutMs, 30_000);
  t.is(first?.position.line, 6);
  t.deepEqual(second?.args, { cmd: 'echo plain' });
  t.is(second?.name, 'command');
  t.deepEqual(play?.handlers[0]?.listen, ['finish', 'done']);
  t.is(play?.handlers[0]?.id, 'p0/handlers/0');
});

test('until defaults to three retries', async (t) => {
  const { playbook } = await load({ 'play.yaml': '- hosts: all\n  tasks:\n    - command: "true"\n      register: r\n      until: [r.ok, "eq r.rc 0"]\n' });
  const task = playbook.plays[0]?.tasks[0];
  t.is(task?.retries, 3);
  t.is(task?.until, 'and r.ok (eq r.rc 0)');
});

test('roles search path order', async (t) => {
  const files = {
    'play.yaml': '- hosts: all\n  roles: [shared, siteonly, extra]\n',
    'roles/shared/tasks.yaml': '- debug: {msg: project}\n',
    'site/roles/shared/tasks.yaml': '- debug: {msg: site}\n',
    'site/roles/siteonly/tasks.yaml': '- debug: {msg: site}\n',
    'more/siteonly/tasks.yaml': '- debug: {msg: more}\n',
    'more/extra/tasks.yaml': '- debug: {msg: more}\n',
  };
  const { playbook, root } = await load(files, ['more']);
  const roles = playbook.plays[0]?.roles.map(({ role }) => role) ?? [];
  t.deepEqual(roles.map((role) => role.dir), [
    path.join(root, 'roles/shared'),
    path.join(root, 'site/roles/siteonly'),
    path.join(root, 'more/extra'),
  ]);
  t.deepEqual(playbook.plays[0]?.tasks.map((task) => (task.args as { msg: string }).msg), ['project', 'site', 'more']);
});

test('dependencies first and once', async (t) => {
  const { playbook } = await load({
    'play.yaml': '- hosts: all\n  roles: [app, web]\n  tasks:\n    - debug: {msg: play}\n',
    'roles/app/meta.yaml': 'dependencies: [base, {role: tor, vars: {tor_port: 1}}]\n',
    'roles/app/tasks.yaml': '- debug: {msg: app}\n',
    'roles/web/meta.yaml': 'dependencies: [base]\n',
    'roles/web/tasks.yaml': '- debug: {msg: web}\n',
    'roles/tor/meta.yaml': 'dependencies: [base]\n',
    'roles/tor/tasks.yaml': '- debug: {msg: tor}\n- debug: {msg: tor2}\n',
    'roles/base/tasks.yaml': '- debug: {msg: base}\n',
  });
  const play = playbook.plays[0];
  t.deepEqual(play?.roles.map(({ role }) => role.name), ['base', 'tor', 'app', 'web']);
  t.deepEqual(play?.tasks.map((task) => task.id), ['p0/base/0', 'p0/tor/0', 'p0/tor/1', 'p0/app/0', 'p0/web/0', 'p0/tasks/0']);
  t.deepEqual(play?.roles[1]?.use.vars, { tor_port: 1 });
  t.is(play?.tasks[1]?.role?.name, 'tor');
});

test('role entry tags and when apply to its tasks', async (t) => {
  const { playbook } = await load({
    'play.yaml': '- hosts: all\n  tags: [site]\n  roles:\n    - {role: tor, tags: [tor], when: "eq mode \\"relay\\""}\n',
    'roles/tor/tasks.yaml': '- debug: {msg: a}\n  when: defined x\n  tags: inner\n',
  });
  const task = playbook.plays[0]?.tasks[0];
  t.deepEqual(task?.when, ['eq mode "relay"', 'defined x']);
  t.deepEqual(task?.tags, ['site', 'tor', 'inner']);
});

test('cyclic dependencies name the cycle', async (t) => {
  const errors = await loadErrors({
    'play.yaml': '- hosts: all\n  roles: [a]\n',
    'roles/a/meta.yaml': 'dependencies: [b]\n',
    'roles/b/meta.yaml': 'dependencies: [c]\n',
    'roles/c/meta.yaml': 'dependencies: [a]\n',
  });
  const cycle = errors.find((error) => error.code === 'cycle');
  t.regex(cycle?.message ?? '', /a -> b -> c -> a/);
  t.regex(cycle?.details.position?.file ?? '', /roles\/c\/meta\.yaml$/);
  t.is(cycle?.details.position?.line, 1);
});

test('role not found lists known roles', async (t) => {
  const [error] = await loadErrors({ 'play.yaml': '- hosts: all\n  roles: [trr]\n', 'roles/tor/tasks.yaml': '- debug: {}\n' });
  t.is(error?.code, 'not_found');
  t.regex(error?.details.fix ?? '', /did you mean "tor"/);
  t.is(error?.details.position?.line, 2);
});

test('include_tasks reads the file in place', async (t) => {
  const { playbook } = await load({
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'roles/tor/tasks.yaml': '- debug: {msg: one}\n- include_tasks: more.yaml\n  when: defined x\n  tags: extra\n- debug: {msg: four}\n',
    'roles/tor/more.yaml': '- debug: {msg: two}\n- import_tasks: last.yaml\n',
    'roles/tor/last.yaml': '- debug: {msg: three}\n',
  });
  const tasks = playbook.plays[0]?.tasks ?? [];
  t.deepEqual(tasks.map((task) => (task.args as { msg: string }).msg), ['one', 'two', 'three', 'four']);
  t.deepEqual(tasks.map((task) => task.id), ['p0/tor/0', 'p0/tor/1', 'p0/tor/2', 'p0/tor/3']);
  t.deepEqual(tasks[1]?.when, ['defined x']);
  t.deepEqual(tasks[2]?.tags, ['extra']);
  t.regex(tasks[2]?.position.file ?? '', /last\.yaml$/);
});

test('include cycle is an error', async (t) => {
  const errors = await loadErrors({
    'play.yaml': '- hosts: all\n  tasks:\n    - include_tasks: a.yaml\n',
    'a.yaml': '- include_tasks: b.yaml\n',
    'b.yaml': '- include_tasks: a.yaml\n',
  });
  t.is(errors[0]?.code, 'cycle');
});

test('role files are parsed per play', async (t) => {
  const { playbook } = await load({
    'play.yaml': '- hosts: a\n  roles: [tor]\n- hosts: b\n  roles: [tor]\n',
    'roles/tor/tasks.yaml': '- debug: {msg: a}\n',
    'roles/tor/handlers.yaml': '- name: restart\n  debug: {msg: r}\n',
    'roles/tor/defaults.yaml': 'tor_port: 9050\n',
    'roles/tor/meta.yaml': 'description: Tor\nvariables: {type: object, properties: {tor_port: {type: integer}}}\n',
  });
  t.is(playbook.plays[1]?.tasks[0]?.id, 'p1/tor/0');
  t.is(playbook.plays[1]?.handlers[0]?.id, 'p1/tor/handlers/0');
  const role = playbook.plays[0]?.roles[0]?.role;
  t.deepEqual(role?.defaults, { tor_port: 9050 });
  t.is(role?.defaultSources?.tor_port?.line, 1);
  t.is(role?.description, 'Tor');
  t.deepEqual(role?.variablesSchema, { type: 'object', properties: { tor_port: { type: 'integer' } } });
});

test('vars_files override play vars', async (t) => {
  const { playbook } = await load({
    'play.yaml': '- hosts: all\n  vars: {a: 1, b: 1}\n  vars_files: [more.yaml]\n',
    'more.yaml': 'b: 2\n',
  });
  t.deepEqual(playbook.plays[0]?.vars, { a: 1, b: 2 });
  t.regex(playbook.plays[0]?.varSources?.b?.file ?? '', /more\.yaml$/);
});

test('invalid role variables schema', async (t) => {
  const [error] = await loadErrors({
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'roles/tor/meta.yaml': 'variables: {type: objekt}\n',
  });
  t.regex(error?.message ?? '', /not a valid JSON Schema/);
});

function task(tags: string[]): Task {
  return { tags } as unknown as Task;
}

test('tag selection', (t) => {
  const tasks = [task([]), task(['a']), task(['b']), task(['always']), task(['never', 'debug'])];
  const names = (selected: Task[]) => selected.map((item) => tasks.indexOf(item));
  t.deepEqual(names(selectTasksByTags(tasks)), [0, 1, 2, 3]);
  t.deepEqual(names(selectTasksByTags(tasks, ['a'])), [1, 3]);
  t.deepEqual(names(selectTasksByTags(tasks, [], ['a'])), [0, 2, 3]);
  t.deepEqual(names(selectTasksByTags(tasks, ['debug'])), [3, 4]);
  t.deepEqual(names(selectTasksByTags(tasks, ['untagged'])), [0, 3]);
  t.deepEqual(names(selectTasksByTags(tasks, ['tagged'])), [1, 2, 3]);
  t.deepEqual(names(selectTasksByTags(tasks, ['a'], ['always'])), [1]);
});
