// Command line entry point: parses arguments and dispatches to commands.

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { ExitCode, formatError, OnionplayError, ValidationErrors } from '../errors/index.ts';

export const USAGE = `onionplay: run YAML playbooks of roles on hosts reached only through Tor

Usage:
  onionplay run PLAYBOOK -i SITE_DIR [options]    converge the hosts
  onionplay validate PLAYBOOK -i SITE_DIR         load and check everything, connect to nothing
  onionplay inventory -i SITE_DIR [--host NAME]   list groups and hosts, or one host's variables
  onionplay onion list|backup|restore -i SITE_DIR stored onion service keys (see --help there)
  onionplay forget HOST -i SITE_DIR               after a rebuild: forget the host's learned
                                                  facts and pinned key (first contact again)
  onionplay latency URL [--direct URL] [-n 100]   time HTTP requests through Tor

Options of run:
  -i, --inventory DIR     site folder (hosts.yaml, group_vars/, host_vars/)
  --check                 plan only: report what would change, change nothing
  --diff                  show the difference of each changed file
  --limit PATTERN         only hosts that also match PATTERN (all, group, a:b, a:&b, a:!b, web*)
  --tags LIST             only tasks with one of these comma-separated tags
  --skip-tags LIST        skip tasks with one of these tags
  --forks N               hosts handled at once (default 10)
  -e, --extra-vars KV     key=value, or @file.yaml; highest precedence; may repeat
  --roles-path DIR        extra folder to search for roles; may repeat
  -v, -vv, -vvv           more output: details, remote scripts, remote output
  --output MODE           tty, plain or json (default: tty on a terminal, plain otherwise)
  --stats                 print round trips, bytes and connect time per host
  --allow-direct          allow hosts marked direct: true to be reached without Tor (not anonymous)
  --trust-new-hosts       pin host keys seen for the first time instead of failing
  --ask-become-pass       prompt for the sudo password (else ONIONPLAY_BECOME_PASSWORD)
  --connection MODE       ssh (default) or local: run every host's scripts with /bin/sh on
                          this machine, for developing roles against a temporary folder

Exit codes: 0 success, 1 internal error, 2 a task failed, 3 a host was unreachable,
4 invalid input, 5 the site is locked by another run, 130 interrupted.
`;

const options = {
  inventory: { type: 'string', short: 'i' },
  check: { type: 'boolean' },
  diff: { type: 'boolean' },
  limit: { type: 'string' },
  tags: { type: 'string' },
  'skip-tags': { type: 'string' },
  forks: { type: 'string' },
  'extra-vars': { type: 'string', short: 'e', multiple: true },
  'roles-path': { type: 'string', multiple: true },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  output: { type: 'string' },
  stats: { type: 'boolean' },
  'allow-direct': { type: 'boolean' },
  'trust-new-hosts': { type: 'boolean' },
  'ask-become-pass': { type: 'boolean' },
  connection: { type: 'string' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  direct: { type: 'string' },
  n: { type: 'string', short: 'n' },
  plot: { type: 'string' },
  socks: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

export type CliValues = ReturnType<typeof parseCli>['values'];

function parseCli(argv: string[]) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

function usageError(message: string, fix: string): OnionplayError {
  return new OnionplayError('usage', message, { fix });
}

export function splitList(value: string | undefined): string[] {
  return value ? value.split(',').map((item) => item.trim()).filter(Boolean) : [];
}

export function requireSite(values: CliValues): string {
  if (!values.inventory) throw usageError('missing the site folder', 'add -i SITE_DIR, e.g. -i inventory/lab');
  return values.inventory;
}

function printError(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof ValidationErrors) {
    for (const each of error.errors) stderr.write(`error: ${formatError(each)}\n`);
    stderr.write(`${error.errors.length} error(s); nothing was run\n`);
    return ExitCode.invalidInput;
  }
  if (error instanceof OnionplayError) {
    stderr.write(`error: ${formatError(error)}\n`);
    return error.exitCode;
  }
  stderr.write(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.internal;
}

export interface CliIo {
  stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
}

/** Run the CLI and return its exit code. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\nRun onionplay --help for the options.\n`);
    return ExitCode.invalidInput;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version) {
    io.stdout.write('onionplay 0.1.0\n');
    return ExitCode.ok;
  }
  if (values.help || !command) {
    io.stdout.write(USAGE);
    return command || values.help ? ExitCode.ok : ExitCode.invalidInput;
  }
  try {
    switch (command) {
      case 'run': {
        const { runCommand } = await import('./run.ts');
        return await runCommand(values, rest, io);
      }
      case 'validate': {
        const { validateCommand } = await import('./validate.ts');
        const playbookFile = rest[0];
        if (!playbookFile) throw usageError('missing the playbook', 'onionplay validate PLAYBOOK -i SITE_DIR');
        return await validateCommand({
          playbookFile,
          siteDir: requireSite(values),
          rolesPath: values['roles-path'] ?? [],
          extraVars: values['extra-vars'] ?? [],
          limit: values.limit,
          tags: splitList(values.tags),
          skipTags: splitList(values['skip-tags']),
          output: io.stdout,
        });
      }
      case 'inventory': {
        const { inventoryCommand } = await import('./inventory.ts');
        return await inventoryCommand({ siteDir: requireSite(values), host: values.host, json: values.json, output: io.stdout });
      }
      case 'onion': {
        const { onionCommand } = await import('./onion.ts');
        return await onionCommand(values, rest, io);
      }
      case 'forget': {
        const { forgetCommand } = await import('./forget.ts');
        return await forgetCommand(values, rest, io);
      }
      case 'latency': {
        const { latencyCommand } = await import('./latency.ts');
        return await latencyCommand(values, rest, io);
      }
      default:
        throw usageError(`unknown command ${command}`, 'use one of: run, validate, inventory, onion, forget, latency (see --help)');
    }
  } catch (error) {
    return printError(error, io.stderr);
  }
}
