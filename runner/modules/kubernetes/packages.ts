// Package modules the cluster roles need beyond apt. dpkg_selections keeps
// kubelet, kubeadm and kubectl at their version (`apt-mark hold`), and
// apt_deb_files installs .deb files from a folder on the controller, for
// hosts that cannot reach pkgs.k8s.io.

import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';

import { defineModule } from '../define.ts';
import { FILE_FUNCTIONS, fileStateProbe, parseFileState, parseProbeLines, probeFailure, sha256Hex, shellQuote, stderrTail, writeFileStep } from '../shell-lib.ts';
import type { JsonSchema, ModuleContext, Outcome, Plan, Probe, ProbeOutput, Step } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';

const PACKAGE_NAME = '^[a-z0-9][a-z0-9+.-]*$';
const APT_GET = 'DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

function names(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

// ---- dpkg_selections --------------------------------------------------------

export interface DpkgSelectionsArgs {
  name: string | string[];
  selection: 'install' | 'hold' | 'deinstall' | 'purge';
}

const selectionsSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: {
      anyOf: [
        { type: 'string', pattern: PACKAGE_NAME },
        { type: 'array', items: { type: 'string', pattern: PACKAGE_NAME }, minItems: 1 },
      ],
      description: 'Package name or list of names.',
    },
    selection: {
      enum: ['install', 'hold', 'deinstall', 'purge'],
      description: 'dpkg selection state: hold keeps apt from upgrading the package (apt-mark hold); install releases it.',
    },
  },
  required: ['name', 'selection'],
  additionalProperties: false,
};

function probeSelections(args: DpkgSelectionsArgs): Probe {
  const lines = names(args.name).map(
    (name) => `op_s=$(dpkg --get-selections ${shellQuote(name)} 2>/dev/null | awk '{ print $2 }'); printf 'sel:%s %s\\n' ${shellQuote(name)} "\${op_s:-unknown}"`,
  );
  return { script: `${lines.join('\n')}\n`, reads: ['/var/lib/dpkg'] };
}

function planSelections(args: DpkgSelectionsArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'dpkg selections');
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const pending: string[] = [];
  const unknown: string[] = [];
  for (const name of names(args.name)) {
    const current = lines.get(`sel:${name}`);
    if (current === undefined || current === 'unknown') unknown.push(name);
    else if (current !== args.selection) pending.push(`${name} (${current})`);
  }
  if (unknown.length > 0) {
    return { status: 'failed', message: `dpkg does not know ${unknown.join(', ')}: install ${unknown.length === 1 ? 'it' : 'them'} before setting the selection ${args.selection}.` };
  }
  const all = names(args.name).join(', ');
  if (pending.length === 0) return { status: 'ok', reason: `${all} already ${args.selection === 'hold' ? 'held' : `selected ${args.selection}`}` };
  const packages = pending.map((entry) => entry.split(' ')[0] as string);
  const script =
    args.selection === 'hold' || args.selection === 'install'
      ? `apt-mark ${args.selection === 'hold' ? 'hold' : 'unhold'} ${packages.map(shellQuote).join(' ')}\n`
      : `printf '%s ${args.selection}\\n' ${packages.map(shellQuote).join(' ')} | dpkg --set-selections\n`;
  return {
    status: 'change',
    summary: `set ${pending.join(', ')} to ${args.selection}`,
    steps: [{ description: `dpkg selection ${args.selection}`, script }],
    affects: ['/var/lib/dpkg'],
  };
}

export const dpkgSelectionsModule = defineModule<DpkgSelectionsArgs>({
  name: 'dpkg_selections',
  description: "Set packages' dpkg selection, e.g. hold kubelet, kubeadm and kubectl so apt upgrades leave them alone.",
  schema: selectionsSchema,
  idempotent: true,
  probe: probeSelections,
  plan: planSelections,
});

// ---- apt_deb_files ---------------------------------------------------------

/** A .deb file read on the controller by `prepare`. */
export interface DebFile {
  file: string;
  package: string;
  version: string;
  sha256: string;
  base64: string;
}

export interface AptDebFilesArgs {
  src: string;
  dest?: string;
  only?: string[];
  /** Set by prepare: the files of `src`. */
  debs?: DebFile[];
}

const debFilesSchema: JsonSchema = {
  type: 'object',
  properties: {
    src: {
      type: 'string',
      minLength: 1,
      description: 'Folder of .deb files on the controller, named PACKAGE_VERSION_ARCH.deb as dpkg-name writes them; relative paths are taken from the site folder (the inventory).',
    },
    dest: { type: 'string', pattern: '^/', default: '/var/cache/onionplay/debs', description: 'Folder on the host that receives the files.' },
    only: {
      type: 'array',
      items: { type: 'string', pattern: PACKAGE_NAME },
      description: 'Install only these packages of the folder; default is every .deb in it.',
    },
  },
  required: ['src'],
  additionalProperties: false,
};

/** Package and version from a Debian file name `NAME_VERSION_ARCH.deb` (an epoch's colon may be written %3a). */
export function parseDebFileName(file: string): { package: string; version: string } | undefined {
  const match = /^([a-z0-9][a-z0-9+.-]*)_([^_]+)_([a-z0-9-]+)\.deb$/.exec(file);
  if (!match) return undefined;
  return { package: match[1] ?? '', version: decodeURIComponent((match[2] ?? '').replace(/%3a/gi, ':')) };
}

