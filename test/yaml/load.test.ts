import test from 'ava';
import { OnionplayError } from '../../runner/errors/index.ts';
import { loadYamlFile, parseYaml } from '../../runner/yaml/load.ts';
import { makeProject } from '../playbook/project.ts';
import path from 'node:path';

function syntaxErrorOf(text: string): OnionplayError {
  try {
    parseYaml(text, 'f.yaml');
  } catch (error) {
    if (error instanceof OnionplayError) return error;
    throw error;
  }
  throw new Error('expected a YAML error');
}

test('positions of nested values', (t) => {
  const doc = parseYaml('a:\n  b: 1\n  list:\n    - x\n    - "quoted"\n', 'f.yaml');
  t.deepEqual(doc.positionOf(['a', 'b']), { file: 'f.yaml', line: 2, column: 6 });
  t.deepEqual(doc.positionOf(['a', 'list', 0]), { file: 'f.yaml', line: 4, column: 7 });
  t.deepEqual(doc.positionOf(['a', 'list', 1]), { file: 'f.yaml', line: 5, column: 7 });
  t.deepEqual(doc.keyPositionOf(['a', 'b']), { file: 'f.yaml', line: 2, column: 3 });
});

test('position falls back to nearest ancestor', (t) => {
  const doc = parseYaml('a:\n  b: 1\n', 'f.yaml');
  t.deepEqual(doc.positionOf(['a', 'missing', 3]), { file: 'f.yaml', line: 2, column: 3 });
  t.deepEqual(doc.positionOf([]), { file: 'f.yaml', line: 1, column: 1 });
});

test('merge key later keys override', (t) => {
  const doc = parseYaml('base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\n', 'f.yaml');
  t.deepEqual(doc.value, { base: { x: 1, y: 2 }, other: { x: 1, y: 3 } });
  t.is(doc.positionOf(['other', 'y']).line, 6);
  t.is(doc.positionOf(['other', 'x']).line, 2);
});

test('merge key explicit key before merge wins', (t) => {
  const doc = parseYaml('base: &b {x: 1, y: 2}\nother:\n  y: 3\n  <<: *b\n', 'f.yaml');
  t.deepEqual(doc.value, { base: { x: 1, y: 2 }, other: { x: 1, y: 3 } });
  t.is(doc.positionOf(['other', 'y']).line, 3);
});

test('merge key sequence earlier wins', (t) => {
  const doc = parseYaml('a: &a {k: 1}\nb: &b {k: 2, j: 2}\nc:\n  <<: [*a, *b]\n', 'f.yaml');
  t.deepEqual(doc.value, { a: { k: 1 }, b: { k: 2, j: 2 }, c: { k: 1, j: 2 } });
  t.is(doc.positionOf(['c', 'k']).line, 1);
  t.is(doc.positionOf(['c', 'j']).line, 2);
});

test('alias values share positions', (t) => {
  const doc = parseYaml('a: &x\n  port: 22\nb: *x\n', 'f.yaml');
  t.deepEqual(doc.value, { a: { port: 22 }, b: { port: 22 } });
  t.is(doc.positionOf(['b', 'port']).line, 2);
});

test('duplicate key is a syntax error', (t) => {
  const error = syntaxErrorOf('a: 1\nb: 2\na: 3\n');
  t.is(error.code, 'yaml_syntax');
  t.regex(error.message, /duplicate key "a"/);
  t.deepEqual(error.details.position, { file: 'f.yaml', line: 3, column: 1 });
  t.regex(error.details.fix ?? '', /anchor/);
});

test('tab in indentation is a syntax error', (t) => {
  const error = syntaxErrorOf('a:\n\tb: 1\n');
  t.is(error.code, 'yaml_syntax');
  t.is(error.details.position?.line, 2);
  t.regex(error.details.fix ?? '', /spaces/);
});

test('unclosed flow sequence is a syntax error', (t) => {
  const error = syntaxErrorOf('a: [1, 2\nb: 3\n');
  t.is(error.code, 'yaml_syntax');
  t.is(error.details.position?.file, 'f.yaml');
  t.truthy(error.details.fix);
});

test('several documents are rejected', (t) => {
  const error = syntaxErrorOf('a: 1\n---\nb: 2\n');
  t.regex(error.message, /2 YAML documents/);
});

test('empty file is null', (t) => {
  t.is(parseYaml('', 'f.yaml').value, null);
  t.is(parseYaml('# only a comment\n', 'f.yaml').value, null);
});

test('YAML 1.2 core schema values', (t) => {
  const doc = parseYaml('a: 0644\nb: yes\nc: 0o644\nd: "0644"\ne: true\nf: ~\n', 'f.yaml');
  t.deepEqual(doc.value, { a: 644, b: 'yes', c: 420, d: '0644', e: true, f: null });
});

test('habits of YAML 1.1 are recorded', (t) => {
  const doc = parseYaml('a: 0644\nb: yes\nc: "0644"\nd: 755\ne: Off\nf: 12345\n', 'f.yaml');
  t.deepEqual(doc.habitAt(['a']), { kind: 'octal', source: '0644' });
  t.deepEqual(doc.habitAt(['b']), { kind: 'boolean', source: 'yes' });
  t.is(doc.habitAt(['c']), undefined);
  t.deepEqual(doc.habitAt(['d']), { kind: 'octal', source: '755' });
  t.deepEqual(doc.habitAt(['e']), { kind: 'boolean', source: 'Off' });
  t.is(doc.habitAt(['f']), undefined);
});

test('missing file is not_found', async (t) => {
  const root = await makeProject({});
  const error = await t.throwsAsync(loadYamlFile(path.join(root, 'nope.yaml')));
  t.true(error instanceof OnionplayError);
  t.is((error as OnionplayError).code, 'not_found');
});

test('byte order mark is ignored', (t) => {
  t.deepEqual(parseYaml('\uFEFFa: 1\n', 'f.yaml').value, { a: 1 });
});
