import { Writable } from 'node:stream';

import test from 'ava';

import { EventBus, type RunEvent } from '../../runner/report/events.ts';
import { JsonRenderer } from '../../runner/report/json.ts';
import { PlainRenderer } from '../../runner/report/plain.ts';
import { TtyRenderer } from '../../runner/report/tty.ts';

class Capture extends Writable {
  text = '';
  isTTY = true;
  columns = 100;
  rows = 40;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const result = (status: 'ok' | 'changed' | 'failed', extra: Partial<Extract<RunEvent, { type: 'task_result' }>> = {}): RunEvent => ({
  type: 'task_result',
  host: 'obelix',
  task: 'Write torrc',
  taskId: 'p0/tor/1',
  handler: false,
  status,
  hidden: false,
  checkMode: false,
  ...extra,
});

const recap: RunEvent = {
  type: 'recap',
  exitCode: 0,
  elapsedMs: 1500,
  hosts: [
    {
      host: 'obelix',
      ok: 3,
      changed: 1,
      failed: 0,
      skipped: 0,
      unreachable: false,
      connectRoundTrips: 7,
      execRoundTrips: 2,
      bytesUp: 2048,
      bytesDown: 1024,
      connectMs: 1200,
      reconnects: 0,
    },
  ],
};

test('plain renderer prints results and recap', (t) => {
  const out = new Capture();
  const renderer = new PlainRenderer(out, { verbosity: 1, diff: true, stats: true });
  renderer.handle(result('ok', { reason: 'already has the wanted content' }));
  renderer.handle(result('changed', { summary: 'write /etc/tor/torrc', diff: '-old\n+new\n' }));
  renderer.handle(recap);
  t.regex(out.text, /obelix: ok Write torrc: already has the wanted content/);
  t.regex(out.text, /obelix: changed Write torrc: write \/etc\/tor\/torrc\n-old\n\+new/);
  t.regex(out.text, /obelix +ok=3 changed=1 failed=0 skipped=0 unreachable=0/);
  t.regex(out.text, /round trips: connect=7 exec=2/);
});

test('plain renderer hides no_log results', (t) => {
  const out = new Capture();
  new PlainRenderer(out, { verbosity: 3, diff: true, stats: false }).handle(result('changed', { hidden: true, summary: 'token abc', diff: 'secret' }));
  t.regex(out.text, /output hidden by no_log/);
  t.notRegex(out.text, /token abc|secret/);
});

test('event bus masks registered secrets', (t) => {
  const out = new Capture();
  const bus = new EventBus();
  bus.add(new JsonRenderer(out));
  bus.addSecret('s3cret-join-token');
  bus.emit(result('failed', { message: 'kubeadm join --token s3cret-join-token failed' }));
  t.notRegex(out.text, /s3cret-join-token/);
  t.regex(out.text, /--token \*{8} failed/);
});

test('tty renderer prints held lines at play end', async (t) => {
  const out = new Capture();
  const renderer = new TtyRenderer(out as unknown as NodeJS.WriteStream, { verbosity: 0, diff: false, stats: false });
  renderer.handle({ type: 'play_start', play: 'Tor', hosts: ['obelix'] });
  renderer.handle({ type: 'task_start', host: 'obelix', task: 'Write torrc', taskId: 'p0/tor/1', handler: false });
  renderer.handle(result('changed', { summary: 'write /etc/tor/torrc' }));
  renderer.handle({ type: 'play_end', play: 'Tor' });
  await renderer.flush();
  renderer.handle(recap);
  await renderer.close();
  t.regex(out.text, /PLAY \[Tor\]/);
  t.regex(out.text, /obelix: changed Write torrc: write \/etc\/tor\/torrc/);
  t.regex(out.text, /RECAP/);
});
