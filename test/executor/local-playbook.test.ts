// A playbook with a custom role (templates, handlers, loops, when,
// register and hostvars) run twice through the local connection.

import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { main } from '../../runner/cli/main.ts';
import type { RunEvent } from '../../runner/report/events.ts';

const fixture = new URL('../fixtures/local-site/', import.meta.url).pathname;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function runJson(site: string, root: string, extra: string[] = []): Promise<{ code: number; events: RunEvent[]; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(
    ['run', join(site, 'playbook.yaml'), '-i', site, '--connection', 'local', '--output', 'json', '-e', `root_dir=${root}`, ...extra],
    { stdout, stderr },
  );
  const events = stdout.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
  return { code, events, stderr: stderr.text };
}

function recapOf(events: RunEvent[]) {
  const recap = events.find((event) => event.type === 'recap');
  if (recap?.type !== 'recap') throw new Error('no recap event');
  return recap;
}

async function withCopy(run: (site: string, root: string) => Promise<void>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'onionplay-local-'));
  const site = join(work, 'site');
  const root = join(work, 'root');
  await cp(fixture, site, { recursive: true });
  try {
    await run(site, root);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

test('local playbook converges on the second run', async (t) => {
  await withCopy(async (site, root) => {
    const first = await runJson(site, root);
    t.is(first.code, 0, first.stderr);
    const start = first.events.find((event) => event.type === 'run_start');
    const runId = start?.type === 'run_start' ? start.runId : '';
    for (const host of ['alpha', 'beta']) t.false(existsSync(`/tmp/onionplay-${runId}-${host}.journal`), `${host} journal left behind`);
    const firstRecap = recapOf(first.events);
    for (const host of firstRecap.hosts) {
      t.true(host.changed > 0, `${host.host} changed nothing on the first run`);
      t.is(host.failed, 0);
    }

    const second = await runJson(site, root);
    t.is(second.code, 0, second.stderr);
    for (const host of recapOf(second.events).hosts) {
      t.is(host.changed, 0, `${host.host} changed something on the second run`);
      t.is(host.failed, 0);
    }
  });
});

test('local playbook writes the expected bytes', async (t) => {
  await withCopy(async (site, root) => {
    const { code, stderr } = await runJson(site, root);
    t.is(code, 0, stderr);
    t.is(
      await readFile(join(root, 'alpha', 'app.conf'), 'utf8'),
      '# demo on alpha\ngreeting = hello\nport = 8080\nsite = north\nsite = south\n',
    );
    t.is(
      await readFile(join(root, 'beta', 'app.conf'), 'utf8'),
      '# demo on beta\ngreeting = good day from beta\nport = 8080\nsite = north\nsite = south\n',
    );
    t.is(await readFile(join(root, 'alpha', 'site-north.txt'), 'utf8'), 'site north of demo\n');
    t.is(await readFile(join(root, 'beta', 'site-south.txt'), 'utf8'), 'site south of demo\n');
    t.is(await readFile(join(root, 'alpha', 'peer.txt'), 'utf8'), 'good day from beta\n');
    t.is(await readFile(join(root, 'alpha', 'app.conf.d'), 'utf8'), 'managed = true\n');
    t.deepEqual((await readdir(join(root, 'beta'))).sort(), ['app.conf', 'app.conf.d', 'restarts', 'site-north.txt', 'site-south.txt']);
  });
});

test('local playbook runs the handler once', async (t) => {
  await withCopy(async (site, root) => {
    await runJson(site, root);
    await runJson(site, root);
    t.is(await readFile(join(root, 'alpha', 'restarts'), 'utf8'), 'restarted\n');
    t.is(await readFile(join(root, 'beta', 'restarts'), 'utf8'), 'restarted\n');
  });
});

test('local playbook reports every ok with a reason', async (t) => {
  await withCopy(async (site, root) => {
    await runJson(site, root);
    const { events } = await runJson(site, root);
    const results = events.filter((event) => event.type === 'task_result');
    t.true(results.length > 0);
    for (const event of results) {
      if (event.type === 'task_result' && event.status === 'ok') t.truthy(event.reason, `${event.task} has no reason`);
    }
  });
});

test('local playbook skips when the condition is false', async (t) => {
  await withCopy(async (site, root) => {
    const { events } = await runJson(site, root);
    const skipped = events.find((event) => event.type === 'task_result' && event.host === 'beta' && event.task.startsWith('Write what beta says'));
    t.is(skipped?.type === 'task_result' ? skipped.status : undefined, 'skipped');
  });
});

test('check mode changes nothing', async (t) => {
  await withCopy(async (site, root) => {
    const { code, events } = await runJson(site, root, ['--check']);
    t.is(code, 0);
    t.true(recapOf(events).hosts.every((host) => host.changed > 0));
    await t.throwsAsync(readdir(root));
  });
});

test('converged local run costs one round trip per window', async (t) => {
  await withCopy(async (site, root) => {
    await runJson(site, root);
    const { events } = await runJson(site, root);
    for (const host of recapOf(events).hosts) {
      // The last task's `when` reads the stat task's result, which is known
      // from the probe, so all of the role's probes share one script.
      t.is(host.execRoundTrips, 1, `${host.host} spent ${host.execRoundTrips} round trips`);
    }
  });
});
