// Command line of the lab: npm run lab -- up [--hosts N] | down [--purge] | status
import { parseArgs } from 'node:util';
import { DEFAULT_HOST_COUNT, MAX_HOST_COUNT } from './config.ts';
import { downIfUnused } from './helper.ts';
import { down, status, up } from './lab.ts';

const USAGE = `usage: npm run lab -- COMMAND [OPTIONS]

Commands:
  up [--hosts N]   start the lab hosts and the private Tor network, or complete a partly
                   running lab; N is the number of hosts, 1 to ${MAX_HOST_COUNT} (default ${DEFAULT_HOST_COUNT})
  down [--purge]   stop the lab and remove its namespaces, cgroups, bridge and host disks;
                   --purge also deletes the Tor keys, the lab SSH key and the cached rootfs
  status           show what runs; exits 0 when every part of the lab is running

All commands need root.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hosts: { type: 'string' },
      purge: { type: 'boolean' },
      'if-unused': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (extra.length > 0) throw new Error(`unexpected argument: ${extra.join(' ')}\n\n${USAGE}`);
  switch (command) {
    case 'up': {
      const hosts = values.hosts === undefined ? undefined : Number(values.hosts);
      if (hosts !== undefined && !/^\d+$/.test(values.hosts ?? '')) {
        throw new Error(`invalid --hosts value "${values.hosts}": use a whole number from 1 to ${MAX_HOST_COUNT}`);
      }
      await up({ hosts });
      return 0;
    }
    case 'down':
      // --if-unused is for the test helper: stop a lab that tests started once no test uses it.
      if (values['if-unused']) await downIfUnused();
      else await down({ purge: values.purge });
      return 0;
    case 'status':
      return (await status()) ? 0 : 3;
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lab: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
