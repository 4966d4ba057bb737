// Shell snippets and parsers shared by the modules. Probes print one line
// per fact, `KEY VALUE...`, so several facts of one task travel in one
// probe output and parse without ambiguity. Writers carry file contents inside
// the script as base64 and rename a temporary file onto the target, so an
// interrupted run leaves the old file or the new one, never half of one.
//
// The snippets assume GNU coreutils on the host (`stat -c`, `mv -T`,
// `base64 -d`), as on the Debian and Ubuntu hosts onionplay manages.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';

import { shellQuote } from '../transport/shell.ts';
import type { Plan, ProbeOutput, Step } from './types.ts';

export { shellQuote };

/** Maximum file size sent back by a probe that needs a file's content (1 MiB). */
export const MAX_CONTENT_BYTES = 1024 * 1024;

/** Maximum size of an old file sent back only to show a diff (256 KiB). */
export const MAX_DIFF_BYTES = 256 * 1024;

/**
 * Shell functions used by file probes. `op_state KEY PATH` prints the state
 * line of PATH (without following a final symlink) and leaves its type in
 * `$t` and its sha256 in `$h`. A path whose directory the user cannot
 * search is printed as `denied`, not `absent`. `op_content KEY PATH MAX` prints
 * `KEY data BASE64`, `KEY toolarge SIZE` or `KEY unreadable`.
 */
export const FILE_FUNCTIONS = [
  'op_state() {',
  '  h=-',
  '  if [ -L "$2" ]; then t=link; elif [ -d "$2" ]; then t=directory; elif [ -f "$2" ]; then t=file;',
  '  elif [ -e "$2" ]; then t=other; else t=absent; fi',
  '  if [ "$t" = absent ]; then',
  '    d=$(dirname -- "$2")',
  '    if [ -d "$d" ] && [ ! -x "$d" ]; then printf \'%s denied\\n\' "$1"; else printf \'%s absent\\n\' "$1"; fi',
  '    return 0',
  '  fi',
  '  a=$(stat -c \'%a %u %g %U %G %s\' -- "$2") || return 1',
  '  if [ "$t" = file ]; then if h=$(sha256sum <"$2" 2>/dev/null); then h=${h%% *}; else h=\'?\'; fi; fi',
  '  l=',
  '  if [ "$t" = link ]; then l=$(readlink -- "$2"); fi',
  '  printf \'%s %s %s %s %s\\n\' "$1" "$t" "$a" "$h" "$l"',
  '}',
  'op_content() {',
  '  if [ ! -r "$2" ]; then printf \'%s unreadable\\n\' "$1"; return 0; fi',
  '  s=$(wc -c <"$2")',
  '  if [ "$s" -gt "$3" ]; then printf \'%s toolarge %s\\n\' "$1" "$s"; return 0; fi',
  '  printf \'%s data \' "$1"',
  '  base64 <"$2" | tr -d \'\\n\'',
  '  printf \'\\n\'',
  '}',
  '',
].join('\n');

export type FileType = 'file' | 'directory' | 'link' | 'other';

/** State of a path as `op_state` printed it. */
export type FileState =
  | { type: 'absent' }
  | {
      type: FileType;
      /** Permission bits as 4 octal digits, e.g. `0644`. */
      mode: string;
      uid: number;
      gid: number;
      /** User name, or `UNKNOWN` when the uid has no name. */
      owner: string;
      group: string;
      size: number;
      /** Hex sha256 of a regular file; undefined when unreadable or not a file. */
      sha256: string | undefined;
      /** Target of a symbolic link. */
      linkTarget: string | undefined;
    };

export type PresentFileState = Exclude<FileState, { type: 'absent' }>;

/** Content of a file as `op_content` printed it. */
export type ProbedContent =
  | { kind: 'data'; bytes: Buffer }
  | { kind: 'toolarge'; size: number }
  | { kind: 'unreadable' };

/** Split probe output into `KEY -> rest of line`. A later line with the same key wins. */
export function parseProbeLines(stdout: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    if (space < 0) lines.set(line, '');
    else lines.set(line.slice(0, space), line.slice(space + 1));
  }
  return lines;
}

/** Parse the value of an `op_state` line; throws on a malformed line. */
export function parseFileState(value: string | undefined): FileState {
  if (value === undefined) throw new Error('probe printed no state line');
  if (value === 'absent') return { type: 'absent' };
  if (value === 'denied') {
    throw new Error('permission denied: the SSH user cannot search its directory. Run the task with become: true.');
  }
  const fields = value.split(' ');
  const [type, mode, uid, gid, owner, group, size, sha256] = fields;
  const linkTarget = fields.slice(8).join(' ');
  if (type !== 'file' && type !== 'directory' && type !== 'link' && type !== 'other') {
    throw new Error(`unexpected file type ${JSON.stringify(type)} in probe output`);
  }
  if (mode === undefined || !/^[0-7]{1,4}$/.test(mode) || owner === undefined || group === undefined) {
    throw new Error(`malformed state line in probe output: ${JSON.stringify(value)}`);
  }
  return {
    type,
    mode: mode.padStart(4, '0'),
    uid: Number(uid),
    gid: Number(gid),
    owner,
    group,
    size: Number(size),
    sha256: sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) ? sha256 : undefined,
    linkTarget: type === 'link' ? linkTarget : undefined,
  };
}

