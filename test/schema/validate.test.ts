import test from 'ava';
import { validateValue } from '../../runner/schema/validate.ts';
import { closestMatch, editDistance } from '../../runner/schema/suggest.ts';
import { formatKeyPath } from '../../runner/schema/format.ts';
import { parseYaml } from '../../runner/yaml/load.ts';

const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string' },
    mode: { type: 'string', pattern: '^[0-7]{3,4}$', description: 'a quoted string of octal digits' },
    force: { type: 'boolean' },
    state: { enum: ['present', 'absent'] },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    when: { type: ['string', 'array'], items: { type: 'string' } },
  },
};

function check(text: string, schema: Record<string, unknown> = fileSchema, skipTemplated = false) {
  const doc = parseYaml(text, 'f.yaml');
  return validateValue(doc.value, schema, { doc, path: [] }, { skipTemplated });
}

test('valid value has no errors', (t) => {
  t.deepEqual(check('path: /etc/x\nmode: "0644"\n'), []);
});

test('missing required key', (t) => {
  const [error] = check('mode: "0644"\n');
  t.is(error?.code, 'missing_key');
  t.is(error?.details.key, 'path');
  t.regex(error?.details.fix ?? '', /add `path:`/);
});

test('unknown key with did you mean', (t) => {
  const [error] = check('path: /x\nmdoe: "0644"\n');
  t.is(error?.code, 'unknown_key');
  t.is(error?.details.position?.line, 2);
  t.is(error?.details.position?.column, 1);
  t.regex(error?.details.fix ?? '', /did you mean "mode"/);
  t.regex(error?.details.allowed ?? '', /path, mode, force/);
});

test('unquoted octal mode hint', (t) => {
  const [error] = check('path: /x\nmode: 0644\n');
  t.regex(error?.message ?? '', /mode must be a string of octal digits/);
  t.is(error?.details.value, '0644');
  t.is(error?.details.fix, "mode must be a string of octal digits: quote it, mode: '0644'");
});

test('three digit mode hint pads', (t) => {
  const [error] = check('path: /x\nmode: 755\n');
  t.is(error?.details.fix, "mode must be a string of octal digits: quote it, mode: '0755'");
});

test('YAML 1.2 octal mode hint', (t) => {
  const [error] = check('path: /x\nmode: 0o640\n');
  t.is(error?.details.fix, "mode must be a string of octal digits: quote it, mode: '0640'");
});

test('yes for a boolean hint', (t) => {
  for (const [word, replacement] of [['yes', 'true'], ['no', 'false'], ['on', 'true'], ['off', 'false']]) {
    const [error] = check(`path: /x\nforce: ${word}\n`);
    t.is(error?.details.fix, `\`${word}\` is a string in YAML 1.2: write ${replacement}`, word);
    t.is(error?.details.position?.line, 2, word);
  }
});

test('quoted true hint', (t) => {
  const [error] = check('path: /x\nforce: "true"\n');
  t.is(error?.details.fix, 'write true without quotes');
});

test('enum with suggestion', (t) => {
  const [error] = check('path: /x\nstate: presnt\n');
  t.is(error?.details.allowed, '"present", "absent"');
  t.regex(error?.details.fix ?? '', /did you mean "present"/);
});

test('range error says the range', (t) => {
  const [error] = check('path: /x\nport: 70000\n');
  t.is(error?.details.allowed, 'from 1 to 65535');
  t.is(error?.details.value, '70000');
});

test('union type error is merged', (t) => {
  const errors = check('path: /x\nwhen: 3\n');
  t.is(errors.length, 1);
  t.regex(errors[0]?.message ?? '', /a string or a list/);
});

test('templated values are skipped on request', (t) => {
  t.is(check('path: /x\nport: "{{ ssh_port }}"\n', fileSchema, true).length, 0);
  t.is(check('path: /x\nport: "{{ ssh_port }}"\n', fileSchema, false).length, 1);
});

test('nested key path is formatted', (t) => {
  const schema = { type: 'object', properties: { tasks: { type: 'array', items: fileSchema } } };
  const [error] = check('tasks:\n  - path: /x\n  - path: /y\n    mode: 0644\n', schema);
  t.is(error?.details.key, 'tasks[1].mode');
  t.is(error?.details.position?.line, 4);
});

test('edit distance and closest match', (t) => {
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(closestMatch('regiser', ['register', 'notify']), 'register');
  t.is(closestMatch('zzzzzz', ['register', 'notify']), undefined);
  t.is(closestMatch('loop-control', ['loop_control']), 'loop_control');
});

test('key paths format like code', (t) => {
  t.is(formatKeyPath(['tasks', 2, 'copy', 'mode']), 'tasks[2].copy.mode');
  t.is(formatKeyPath([0, 'a b']), '[0]["a b"]');
});

test('schemas with the same $id compile twice', (t) => {
  const doc = parseYaml('a: 1\n', 'f.yaml');
  const first = { $id: 'https://example.org/role.json', type: 'object', properties: { a: { type: 'string' } } };
  const second = { ...first };
  t.is(validateValue(doc.value, first, { doc, path: [] }).length, 1);
  t.is(validateValue(doc.value, second, { doc, path: [] }).length, 1);
});
