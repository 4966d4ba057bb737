import test from 'ava';
import { loadSite } from '../../runner/inventory/load.ts';
import { selectHosts } from '../../runner/inventory/pattern.ts';
import type { Inventory } from '../../runner/inventory/types.ts';
import { makeProject } from '../playbook/project.ts';

const HOSTS = `all:
  children:
    masters:
      hosts:
        obelix: {}
    workers:
      hosts:
        asterix: {}
        idefix: {}
    staging:
      hosts:
        idefix: {}
        web2: {}
    web:
      hosts:
        web1: {}
        web2: {}
`;

let inventory: Inventory;

test.before(async () => {
  inventory = await loadSite(await makeProject({ 'hosts.yaml': HOSTS }));
});

const cases: Array<[string, string | undefined, string[]]> = [
  ['all', undefined, ['obelix', 'asterix', 'idefix', 'web2', 'web1']],
  ['*', undefined, ['obelix', 'asterix', 'idefix', 'web2', 'web1']],
  ['masters', undefined, ['obelix']],
  ['obelix', undefined, ['obelix']],
  ['masters:workers', undefined, ['obelix', 'asterix', 'idefix']],
  ['masters,workers', undefined, ['obelix', 'asterix', 'idefix']],
  ['workers:&staging', undefined, ['idefix']],
  ['workers:!staging', undefined, ['asterix']],
  ['all:!workers', undefined, ['obelix', 'web2', 'web1']],
  ['!staging:workers', undefined, ['asterix']],
  ['web*', undefined, ['web2', 'web1']],
  ['*ix', undefined, ['obelix', 'asterix', 'idefix']],
  ['web?', undefined, ['web2', 'web1']],
  ['workers:web:&staging', undefined, ['idefix', 'web2']],
  ['all', 'workers', ['asterix', 'idefix']],
  ['workers', 'asterix', ['asterix']],
  ['all', 'web:!web1', ['web2']],
];

for (const [pattern, limit, expected] of cases) {
  test(`pattern ${pattern}${limit ? ` limit ${limit}` : ''}`, (t) => {
    const selection = selectHosts(inventory, pattern, limit);
    t.deepEqual(selection.hosts, expected);
    t.deepEqual(selection.warnings, []);
  });
}

test('pattern matching nothing warns', (t) => {
  const selection = selectHosts(inventory, 'nosuchgroup');
  t.deepEqual(selection.hosts, []);
  t.true(selection.warnings.some((warning) => warning.includes('"nosuchgroup" matches no host')));
});

test('one empty term of a union warns', (t) => {
  const selection = selectHosts(inventory, 'masters:typo');
  t.deepEqual(selection.hosts, ['obelix']);
  t.is(selection.warnings.length, 1);
});

test('limit matching nothing warns', (t) => {
  const selection = selectHosts(inventory, 'masters', 'workers');
  t.deepEqual(selection.hosts, []);
  t.true(selection.warnings.some((warning) => warning.includes('--limit')));
});