/** Parse the value of an `op_content` line, or undefined when the probe sent none. */
export function parseContent(value: string | undefined): ProbedContent | undefined {
  if (value === undefined) return undefined;
  if (value === 'unreadable') return { kind: 'unreadable' };
  if (value.startsWith('toolarge ')) return { kind: 'toolarge', size: Number(value.slice(9)) };
  if (value.startsWith('data ')) return { kind: 'data', bytes: Buffer.from(value.slice(5), 'base64') };
  if (value === 'data') return { kind: 'data', bytes: Buffer.alloc(0) };
  throw new Error(`malformed content line in probe output: ${JSON.stringify(value.slice(0, 40))}`);
}

/** Return a failed plan when the probe itself failed (non-zero exit), else undefined. */
export function probeFailure(probed: ProbeOutput, what: string): Plan | undefined {
  if (probed.exitCode === 0) return undefined;
  const detail = probed.stderr.trim().split('\n').slice(-5).join('\n');
  return {
    status: 'failed',
    message: `probing ${what} failed with exit code ${probed.exitCode}${detail ? `: ${detail}` : ''}`,
  };
}

/** Run `parse` on probe output and turn malformed output into a failed plan. */
export function parseOrFail<T>(what: string, parse: () => T): T | Plan {
  try {
    return parse();
  } catch (error) {
    return { status: 'failed', message: `cannot plan ${what}: ${(error as Error).message}` };
  }
}

