// Run `onionplay validate` on each broken project under
// test/fixtures/broken/ and compare with its expected.yaml.

import test from 'ava';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { validateCommand } from '../../runner/cli/validate.ts';
import { ExitCode } from '../../runner/errors/index.ts';
import { loadYamlFile } from '../../runner/yaml/load.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'broken');

let connectAttempts = 0;
const originalSocketConnect = net.Socket.prototype.connect;

test.before(() => {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    connectAttempts += 1;
    return (originalSocketConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});

test.after.always(() => {
  net.Socket.prototype.connect = originalSocketConnect;
});

const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);

for (const name of cases) {
  test(`fixture ${name}`, async (t) => {
    const dir = path.join(FIXTURES, name);
    const expected = (await loadYamlFile(path.join(dir, 'expected.yaml'))).value as { place: string; detail: string; fix: string };
    let output = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        output += String(chunk);
        done();
      },
    });
    const code = await validateCommand({
      playbookFile: path.join(dir, 'play.yaml'),
      siteDir: path.join(dir, 'site'),
      rolesPath: [],
      extraVars: [],
      projectRoot: dir,
      output: sink,
    });
    t.is(code, ExitCode.invalidInput, output);
    t.true(output.includes(path.join(dir, expected.place)), `expected ${expected.place} in:\n${output}`);
    t.true(output.includes(expected.detail), `expected ${expected.detail} in:\n${output}`);
    t.true(output.includes(`fix: `) && output.includes(expected.fix), `expected fix ${expected.fix} in:\n${output}`);
    t.is(connectAttempts, 0);
  });
}
