// Builds the one remote script that runs many probes, or applies the
// steps of many tasks, in a single round trip, and splits its output back
// into one answer per section. Sections are framed by a marker that
// carries a random nonce, so no output of a probe can fake a frame.

import { randomBytes } from 'node:crypto';

import { FILE_FUNCTIONS } from '../modules/shell-lib.ts';
import { shellQuote } from '../transport/shell.ts';

export interface ScriptSection {
  /** Key the section's result is returned under; no white space. */
  key: string;
  script: string;
  /** Remote time limit of this section in seconds; exit code 124 when it hits. */
  timeoutSeconds?: number;
}

export interface SectionAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ApplySection extends ScriptSection {
  /**
   * Keep running later sections after this one failed (`ignore_errors`).
   * Otherwise a failure skips every later section of the script.
   */
  continueOnError: boolean;
}

/** A framed script and the parser for its output. */
export interface FramedScript {
  script: string;
  parse(stdout: Buffer): Map<string, SectionAnswer>;
}

function newNonce(): string {
  return randomBytes(9).toString('hex');
}

// Each section's stdout and stderr are collected in files so the answer of
// one section can never interleave with the next. The exit code comes
// after the outputs, and stderr is base64 so it cannot hold a marker line.
function sectionRunner(nonce: string): string {
  return [
    `op_dir=$(mktemp -d "\${TMPDIR:-/tmp}/onionplay-s.XXXXXXXX") || exit 70`,
    `trap 'rm -rf "$op_dir"' EXIT`,
    `op_section() {`,
    `  printf '%s begin %s\\n' ${nonce} "$1"`,
    `  if [ -n "$3" ]; then`,
    `    timeout -k 5 "$3" sh -c "$2" </dev/null >"$op_dir/o" 2>"$op_dir/e"`,
    `  else`,
    `    ( eval "$2" ) </dev/null >"$op_dir/o" 2>"$op_dir/e"`,
    `  fi`,
    `  op_rc=$?`,
    `  cat "$op_dir/o"`,
    `  printf '\\n%s stderr %s\\n' ${nonce} "$1"`,
    `  base64 -w0 <"$op_dir/e"`,
    `  printf '\\n%s end %s %d\\n' ${nonce} "$1" "$op_rc"`,
    `  return $op_rc`,
    `}`,
  ].join('\n');
}

function parseFramed(nonce: string, stdout: Buffer): Map<string, SectionAnswer> {
  const text = stdout.toString('utf8');
  const answers = new Map<string, SectionAnswer>();
  const begin = `${nonce} begin `;
  let position = 0;
  for (;;) {
    const start = text.indexOf(begin, position);
    if (start < 0) break;
    const keyEnd = text.indexOf('\n', start);
    if (keyEnd < 0) break;
    const key = text.slice(start + begin.length, keyEnd);
    const stderrMarker = `\n${nonce} stderr ${key}\n`;
    const stderrAt = text.indexOf(stderrMarker, keyEnd);
    if (stderrAt < 0) break;
    const endMarker = `\n${nonce} end ${key} `;
    const endAt = text.indexOf(endMarker, stderrAt + stderrMarker.length);
    if (endAt < 0) break;
    const codeEnd = text.indexOf('\n', endAt + endMarker.length);
    const exitCode = Number(text.slice(endAt + endMarker.length, codeEnd < 0 ? undefined : codeEnd));
    const stderr = Buffer.from(text.slice(stderrAt + stderrMarker.length, endAt), 'base64').toString('utf8');
    answers.set(key, { stdout: text.slice(keyEnd + 1, stderrAt), stderr, exitCode });
    position = codeEnd < 0 ? text.length : codeEnd + 1;
  }
  return answers;
}

/**
 * Build one script that runs every probe, each in its own subshell,
 * whatever the others return. The file probes' shell functions are defined once at the
 * top instead of in every section: the `( eval )` subshells inherit them,
 * and they were most of a converged run's bytes.
 */
export function buildProbeScript(sections: ScriptSection[]): FramedScript {
  const nonce = newNonce();
  const lines = [sectionRunner(nonce)];
  const hoist = sections.filter((section) => section.timeoutSeconds === undefined && section.script.startsWith(FILE_FUNCTIONS));
  if (hoist.length > 0) lines.push(FILE_FUNCTIONS);
  for (const section of sections) {
    const script = hoist.includes(section) ? section.script.slice(FILE_FUNCTIONS.length) : section.script;
    lines.push(`op_section ${shellQuote(section.key)} ${shellQuote(script)} ${section.timeoutSeconds ?? "''"}`);
  }
  return { script: `${lines.join('\n')}\n`, parse: (stdout) => parseFramed(nonce, stdout) };
}

/**
 * Build one script that applies the sections in order. Each runs under `set -e`.
 * A journal line is written on the host before and after each section, so
 * after a lost connection the executor can tell which sections finished.
 */
export function buildApplyScript(sections: ApplySection[], journalPath: string): FramedScript {
  const nonce = newNonce();
  const journal = shellQuote(journalPath);
  const lines = [sectionRunner(nonce), 'op_failed=0', 'umask 022'];
  for (const section of sections) {
    const key = shellQuote(section.key);
    const body = shellQuote(`set -e\n${section.script}`);
    const record = `printf 'end %s %d\\n' ${key} "$op_last" >>${journal}`;
    const limit = section.timeoutSeconds ?? "''";
    const run = `printf 'start %s\\n' ${key} >>${journal}; op_section ${key} ${body} ${limit}; op_last=$?; ${record}`;
    const onFailure = section.continueOnError ? '' : `; [ "$op_last" -eq 0 ] || op_failed=1`;
    lines.push(`if [ "$op_failed" -eq 0 ]; then ${run}${onFailure}; fi`);
  }
  return { script: `${lines.join('\n')}\n`, parse: (stdout) => parseFramed(nonce, stdout) };
}

/** Join two framed scripts into one, whose output parses into the results of both. */
export function combineScripts(first: FramedScript, second: FramedScript): FramedScript {
  return {
    // Each part runs in its own subshell so the traps and helpers of one
    // part do not leak into the other.
    script: `( ${first.script} )\n( ${second.script} )\n`,
    parse(stdout) {
      const merged = first.parse(stdout);
      for (const [key, answer] of second.parse(stdout)) merged.set(key, answer);
      return merged;
    },
  };
}

export interface JournalEntry {
  started: boolean;
  exitCode?: number;
}

/** Parse the journal: which sections started, and the exit code of those that ended. */
export function parseJournal(text: string): Map<string, JournalEntry> {
  const entries = new Map<string, JournalEntry>();
  for (const line of text.split('\n')) {
    const start = /^start (\S+)$/.exec(line);
    if (start?.[1]) {
      entries.set(start[1], { started: true });
      continue;
    }
    const end = /^end (\S+) (\d+)$/.exec(line);
    if (end?.[1]) entries.set(end[1], { started: true, exitCode: Number(end[2]) });
  }
  return entries;
}
