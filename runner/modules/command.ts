// command and shell: run a program on the host. Neither converges on its
// own, so both are marked non-idempotent unless `creates` or `removes`
// names a path that shows the work is already done.

import { posix } from 'node:path';

import { defineModule } from './define.ts';
import { remotePath } from './schema-parts.ts';
import { parseProbeLines, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, ModuleDefinition, Outcome, Plan, Probe, ProbeOutput } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface CommandArgs {
  cmd?: string;
  argv?: string[];
  chdir?: string;
  creates?: string;
  removes?: string;
  /** shell only: the interpreter that runs `cmd`. */
  executable?: string;
}

/**
 * Split a command line into words the way sh would, without expansions:
 * single quotes, double quotes (where backslash escapes `"`, `\`, `$` and a
 * backquote) and backslash outside quotes. Throws on an unclosed quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index] ?? '';
    if (char === "'") {
      const end = line.indexOf("'", index + 1);
      if (end < 0) throw new Error(`unclosed single quote in ${JSON.stringify(line)}`);
      word += line.slice(index + 1, end);
      index = end;
      inWord = true;
    } else if (char === '"') {
      index += 1;
      for (; index < line.length && line[index] !== '"'; index += 1) {
        const next = line[index + 1] ?? '';
        if (line[index] === '\\' && '"\\$`'.includes(next) && next !== '') {
          word += next;
          index += 1;
        } else {
          word += line[index];
        }
      }
      if (index >= line.length) throw new Error(`unclosed double quote in ${JSON.stringify(line)}`);
      inWord = true;
    } else if (char === '\\') {
      word += line[index + 1] ?? '';
      index += 1;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function commandSchema(shell: boolean): JsonSchema {
  return {
    type: 'object',
    properties: {
      cmd: {
        type: 'string',
        minLength: 1,
        description: `${
          shell
            ? 'Command line run by the shell, with pipes, redirections and expansions.'
            : 'Command line split into words like sh does, but without pipes, redirections, globs or variable expansion.'
        } The free-form task string becomes cmd; words creates=PATH, removes=PATH and chdir=PATH in it set those arguments, as in Ansible.`,
      },
      argv: {
        type: 'array',
        items: { type: 'string' },
        minItems: 1,
        description: 'Program and its arguments as a list; needs no quoting. Exclusive with cmd.',
      },
      chdir: remotePath('Directory to run the command in.'),
      creates: {
        type: 'string',
        minLength: 1,
        description: 'If this path exists, the command is not run, which makes the task idempotent. A relative path is taken from chdir.',
      },
      removes: {
        type: 'string',
        minLength: 1,
        description: 'If this path does not exist, the command is not run, which makes the task idempotent. A relative path is taken from chdir.',
      },
      ...(shell
        ? { executable: { type: 'string', pattern: '^/', default: '/bin/sh', description: 'Shell that runs cmd, e.g. /bin/bash.' } }
        : {}),
    },
    oneOf: [{ required: ['cmd'] }, { required: ['argv'] }],
    additionalProperties: false,
  };
}

/** Resolve `creates`/`removes` against `chdir`; undefined when that is impossible. */
function guardPath(path: string, chdir: string | undefined): string | undefined {
  if (path.startsWith('/')) return path;
  return chdir === undefined ? undefined : posix.join(chdir, path);
}

function probeGuards(args: CommandArgs): Probe {
  const lines: string[] = [];
  const reads: string[] = [];
  for (const key of ['creates', 'removes'] as const) {
    const path = args[key] === undefined ? undefined : guardPath(args[key], args.chdir);
    if (path === undefined) continue;
    lines.push(`if [ -e ${shellQuote(path)} ] || [ -L ${shellQuote(path)} ]; then echo '${key} yes'; else echo '${key} no'; fi`);
    reads.push(path);
  }
  return { script: lines.join('\n'), reads };
}

/** Build the shell text that runs the command. */
export function commandLine(args: CommandArgs, shell: boolean): string {
  const chdir = args.chdir === undefined ? '' : `cd ${shellQuote(args.chdir)}\n`;
  if (args.argv !== undefined) return `${chdir}${args.argv.map(shellQuote).join(' ')}`;
  const cmd = args.cmd ?? '';
  if (shell) return `${chdir}${shellQuote(args.executable ?? '/bin/sh')} -c ${shellQuote(cmd)}`;
  return `${chdir}${splitWords(cmd).map(shellQuote).join(' ')}`;
}

