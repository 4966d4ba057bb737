import test from 'ava';
import { OnionplayError } from '../../runner/errors/index.ts';
import {
  checkTemplateSyntax,
  evaluateCondition,
  referencedVariables,
  renderString,
  renderValue,
} from '../../runner/template/index.ts';
import { resolveVariables } from '../../runner/template/resolve.ts';

const where = { file: 'play.yaml', line: 10, column: 7, what: 'task "x"' };
const vars = {
  name: 'tor',
  port: 9050,
  ports: [80, 443],
  tor: { dir: '/var/lib/tor', relay: false },
  result: { changed: true, rc: 0, stdout: 'a\nb\n' },
  mode: 'relay',
  empty: [],
  text: "it's",
};

function templateError(run: () => unknown): OnionplayError {
  try {
    run();
  } catch (error) {
    if (error instanceof OnionplayError) return error;
    throw error;
  }
  throw new Error('expected a template error');
}

test('renders variables without escaping', (t) => {
  t.is(renderString('<{{name}}> & {{tor.dir}}', vars, where), '<tor> & /var/lib/tor');
});

test('text without braces is unchanged', (t) => {
  t.is(renderString('plain text', vars, where), 'plain text');
});

test('comparison helpers', (t) => {
  t.is(renderString('{{eq name "tor"}} {{ne port 1}} {{lt port 10000}} {{gt port 10000}}', vars, where), 'true true true false');
});

test('logic helpers', (t) => {
  t.is(renderString('{{and true port}} {{or false empty}} {{not empty}} {{not (eq 1 1)}}', vars, where), 'true false true false');
});

test('default with undefined variable', (t) => {
  t.is(renderString('{{default missing "fallback"}}', vars, where), 'fallback');
  t.is(renderString('{{default missing.deep.path "x"}}', vars, where), 'x');
  t.is(renderString('{{default tor.missing 5}}', vars, where), '5');
  t.is(renderString('{{default name "x"}}', vars, where), 'tor');
});

test('defined helper', (t) => {
  t.is(renderString('{{defined missing}} {{defined name}}', vars, where), 'false true');
});

test('join, indent and lines', (t) => {
  t.is(renderString('{{join ports ","}}', vars, where), '80,443');
  t.is(renderString('{{indent "a\nb\n\nc" 2}}', vars, where), 'a\n  b\n\n  c');
  t.is(renderString('{{join (lines result.stdout) "|"}}', vars, where), 'a|b');
});

test('json and yaml output', (t) => {
  t.is(renderString('{{to_json tor}}', vars, where), '{"dir":"/var/lib/tor","relay":false}');
  t.is(renderString('{{to_yaml tor}}', vars, where), 'dir: /var/lib/tor\nrelay: false');
});

test('shell quoting', (t) => {
  t.is(renderString('{{quote text}}', vars, where), `'it'"'"'s'`);
  t.is(renderString('{{quote "/safe/path"}}', vars, where), '/safe/path');
  t.is(renderString('{{quote ""}}', vars, where), "''");
});

test('string helpers', (t) => {
  t.is(renderString('{{b64decode (b64encode "hi")}} {{basename tor.dir}} {{dirname tor.dir}}', vars, where), 'hi tor /var/lib');
  t.is(renderString('{{regex_replace "a-b-c" "-(\\w)" "_\\1"}}', vars, where), 'a_b_c');
  t.is(renderString('{{contains ports 80}} {{contains name "o"}} {{contains tor "dir"}}', vars, where), 'true true true');
});

test('each block and @index', (t) => {
  t.is(renderString('{{#each ports}}{{@index}}:{{this}} {{/each}}', vars, where), '0:80 1:443 ');
});

test('strict undefined variable names it', (t) => {
  const error = templateError(() => renderString('x {{nope}}', vars, where));
  t.is(error.code, 'template');
  t.regex(error.message, /undefined variable "nope" in task "x"/);
  t.deepEqual(error.details.position, { file: 'play.yaml', line: 10, column: 11 });
  t.regex(error.details.fix ?? '', /default nope/);
});

test('strict missing key names path', (t) => {
  const error = templateError(() => renderString('{{tor.nope}}', vars, where));
  t.regex(error.message, /"tor" has no key "nope"/);
});

test('strict undefined in helper argument', (t) => {
  const error = templateError(() => renderString('{{eq nope 1}}', vars, where));
  t.regex(error.message, /undefined variable "nope"/);
});

test('strict undefined in if block', (t) => {
  const error = templateError(() => renderString('{{#if nope}}x{{/if}}', vars, where));
  t.regex(error.message, /undefined variable "nope"/);
});

test('unknown helper suggests', (t) => {
  const error = templateError(() => renderString('{{eqq name "tor"}}', vars, where));
  t.regex(error.message, /unknown helper "eqq"/);
  t.regex(error.details.fix ?? '', /did you mean "eq"/);
});

test('undefined variable on later line', (t) => {
  const error = templateError(() => renderString('a\nb {{nope}}', vars, { file: 'torrc.hbs', line: 1, column: 1 }));
  t.deepEqual(error.details.position, { file: 'torrc.hbs', line: 2, column: 5 });
});

test('syntax error gives template line', (t) => {
  const error = templateError(() => checkTemplateSyntax('ok\nok\n{{#if x}}\n', { file: 'torrc.hbs', line: 1, column: 1 }));
  t.is(error.code, 'template');
  t.is(error.details.position?.file, 'torrc.hbs');
  t.is(error.details.position?.line, 4);
  t.regex(error.message, /syntax error/);
});

