// containerd_images: import container image archives (`docker save` or
// `ctr export` tarballs) from a folder on the controller into containerd,
// for nodes that reach no image registry. An archive is imported once: a
// marker named after its sha256 records the import on the host.

import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, sha256Hex, shellQuote, stderrTail, writeFileStep } from '../shell-lib.ts';
import type { JsonSchema, ModuleContext, Outcome, Plan, Probe, ProbeOutput, Step } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';

interface ImageArchive {
  file: string;
  sha256: string;
  base64: string;
}

export interface ContainerdImagesArgs {
  src: string;
  namespace?: string;
  /** Set by prepare: the archives of `src`. */
  archives?: ImageArchive[];
}

const MARKERS = '/var/lib/onionplay/images';
const CACHE = '/var/cache/onionplay/images';

const schema: JsonSchema = {
  type: 'object',
  properties: {
    src: {
      type: 'string',
      minLength: 1,
      description: 'Folder of image archives (*.tar) on the controller; relative paths are taken from the site folder.',
    },
    namespace: { type: 'string', pattern: '^[a-z0-9.-]+$', default: 'k8s.io', description: 'containerd namespace; the kubelet uses k8s.io.' },
  },
  required: ['src'],
  additionalProperties: false,
};

async function readArchives(args: ContainerdImagesArgs, context: ModuleContext): Promise<ImageArchive[]> {
  const dir = isAbsolute(args.src) ? args.src : join(String(context.vars.site_dir ?? process.cwd()), args.src);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.tar')).sort();
  if (files.length === 0) throw new Error(`${dir} contains no image archives (*.tar)`);
  const archives: ImageArchive[] = [];
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    archives.push({ file, sha256: sha256Hex(bytes), base64: bytes.toString('base64') });
  }
  return archives;
}

function probeImages(args: ContainerdImagesArgs): Probe {
  const lines = ['command -v ctr >/dev/null 2>&1 && echo "ctr yes" || echo "ctr no"'];
  for (const [index, archive] of (args.archives ?? []).entries()) {
    lines.push(`[ -f ${shellQuote(posix.join(MARKERS, `${archive.sha256}.imported`))} ] && echo "image${index} imported" || echo "image${index} missing"`);
  }
  return { script: `${lines.join('\n')}\n`, reads: [MARKERS] };
}

function interpretImport(what: string): (result: RunResult) => Outcome {
  return (result) =>
    result.exitCode === 0 ? { changed: true } : { changed: false, failed: `${what} failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 12)}` };
}

function planImages(args: ContainerdImagesArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the image archives');
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  if (lines.get('ctr') !== 'yes') return { status: 'failed', message: 'ctr is not installed on the host; install containerd first' };
  const namespace = args.namespace ?? 'k8s.io';
  const archives = args.archives ?? [];
  const missing = archives.filter((_archive, index) => lines.get(`image${index}`) !== 'imported');
  if (missing.length === 0) return { status: 'ok', reason: `all ${archives.length} image archive(s) already imported into containerd (${namespace})` };
  const steps: Step[] = [{ description: `create ${CACHE} and ${MARKERS}`, script: `mkdir -p ${CACHE} ${MARKERS}\n` }];
  for (const archive of missing) {
    const path = posix.join(CACHE, archive.file);
    steps.push(writeFileStep(`copy ${archive.file}`, path, Buffer.from(archive.base64, 'base64'), { mode: '0644' }));
    steps.push({
      description: `import ${archive.file}`,
      script: `ctr -n ${shellQuote(namespace)} images import ${shellQuote(path)}\ntouch ${shellQuote(posix.join(MARKERS, `${archive.sha256}.imported`))}\nrm -f ${shellQuote(path)}\n`,
    });
  }
  const what = `import ${missing.map((archive) => archive.file).join(', ')} into containerd (${namespace})`;
  return { status: 'change', summary: what, steps, affects: [MARKERS], interpret: interpretImport(what) };
}

export const containerdImagesModule = defineModule<ContainerdImagesArgs>({
  name: 'containerd_images',
  description: 'Import image archives from a folder on the controller into containerd, once each, for nodes that reach no registry.',
  schema,
  idempotent: true,
  async prepare(args: ContainerdImagesArgs, context: ModuleContext) {
    return { ...args, archives: await readArchives(args, context) };
  },
  probe: probeImages,
  plan: planImages,
});
