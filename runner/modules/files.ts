// Planning shared by the modules that put whole files in place: copy,
// template, lineinfile, blockinfile, sysctl, apt_repository and modprobe.
// It compares the probed state with the wanted content and attributes and
// returns either the reason nothing is needed or the steps and a diff.

import { posix } from 'node:path';

import { isText, unifiedDiff } from './diff.ts';
import {
  attributeChanges,
  chownSpec,
  describeAttributes,
  fileProbe,
  MAX_CONTENT_BYTES,
  MAX_DIFF_BYTES,
  normalizeMode,
  parseContent,
  parseFileState,
  sha256Hex,
  shortHash,
  stderrTail,
  writeFileStep,
  type FileState,
} from './shell-lib.ts';
import type { Outcome, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

/** A file whose whole content a task manages. */
export interface ManagedFile {
  path: string;
  content: Buffer;
  mode?: string | undefined;
  owner?: string | undefined;
  group?: string | undefined;
  /** Command run on the temporary file before the rename (`%s` is its path). */
  validate?: string | undefined;
  /** Mode of a new file when `mode` is unset; an existing file keeps its mode. */
  defaultMode?: string;
  /** False leaves an existing file's content alone (attributes are still managed). */
  force?: boolean | undefined;
}

export type FilePlan =
  | { kind: 'ok'; reason: string }
  | { kind: 'change'; summary: string; diff: string; steps: Step[] }
  | { kind: 'failed'; message: string };

/**
 * Probe for a managed file: its state, its parent's type, and its content
 * only when it differs from the wanted one and is small enough to diff.
 */
export function managedFileProbe(key: string, path: string, content: Buffer): string {
  return fileProbe(key, path, { skipIfSha256: sha256Hex(content), maxBytes: MAX_DIFF_BYTES });
}

/** Format a byte count as "812 B", "1.2 KiB" or "3.4 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Render a diff of old and new content, or a description when either is binary or unknown. */
export function contentDiff(path: string, before: Buffer | undefined, after: Buffer, beforeSha256?: string): string {
  const small = before !== undefined && before.length + after.length <= MAX_DIFF_BYTES;
  if (before !== undefined && small && isText(before) && isText(after)) {
    return unifiedDiff(before.toString('utf8'), after.toString('utf8'), {
      before: before.length === 0 && beforeSha256 === undefined ? '/dev/null' : `${path} (before)`,
      after: `${path} (after)`,
    });
  }
  const old = beforeSha256 === undefined ? 'absent' : `sha256 ${shortHash(beforeSha256)}`;
  return `${path}: ${old} -> sha256 ${shortHash(sha256Hex(after))} (${formatBytes(after.length)}), content not shown\n`;
}

/** Plan a managed file from the probe lines printed under `key`. */
export function planManagedFile(file: ManagedFile, lines: Map<string, string>, key: string): FilePlan {
  const state = parseFileState(lines.get(key));
  const parentType = lines.get(`${key}.parent`);
  const probed = parseContent(lines.get(`${key}.content`));
  const oldContent = probed?.kind === 'data' ? probed.bytes : undefined;
  return planManagedFileState(file, state, parentType, oldContent);
}

/**
 * Plan a managed file from its parsed state. `oldContent` is the current
 * content when the probe sent it; it is used only for the diff.
 */
export function planManagedFileState(
  file: ManagedFile,
  state: FileState,
  parentType: string | undefined,
  oldContent: Buffer | undefined,
): FilePlan {
  const { path, content } = file;
  const wantedSha256 = sha256Hex(content);

  if (state.type === 'absent') {
    if (parentType !== 'directory' && parentType !== 'link') {
      const directory = posix.dirname(path);
      return {
        kind: 'failed',
        message: `cannot create ${path}: directory ${directory} does not exist. Create it first with a file task (state: directory).`,
      };
    }
    const mode = normalizeMode(file.mode ?? file.defaultMode ?? '0644');
    return {
      kind: 'change',
      summary: `create ${path} (${formatBytes(content.length)}, mode ${mode})`,
      diff: contentDiff(path, Buffer.alloc(0), content),
      steps: [
        writeFileStep(`write ${path}`, path, content, {
          mode,
          chown: chownSpec(file.owner, file.group),
          validate: file.validate,
        }),
      ],
    };
  }

  if (state.type === 'directory' || state.type === 'other') {
    return { kind: 'failed', message: `cannot write ${path}: it exists and is a ${state.type === 'other' ? 'special file' : 'directory'}, not a regular file.` };
  }

  if (state.type === 'link') {
    const target = state.linkTarget ?? '?';
    if (file.force === false) {
      return { kind: 'ok', reason: `${path} exists as a symbolic link -> ${target} and force is false, so it was left as it is` };
    }
    const link = `symbolic link ${path} -> ${target}`;
    const mode = normalizeMode(file.mode ?? file.defaultMode ?? '0644');
    return {
      kind: 'change',
      summary: `replace ${link} with a file (${formatBytes(content.length)})`,
      diff: `${link} -> file with sha256 ${shortHash(wantedSha256)} (${formatBytes(content.length)})\n`,
      steps: [
        writeFileStep(`write ${path}`, path, content, {
          mode,
          chown: chownSpec(file.owner, file.group),
          validate: file.validate,
        }),
      ],
    };
  }

  if (state.sha256 === undefined) {
    return { kind: 'failed', message: `cannot read ${path} to compare its content (permission denied). Run the task with become: true.` };
  }

  const wanted = { mode: file.mode, owner: file.owner, group: file.group };
  if (state.sha256 === wantedSha256 || file.force === false) {
    const attributes = attributeChanges(path, state, wanted);
    if (attributes.changes.length === 0) {
      const reason =
        state.sha256 === wantedSha256
          ? `${path} already has the wanted content (sha256 ${shortHash(wantedSha256)}), ${describeAttributes(state)}`
          : `${path} exists and force is false, so its content was left as it is (${describeAttributes(state)})`;
      return { kind: 'ok', reason };
    }
    return {
      kind: 'change',
      summary: `set ${attributes.changes.join(', ')} on ${path}`,
      diff: `${path}: ${attributes.changes.join(', ')}\n`,
      steps: [{ description: `set attributes of ${path}`, script: `${attributes.script}\n` }],
    };
  }

  const mode = normalizeMode(file.mode ?? state.mode);
  const chown = `${file.owner ?? String(state.uid)}:${file.group ?? String(state.gid)}`;
  const attributes = attributeChanges(path, state, wanted);
  const extra = attributes.changes.length > 0 ? `; ${attributes.changes.join(', ')}` : '';
  return {
    kind: 'change',
    summary: `update ${path} (${formatBytes(state.size)} -> ${formatBytes(content.length)}${extra})`,
    diff: contentDiff(path, oldContent, content, state.sha256),
    steps: [writeFileStep(`write ${path}`, path, content, { mode, chown, validate: file.validate })],
  };
}

/**
 * Interpret an apply whose steps only write files: exit code 0 is a change,
 * anything else fails with the tail of stderr (the validator's output, or
 * the `onionplay:` message of the failed write).
 */
export function interpretWrite(what: string): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode === 0) return { changed: true };
    const detail = stderrTail(result.stderr);
    return { changed: false, failed: `${what} failed (exit ${result.exitCode})${detail ? `:\n${detail}` : ''}` };
  };
}

