// kubectl_apply: apply a manifest rendered on the controller. The probe
// runs `kubectl diff` (a read-only server-side dry run), so a converged
// cluster costs no apply at all. When an apply runs, the server's verdict
// per object decides: created or configured is a change, unchanged is not.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, ModuleContext, Outcome, Plan, Probe, ProbeOutput } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';
import { ADMIN_KUBECONFIG, captureCommand, kubeconfigSchema, kubectl, lastLines, readCaptured } from './common.ts';

export interface KubectlApplyArgs {
  src?: string;
  content?: string;
  kubeconfig?: string;
  /** Set by prepare: the manifest to apply. */
  manifest?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    src: { type: 'string', minLength: 1, description: "Manifest template in the role's templates/ folder, rendered with the host's variables." },
    content: { type: 'string', minLength: 1, description: 'Manifest text (YAML or JSON, several documents allowed). Exclusive with src.' },
    kubeconfig: kubeconfigSchema,
  },
  oneOf: [{ required: ['src'] }, { required: ['content'] }],
  additionalProperties: false,
};

/** `kind/name` of each document of a manifest, from its top-level kind and metadata.name. */
export function manifestObjects(manifest: string): string[] {
  const objects: string[] = [];
  for (const document of manifest.split(/^---\s*$/m)) {
    const kind = /^kind:\s*(\S+)/m.exec(document)?.[1];
    const name = /^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*"?([^"\s]+)"?/m.exec(document)?.[1];
    if (kind !== undefined) objects.push(`${kind.toLowerCase()}/${name ?? '?'}`);
  }
  return objects;
}

function manifestOf(args: KubectlApplyArgs): string {
  const manifest = args.manifest ?? args.content;
  if (manifest === undefined) throw new Error('internal error: kubectl_apply planned before prepare() rendered its manifest');
  return manifest;
}

/** Shell that feeds the manifest to a kubectl subcommand on stdin. */
function feed(manifest: string, command: string): string {
  return `printf '%s' ${shellQuote(Buffer.from(manifest, 'utf8').toString('base64'))} | base64 -d | ${command}`;
}

function probeApply(args: KubectlApplyArgs): Probe {
  const kubeconfig = args.kubeconfig ?? ADMIN_KUBECONFIG;
  const script = [
    `if [ -f ${shellQuote(kubeconfig)} ]; then echo 'kubeconfig present'; else echo 'kubeconfig absent'; fi`,
    // kubectl diff exits 0 without differences, 1 with differences, and >1 on errors.
    captureCommand('diff', feed(manifestOf(args), `${kubectl(kubeconfig)} --request-timeout=30s diff -f -`)),
  ].join('\n');
  return { script, reads: 'everything' };
}

/** Objects of a `kubectl apply` output, grouped by the server's verdict. */
export interface ApplyReport {
  created: string[];
  configured: string[];
  unchanged: string[];
  other: string[];
}

/** Parse the `kind.group/name verdict` lines of `kubectl apply` (client-side and server-side). */
export function parseApplyOutput(stdout: string): ApplyReport {
  const report: ApplyReport = { created: [], configured: [], unchanged: [], other: [] };
  for (const line of stdout.split('\n')) {
    const match = /^(\S+\/\S+) (created|configured|unchanged|serverside-applied)(?: \(server dry run\))?$/.exec(line.trim());
    if (!match) continue;
    const [, object = '', verdict] = match;
    if (verdict === 'created') report.created.push(object);
    else if (verdict === 'configured') report.configured.push(object);
    else if (verdict === 'unchanged') report.unchanged.push(object);
    else report.other.push(object);
  }
  return report;
}

/** Outcome of `kubectl apply`: changed only when the server created or configured something. */
export function interpretApply(result: RunResult): Outcome {
  const stdout = result.stdout.toString('utf8');
  const stderr = result.stderr.toString('utf8');
  const report = parseApplyOutput(stdout);
  const fields = { rc: result.exitCode, stdout, stderr, ...report };
  if (result.exitCode !== 0) {
    return { changed: report.created.length + report.configured.length > 0, failed: `kubectl apply failed (exit ${result.exitCode}): ${lastLines(stderr || stdout, 6)}`, result: fields };
  }
  const touched = [...report.created.map((object) => `${object} created`), ...report.configured.map((object) => `${object} configured`)];
  if (touched.length > 0 || report.other.length > 0) return { changed: true, result: fields };
  if (report.unchanged.length === 0) {
    return { changed: false, failed: `kubectl apply printed no object lines: ${lastLines(stdout || stderr, 4)}`, result: fields };
  }
  return { changed: false, reason: `kubectl apply: all ${report.unchanged.length} objects unchanged`, result: fields };
}

function planApply(args: KubectlApplyArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'kubectl diff');
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const kubeconfig = args.kubeconfig ?? ADMIN_KUBECONFIG;
  if (lines.get('kubeconfig') !== 'present') {
    return { status: 'failed', message: `${kubeconfig} does not exist, so kubectl cannot reach the cluster. Run this task on the initialised control-plane node.` };
  }

  const manifest = manifestOf(args);
  const objects = manifestObjects(manifest);
  const diff = readCaptured(lines, 'diff');
  if (diff?.exitCode === 0) {
    return { status: 'ok', reason: `kubectl diff found no differences in the ${objects.length} objects of the manifest` };
  }

  const apply = { description: `kubectl apply (${objects.length} objects)`, script: `${feed(manifest, `${kubectl(kubeconfig)} apply -f -`)}\n` };
  if (diff?.exitCode === 1) {
    return {
      status: 'change',
      summary: `apply ${objects.length} objects (kubectl diff found differences)`,
      diff: diff.stdout,
      steps: [apply],
      affects: 'everything',
      interpret: interpretApply,
    };
  }

  // kubectl diff fails on objects in a namespace the same manifest creates,
  // so an error is not final: the apply decides, and reports its own errors.
  const reason = diff === undefined ? 'kubectl diff did not run' : `kubectl diff failed: ${lastLines(diff.stderr || diff.stdout, 2)}`;
  return {
    status: 'change',
    summary: `apply ${objects.length} objects (${reason})`,
    diff: `${objects.join('\n')}\n`,
    steps: [apply],
    affects: 'everything',
    outputNeeded: true,
    interpret: interpretApply,
  };
}

export const kubectlApplyModule = defineModule<KubectlApplyArgs>({
  name: 'kubectl_apply',
  description:
    'Apply a manifest with kubectl: kubectl diff decides whether anything is needed, and the apply is changed only when the server reports an object created or configured.',
  schema,
  idempotent: true,
  async prepare(args: KubectlApplyArgs, context: ModuleContext): Promise<KubectlApplyArgs> {
    if (args.src !== undefined) return { ...args, manifest: await context.renderTemplateFile(args.src) };
    return { ...args, manifest: args.content ?? '' };
  },
  probe: probeApply,
  plan: planApply,
});
