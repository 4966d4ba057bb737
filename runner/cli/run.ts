// `onionplay run`: load and validate, then converge the hosts.

import { ExitCode, OnionplayError } from '../errors/index.ts';
import { executeRun } from '../executor/run.ts';
import { EventBus } from '../report/events.ts';
import { JsonRenderer } from '../report/json.ts';
import { PlainRenderer } from '../report/plain.ts';
import { TtyRenderer } from '../report/tty.ts';
import { localTransport } from '../transport/local.ts';
import { sshTransport } from '../transport/ssh.ts';
import type { Transport } from '../transport/types.ts';
import { loadRun } from './load.ts';
import { type CliIo, type CliValues, requireSite, splitList } from './main.ts';
import { readPassword } from './prompt.ts';

function chooseOutput(values: CliValues, io: CliIo): 'tty' | 'plain' | 'json' {
  const output = values.output;
  if (output === undefined) return (io.stdout as NodeJS.WriteStream).isTTY ? 'tty' : 'plain';
  if (output === 'tty' || output === 'plain' || output === 'json') return output;
  throw new OnionplayError('usage', `invalid --output ${output}`, { value: output, allowed: 'tty, plain, json', fix: 'use --output plain' });
}

function parseForks(value: string | undefined): number {
  if (value === undefined) return 10;
  const forks = Number(value);
  if (!Number.isInteger(forks) || forks < 1 || forks > 1000) {
    throw new OnionplayError('usage', `invalid --forks ${value}`, { value, allowed: 'a whole number from 1 to 1000', fix: '--forks 10' });
  }
  return forks;
}

function chooseTransport(values: CliValues): Transport {
  const mode = values.connection ?? 'ssh';
  if (mode === 'ssh') return sshTransport;
  if (mode === 'local') return localTransport;
  throw new OnionplayError('usage', `invalid --connection ${mode}`, { value: mode, allowed: 'ssh, local', fix: 'leave --connection out to use SSH through Tor' });
}

export async function runCommand(values: CliValues, positionals: string[], io: CliIo): Promise<number> {
  const playbookFile = positionals[0];
  if (!playbookFile) throw new OnionplayError('usage', 'missing the playbook', { fix: 'onionplay run PLAYBOOK -i SITE_DIR' });
  const siteDir = requireSite(values);
  const output = chooseOutput(values, io);
  const forks = parseForks(values.forks);
  const transport = chooseTransport(values);
  const verbosity = values.verbose?.length ?? 0;
  const tags = splitList(values.tags);
  const skipTags = splitList(values['skip-tags']);

  const loaded = await loadRun({
    playbookFile,
    siteDir,
    rolesPath: values['roles-path'] ?? [],
    extraVars: values['extra-vars'] ?? [],
    limit: values.limit,
    tags,
    skipTags,
  });

  const bus = new EventBus();
  const renderOptions = { verbosity, diff: values.diff ?? false, stats: values.stats ?? false };
  if (output === 'json') bus.add(new JsonRenderer(io.stdout));
  else if (output === 'tty') bus.add(new TtyRenderer(io.stdout as NodeJS.WriteStream, renderOptions));
  else bus.add(new PlainRenderer(io.stdout, renderOptions));
  for (const warning of loaded.warnings) bus.emit({ type: 'warning', message: warning });

  let becomePassword = process.env.ONIONPLAY_BECOME_PASSWORD;
  if (values['ask-become-pass']) becomePassword = await readPassword('sudo password: ', io.stderr);

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      io.stderr.write('\ninterrupt: finishing the scripts in flight, then stopping (press Ctrl-C again to quit at once)\n');
      controller.abort();
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  if (io.signal) io.signal.addEventListener('abort', () => controller.abort(), { once: true });
  process.on('SIGINT', onSigint);
  try {
    const summary = await executeRun(
      { inventory: loaded.inventory, playbookFile, plays: loaded.plays, extraVars: loaded.extraVars },
      {
        transport,
        bus,
        signal: controller.signal,
        check: values.check ?? false,
        diff: values.diff ?? false,
        forks,
        tags,
        skipTags,
        verbosity,
        allowDirect: values['allow-direct'] ?? false,
        trustNewHosts: values['trust-new-hosts'] ? true : undefined,
        becomePassword,
      },
    );
    return summary.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    await bus.close();
  }
}