/** A version without its epoch, for comparing dpkg's version with a file name's. */
function withoutEpoch(version: string): string {
  return version.replace(/^\d+:/, '');
}

async function readDebs(args: AptDebFilesArgs, context: ModuleContext): Promise<DebFile[]> {
  const dir = isAbsolute(args.src) ? args.src : join(String(context.vars.site_dir ?? process.cwd()), args.src);
  const entries = (await readdir(dir)).filter((file) => file.endsWith('.deb')).sort();
  const debs: DebFile[] = [];
  for (const file of entries) {
    const parsed = parseDebFileName(file);
    if (parsed === undefined) throw new Error(`${join(dir, file)} is not named PACKAGE_VERSION_ARCH.deb; rename it with dpkg-name.`);
    if (args.only !== undefined && !args.only.includes(parsed.package)) continue;
    const bytes = await readFile(join(dir, file));
    debs.push({ file, ...parsed, sha256: sha256Hex(bytes), base64: bytes.toString('base64') });
  }
  const missing = (args.only ?? []).filter((name) => !debs.some((deb) => deb.package === name));
  if (missing.length > 0) throw new Error(`${dir} has no .deb file for ${missing.join(', ')}.`);
  if (debs.length === 0) throw new Error(`${dir} contains no .deb files.`);
  return debs;
}

function probeDebFiles(args: AptDebFilesArgs): Probe {
  const dest = args.dest ?? '/var/cache/onionplay/debs';
  const lines = [FILE_FUNCTIONS, fileStateProbe('dest', dest)];
  for (const [index, deb] of (args.debs ?? []).entries()) {
    lines.push(fileStateProbe(`deb${index}`, posix.join(dest, deb.file)));
    lines.push(
      `op_v=$(dpkg-query -W -f='\${db:Status-Status} \${Version}\\n' ${shellQuote(deb.package)} 2>/dev/null | head -n 1) || op_v=''`,
      `printf 'pkg${index} %s\\n' "\${op_v:-not-installed}"`,
    );
  }
  return { script: `${lines.join('\n')}\n`, reads: 'everything' };
}

function interpretDebInstall(what: string): (result: RunResult) => Outcome {
  return (result) => {
    if (result.exitCode === 0) return { changed: true };
    return {
      changed: false,
      failed: `${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 12)}. Dependencies that are not in the folder (e.g. conntrack, cri-tools, kubernetes-cni) must come from the host's apt sources or be added to it.`,
    };
  };
}

function planDebFiles(args: AptDebFilesArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the .deb files');
  if (failure) return failure;
  const dest = args.dest ?? '/var/cache/onionplay/debs';
  const lines = parseProbeLines(probed.stdout);
  const debs = args.debs ?? [];
  const steps: Step[] = [];
  const copied: string[] = [];
  const install: DebFile[] = [];
  const installed: string[] = [];

  if (parseFileState(lines.get('dest')).type === 'absent') {
    steps.push({ description: `create ${dest}`, script: `(umask 022 && mkdir -p ${shellQuote(dest)})\n` });
  }
  for (const [index, deb] of debs.entries()) {
    const path = posix.join(dest, deb.file);
    const state = parseFileState(lines.get(`deb${index}`));
    const [status, version] = (lines.get(`pkg${index}`) ?? 'not-installed').split(' ');
    const upToDate = status === 'installed' && version !== undefined && withoutEpoch(version) === withoutEpoch(deb.version);
    if (upToDate) {
      installed.push(`${deb.package} ${deb.version}`);
      continue;
    }
    if (state.type !== 'file' || state.sha256 !== deb.sha256) {
      // NOTE: the file travels base64-encoded inside the apply script (about 4/3 of its size,
      // tens of MiB for kubelet), and -vvv logs that script whole.
      steps.push(writeFileStep(`copy ${deb.file}`, path, Buffer.from(deb.base64, 'base64'), { mode: '0644' }));
      copied.push(deb.file);
    }
    install.push(deb);
  }
  if (install.length === 0) return { status: 'ok', reason: `${installed.join(', ')} already installed from the .deb files` };
  const files = install.map((deb) => shellQuote(posix.join(dest, deb.file))).join(' ');
  steps.push({ description: `install ${install.map((deb) => deb.file).join(', ')}`, script: `${APT_GET} --no-install-recommends install ${files}\n` });
  const what = `install ${install.map((deb) => `${deb.package} ${deb.version}`).join(', ')}`;
  return {
    status: 'change',
    summary: copied.length > 0 ? `copy ${copied.length} .deb file${copied.length === 1 ? '' : 's'} to ${dest}, then ${what}` : what,
    steps,
    affects: 'everything',
    interpret: interpretDebInstall(what),
  };
}

export const aptDebFilesModule = defineModule<AptDebFilesArgs>({
  name: 'apt_deb_files',
  description: 'Copy .deb files from a folder on the controller to the host and install those whose version is not installed, with apt-get so dependencies resolve.',
  schema: debFilesSchema,
  idempotent: true,
  async prepare(args: AptDebFilesArgs, context: ModuleContext): Promise<AptDebFilesArgs> {
    return { ...args, debs: await readDebs(args, context) };
  },
  probe: probeDebFiles,
  plan: planDebFiles,
});