export function sha256Hex(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** First 12 hex digits of a sha256, as shown in reasons and summaries. */
export function shortHash(sha256: string | undefined): string {
  return sha256 === undefined ? 'unknown' : `${sha256.slice(0, 12)}…`;
}

/** Return whether a wanted owner (name or numeric id) is the probed one. */
export function ownerMatches(wanted: string, id: number, name: string): boolean {
  return /^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name;
}

/** Build a probe snippet that prints the state line of `path` under `key`. */
export function fileStateProbe(key: string, path: string): string {
  return `op_state ${key} ${shellQuote(path)} || exit 1\n`;
}

/**
 * Build a probe snippet that prints the state of `path` under `key` and the
 * type of its parent under `KEY.parent`. For a regular file it also prints
 * the content under `KEY.content` (up to `maxBytes`, else `toolarge`), unless
 * the file's sha256 equals `skipIfSha256`.
 */
export function fileProbe(key: string, path: string, options: { skipIfSha256?: string; maxBytes: number }): string {
  const quoted = shellQuote(path);
  const parent = shellQuote(posix.dirname(path));
  const hashTest = options.skipIfSha256 === undefined ? '' : ` && [ "$h" != ${options.skipIfSha256} ]`;
  return [
    `op_state ${key}.parent ${parent} >/dev/null || exit 1`,
    `printf '%s %s\\n' ${key}.parent "$t"`,
    `op_state ${key} ${quoted} || exit 1`,
    `if [ "$t" = file ]${hashTest}; then op_content ${key}.content ${quoted} ${options.maxBytes}; fi`,
    '',
  ].join('\n');
}

/** Wanted permissions and ownership of a path; unset fields are left as they are. */
export interface WantedAttributes {
  mode?: string | undefined;
  owner?: string | undefined;
  group?: string | undefined;
}

/** Normalize a mode string to 4 octal digits (`644` -> `0644`). */
export function normalizeMode(mode: string): string {
  return mode.padStart(4, '0');
}

/**
 * Return the mode in the form GNU chmod sets exactly: five digits, because with
 * four or fewer chmod keeps a directory's setuid and setgid bits
 * (coreutils manual, "Directories and the Set-User-ID and Set-Group-ID
 * Bits"), so `chmod 0700` on a 2700 directory leaves it 2700.
 */
export function chmodMode(mode: string): string {
  return `0${normalizeMode(mode)}`;
}

/**
 * Compare probed attributes with the wanted ones. Returns one human line per
 * difference ("mode 0644 -> 0600") and the commands that fix them.
 */
export function attributeChanges(
  path: string,
  state: PresentFileState,
  wanted: WantedAttributes,
): { changes: string[]; script: string } {
  const changes: string[] = [];
  const commands: string[] = [];
  const quoted = shellQuote(path);
  const isLink = state.type === 'link';
  if (wanted.mode !== undefined && !isLink && normalizeMode(wanted.mode) !== state.mode) {
    changes.push(`mode ${state.mode} -> ${normalizeMode(wanted.mode)}`);
    commands.push(`chmod ${chmodMode(wanted.mode)} ${quoted}`);
  }
  const ownerDiffers = wanted.owner !== undefined && !ownerMatches(wanted.owner, state.uid, state.owner);
  const groupDiffers = wanted.group !== undefined && !ownerMatches(wanted.group, state.gid, state.group);
  if (ownerDiffers) changes.push(`owner ${state.owner} -> ${wanted.owner}`);
  if (groupDiffers) changes.push(`group ${state.group} -> ${wanted.group}`);
  if (ownerDiffers || groupDiffers) {
    const spec = `${ownerDiffers ? wanted.owner : ''}${groupDiffers ? `:${wanted.group}` : ''}`;
    commands.push(`chown${isLink ? ' -h' : ''} ${shellQuote(spec)} ${quoted}`);
  }
  return { changes, script: commands.join('\n') };
}

/** Describe attributes for a reason: "mode 0644, owner root:root". */
export function describeAttributes(state: PresentFileState): string {
  return `mode ${state.mode}, owner ${state.owner}:${state.group}`;
}

/** Options of `writeFileScript`. */
export interface WriteOptions {
  /** Final mode, 4 octal digits. */
  mode: string;
  /** chown spec applied to the temporary file (`root`, `root:tor`, `:tor`), if any. */
  chown?: string | undefined;
  /** Command run on the temporary file before the rename; `%s` is its path. */
  validate?: string | undefined;
}

/**
 * Shell that writes `content` to `path` atomically: decode into a temporary
 * file in the same directory, set mode and owner, run the validate command,
 * then rename onto the target. On any failure the temporary file is removed,
 * the target is left untouched, and the script exits 1 with a message on
 * stderr that starts with `onionplay:`. HUP, INT and TERM also remove the
 * temporary file; only SIGKILL can leave one behind.
 */
export function writeFileScript(path: string, content: Buffer, options: WriteOptions): string {
  const directory = posix.dirname(path);
  const template = posix.join(directory, `.${posix.basename(path)}.onionplay.XXXXXX`);
  const quoted = shellQuote(path);
  const encoded = content.toString('base64').replace(/.{1,76}/g, '$&\n');
  const lines = [
    `op_fail() { printf 'onionplay: %s\\n' "$1" >&2; rm -f "$op_t"; exit 1; }`,
    `op_t=$(mktemp ${shellQuote(template)}) || { echo ${shellQuote(`onionplay: cannot create a temporary file in ${directory}`)} >&2; exit 1; }`,
    // A time limit ends the step with TERM; the trap removes the temporary file.
    `trap 'rm -f "$op_t"; exit 143' HUP INT TERM`,
    `base64 -d >"$op_t" <<'ONIONPLAY_EOF' || op_fail 'decoding the content failed'`,
    `${encoded}ONIONPLAY_EOF`,
    `chmod ${options.mode} "$op_t" || op_fail ${shellQuote(`chmod ${options.mode} failed`)}`,
  ];
  if (options.chown !== undefined) {
    lines.push(`chown ${shellQuote(options.chown)} "$op_t" || op_fail ${shellQuote(`chown ${options.chown} failed`)}`);
  }
  if (options.validate !== undefined) {
    const command = options.validate.replaceAll('%s', '"$op_t"');
    const detail = shellQuote(`, ${path} left unchanged: ${options.validate}`);
    // The command gets lines of its own, so a `#` comment in it cannot hide the closing parenthesis.
    lines.push('(', command, `) </dev/null >&2 || { op_rc=$?; op_fail "validate command failed (exit $op_rc)"${detail}; }`);
  }
  lines.push(`mv -fT "$op_t" ${quoted} || op_fail ${shellQuote(`renaming the temporary file onto ${path} failed`)}`);
  return `${lines.join('\n')}\n`;
}

/** Build a step that writes a file; see `writeFileScript`. */
export function writeFileStep(description: string, path: string, content: Buffer, options: WriteOptions): Step {
  return { description, script: writeFileScript(path, content, options) };
}

/** Build the chown spec for optional owner and group; undefined when neither is set. */
export function chownSpec(owner: string | undefined, group: string | undefined): string | undefined {
  if (owner === undefined && group === undefined) return undefined;
  return `${owner ?? ''}${group === undefined ? '' : `:${group}`}`;
}

/** Return the last lines of a step's stderr, for a failure message. */
export function stderrTail(stderr: Buffer | string, lines = 20): string {
  return stderr.toString().trim().split('\n').slice(-lines).join('\n');
}
