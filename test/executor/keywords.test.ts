// Task keywords and run-level behaviour through the local connection:
// handlers kept after a failure, run_once, until/retries, conditions on
// results, no_log, tags, the site lock, timeouts and interrupts.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { main } from '../../runner/cli/main.ts';
import type { HostRecap, RunEvent } from '../../runner/report/events.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface Site {
  dir: string;
  root: string;
  run(extra?: string[], signal?: AbortSignal): Promise<{ code: number; events: RunEvent[]; recaps: Map<string, HostRecap>; stdout: string; stderr: string }>;
}

/** Poll until the file exists, so a test acts once a run has reached a known point. */
async function waitForFile(path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function withSite(playbook: string, body: (site: Site) => Promise<void>, hosts = ['alpha', 'beta']): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'onionplay-keywords-'));
  const root = join(dir, 'root');
  await mkdir(root);
  const entries = hosts.map((host) => `        ${host}: {}`).join('\n');
  await writeFile(join(dir, 'hosts.yaml'), `all:\n  children:\n    web:\n      hosts:\n${entries}\n`);
  await writeFile(join(dir, 'playbook.yaml'), playbook);
  const site: Site = {
    dir,
    root,
    async run(extra = [], signal) {
      const stdout = new Capture();
      const stderr = new Capture();
      const args = ['run', join(dir, 'playbook.yaml'), '-i', dir, '--connection', 'local', '--output', 'json', '-e', `root=${root}`, ...extra];
      const code = await main(args, { stdout, stderr, signal });
      const events = stdout.text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as RunEvent);
      const recap = events.find((event) => event.type === 'recap');
      const recaps = new Map((recap?.type === 'recap' ? recap.hosts : []).map((host) => [host.host, host]));
      return { code, events, recaps, stdout: stdout.text, stderr: stderr.text };
    },
  };
  try {
    await body(site);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function results(events: RunEvent[], task: string): Array<Extract<RunEvent, { type: 'task_result' }>> {
  return events.filter((event): event is Extract<RunEvent, { type: 'task_result' }> => event.type === 'task_result' && event.task === task);
}

const handlerPlaybook = `
- name: Handlers survive a failed run
  hosts: web
  tasks:
    - name: Write the config
      copy: { content: "v1\\n", dest: "{{ root }}/{{ inventory_hostname }}.conf" }
      notify: Record restart
    - name: Fail when asked
      command: { argv: [sh, -c, "exit {{ exit_code }}"] }
  handlers:
    - name: Record restart
      command: { argv: [sh, -c, "echo restarted >> \\"$0\\"", "{{ root }}/{{ inventory_hostname }}.restarts"] }
`;

test('handler notification survives a failed run', async (t) => {
  await withSite(handlerPlaybook, async (site) => {
    const failed = await site.run(['-e', 'exit_code=1']);
    t.is(failed.code, 2);
    t.false(existsSync(join(site.root, 'alpha.restarts')));
    const pending = await readFile(join(site.dir, 'state', 'pending-handlers.yaml'), 'utf8');
    t.regex(pending, /alpha:\n\s+- Record restart/);

    const fixed = await site.run(['-e', 'exit_code=0']);
    t.is(fixed.code, 0, fixed.stdout);
    t.is(await readFile(join(site.root, 'alpha.restarts'), 'utf8'), 'restarted\n');
    t.is(await readFile(join(site.root, 'beta.restarts'), 'utf8'), 'restarted\n');
    t.notRegex(await readFile(join(site.dir, 'state', 'pending-handlers.yaml'), 'utf8'), /Record restart/);

    const again = await site.run(['-e', 'exit_code=0']);
    t.is(again.code, 0);
    t.is(await readFile(join(site.root, 'alpha.restarts'), 'utf8'), 'restarted\n');
  });
});

test('run_once runs on one host and shares the result', async (t) => {
  const playbook = `
- name: Run once
  hosts: web
  tasks:
    - name: Mint a value once
      command: { argv: [sh, -c, "echo minted >> \\"$0\\"; echo token-42", "{{ root }}/minted"] }
      run_once: true
      register: minted
      changed_when: false
    - name: Every host sees it
      copy: { content: "{{ minted.stdout }}", dest: "{{ root }}/{{ inventory_hostname }}.seen" }
`;
  await withSite(playbook, async (site) => {
    for (let index = 0; index < 2; index += 1) {
      const { code, stdout } = await site.run();
      t.is(code, 0, stdout);
    }
    t.is(await readFile(join(site.root, 'minted'), 'utf8'), 'minted\nminted\n');
    // stdout loses its final newline, as in Ansible.
    t.is(await readFile(join(site.root, 'alpha.seen'), 'utf8'), 'token-42');
    t.is(await readFile(join(site.root, 'beta.seen'), 'utf8'), 'token-42');
  });
});

test('until retries until the condition holds', async (t) => {
  const playbook = `
- name: Until
  hosts: web
  tasks:
    - name: Count to three
      command: { argv: [sh, -c, "n=$(cat \\"$0\\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \\"$0\\"; echo $n", "{{ root }}/{{ inventory_hostname }}.count"] }
      register: counted
      until: eq counted.stdout "3"
      retries: 5
      delay: 0.05
`;
  await withSite(
    playbook,
    async (site) => {
      const { code, events, stdout } = await site.run();
      t.is(code, 0, stdout);
      t.is(await readFile(join(site.root, 'alpha.count'), 'utf8'), '3\n');
      t.is(results(events, 'Count to three')[0]?.status, 'changed');
    },
    ['alpha'],
  );
});

test('until gives up after its retries', async (t) => {
  const playbook = `
- name: Until
  hosts: web
  tasks:
    - name: Never ready
      command: { argv: [sh, -c, "echo no"] }
      register: probe
      until: eq probe.stdout "yes"
      retries: 2
      delay: 0.05
`;
  await withSite(
    playbook,
    async (site) => {
      const { code, events } = await site.run();
      t.is(code, 2);
      t.regex(results(events, 'Never ready')[0]?.message ?? '', /until is still false after 3 attempt\(s\)/);
    },
    ['alpha'],
  );
});

test('changed_when, failed_when and ignore_errors', async (t) => {
  const playbook = `
- name: Conditions on results
  hosts: web
  tasks:
    - name: Quiet check
      command: { argv: [sh, -c, "echo fine"] }
      register: quiet
      changed_when: false
    - name: Output means failure
      command: { argv: [sh, -c, "echo ERROR"] }
      register: loud
      failed_when: eq loud.stdout "ERROR"
      ignore_errors: true
    - name: Still runs after an ignored failure
      copy: { content: "after\\n", dest: "{{ root }}/after" }
`;
  await withSite(
    playbook,
    async (site) => {
      const { code, events } = await site.run();
      t.is(code, 0);
      t.is(results(events, 'Quiet check')[0]?.status, 'ok');
      t.is(results(events, 'Output means failure')[0]?.status, 'failed');
      t.is(await readFile(join(site.root, 'after'), 'utf8'), 'after\n');
    },
    ['alpha'],
  );
});

test('no_log hides output and registered values', async (t) => {
  const playbook = `
- name: Secrets
  hosts: web
  tasks:
    - name: Print a secret and fail
      command: { argv: [sh, -c, "echo hunter2-secret-value; exit 3"] }
      register: secret
      no_log: true
      ignore_errors: true
    - name: Show it
      debug: { msg: "the value is {{ secret.stdout }}" }
`;
  await withSite(
    playbook,
    async (site) => {
      const { stdout, stderr } = await site.run(['-vvv']);
      t.notRegex(stdout + stderr, /hunter2-secret-value/);
      t.regex(stdout, /output hidden by no_log|"hidden":true/);
    },
    ['alpha'],
  );
});

test('tags and skip-tags select tasks', async (t) => {
  const playbook = `
- name: Tags
  hosts: web
  tasks:
    - name: Tagged a
      copy: { content: "a\\n", dest: "{{ root }}/a" }
      tags: [a]
    - name: Tagged b
      copy: { content: "b\\n", dest: "{{ root }}/b" }
      tags: [b]
    - name: Always
      copy: { content: "always\\n", dest: "{{ root }}/always" }
      tags: [always]
`;
  await withSite(
    playbook,
    async (site) => {
      t.is((await site.run(['--tags', 'a'])).code, 0);
      t.true(existsSync(join(site.root, 'a')));
      t.false(existsSync(join(site.root, 'b')));
      t.true(existsSync(join(site.root, 'always')));
      t.is((await site.run(['--skip-tags', 'a'])).code, 0);
      t.true(existsSync(join(site.root, 'b')));
    },
    ['alpha'],
  );
});

test('second run on a locked site is rejected', async (t) => {
  const playbook = `
- name: Slow
  hosts: web
  tasks:
    - name: Sleep
      command: { argv: [sleep, "3"] }
`;
  await withSite(
    playbook,
    async (site) => {
      const first = site.run();
      await waitForFile(join(site.dir, 'state', '.lock'));
      const second = await site.run();
      t.is(second.code, 5);
      t.regex(second.stderr, new RegExp(`another onionplay run \\(PID ${process.pid}\\) holds the site lock .*state/\\.lock`));
      t.is((await first).code, 0);
    },
    ['alpha'],
  );
});

test('stale lock of a dead process is taken over', async (t) => {
  const playbook = `
- name: Quick
  hosts: web
  tasks:
    - name: Write
      copy: { content: "x\\n", dest: "{{ root }}/x" }
`;
  await withSite(
    playbook,
    async (site) => {
      await mkdir(join(site.dir, 'state'), { recursive: true });
      // PID 2^22 + 1 is above Linux's maximum PID, so no process has it.
      await writeFile(join(site.dir, 'state', '.lock'), '4194305\n');
      const { code, stderr } = await site.run();
      t.is(code, 0, stderr);
      t.false(existsSync(join(site.dir, 'state', '.lock')));
    },
    ['alpha'],
  );
});

test('task timeout names the limit', async (t) => {
  const playbook = `
- name: Timeout
  hosts: web
  tasks:
    - name: Hang
      command: { argv: [sleep, "30"] }
      timeout: 1
`;
  await withSite(
    playbook,
    async (site) => {
      const started = Date.now();
      const { code, events } = await site.run();
      t.is(code, 2);
      t.true(Date.now() - started < 15_000);
      t.regex(results(events, 'Hang')[0]?.message ?? '', /timed out after 1 s \(task timeout\): run sleep 30/);
    },
    ['alpha'],
  );
});

test('interrupt stops the run and keeps notifications', async (t) => {
  const playbook = `
- name: Interrupted
  hosts: web
  tasks:
    - name: Write the config
      copy: { content: "v1\\n", dest: "{{ root }}/{{ inventory_hostname }}.conf" }
      notify: Record restart
    - name: Slow step
      command: { argv: [sleep, "1"] }
    - name: Never reached
      copy: { content: "late\\n", dest: "{{ root }}/late" }
  handlers:
    - name: Record restart
      command: { argv: [touch, "{{ root }}/restarted"] }
`;
  await withSite(
    playbook,
    async (site) => {
      const controller = new AbortController();
      const interrupting = site.run([], controller.signal);
      // The config is written in the same script as the slow step, so once
      // it exists that script is running.
      await waitForFile(join(site.root, 'alpha.conf'));
      controller.abort();
      const interrupted = await interrupting;
      t.is(interrupted.code, 130);
      t.false(existsSync(join(site.root, 'late')));
      t.false(existsSync(join(site.root, 'restarted')));
      t.regex(await readFile(join(site.dir, 'state', 'pending-handlers.yaml'), 'utf8'), /Record restart/);

      const resumed = await site.run();
      t.is(resumed.code, 0);
      t.true(existsSync(join(site.root, 'restarted')));
      t.true(existsSync(join(site.root, 'late')));
    },
    ['alpha'],
  );
});

test('SIGINT ends the CLI promptly and the next run converges', async (t) => {
  const playbook = `
- name: Interrupted by a signal
  hosts: web
  tasks:
    - name: Write the config
      copy: { content: "v2\\n", dest: "{{ root }}/app.conf" }
      notify: Record restart
    - name: Slow step
      command: { argv: [sleep, "3"] }
      register: slow
    - name: Write after the slow step
      copy: { content: "after {{ slow.rc }}\\n", dest: "{{ root }}/after" }
  handlers:
    - name: Record restart
      command: { argv: [sh, -c, "echo restarted >> \\"$0\\"", "{{ root }}/restarts"] }
`;
  await withSite(
    playbook,
    async (site) => {
      const { spawn } = await import('node:child_process');
      const bin = new URL('../../bin/onionplay.js', import.meta.url).pathname;
      const child = spawn(process.execPath, [bin, 'run', join(site.dir, 'playbook.yaml'), '-i', site.dir, '--connection', 'local', '--output', 'plain', '-e', `root=${site.root}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let interrupted = false;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        // A second SIGINT would end the process at once, so send only one.
        if (!interrupted && stdout.includes('changed Write the config')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
      t.is(code, 130, stdout + stderr);
      t.true(Date.now() - started < 10_000);
      t.regex(stderr, /interrupt: finishing the scripts in flight, then stopping/);
      t.is(await readFile(join(site.root, 'app.conf'), 'utf8'), 'v2\n');
      t.false(existsSync(join(site.root, 'restarts')));
      t.regex(await readFile(join(site.dir, 'state', 'pending-handlers.yaml'), 'utf8'), /Record restart/);

      const resumed = await site.run();
      t.is(resumed.code, 0, resumed.stdout);
      t.is(await readFile(join(site.root, 'restarts'), 'utf8'), 'restarted\n');
      const converged = await site.run();
      t.is(converged.recaps.get('alpha')?.changed, 1, 'only the command without creates changes');
    },
    ['alpha'],
  );
});

test('delegate_to runs on the other host with this host variables', async (t) => {
  const playbook = `
- name: Delegation
  hosts: alpha
  tasks:
    - name: Record on beta
      command: { argv: [sh, -c, "echo {{ inventory_hostname }} >> \\"$0\\"", "{{ root }}/delegated"] }
      delegate_to: beta
`;
  await withSite(playbook, async (site) => {
    const { code, events, stdout } = await site.run();
    t.is(code, 0, stdout);
    t.is(await readFile(join(site.root, 'delegated'), 'utf8'), 'alpha\n');
    const connected = events.filter((event) => event.type === 'host_connected').map((event) => (event.type === 'host_connected' ? event.host : ''));
    t.deepEqual(connected, ['beta']);
    // The journal of the delegated apply is removed through beta's connection.
    const start = events.find((event) => event.type === 'run_start');
    const runId = start?.type === 'run_start' ? start.runId : '';
    t.regex(runId, /^[0-9a-f]{12}$/);
    t.false(existsSync(`/tmp/onionplay-${runId}-alpha.journal`));
  });
});