function interpretCommand(display: string): (result: RunResult) => Outcome {
  return (result) => {
    const stdout = result.stdout.toString('utf8').replace(/\n$/, '');
    const stderr = result.stderr.toString('utf8').replace(/\n$/, '');
    const fields = {
      cmd: display,
      rc: result.exitCode,
      stdout,
      stderr,
      stdout_lines: stdout === '' ? [] : stdout.split('\n'),
      stderr_lines: stderr === '' ? [] : stderr.split('\n'),
    };
    if (result.timedOut) return { changed: true, failed: `${display} timed out`, result: fields };
    if (result.exitCode !== 0) {
      const detail = stderrTail(stderr, 10);
      return { changed: true, failed: `${display} exited with rc ${result.exitCode}${detail ? `: ${detail}` : ''}`, result: fields };
    }
    return { changed: true, result: fields };
  };
}

function planCommand(args: CommandArgs, probed: ProbeOutput, shell: boolean): Plan {
  for (const key of ['creates', 'removes'] as const) {
    const value = args[key];
    if (value !== undefined && guardPath(value, args.chdir) === undefined) {
      return { status: 'failed', message: `${key} must be an absolute path unless chdir is set, got ${JSON.stringify(value)}` };
    }
  }
  const guards = parseProbeLines(probed.stdout);
  // Summaries are one line, so line breaks inside the command are shown as \n.
  const display = (args.argv !== undefined ? args.argv.join(' ') : (args.cmd ?? '')).replaceAll('\n', '\\n');
  if (guards.get('creates') === 'yes') {
    return { status: 'ok', reason: `${args.creates} exists (creates), so the command was not run` };
  }
  if (guards.get('removes') === 'no') {
    return { status: 'ok', reason: `${args.removes} does not exist (removes), so the command was not run` };
  }
  if (probed.exitCode !== 0 || (args.creates && !guards.has('creates')) || (args.removes && !guards.has('removes'))) {
    return { status: 'failed', message: `checking creates/removes failed: ${stderrTail(probed.stderr, 5) || 'no answer'}` };
  }

  let script: string;
  try {
    script = commandLine(args, shell);
  } catch (error) {
    return { status: 'failed', message: `cannot split cmd into words: ${(error as Error).message}. Quote it differently or use argv.` };
  }
  return {
    status: 'change',
    summary: `run ${display}`,
    steps: [{ description: `run ${display}`, script: `${script}\n` }],
    affects: 'everything',
    outputNeeded: true,
    interpret: interpretCommand(display),
  };
}

const INLINE_OPTION = /(^|\s)(creates|removes|chdir)=(\S+)(?=\s|$)/g;

/**
 * Move Ansible's inline options out of a free-form command line:
 * `kubeadm init creates=/etc/kubernetes/admin.conf` runs `kubeadm init`
 * with `creates` set. Options given as arguments win over inline ones.
 */
export function extractInlineOptions(args: CommandArgs): CommandArgs {
  if (args.cmd === undefined) return args;
  const options: Partial<Record<'creates' | 'removes' | 'chdir', string>> = {};
  const cmd = args.cmd
    .replace(INLINE_OPTION, (_match, _space: string, key: 'creates' | 'removes' | 'chdir', value: string) => {
      options[key] = value;
      return '';
    })
    .trim();
  if (Object.keys(options).length === 0) return args;
  return { ...options, ...args, cmd };
}

function defineCommand(name: 'command' | 'shell'): ModuleDefinition {
  const shell = name === 'shell';
  return defineModule<CommandArgs>({
    name,
    description: shell
      ? 'Run a command line through the shell on the host; registers stdout, stderr and rc.'
      : 'Run a program on the host without a shell; registers stdout, stderr and rc.',
    schema: commandSchema(shell),
    freeForm: 'cmd',
    idempotent: (args) => {
      const options = extractInlineOptions(args);
      return options.creates !== undefined || options.removes !== undefined;
    },
    prepare: async (args) => extractInlineOptions(args),
    probe: probeGuards,
    plan: (args, probed) => planCommand(args, probed, shell),
  });
}

export const commandModule = defineCommand('command');
export const shellModule = defineCommand('shell');