/** A file edited from its current text (lineinfile, blockinfile, sysctl). */
export interface EditedFile {
  path: string;
  mode?: string | undefined;
  owner?: string | undefined;
  group?: string | undefined;
  /** Create the file when it is missing (from empty text). */
  create: boolean;
  /** Command run on the new content before it replaces the file (`%s` is its path). */
  validate?: string | undefined;
  /** Reason to give when the file is missing and `create` is false, or undefined to fail. */
  missingOk?: string | undefined;
}

/** Result of an edit: the new text and what it did ("line already present"). */
export interface TextEdit {
  text: string;
  description: string;
}

/** Probe for an edited file: its state, its parent, and its whole content up to 1 MiB. */
export function editedFileProbe(key: string, path: string): string {
  return fileProbe(key, path, { maxBytes: MAX_CONTENT_BYTES });
}

/** Split text into lines without their newlines. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Join lines into text ending with a newline (or empty text for no lines). */
export function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Plan an edited file: run `edit` on the probed text (empty when the file
 * is created) and write the result if it differs.
 */
export function planEditedFile(file: EditedFile, lines: Map<string, string>, key: string, edit: (text: string) => TextEdit | { failed: string }): FilePlan {
  const state = parseFileState(lines.get(key));
  const parentType = lines.get(`${key}.parent`);
  let before = '';
  let oldContent: Buffer | undefined;
  if (state.type === 'absent') {
    if (file.missingOk !== undefined) return { kind: 'ok', reason: file.missingOk };
    if (!file.create) return { kind: 'failed', message: `${file.path} does not exist. Set create: true to create it.` };
  } else if (state.type !== 'file') {
    return { kind: 'failed', message: `cannot edit ${file.path}: it is a ${state.type}, not a regular file.` };
  } else {
    const content = parseContent(lines.get(`${key}.content`));
    if (content === undefined || content.kind === 'unreadable') {
      return { kind: 'failed', message: `cannot read ${file.path} (permission denied). Run the task with become: true.` };
    }
    if (content.kind === 'toolarge') {
      return {
        kind: 'failed',
        message: `${file.path} is ${formatBytes(content.size)}, larger than the ${formatBytes(MAX_CONTENT_BYTES)} that line edits read. Manage it with copy or template instead.`,
      };
    }
    oldContent = content.bytes;
    before = content.bytes.toString('utf8');
  }

  const edited = edit(before);
  if ('failed' in edited) return { kind: 'failed', message: edited.failed };
  const plan = planManagedFileState(
    {
      path: file.path,
      content: Buffer.from(edited.text, 'utf8'),
      mode: file.mode,
      owner: file.owner,
      group: file.group,
      validate: file.validate,
    },
    state,
    parentType,
    oldContent,
  );
  const unchanged = state.type === 'file' && edited.text === before;
  if (plan.kind === 'ok' && state.type === 'file') {
    return { kind: 'ok', reason: `${file.path}: ${edited.description} (${describeAttributes(state)})` };
  }
  if (plan.kind === 'change' && !unchanged) return { ...plan, summary: `${file.path}: ${edited.description}` };
  return plan;
}
