import { readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { unifiedDiff } from '../../runner/modules/diff.ts';
import {
  attributeChanges,
  FILE_FUNCTIONS,
  fileProbe,
  parseContent,
  parseFileState,
  parseProbeLines,
  sha256Hex,
  shellQuote,
  writeFileScript,
  type PresentFileState,
} from '../../runner/modules/shell-lib.ts';
import type { Connection } from '../../runner/transport/types.ts';
import { connectLocal, makeTempDir } from './helpers.ts';

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

async function probe(script: string): Promise<Map<string, string>> {
  const result = await connection.run(`( ${FILE_FUNCTIONS}${script}\n)`);
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
  return parseProbeLines(result.stdout.toString());
}

test('parseFileState reads every type', (t) => {
  t.deepEqual(parseFileState('absent'), { type: 'absent' });
  const file = parseFileState(`file 644 0 0 root root 5 ${'a'.repeat(64)} `);
  t.like(file, { type: 'file', mode: '0644', uid: 0, owner: 'root', size: 5, sha256: 'a'.repeat(64), linkTarget: undefined });
  t.like(parseFileState('link 777 0 0 root root 9 - /a b c'), { type: 'link', linkTarget: '/a b c' });
  t.like(parseFileState('file 600 0 0 root root 9 ? '), { sha256: undefined });
  t.throws(() => parseFileState('fifo 644 0 0 root root 0 - '), { message: /unexpected file type/ });
  t.throws(() => parseFileState(undefined), { message: 'probe printed no state line' });
});

test('parseContent reads every kind', (t) => {
  t.deepEqual(parseContent('data aGk='), { kind: 'data', bytes: Buffer.from('hi') });
  t.deepEqual(parseContent('data '), { kind: 'data', bytes: Buffer.alloc(0) });
  t.deepEqual(parseContent('toolarge 5000'), { kind: 'toolarge', size: 5000 });
  t.deepEqual(parseContent('unreadable'), { kind: 'unreadable' });
  t.is(parseContent(undefined), undefined);
});

test('file probe on real paths', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'a file');
  await writeFile(path, 'content\n', { mode: 0o640 });
  await symlink('a file', join(dir.path, 'link'));
  const lines = await probe(fileProbe('f', path, { maxBytes: 100 }) + fileProbe('l', join(dir.path, 'link'), { maxBytes: 100 }));
  const state = parseFileState(lines.get('f')) as PresentFileState;
  t.is(state.type, 'file');
  t.is(state.mode, '0640');
  t.is(state.sha256, sha256Hex('content\n'));
  t.is(lines.get('f.parent'), 'directory');
  t.deepEqual(parseContent(lines.get('f.content')), { kind: 'data', bytes: Buffer.from('content\n') });
  t.like(parseFileState(lines.get('l')), { type: 'link', linkTarget: 'a file' });
  t.false(lines.has('l.content'));
});

test('file probe skips content with same hash', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'f');
  await writeFile(path, 'same');
  const same = await probe(fileProbe('f', path, { maxBytes: 100, skipIfSha256: sha256Hex('same') }));
  t.false(same.has('f.content'));
  const other = await probe(fileProbe('f', path, { maxBytes: 100, skipIfSha256: sha256Hex('other') }));
  t.true(other.has('f.content'));
  const large = await probe(fileProbe('f', path, { maxBytes: 2 }));
  t.is(large.get('f.content'), 'toolarge 4');
});

test('writeFileScript writes awkward bytes', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, "o'dd $name");
  const content = Buffer.concat([Buffer.from("ONIONPLAY_EOF\n'\"$(x)`\\\n"), Buffer.alloc(5000, 0xfe)]);
  const result = await connection.run(`( set -e\n${writeFileScript(path, content, { mode: '0600' })})`);
  t.is(result.exitCode, 0, result.stderr.toString());
  t.deepEqual(await readFile(path), content);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(dir.path), ["o'dd $name"]);
});

test('writeFileScript failing validate cleans up', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'conf');
  await writeFile(path, 'old');
  const script = writeFileScript(path, Buffer.from('new'), { mode: '0644', validate: 'grep -q old %s' });
  const result = await connection.run(`( set -e\n${script}echo after\n)`);
  t.is(result.exitCode, 1);
  t.is(result.stdout.toString(), '', 'the step stops at the failure');
  t.regex(result.stderr.toString(), /onionplay: validate command failed \(exit 1\), .*conf left unchanged: grep -q old %s/);
  t.is(await readFile(path, 'utf8'), 'old');
  t.deepEqual(await readdir(dir.path), ['conf']);
});

