// A converged rerun of ten typical tasks through a real sshd behind a
// SOCKS5 proxy that adds 250 ms each way costs at most two round trips
// after the SSH handshake.

import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { main } from '../../runner/cli/main.ts';
import type { HostRecap, RunEvent } from '../../runner/report/events.ts';
import { spawnSocksServer } from '../support/socks-server.ts';
import { startSshd } from '../support/sshd.ts';

const fixture = new URL('../fixtures/ten-tasks/', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function recap(stdout: string): HostRecap {
  const events = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as RunEvent);
  const last = events.find((event) => event.type === 'recap');
  if (last?.type !== 'recap' || !last.hosts[0]) throw new Error(`no recap in:\n${stdout}`);
  return last.hosts[0];
}

(isRoot ? test : test.skip)('converged rerun costs two round trips', async (t) => {
  const sshd = await startSshd();
  const proxy = await spawnSocksServer({ delayMs: 250, names: { 'target.test': { host: '127.0.0.1', port: sshd.port } } });
  const work = await mkdtemp(join(tmpdir(), 'onionplay-roundtrips-'));
  try {
    const site = join(work, 'site');
    await cp(fixture, site, { recursive: true });
    await writeFile(
      join(site, 'hosts.yaml'),
      `all:\n  hosts:\n    target:\n      address: target.test\n      port: ${sshd.port}\n      ssh_key: ${sshd.clientKeyPath}\n`,
    );
    await writeFile(join(site, 'site.yaml'), `socks: "127.0.0.1:${proxy.port}"\ntrust_new_hosts: true\n`);
    const args = ['run', join(site, 'playbook.yaml'), '-i', site, '--output', 'json', '--stats', '-e', `root_dir=${join(work, 'root')}`];

    const firstOut = new Capture();
    const firstErr = new Capture();
    t.is(await main(args, { stdout: firstOut, stderr: firstErr }), 0, firstErr.text + firstOut.text);
    const first = recap(firstOut.text);
    t.true(first.changed >= 8, `first run changed ${first.changed}`);
    t.log(`first run: ${first.execRoundTrips} exec round trips, ${first.connectRoundTrips} to connect`);

    await proxy.reset();
    const secondOut = new Capture();
    const secondErr = new Capture();
    t.is(await main(args, { stdout: secondOut, stderr: secondErr }), 0, secondErr.text + secondOut.text);
    const second = recap(secondOut.text);
    t.is(second.changed, 0);
    t.is(second.failed, 0);
    t.true(second.execRoundTrips <= 2, `rerun spent ${second.execRoundTrips} exec round trips`);

    const counted = (await proxy.connections()).reduce((sum, connection) => sum + connection.roundTrips, 0);
    t.log(`rerun: proxy counted ${counted} round trips, the transport ${second.connectRoundTrips} to connect and ${second.execRoundTrips} after`);
    t.true(counted - second.connectRoundTrips <= 2, `proxy counted ${counted} round trips, ${second.connectRoundTrips} of them to connect`);
  } finally {
    await proxy.close();
    await sshd.stop();
    await rm(work, { recursive: true, force: true });
  }
});
