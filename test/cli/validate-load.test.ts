// loadRun and the parsing of -e values, which validate and run share.

import test from 'ava';
import path from 'node:path';
import { loadRun, parseExtraVars } from '../../runner/cli/load.ts';
import { OnionplayError, ValidationErrors } from '../../runner/errors/index.ts';
import { BASIC_HOSTS, makeProject } from '../playbook/project.ts';

const PLAY = `- hosts: workers
  tasks:
    - debug: {msg: a}
      tags: [a]
    - debug: {msg: b}
      tags: [b]
    - debug: {msg: always}
      tags: [always]
- hosts: masters
  tasks:
    - debug: {msg: "{{ who }}"}
`;

async function project() {
  const root = await makeProject({ 'site/hosts.yaml': BASIC_HOSTS, 'play.yaml': PLAY, 'extra.yaml': 'who: file\nport: 22\n' });
  return {
    root,
    options: { playbookFile: path.join(root, 'play.yaml'), siteDir: path.join(root, 'site'), rolesPath: [], projectRoot: root },
  };
}

test('plays with their hosts', async (t) => {
  const { options } = await project();
  const run = await loadRun({ ...options, extraVars: ['who=me'] });
  t.deepEqual(run.plays.map(({ hosts }) => hosts), [['asterix', 'idefix'], ['obelix']]);
  t.is(run.plays[0]?.play.tasks.length, 3);
  t.deepEqual(run.extraVars, { who: 'me' });
  t.deepEqual(run.warnings, []);
});

test('limit narrows every play', async (t) => {
  const { options } = await project();
  const run = await loadRun({ ...options, extraVars: ['who=me'], limit: 'idefix' });
  t.deepEqual(run.plays.map(({ hosts }) => hosts), [['idefix'], []]);
  t.true(run.warnings.some((warning) => warning.includes('--limit "idefix"')));
});

test('tags filter the tasks', async (t) => {
  const { options } = await project();
  const tagged = await loadRun({ ...options, extraVars: ['who=me'], tags: ['a'] });
  t.deepEqual(tagged.plays[0]?.play.tasks.map((task) => (task.args as { msg: string }).msg), ['a', 'always']);
  const skipped = await loadRun({ ...options, extraVars: ['who=me'], skipTags: ['a,always'] });
  t.deepEqual(skipped.plays[0]?.play.tasks.map((task) => (task.args as { msg: string }).msg), ['b']);
});

test('undefined variable without -e', async (t) => {
  const { options } = await project();
  const error = await t.throwsAsync(loadRun({ ...options, extraVars: [] }));
  t.true(error instanceof ValidationErrors);
  t.regex((error as ValidationErrors).errors[0]?.message ?? '', /undefined variable "who"/);
});

test('extra vars forms and order', async (t) => {
  const { root } = await project();
  const { vars, sources } = await parseExtraVars([`@${path.join(root, 'extra.yaml')}`, 'port=2222 debug=true name="22"', '{"list": [1, 2]}', 'empty=', 'text=hello world']);
  t.deepEqual(vars, { who: 'file', port: 2222, debug: true, name: '22', list: [1, 2], empty: '', text: 'hello world' });
  t.is(sources.who?.line, 1);
  t.regex(sources.who?.file ?? '', /extra\.yaml$/);
});

test('invalid extra vars', async (t) => {
  const error = await t.throwsAsync(parseExtraVars(['not-a-pair']));
  t.true(error instanceof OnionplayError);
  t.is((error as OnionplayError).code, 'usage');
  t.regex((error as OnionplayError).details.fix ?? '', /-e name=value/);
});

test('site and playbook errors together', async (t) => {
  const root = await makeProject({ 'site/hosts.yaml': 'all:\n  hosts:\n    a: {port: 0}\n', 'play.yaml': '- hosts: all\n  tasks:\n    - debugg: {}\n' });
  const error = await t.throwsAsync(loadRun({ playbookFile: path.join(root, 'play.yaml'), siteDir: path.join(root, 'site'), rolesPath: [], extraVars: [], projectRoot: root }));
  const files = (error as ValidationErrors).errors.map((problem) => path.relative(root, problem.details.position?.file ?? ''));
  t.deepEqual(files.sort(), ['play.yaml', 'site/hosts.yaml']);
});
