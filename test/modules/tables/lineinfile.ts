import { blockInFileModule } from '../../../runner/modules/blockinfile.ts';
import { lineInFileModule } from '../../../runner/modules/lineinfile.ts';
import { fileProbeOutput, type PlanRow } from '../table.ts';

const sshd = '# sshd\nPort 22\nPermitRootLogin yes\nPasswordAuthentication yes\n';
const path = '/etc/ssh/sshd_config';
const attrs = 'mode 0644, owner root:root';

function lineRow(name: string, args: Record<string, unknown>, content: string | undefined, expect: PlanRow['expect']): PlanRow {
  const stdout = content === undefined ? fileProbeOutput('path', { type: 'absent' }) : fileProbeOutput('path', { type: 'file', content });
  return { name, module: lineInFileModule, args: { path, ...args }, stdout, expect };
}

export const lineInFileRows: PlanRow[] = [
  lineRow('lineinfile replaces the regexp match', { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' }, sshd, {
    status: 'change',
    summary: `${path}: replace line 3`,
    affects: [path],
    diff: /-PermitRootLogin yes\n\+PermitRootLogin no\n/,
    steps: ['base64 -d', 'mv -fT'],
  }),
  lineRow('lineinfile line already matches', { regexp: '^Port ', line: 'Port 22' }, sshd, {
    status: 'ok',
    reason: `${path}: line 2 is already the wanted line (${attrs})`,
  }),
  lineRow('lineinfile line present without regexp', { line: 'Port 22' }, sshd, {
    status: 'ok',
    reason: `${path}: line 2 is already the wanted line (${attrs})`,
  }),
  lineRow('lineinfile appends at EOF', { line: 'AllowUsers admin' }, sshd, {
    status: 'change',
    summary: `${path}: append the line`,
    diff: /@@ -2,3 \+2,4 @@\n Port 22\n PermitRootLogin yes\n PasswordAuthentication yes\n\+AllowUsers admin\n/,
  }),
  lineRow('lineinfile regexp unmatched but line present', { regexp: '^NoSuch', line: 'Port 22' }, sshd, {
    status: 'ok',
    reason: `${path}: line 2 is already the wanted line (${attrs})`,
  }),
  lineRow('lineinfile inserts after a regexp', { line: 'ListenAddress 127.0.0.1', insertafter: '^Port ' }, sshd, {
    status: 'change',
    summary: `${path}: insert the line as line 3`,
    diff: / Port 22\n\+ListenAddress 127\.0\.0\.1\n PermitRootLogin yes/,
  }),
  lineRow('lineinfile inserts before BOF', { line: '# managed', insertbefore: 'BOF' }, sshd, {
    status: 'change',
    summary: `${path}: insert the line as line 1`,
  }),
  lineRow('lineinfile inserts before a regexp', { line: 'UsePAM yes', insertbefore: '^Password' }, sshd, {
    status: 'change',
    summary: `${path}: insert the line as line 4`,
  }),
  lineRow('lineinfile insertafter unmatched appends', { line: 'X 1', insertafter: '^Nope' }, sshd, {
    status: 'change',
    summary: `${path}: append the line`,
  }),
  lineRow('lineinfile backrefs rewrites the match', { regexp: '^(Port) (\\d+)$', line: '\\1 2222', backrefs: true }, sshd, {
    status: 'change',
    summary: `${path}: replace line 2`,
    diff: /-Port 22\n\+Port 2222\n/,
  }),
  lineRow('lineinfile backrefs no match', { regexp: '^Nope (.*)', line: '\\1', backrefs: true }, sshd, {
    status: 'ok',
    reason: `${path}: regexp matches no line, and backrefs leaves the file alone (${attrs})`,
  }),
  lineRow('lineinfile absent removes matches', { state: 'absent', regexp: '^(PermitRootLogin|PasswordAuthentication) ' }, sshd, {
    status: 'change',
    summary: `${path}: remove 2 lines`,
  }),
  lineRow('lineinfile absent nothing to remove', { state: 'absent', line: 'Nope' }, sshd, {
    status: 'ok',
    reason: `${path}: no line matches, nothing to remove (${attrs})`,
  }),
  lineRow('lineinfile absent on a missing file', { state: 'absent', line: 'Nope' }, undefined, {
    status: 'ok',
    reason: `${path} does not exist, so there is no line to remove`,
  }),
  lineRow('lineinfile missing file without create', { line: 'Port 22' }, undefined, {
    status: 'failed',
    message: `${path} does not exist. Set create: true to create it.`,
  }),
  lineRow('lineinfile creates a file', { line: 'Port 22', create: true, mode: '0600' }, undefined, {
    status: 'change',
    summary: `${path}: append the line`,
    steps: ['chmod 0600'],
  }),
  lineRow('lineinfile replaces the last of several matches', { regexp: '^Port ', line: 'Port 2222' }, 'Port 22\nX\nPort 23\n', {
    status: 'change',
    summary: `${path}: replace line 3`,
    diff: / Port 22\n X\n-Port 23\n\+Port 2222\n/,
  }),
  lineRow('lineinfile insertafter with firstmatch', { line: 'new', insertafter: '^#', firstmatch: true }, '# a\nx\n# b\n', {
    status: 'change',
    summary: `${path}: insert the line as line 2`,
  }),
  lineRow('lineinfile insertafter uses the last match', { line: 'new', insertafter: '^#' }, '# a\nx\n# b\ny\n', {
    status: 'change',
    summary: `${path}: insert the line as line 4`,
  }),
  lineRow('lineinfile absent removes exact lines only', { state: 'absent', line: 'x' }, 'x\nxx\nx\n', {
    status: 'change',
    summary: `${path}: remove 2 lines`,
    diff: /-x\n xx\n-x\n/,
  }),
  lineRow('lineinfile backrefs with named group', { regexp: '^(?<key>Port) \\d+$', line: '\\g<key> 2200', backrefs: true }, sshd, {
    status: 'change',
    diff: /\+Port 2200\n/,
  }),
  lineRow('lineinfile adds a newline to the last line', { line: 'b' }, 'a', {
    status: 'change',
    diff: /-a\n\\ No newline at end of file\n\+a\n\+b\n/,
  }),
  lineRow('lineinfile rejects an invalid regexp', { regexp: '(', line: 'x' }, sshd, {
    status: 'failed',
    message: /^regexp is not a valid JavaScript regular expression/,
  }),
  lineRow('lineinfile fixes the mode only', { line: 'Port 22', mode: '0600' }, sshd, {
    status: 'change',
    summary: `set mode 0644 -> 0600 on ${path}`,
    notInSteps: ['base64 -d'],
  }),
  {
    name: 'lineinfile fails on a file too large',
    module: lineInFileModule,
    args: { path, line: 'x' },
    stdout: `path.parent directory\npath file 644 0 0 root root 2000000 ${'a'.repeat(64)} \npath.content toolarge 2000000\n`,
    expect: { status: 'failed', message: `${path} is 1.9 MiB, larger than the 1.0 MiB that line edits read. Manage it with copy or template instead.` },
  },
];

