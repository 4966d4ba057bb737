import test from 'ava';

import { assertModule, debugModule, failModule, lookupVariable, setFactModule } from '../../runner/modules/controller.ts';
import type { ModuleContext, ModuleDefinition, Outcome } from '../../runner/modules/types.ts';
import { fakeContext } from './helpers.ts';

function runLocal(module: ModuleDefinition, args: Record<string, unknown>, context: ModuleContext = fakeContext()): Outcome {
  if (!module.local) throw new Error(`${module.name} is not local`);
  const outcome = module.local(args, context);
  if (outcome instanceof Promise) throw new Error('expected a synchronous outcome');
  return outcome;
}

test('set_fact returns facts', (t) => {
  const outcome = runLocal(setFactModule, { onion: 'x.onion', port: 22 });
  t.deepEqual(outcome, { changed: false, reason: 'set facts onion, port', facts: { onion: 'x.onion', port: 22 } });
});

test('assert passes with reason', (t) => {
  const context = fakeContext({}, { a: true, b: true });
  t.deepEqual(runLocal(assertModule, { that: ['a', 'b'] }, context), { changed: false, reason: 'all 2 assertions passed: a, b' });
  t.deepEqual(runLocal(assertModule, { that: 'a', success_msg: 'a holds' }, context), { changed: false, reason: 'a holds' });
});

test('assert fails on first false', (t) => {
  const context = fakeContext({}, { a: true });
  const outcome = runLocal(assertModule, { that: ['a', 'b'], fail_msg: 'b must be set' }, context);
  t.is(outcome.failed, 'b must be set (assertion failed: b)');
  t.is(runLocal(assertModule, { that: 'c' }, context).failed, 'assertion failed: c');
});

test('assert reports evaluation errors', (t) => {
  const context: ModuleContext = {
    ...fakeContext(),
    evaluate: () => {
      throw new Error('unknown variable x');
    },
  };
  t.is(runLocal(assertModule, { that: 'x' }, context).failed, 'cannot evaluate assertion "x": unknown variable x');
});

test('debug prints msg and var', (t) => {
  t.deepEqual(runLocal(debugModule, { msg: 'hello' }), { changed: false, reason: 'hello', result: { msg: 'hello' } });
  const context = fakeContext({}, { tor: { onion: 'abc.onion' } });
  t.like(runLocal(debugModule, { var: 'tor.onion' }, context), { reason: 'tor.onion: abc.onion' });
  t.like(runLocal(debugModule, { var: 'nope' }, context), { reason: 'nope: VARIABLE IS NOT DEFINED!' });
  t.like(runLocal(debugModule, { msg: { a: 1 } }), { reason: '{"a":1}' });
});

test('fail fails with msg', (t) => {
  t.deepEqual(runLocal(failModule, { msg: 'stop here' }), { changed: false, failed: 'stop here' });
  t.is(runLocal(failModule, {}).failed, 'Failed as requested from task');
});

test('lookupVariable walks dotted paths', (t) => {
  t.deepEqual(lookupVariable({ a: { b: 0 } }, 'a.b'), { found: true, value: 0 });
  t.deepEqual(lookupVariable({ a: 1 }, 'a.b'), { found: false, value: undefined });
});
