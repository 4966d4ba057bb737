// onion_keys: keeps an onion service's keys in the site's encrypted store,
// so its address survives a rebuild of the host. Stage `restore` (before
// tor starts) puts saved keys into a HiddenServiceDir that has none;
// stage `save` (after tor started) stores the keys tor created. A live key
// that differs from the site's record fails the task with both addresses.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';

import { OnionplayError } from '../../errors/index.ts';
import type { OnionServiceKeys } from '../../secrets/store.ts';
import { defineModule } from '../define.ts';
import { ownerSchema, remotePath } from '../schema-parts.ts';
import { shellQuote, writeFileScript } from '../shell-lib.ts';
import type { ModuleContext, Outcome, Plan, ProbeOutput, Step } from '../types.ts';

interface OnionKeysArgs {
  name: string;
  dir: string;
  stage: 'restore' | 'save';
  owner?: string;
  /** Set by prepare: the site's record, if any. Never in a task file. */
  saved?: OnionServiceKeys | null;
}

const SECRET = 'hs_ed25519_secret_key';
const PUBLIC = 'hs_ed25519_public_key';

interface LiveKeys {
  secretSha256?: string;
  hostname?: string;
  /** Base64 of the three files, only in the output of the save step. */
  dump?: { secretKey: string; publicKey: string; hostname: string };
}

function parseLive(stdout: string): LiveKeys {
  const live: LiveKeys = {};
  for (const line of stdout.split('\n')) {
    const [key, value] = line.split(' ', 2);
    if (key === 'secret' && value) live.secretSha256 = value;
    if (key === 'hostname' && value) live.hostname = value;
  }
  return live;
}

function sha256OfBase64(value: string): string {
  return createHash('sha256').update(Buffer.from(value, 'base64')).digest('hex');
}

function mismatch(args: OnionKeysArgs, host: string, live: LiveKeys, saved: OnionServiceKeys): Plan {
  return {
    status: 'failed',
    message:
      `onion service ${args.name} on ${host} has the address ${live.hostname ?? '(unknown)'}, ` +
      `but the site's key store records ${saved.hostname}. Nothing was changed. ` +
      `To keep the recorded address, stop tor, remove ${args.dir}/${SECRET} and rerun; ` +
      `to adopt the live one, remove ${host}'s entry with \`onionplay onion\` tools (state/onion-keys/${host}.enc) and rerun.`,
  };
}

function addressFacts(args: OnionKeysArgs, hostname: string | undefined): Record<string, unknown> | undefined {
  return hostname ? { [`tor_onion_address_${args.name}`]: hostname } : undefined;
}

function restoreSteps(args: OnionKeysArgs, saved: OnionServiceKeys): Step[] {
  const owner = args.owner ?? 'debian-tor';
  const options = { mode: '0600', chown: `${owner}:` };
  const dir = shellQuote(args.dir);
  const files: Array<[string, Buffer]> = [
    [SECRET, Buffer.from(saved.secretKey, 'base64')],
    [PUBLIC, Buffer.from(saved.publicKey, 'base64')],
    ['hostname', Buffer.from(`${saved.hostname}\n`)],
  ];
  const steps: Step[] = [
    {
      description: `create ${args.dir} (0700, ${owner})`,
      script: `mkdir -p ${dir}\nchown ${shellQuote(`${owner}:`)} ${dir}\nchmod 00700 ${dir}\n`,
    },
  ];
  for (const [file, content] of files) {
    steps.push({ description: `restore ${file} of onion service ${args.name}`, script: writeFileScript(posix.join(args.dir, file), content, options) });
  }
  return steps;
}

function planRestore(args: OnionKeysArgs, live: LiveKeys, host: string): Plan {
  const saved = args.saved ?? undefined;
  if (!saved) {
    if (live.secretSha256) {
      return { status: 'ok', reason: `onion service ${args.name} already has keys (${live.hostname ?? 'address not yet written'}); they are saved after tor starts`, facts: addressFacts(args, live.hostname) };
    }
    return { status: 'ok', reason: `no saved keys for onion service ${args.name}; tor creates new ones when it starts` };
  }
  if (!live.secretSha256) {
    return {
      status: 'change',
      summary: `restore the keys of onion service ${args.name} (${saved.hostname}) from the site's key store`,
      steps: restoreSteps(args, saved),
      affects: [args.dir],
      facts: addressFacts(args, saved.hostname),
    };
  }
  if (live.secretSha256 !== sha256OfBase64(saved.secretKey)) return mismatch(args, host, live, saved);
  return { status: 'ok', reason: `keys of onion service ${args.name} match the site's record (${saved.hostname})`, facts: addressFacts(args, saved.hostname) };
}

