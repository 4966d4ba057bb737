// Small pure parts of the transport: SOCKS usernames, retry delays, the
// round trip meter and the handshake shortcut guard.

import test from 'ava';
import ssh2 from 'ssh2';

import { RoundTripMeter } from '../../runner/transport/socks.ts';
import { applyHandshakeShortcuts } from '../../runner/transport/ssh-handshake.ts';
import { retryDelayMs, socksUsername } from '../../runner/transport/ssh.ts';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('SOCKS username names host and run', (t) => {
  t.is(socksUsername('web1', 'abc'), 'onionplay:web1:abc');
});

test('long host names fit RFC 1929', (t) => {
  const long = 'h'.repeat(300);
  const username = socksUsername(long, 'abc');
  t.true(Buffer.byteLength(username) <= 255);
  t.regex(username, /^onionplay:[0-9a-f]{32}:abc$/);
  t.not(username, socksUsername(`${long}x`, 'abc'), 'different hosts keep different usernames');
});

test('retry delay grows and stays capped', (t) => {
  t.is(retryDelayMs(1, 500, 15_000, () => 0), 250);
  t.is(retryDelayMs(1, 500, 15_000, () => 1), 500);
  t.is(retryDelayMs(3, 500, 15_000, () => 1), 2000);
  t.is(retryDelayMs(10, 500, 15_000, () => 1), 15_000);
  t.is(retryDelayMs(10, 500, 15_000, () => 0), 7500);
});

test('meter counts a reply once', async (t) => {
  const meter = new RoundTripMeter();
  meter.noteWrite(10);
  await sleep(20);
  meter.noteRead(5);
  meter.noteRead(5);
  t.is(meter.roundTrips, 1);
  t.is(meter.bytesUp, 10);
  t.is(meter.bytesDown, 10);
});

test('meter ignores data crossing a write', async (t) => {
  const meter = new RoundTripMeter();
  meter.noteWrite(1);
  await sleep(40);
  meter.noteRead(1);
  t.is(meter.roundTrips, 1);
  // The peer's next message was already on its way when this write left.
  meter.noteWrite(1);
  meter.noteRead(1);
  t.is(meter.roundTrips, 1, 'data right after a write is not its reply');
  await sleep(40);
  meter.noteRead(1);
  t.is(meter.roundTrips, 2, 'the real reply still counts');
});

test('meter reports bytes as they pass', (t) => {
  const seen: Array<[number, number]> = [];
  const meter = new RoundTripMeter(undefined, (up, down) => seen.push([up, down]));
  meter.noteWrite(3);
  meter.noteRead(4);
  t.deepEqual(seen, [
    [3, 0],
    [0, 4],
  ]);
});

test('shortcuts skip a client without a protocol', (t) => {
  t.false(applyHandshakeShortcuts(new ssh2.Client()));
});
