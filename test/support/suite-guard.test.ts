// The suite guard is loaded into every worker: check that it is installed
// here, that it tells engine frames from test frames, and that this
// worker's own tests made no leak so far.

import dns from 'node:dns';

import test from 'ava';

import { fromEngine, isLoopback, recordedLeaks } from './suite-guard.ts';

const guardFrames = 'Error\n    at record (/work/main/test/support/suite-guard.ts:40:17)\n    at guardedLookup (/work/main/test/support/suite-guard.ts:55:9)\n';

test('suite guard wraps dns.lookup', (t) => {
  t.is(dns.lookup.name, 'guardedLookup');
});

test('engine frames are recognised', (t) => {
  t.true(fromEngine(`${guardFrames}    at SocksTunnel.open (/work/main/runner/transport/socks.ts:10:3)\n    at test (/work/main/test/x.test.ts:1:1)`));
});

test('test and library frames are not engine frames', (t) => {
  t.false(fromEngine(`${guardFrames}    at waitPort (/work/main/test/lab/lab.ts:10:3)`));
  t.false(fromEngine(`${guardFrames}    at Client.connect (/work/main/node_modules/ssh2/lib/client.js:10:3)`));
});

test('loopback targets are allowed', (t) => {
  for (const host of ['127.0.0.1', '127.5.0.9', 'localhost', '::1', 'unix:/run/x.sock']) t.true(isLoopback(host), host);
  for (const host of ['10.200.0.11', 'obelix', 'example.onion', '192.168.1.1']) t.false(isLoopback(host), host);
});

test('this worker recorded no leak', (t) => {
  t.deepEqual(recordedLeaks(), []);
});