test('attributeChanges compares names and ids', (t) => {
  const state: PresentFileState = {
    type: 'file',
    mode: '0644',
    uid: 0,
    gid: 104,
    owner: 'root',
    group: 'debian-tor',
    size: 1,
    sha256: undefined,
    linkTarget: undefined,
  };
  t.deepEqual(attributeChanges('/x', state, { mode: '644', owner: '0', group: 'debian-tor' }).changes, []);
  const changed = attributeChanges('/x', state, { mode: '0600', group: '0' });
  t.deepEqual(changed.changes, ['mode 0644 -> 0600', 'group debian-tor -> 0']);
  t.is(changed.script, "chmod 00600 /x\nchown :0 /x");
});

test('unifiedDiff hunks and context', (t) => {
  const before = Array.from({ length: 20 }, (_value, index) => `line ${index + 1}`).join('\n') + '\n';
  const after = before.replace('line 2\n', 'line two\n').replace('line 18\n', '');
  t.is(
    unifiedDiff(before, after, { before: 'a', after: 'b' }),
    [
      '--- a',
      '+++ b',
      '@@ -1,5 +1,5 @@',
      ' line 1',
      '-line 2',
      '+line two',
      ' line 3',
      ' line 4',
      ' line 5',
      '@@ -15,6 +15,5 @@',
      ' line 15',
      ' line 16',
      ' line 17',
      '-line 18',
      ' line 19',
      ' line 20',
      '',
    ].join('\n'),
  );
  t.is(unifiedDiff('same\n', 'same\n', { before: 'a', after: 'b' }), '');
  t.is(unifiedDiff('', 'new\n', { before: 'a', after: 'b' }), '--- a\n+++ b\n@@ -0,0 +1,1 @@\n+new\n');
});

test('file probe reports denied directory', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const locked = join(dir.path, 'locked');
  const setup = `chmod 755 ${shellQuote(dir.path)} && mkdir ${shellQuote(locked)} && touch ${shellQuote(`${locked}/f`)} && chmod 000 ${shellQuote(locked)}`;
  t.is((await connection.run(setup)).exitCode, 0);
  // Teardowns run last-registered first, so the directory is opened before removal.
  t.teardown(async () => {
    await connection.run(`chmod 700 ${shellQuote(locked)}`);
  });
  const probe = `${FILE_FUNCTIONS}op_state f ${shellQuote(`${locked}/f`)}\n`;
  // Root may search any directory, so as root the probe runs as the unprivileged user nobody.
  const script = process.getuid?.() === 0 ? `su -s /bin/sh nobody -c ${shellQuote(probe)}` : `( ${probe})`;
  const result = await connection.run(script);
  t.is(result.stdout.toString(), 'f denied\n', result.stderr.toString());
});

test('writeFileScript cleans up on timeout', async (t) => {
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'conf');
  await writeFile(path, 'old');
  const script = writeFileScript(path, Buffer.from('new'), { mode: '0644', validate: 'sleep 3; test -f %s # waits past the limit' });
  const result = await connection.run(`( set -e\n${script})`, { timeoutMs: 1000 });
  t.not(result.exitCode, 0);
  t.is(await readFile(path, 'utf8'), 'old');
  t.deepEqual(await readdir(dir.path), ['conf']);
});

test('unifiedDiff falls back on huge changes', (t) => {
  const before = Array.from({ length: 2100 }, (_value, index) => `a${index}`).join('\n') + '\n';
  const after = Array.from({ length: 2100 }, (_value, index) => `b${index}`).join('\n') + '\n';
  const diff = unifiedDiff(before, after, { before: 'a', after: 'b' });
  t.true(diff.startsWith('--- a\n+++ b\n@@ -1,2100 +1,2100 @@\n-a0\n'));
  t.is(diff.split('\n').filter((line) => line.startsWith('-a')).length, 2100);
  t.is(diff.split('\n').filter((line) => line.startsWith('+b')).length, 2100);
});