const block = 'HiddenServiceDir /var/lib/tor/ssh\nHiddenServicePort 22 127.0.0.1:22';
const torrc = '/etc/tor/torrc';
const managed = `SocksPort 0\n# BEGIN ONIONPLAY MANAGED BLOCK\n${block}\n# END ONIONPLAY MANAGED BLOCK\n`;

function blockRow(name: string, args: Record<string, unknown>, content: string | undefined, expect: PlanRow['expect']): PlanRow {
  const stdout = content === undefined ? fileProbeOutput('path', { type: 'absent' }) : fileProbeOutput('path', { type: 'file', content });
  return { name, module: blockInFileModule, args: { path: torrc, ...args }, stdout, expect };
}

export const blockInFileRows: PlanRow[] = [
  blockRow('blockinfile inserts at EOF', { block }, 'SocksPort 0\n', {
    status: 'change',
    summary: `${torrc}: insert the managed block`,
    affects: [torrc],
    diff: / SocksPort 0\n\+# BEGIN ONIONPLAY MANAGED BLOCK\n\+HiddenServiceDir/,
  }),
  blockRow('blockinfile already in place', { block }, managed, {
    status: 'ok',
    reason: `${torrc}: the managed block is already as wanted (${attrs})`,
  }),
  blockRow('blockinfile block with final newline in place', { block: `${block}\n` }, managed, {
    status: 'ok',
    reason: `${torrc}: the managed block is already as wanted (${attrs})`,
  }),
  blockRow('blockinfile updates the block', { block: 'HiddenServiceDir /var/lib/tor/web' }, managed, {
    status: 'change',
    summary: `${torrc}: update the managed block`,
  }),
  blockRow('blockinfile removes with state absent', { state: 'absent' }, managed, {
    status: 'change',
    summary: `${torrc}: remove the managed block`,
  }),
  blockRow('blockinfile removes with an empty block', { block: '' }, managed, {
    status: 'change',
    summary: `${torrc}: remove the managed block`,
  }),
  blockRow('blockinfile absent already', { state: 'absent' }, 'SocksPort 0\n', {
    status: 'ok',
    reason: `${torrc}: no managed block, nothing to remove (${attrs})`,
  }),
  blockRow('blockinfile absent on a missing file', { state: 'absent' }, undefined, {
    status: 'ok',
    reason: `${torrc} does not exist, so there is no block to remove`,
  }),
  blockRow('blockinfile custom marker', { block: 'a', marker: '// {mark} tor', marker_begin: 'START', marker_end: 'STOP' }, 'x\n', {
    status: 'change',
    diff: /\+\/\/ START tor\n\+a\n\+\/\/ STOP tor\n/,
  }),
  blockRow('blockinfile inserts before BOF', { block: 'a', insertbefore: 'BOF' }, 'x\n', {
    status: 'change',
    diff: /@@ -1,1 \+1,4 @@\n\+# BEGIN/,
  }),
  blockRow('blockinfile inserts after a regexp', { block: 'a', insertafter: '^x' }, 'x\ny\n', {
    status: 'change',
    diff: / x\n\+# BEGIN ONIONPLAY MANAGED BLOCK\n\+a\n\+# END ONIONPLAY MANAGED BLOCK\n y\n/,
  }),
  blockRow('blockinfile fails on an unpaired marker', { block: 'a' }, '# BEGIN ONIONPLAY MANAGED BLOCK\nx\n', {
    status: 'failed',
    message: `${torrc} has the marker line "# BEGIN ONIONPLAY MANAGED BLOCK" without its pair. Fix or remove it by hand.`,
  }),
  blockRow('blockinfile missing file without create', { block: 'a' }, undefined, {
    status: 'failed',
    message: `${torrc} does not exist. Set create: true to create it.`,
  }),
  blockRow('blockinfile creates a file', { block: 'a', create: true }, undefined, {
    status: 'change',
    summary: `${torrc}: insert the managed block`,
  }),
];
