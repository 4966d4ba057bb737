// apt: install, upgrade or remove Debian packages. The probe queries dpkg for
// the installed versions (and apt-cache policy only for state latest), so a
// converged host costs no apt-get run at all.

import { defineModule } from './define.ts';
import { parseProbeLines, probeFailure, shellQuote, stderrTail } from './shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput, Step } from './types.ts';
import type { RunResult } from '../transport/types.ts';

export interface AptArgs {
  name?: string | string[];
  state?: 'present' | 'absent' | 'latest';
  update_cache?: boolean;
  cache_valid_time?: number;
  install_recommends?: boolean;
  purge?: boolean;
}

const PACKAGE_PATTERN = '^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$';

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: {
      anyOf: [
        { type: 'string', pattern: PACKAGE_PATTERN },
        { type: 'array', items: { type: 'string', pattern: PACKAGE_PATTERN }, minItems: 1 },
      ],
      description: 'Package name or list of names; `name=version` pins a version for state present.',
    },
    state: {
      enum: ['present', 'absent', 'latest'],
      default: 'present',
      description: 'present: installed in any version. latest: upgraded to the candidate of apt-cache policy. absent: removed.',
    },
    update_cache: {
      type: 'boolean',
      default: false,
      description:
        'Run apt-get update first. When every named package is already as wanted (state present or absent), the update is skipped.',
    },
    cache_valid_time: {
      type: 'integer',
      minimum: 0,
      description: 'With update_cache, update only if the last successful update is older than this many seconds.',
    },
    install_recommends: {
      type: 'boolean',
      default: false,
      description: 'Also install recommended packages (apt-get --no-install-recommends when false).',
    },
    purge: { type: 'boolean', default: false, description: 'With state absent, also remove configuration files.' },
  },
  additionalProperties: false,
  anyOf: [{ required: ['name'] }, { required: ['update_cache'] }],
};

const APT_ENV = 'DEBIAN_FRONTEND=noninteractive LC_ALL=C';
const APT_GET = `${APT_ENV} apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;

interface PackageSpec {
  name: string;
  version: string | undefined;
}

function packageSpecs(args: AptArgs): PackageSpec[] {
  const names = args.name === undefined ? [] : Array.isArray(args.name) ? args.name : [args.name];
  return names.map((entry) => {
    const equals = entry.indexOf('=');
    return equals < 0 ? { name: entry, version: undefined } : { name: entry.slice(0, equals), version: entry.slice(equals + 1) };
  });
}

function probeApt(args: AptArgs): Probe {
  const lines: string[] = [];
  const specs = packageSpecs(args);
  for (const spec of specs) {
    const name = shellQuote(spec.name);
    // One line per package: `pkg NAME STATUS VERSION`; STATUS is dpkg's
    // db:Status-Status (installed, config-files, not-installed...).
    lines.push(
      `op_v=$(dpkg-query -W -f='\${db:Status-Status} \${Version}\\n' ${name} 2>/dev/null | head -n 1) || op_v=''`,
      `printf 'pkg:%s %s\\n' ${name} "\${op_v:-not-installed}"`,
    );
  }
  if (args.state === 'latest' && specs.length > 0) {
    const names = specs.map((spec) => shellQuote(spec.name)).join(' ');
    lines.push(
      `LC_ALL=C apt-cache policy ${names} 2>/dev/null | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } $1 == "Candidate:" { print "candidate:" p " " $2 }'`,
    );
  }
  if (args.update_cache) {
    lines.push(
      // Without the stamp, the newest Release file shows when the lists were
      // fetched; the lists folder's own mtime does not (an image build that
      // empties it looks freshly updated).
      `op_r=$(ls -t /var/lib/apt/lists/*Release 2>/dev/null | head -n 1)`,
      `op_m=$(stat -c %Y ${UPDATE_STAMP} 2>/dev/null || { [ -n "$op_r" ] && stat -c %Y "$op_r"; } || echo none)`,
      'printf \'cache-mtime %s\\n\' "$op_m"',
      'printf \'now %s\\n\' "$(date +%s)"',
    );
  }
  return { script: lines.join('\n'), reads: 'everything' };
}

interface Installed {
  status: string;
  version: string | undefined;
}

function parseInstalled(value: string | undefined): Installed {
  const [status = 'not-installed', version] = (value ?? 'not-installed').split(' ');
  return { status, version: version === '' ? undefined : version };
}

/** Age of the apt lists in seconds, or undefined when unknown. */
function cacheAge(lines: Map<string, string>): number | undefined {
  const mtime = Number(lines.get('cache-mtime'));
  const now = Number(lines.get('now'));
  return Number.isFinite(mtime) && Number.isFinite(now) ? Math.max(0, now - mtime) : undefined;
}

/** Stamp file whose mtime `cache_valid_time` compares against. */
export const UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

/**
 * Build the step that updates the package lists. An update that fetches
 * nothing new may leave the mtime of /var/lib/apt/lists alone, so the step
 * touches the stamp itself.
 */
export function aptUpdateStep(): Step {
  const stamp = `mkdir -p /var/lib/apt/periodic && touch ${UPDATE_STAMP}`;
  return { description: 'apt-get update', script: `${APT_GET} update\n${stamp}\n` };
}

