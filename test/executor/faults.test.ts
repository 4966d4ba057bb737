// Connection faults between the controller and a real sshd behind the
// test SOCKS5 proxy: a stream dropped while a task runs on the host, and
// one dropped in the middle of sending a large file.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { main } from '../../runner/cli/main.ts';
import type { HostRecap, RunEvent } from '../../runner/report/events.ts';
import { spawnSocksServer, type SocksServerControl } from '../support/socks-server.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface Fixture {
  sshd: TestSshd;
  proxy: SocksServerControl;
  work: string;
  site: string;
  root: string;
}

async function withFixture(playbook: string, body: (fixture: Fixture) => Promise<void>): Promise<void> {
  const sshd = await startSshd();
  const proxy = await spawnSocksServer({ names: { 'target.test': { host: '127.0.0.1', port: sshd.port } } });
  const work = await mkdtemp(join(tmpdir(), 'onionplay-faults-'));
  const site = join(work, 'site');
  const root = join(work, 'root');
  try {
    await mkdir(site);
    await mkdir(root);
    await writeFile(join(site, 'hosts.yaml'), `all:\n  hosts:\n    target:\n      address: target.test\n      port: ${sshd.port}\n      ssh_key: ${sshd.clientKeyPath}\n`);
    await writeFile(join(site, 'site.yaml'), `socks: "127.0.0.1:${proxy.port}"\ntrust_new_hosts: true\nconnect_timeout: 30\n`);
    await writeFile(join(site, 'playbook.yaml'), playbook);
    await body({ sshd, proxy, work, site, root });
  } finally {
    await proxy.close();
    await sshd.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function run(fixture: Fixture, extra: string[] = []): Promise<{ code: number; recap: HostRecap | undefined; events: RunEvent[]; text: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['run', join(fixture.site, 'playbook.yaml'), '-i', fixture.site, '--output', 'json', '-e', `root=${fixture.root}`, ...extra], { stdout, stderr });
  const events = stdout.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
  const recap = events.find((event) => event.type === 'recap');
  return { code, recap: recap?.type === 'recap' ? recap.hosts[0] : undefined, events, text: stdout.text + stderr.text };
}

rootTest('dropped stream during a task: reconnect, not run twice', async (t) => {
  const playbook = `
- name: Slow command
  hosts: all
  tasks:
    - name: Append once, slowly
      command: { argv: [sh, -c, "touch \\"$0.started\\"; sleep 3; echo ran >> \\"$0\\"", "{{ root }}/ran"] }
    - name: Afterwards
      copy: { content: "after\\n", dest: "{{ root }}/after" }
`;
  await withFixture(playbook, async (fixture) => {
    const running = run(fixture);
    // Drop the stream once the command runs on the host.
    const started = join(fixture.root, 'ran.started');
    for (let waited = 0; !existsSync(started) && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    await fixture.proxy.dropAll();
    const { code, recap, text } = await running;
    t.is(code, 0, text);
    t.is(await readFile(join(fixture.root, 'ran'), 'utf8'), 'ran\n');
    t.is(await readFile(join(fixture.root, 'after'), 'utf8'), 'after\n');
    t.is(recap?.reconnects, 1);
    t.is(recap?.changed, 2);
  });
});

rootTest('dropped stream while sending a file leaves it whole', async (t) => {
  // 3 MiB of content travels base64-encoded inside the apply script.
  const content = createHash('sha512').update('seed').digest('hex').repeat(3 * 8192);
  const playbook = `
- name: Large file
  hosts: all
  tasks:
    - name: Write the large file
      copy: { content: "{{ big }}", dest: "{{ root }}/big" }
`;
  await withFixture(playbook, async (fixture) => {
    await writeFile(join(fixture.root, 'big'), 'old content\n');
    const vars = join(fixture.work, 'vars.yaml');
    await writeFile(vars, `big: ${JSON.stringify(content)}\n`);
    await fixture.proxy.configure({ dropAfterBytes: 1024 * 1024 });
    const dropped = await run(fixture, ['-e', `@${vars}`]);
    const afterDrop = await readFile(join(fixture.root, 'big'), 'utf8');
    t.true(afterDrop === 'old content\n' || afterDrop === content, `partial file of ${afterDrop.length} bytes`);
    const leftovers = (await readdir(fixture.root)).filter((name) => name !== 'big');
    t.deepEqual(leftovers, [], 'temporary files left behind');

    await fixture.proxy.configure({ dropAfterBytes: Number.MAX_SAFE_INTEGER });
    const again = await run(fixture, ['-e', `@${vars}`]);
    t.is(again.code, 0, again.text);
    t.is(await readFile(join(fixture.root, 'big'), 'utf8'), content);
    // Every connection drops after 1 MiB, so the host is given up on.
    t.is(dropped.code, 3, dropped.text);
  });
});
