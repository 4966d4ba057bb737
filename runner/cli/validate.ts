// `onionplay validate`: load and check everything, connect to nothing.

import { ExitCode, OnionplayError, ValidationErrors, formatError } from '../errors/index.ts';
import { loadRun } from './load.ts';
import type { LoadRunOptions } from './load.ts';

export interface ValidateCommandOptions extends LoadRunOptions {
  output: NodeJS.WritableStream;
}

/**
 * Print "ok: N plays, M tasks, K hosts" and the warnings, or every problem
 * found. Returns the process exit code.
 */
export async function validateCommand(options: ValidateCommandOptions): Promise<number> {
  const { output } = options;
  try {
    const run = await loadRun(options);
    for (const warning of run.warnings) output.write(`warning: ${warning}\n`);
    const tasks = run.plays.reduce((sum, { play }) => sum + play.tasks.length, 0);
    const hosts = new Set(run.plays.flatMap(({ hosts: selected }) => selected));
    output.write(`ok: ${run.plays.length} plays, ${tasks} tasks, ${hosts.size} hosts\n`);
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof OnionplayError)) throw error;
    const errors = error instanceof ValidationErrors ? error.errors : [error];
    for (const problem of errors) output.write(`${formatError(problem)}\n`);
    output.write(`${errors.length} problem(s) found\n`);
    const codes = new Set(errors.map((problem) => problem.exitCode));
    return codes.size === 1 ? ([...codes][0] as number) : ExitCode.invalidInput;
  }
}
