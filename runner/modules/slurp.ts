// slurp and fetch: read a remote file into the run. The tor role fetches
// onion service keys this way, so no reason, summary or message ever
// contains the content, only its size and sha256.

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { isText } from './diff.ts';
import { defineModule } from './define.ts';
import { remotePath } from './schema-parts.ts';
import {
  FILE_FUNCTIONS,
  fileProbe,
  parseContent,
  parseFileState,
  parseOrFail,
  parseProbeLines,
  probeFailure,
  sha256Hex,
  shortHash,
} from './shell-lib.ts';
import type { JsonSchema, ModuleContext, Plan, ProbeOutput } from './types.ts';

/** Maximum size of a file that slurp or fetch reads (8 MiB), because the content travels in one probe output. */
export const MAX_SLURP_BYTES = 8 * 1024 * 1024;

export interface SlurpArgs {
  src: string;
}

export interface FetchArgs {
  src: string;
  dest: string;
  flat?: boolean;
  fail_on_missing?: boolean;
  /** Set by prepare: the absolute local path written. */
  localPath?: string;
  /** Set by prepare: sha256 of the local file if it exists. */
  localSha256?: string;
}

/** Probe the file and send its content unless its sha256 is `skipIfSha256`. */
function probeContent(src: string, skipIfSha256?: string): { script: string; reads: string[] } {
  return {
    script: FILE_FUNCTIONS + fileProbe('src', src, { maxBytes: MAX_SLURP_BYTES, ...(skipIfSha256 ? { skipIfSha256 } : {}) }),
    reads: [src],
  };
}

type ReadResult = { state: 'missing' } | { state: 'same'; sha256: string; size: number } | { state: 'read'; bytes: Buffer; sha256: string } | { failed: string };

function readProbed(src: string, probed: ProbeOutput): ReadResult {
  const failure = probeFailure(probed, src);
  if (failure && failure.status === 'failed') return { failed: failure.message };
  const parsed = parseOrFail(src, () => {
    const lines = parseProbeLines(probed.stdout);
    return { state: parseFileState(lines.get('src')), content: parseContent(lines.get('src.content')) };
  });
  if ('status' in parsed) return { failed: parsed.status === 'failed' ? parsed.message : 'unexpected probe output' };
  const { state, content } = parsed;
  if (state.type === 'absent') return { state: 'missing' };
  if (state.type !== 'file') return { failed: `${src} is a ${state.type}, not a regular file.` };
  if (content === undefined) return { state: 'same', sha256: state.sha256 ?? '', size: state.size };
  if (content.kind === 'unreadable') return { failed: `cannot read ${src} (permission denied). Run the task with become: true.` };
  if (content.kind === 'toolarge') return { failed: `${src} is ${content.size} bytes, more than the ${MAX_SLURP_BYTES} bytes slurp and fetch read.` };
  return { state: 'read', bytes: content.bytes, sha256: sha256Hex(content.bytes) };
}

const slurpSchema: JsonSchema = {
  type: 'object',
  properties: { src: remotePath('File to read.') },
  required: ['src'],
  additionalProperties: false,
};

function planSlurp(args: SlurpArgs, probed: ProbeOutput): Plan {
  const read = readProbed(args.src, probed);
  if ('failed' in read) return { status: 'failed', message: read.failed };
  if (read.state === 'missing') return { status: 'failed', message: `${args.src} does not exist.` };
  if (read.state === 'same') return { status: 'failed', message: `internal error: the probe of ${args.src} sent no content` };
  const result: Record<string, unknown> = {
    content: read.bytes.toString('base64'),
    encoding: 'base64',
    source: args.src,
    sha256: read.sha256,
    size: read.bytes.length,
  };
  if (isText(read.bytes)) result.text = read.bytes.toString('utf8');
  return { status: 'ok', reason: `read ${args.src} (${read.bytes.length} bytes, sha256 ${shortHash(read.sha256)})`, result };
}

export const slurpModule = defineModule<SlurpArgs>({
  name: 'slurp',
  probeOutputSecret: true,
  description: 'Read a remote file into the registered result: content (base64) and, for UTF-8 text, text.',
  schema: slurpSchema,
  idempotent: true,
  probe: (args) => probeContent(args.src),
  plan: planSlurp,
});

const fetchSchema: JsonSchema = {
  type: 'object',
  properties: {
    src: remotePath('File to fetch.'),
    dest: {
      type: 'string',
      minLength: 1,
      description:
        'Local path on the controller, relative to the current directory. With flat it is the file itself; otherwise the file goes to DEST/HOST/SRC.',
    },
    flat: { type: 'boolean', default: false, description: 'Write to dest itself instead of DEST/HOST/SRC.' },
    fail_on_missing: { type: 'boolean', default: true, description: 'Fail when src does not exist; false reports ok instead.' },
  },
  required: ['src', 'dest'],
  additionalProperties: false,
};

/** Return the local file a fetch writes. */
export function fetchPath(args: FetchArgs, host: string): string {
  if (args.flat) return resolve(args.dest);
  return join(resolve(args.dest), host, args.src);
}

async function prepareFetch(args: FetchArgs, context: ModuleContext): Promise<FetchArgs> {
  const localPath = fetchPath(args, context.host);
  try {
    const bytes = await readFile(localPath);
    return { ...args, localPath, localSha256: sha256Hex(bytes) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...args, localPath };
    throw error;
  }
}

/** Write a local file atomically with mode 0600: a temporary file in the same directory, then a rename. */
export function writeLocalFile(path: string, bytes: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.onionplay-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(temporary, bytes, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function planFetch(args: FetchArgs, probed: ProbeOutput): Plan {
  const localPath = args.localPath;
  if (localPath === undefined) return { status: 'failed', message: 'internal error: fetch planned before prepare() resolved dest' };
  const read = readProbed(args.src, probed);
  if ('failed' in read) return { status: 'failed', message: read.failed };
  if (read.state === 'missing') {
    if (args.fail_on_missing === false) return { status: 'ok', reason: `${args.src} does not exist, and fail_on_missing is false` };
    return { status: 'failed', message: `${args.src} does not exist. Set fail_on_missing: false if that is expected.` };
  }
  if (read.state === 'same') {
    return { status: 'ok', reason: `${localPath} already matches ${args.src} (sha256 ${shortHash(read.sha256)})`, result: { dest: localPath } };
  }
  const bytes = read.bytes;
  return {
    status: 'change',
    summary: `fetch ${args.src} to ${localPath} (${bytes.length} bytes, sha256 ${shortHash(read.sha256)})`,
    steps: [],
    affects: [],
    result: { dest: localPath, sha256: read.sha256 },
    // Nothing runs on the host because the probe already sent the bytes.
    // The local write happens when the executor interprets the empty apply.
    // In check mode no apply runs, so nothing is written.
    interpret: (result) => {
      if (result.exitCode !== 0) return { changed: false, failed: `fetching ${args.src} failed (exit ${result.exitCode})` };
      try {
        writeLocalFile(localPath, bytes);
      } catch (error) {
        return { changed: false, failed: `writing ${localPath} failed: ${(error as Error).message}` };
      }
      return { changed: true, result: { dest: localPath, sha256: read.sha256 } };
    },
  };
}

export const fetchModule = defineModule<FetchArgs>({
  name: 'fetch',
  probeOutputSecret: true,
  description: 'Copy a remote file to the controller, written atomically with mode 0600.',
  schema: fetchSchema,
  idempotent: true,
  prepare: prepareFetch,
  probe: (args) => probeContent(args.src, args.localSha256),
  plan: planFetch,
});