test('mismatched block syntax error', (t) => {
  const error = templateError(() => checkTemplateSyntax('a\n{{#each x}}\n{{/if}}\n', { file: 't.hbs', line: 1, column: 1 }));
  t.is(error.details.position?.line, 2);
  t.regex(error.message, /each doesn't match if/);
});

test('renderValue keeps types of sole mustache', (t) => {
  const rendered = renderValue(
    { list: '{{ ports }}', number: '{{ port }}', object: '{{tor}}', text: 'port {{port}}', helper: '{{ default missing 3 }}', bool: '{{ eq mode "relay" }}', nested: ['{{ port }}'] },
    vars,
    where,
  );
  t.deepEqual(rendered, { list: [80, 443], number: 9050, object: tor(), text: 'port 9050', helper: 3, bool: true, nested: [9050] });
});

function tor() {
  return { dir: '/var/lib/tor', relay: false };
}

test('renderValue leaves non strings alone', (t) => {
  t.deepEqual(renderValue({ a: 1, b: true, c: null }, vars, where), { a: 1, b: true, c: null });
});

test('renderValue undefined is an error', (t) => {
  const error = templateError(() => renderValue({ a: '{{ missing }}' }, vars, where));
  t.regex(error.message, /undefined variable "missing"/);
});

test('conditions', (t) => {
  t.true(evaluateCondition('eq mode "relay"', vars, where));
  t.true(evaluateCondition('result.changed', vars, where));
  t.false(evaluateCondition('not result.changed', vars, where));
  t.false(evaluateCondition('not (eq mode "relay")', vars, where));
  t.true(evaluateCondition('and (eq result.rc 0) (ne mode "bridge")', vars, where));
  t.false(evaluateCondition('empty', vars, where));
  t.false(evaluateCondition('tor.relay', vars, where));
  t.true(evaluateCondition('defined port', vars, where));
  t.false(evaluateCondition('defined missing', vars, where));
  t.true(evaluateCondition(true, vars, where));
  t.true(evaluateCondition('{{ eq port 9050 }}', vars, where));
});

test('condition with undefined variable', (t) => {
  const error = templateError(() => evaluateCondition('eq missing 1', vars, where));
  t.regex(error.message, /undefined variable "missing"/);
});

test('invalid condition explains syntax', (t) => {
  const error = templateError(() => evaluateCondition('mode == "relay"', vars, where));
  t.regex(error.message, /invalid condition/);
  t.regex(error.details.fix ?? '', /eq x "a"/);
});

test('referenced variables of a template', (t) => {
  const names = referencedVariables('{{a}} {{eq b c.d}} {{#each list}}{{this}} {{k}} {{../outer}}{{/each}} {{@root.r}} {{default f 1}} {{join g}} {{@index}}');
  t.deepEqual(names, ['a', 'b', 'c', 'list', 'outer', 'r', 'f', 'g']);
});

test('referenced variables of values and conditions', (t) => {
  t.deepEqual(referencedVariables({ x: ['{{ p }}', 'q'], y: '{{ r.s }}' }), ['p', 'r']);
  t.deepEqual(referencedVariables('not (eq result.rc 0)', { condition: true }), ['result']);
  t.deepEqual(referencedVariables('{{#each xs as |item|}}{{item.name}}{{/each}}'), ['xs']);
});

test('same bytes on every render', (t) => {
  const template = '{{to_json tor}}{{#each ports}}{{this}}{{/each}}{{to_yaml result}}';
  const first = renderString(template, vars, where);
  for (let i = 0; i < 5; i += 1) t.is(renderString(template, vars, where), first);
});

test('resolveVariables renders chains', (t) => {
  const { vars: resolved, unresolved } = resolveVariables({ base: '/srv', dir: '{{ base }}/tor', file: '{{ dir }}/torrc', port: '{{ ssh }}', ssh: 22, later: '{{ result.stdout }}' });
  t.is(resolved.file, '/srv/tor/torrc');
  t.is(resolved.port, 22);
  t.deepEqual(unresolved, ['later']);
});

test('unknown helper found without rendering', (t) => {
  const error = templateError(() => checkTemplateSyntax('a\n{{#each xs}}{{joinn this ","}}{{/each}}', { file: 't.hbs', line: 1, column: 1 }));
  t.regex(error.message, /unknown helper "joinn"/);
  t.is(error.details.position?.line, 2);
  t.regex(error.details.fix ?? '', /did you mean "join"/);
});

test('builtin block helpers are known', (t) => {
  t.notThrows(() => checkTemplateSyntax('{{#if a}}{{#each b}}{{#with c}}{{lookup d "e"}}{{/with}}{{/each}}{{else}}{{#unless f}}x{{/unless}}{{/if}}', { file: 't', line: 1, column: 1 }));
});

test('required references skip default arguments', (t) => {
  t.deepEqual(referencedVariables('{{default a 1}} {{defined b}} {{c}} {{default d.e f}}', { required: true }), ['c', 'f']);
  t.deepEqual(referencedVariables('{{default a 1}}'), ['a']);
});

test('Jinja conditions get the helper form', (t) => {
  for (const expression of ['result is defined', 'x is not defined', 'a == 1', 'b != "x"', 'item in list', 'a and b']) {
    const error = templateError(() => evaluateCondition(expression, { a: 1, b: 2, x: 1, result: {}, item: 1, list: [] }, where));
    t.regex(error.message, /invalid condition/, expression);
    t.regex(error.details.fix ?? '', /defined x/, expression);
  }
});

test('literal conditions', (t) => {
  t.false(evaluateCondition('false', vars, where));
  t.true(evaluateCondition('true', vars, where));
  t.false(evaluateCondition('0', vars, where));
  t.true(evaluateCondition('and true (or false true)', vars, where));
});

test('operator words inside strings are fine', (t) => {
  t.true(evaluateCondition('eq text "it\'s"', vars, where));
  t.false(evaluateCondition('eq mode "a and b"', vars, where));
});