/** Report a change unless apt-get printed that it did nothing ("0 upgraded, 0 newly installed, 0 to remove"). */
function interpretApt(what: string, updateOnly: boolean): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode !== 0) {
      return { changed: false, failed: `${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 15)}` };
    }
    const stdout = result.stdout.toString('utf8');
    const nothing = /\b0 upgraded, 0 newly installed, 0 to remove\b/.test(stdout);
    if (!updateOnly && nothing) return { changed: false, reason: `apt-get had nothing to do for ${what}` };
    return { changed: true };
  };
}

function describe(spec: PackageSpec, installed: Installed): string {
  return `${spec.name} ${installed.version ?? ''}`.trim();
}

/**
 * Split the named packages into those that need apt-get and the
 * descriptions of those already as wanted ("tor 0.4.9.11-0+deb12u1").
 */
function classifyPackages(
  args: AptArgs,
  specs: PackageSpec[],
  lines: Map<string, string>,
  needsUpdate: boolean,
): { pending: PackageSpec[]; satisfied: string[] } | { failed: string } {
  const state = args.state ?? 'present';
  const pending: PackageSpec[] = [];
  const satisfied: string[] = [];
  for (const spec of specs) {
    const installed = parseInstalled(lines.get(`pkg:${spec.name}`));
    const isInstalled = installed.status === 'installed';
    if (state === 'absent') {
      const leftovers = args.purge === true && installed.status === 'config-files';
      if (isInstalled || leftovers) pending.push(spec);
      else if (installed.status === 'config-files') satisfied.push(`${spec.name} (only its configuration files remain)`);
      else satisfied.push(spec.name);
      continue;
    }
    if (state === 'latest') {
      const candidate = lines.get(`candidate:${spec.name}`);
      const hasCandidate = candidate !== undefined && candidate !== '(none)';
      if (!hasCandidate && !needsUpdate) {
        return { failed: `package ${spec.name} has no installation candidate. Check its name and the apt sources, or set update_cache: true.` };
      }
      // After an update the candidate may change, so the install runs and apt-get's output decides.
      if (!hasCandidate || !isInstalled || installed.version !== candidate || needsUpdate) pending.push(spec);
      else satisfied.push(describe(spec, installed));
      continue;
    }
    if (!isInstalled || (spec.version !== undefined && installed.version !== spec.version)) pending.push(spec);
    else satisfied.push(describe(spec, installed));
  }
  return { pending, satisfied };
}

function satisfiedReason(state: NonNullable<AptArgs['state']>, satisfied: string[], freshCacheAge: number | undefined): string {
  const list = satisfied.join(', ');
  if (state === 'absent') return `${list} ${satisfied.length === 1 ? 'is' : 'are'} not installed`;
  if (state === 'present') return `${list} already installed`;
  const cache = freshCacheAge === undefined ? '' : ` (apt cache ${freshCacheAge} s old)`;
  return `${list} already at the candidate version${cache}`;
}

function planApt(args: AptArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'packages');
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const specs = packageSpecs(args);
  const state = args.state ?? 'present';

  const age = cacheAge(lines);
  const cacheFresh = args.update_cache === true && args.cache_valid_time !== undefined && age !== undefined && age <= args.cache_valid_time;
  const needsUpdate = args.update_cache === true && !cacheFresh;

  const classified = classifyPackages(args, specs, lines, needsUpdate);
  if ('failed' in classified) return { status: 'failed', message: classified.failed };
  const { pending, satisfied } = classified;

  if (specs.length === 0) {
    if (!needsUpdate) return { status: 'ok', reason: `apt cache is ${age} s old, within cache_valid_time ${args.cache_valid_time} s` };
    return {
      status: 'change',
      summary: age === undefined ? 'update the apt cache' : `update the apt cache (${age} s old)`,
      steps: [aptUpdateStep()],
      affects: 'everything',
      interpret: interpretApt('apt-get update', true),
    };
  }

  if (pending.length === 0) return { status: 'ok', reason: satisfiedReason(state, satisfied, cacheFresh ? age : undefined) };

  const words = pending.map((spec) => shellQuote(spec.version === undefined ? spec.name : `${spec.name}=${spec.version}`)).join(' ');
  const names = pending.map((spec) => (spec.version === undefined ? spec.name : `${spec.name}=${spec.version}`)).join(', ');
  const steps: Step[] = needsUpdate ? [aptUpdateStep()] : [];
  let summary: string;
  if (state === 'absent') {
    steps.push({ description: `remove ${names}`, script: `${APT_GET} ${args.purge ? 'purge' : 'remove'} ${words}\n` });
    summary = `${args.purge ? 'purge' : 'remove'} ${names}`;
  } else {
    const recommends = args.install_recommends ? '' : ' --no-install-recommends';
    steps.push({ description: `install ${names}`, script: `${APT_GET}${recommends} install ${words}\n` });
    summary = `${state === 'latest' ? 'install or upgrade' : 'install'} ${names}`;
  }
  return {
    status: 'change',
    summary: needsUpdate ? `update the apt cache, then ${summary}` : summary,
    steps,
    affects: 'everything',
    interpret: interpretApt(summary, false),
  };
}

export const aptModule = defineModule<AptArgs>({
  name: 'apt',
  description: 'Install, upgrade or remove Debian packages with apt-get, optionally updating the package lists first.',
  schema,
  idempotent: true,
  probe: probeApt,
  plan: planApt,
});