function parseDump(stdout: string): LiveKeys['dump'] {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [key, value] = line.split(' ', 2);
    if (key && value) values.set(key, value);
  }
  const secretKey = values.get('secret_b64');
  const publicKey = values.get('public_b64');
  const hostname = values.get('hostname');
  if (!secretKey || !publicKey || !hostname) return undefined;
  return { secretKey, publicKey, hostname };
}

function planSave(args: OnionKeysArgs, live: LiveKeys, host: string): Plan {
  const saved = args.saved ?? undefined;
  if (!live.secretSha256 || !live.hostname) {
    return {
      status: 'failed',
      message: `tor has not written the keys of onion service ${args.name} to ${args.dir} yet; check that tor is running and that torrc has HiddenServiceDir ${args.dir}`,
    };
  }
  if (saved) {
    if (live.secretSha256 !== sha256OfBase64(saved.secretKey)) return mismatch(args, host, live, saved);
    return { status: 'ok', reason: `keys of onion service ${args.name} are in the site's key store (${saved.hostname})`, facts: addressFacts(args, saved.hostname) };
  }
  const dir = shellQuote(args.dir);
  return {
    status: 'change',
    summary: `save the keys of onion service ${args.name} (${live.hostname}) in the site's encrypted key store`,
    steps: [
      {
        description: `read the keys of onion service ${args.name}`,
        script: [
          `printf 'secret_b64 %s\\n' "$(base64 -w0 ${dir}/${SECRET})"`,
          `printf 'public_b64 %s\\n' "$(base64 -w0 ${dir}/${PUBLIC})"`,
          `printf 'hostname %s\\n' "$(cat ${dir}/hostname)"`,
          '',
        ].join('\n'),
      },
    ],
    affects: [],
    outputNeeded: true,
    interpret: (result) => {
      const dump = parseDump(result.stdout.toString('utf8'));
      if (result.exitCode !== 0 || !dump) return { changed: false, failed: `reading the keys of onion service ${args.name} failed (exit code ${result.exitCode})` };
      // The keys travel to `finish` in the result and are removed there.
      return { changed: true, result: { onion_keys: dump } };
    },
    facts: addressFacts(args, live.hostname),
  };
}

export const onionKeysModule = defineModule<OnionKeysArgs>({
  name: 'onion_keys',
  description:
    "Keep an onion service's keys in the site's encrypted key store: restore saved keys before tor starts, save new ones after.",
  idempotent: true,
  probeOutputSecret: true,
  factNames: ['tor_onion_address_*'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'dir', 'stage'],
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9_]+$', description: 'Name of the onion service, as in tor_onion_services.' },
      dir: remotePath('HiddenServiceDir of the service.'),
      stage: { enum: ['restore', 'save'], description: 'restore: before tor starts; save: after tor created the keys.' },
      owner: { ...ownerSchema, default: 'debian-tor', description: 'User tor runs as, owner of the key files.' },
    },
  },
  async prepare(args: OnionKeysArgs, context: ModuleContext): Promise<OnionKeysArgs> {
    if (!context.site) throw new OnionplayError('internal', 'onion_keys needs the site services of a run');
    const saved = (await context.site.onionKeys.get(context.host, args.name)) ?? null;
    if (saved) context.site.addSecret(saved.secretKey);
    return { ...args, owner: args.owner ?? 'debian-tor', saved };
  },
  probe(args: OnionKeysArgs) {
    const dir = shellQuote(args.dir);
    return {
      script: [
        `if [ -f ${dir}/${SECRET} ]; then printf 'secret %s\\n' "$(sha256sum <${dir}/${SECRET} | cut -c1-64)"; fi`,
        `if [ -f ${dir}/hostname ]; then printf 'hostname %s\\n' "$(cat ${dir}/hostname)"; fi`,
        '',
      ].join('\n'),
      reads: [args.dir],
    };
  },
  plan(args: OnionKeysArgs, probed: ProbeOutput, context) {
    if (probed.exitCode !== 0) return { status: 'failed', message: `reading ${args.dir} failed: ${probed.stderr.trim()}` };
    const live = parseLive(probed.stdout);
    return args.stage === 'restore' ? planRestore(args, live, context.host) : planSave(args, live, context.host);
  },
  async finish(args: OnionKeysArgs, outcome: Outcome, context: ModuleContext): Promise<Outcome> {
    const keys = outcome.result?.onion_keys as OnionServiceKeys | undefined;
    const result = { ...outcome.result };
    delete result.onion_keys;
    if (args.stage !== 'save' || !keys) return { ...outcome, result };
    if (!context.site) throw new OnionplayError('internal', 'onion_keys needs the site services of a run');
    context.site.addSecret(keys.secretKey);
    await context.site.onionKeys.put(context.host, args.name, keys);
    return { ...outcome, result, facts: { ...outcome.facts, ...addressFacts(args, keys.hostname) } };
  },
});
