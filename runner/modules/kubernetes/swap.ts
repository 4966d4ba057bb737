// swap_off: turn swap off now and comment out the swap lines of
// /etc/fstab, so it stays off after a reboot. The kubelet does not start
// while swap is on unless its failSwapOn setting is false.

import { defineModule } from '../define.ts';
import { editedFileProbe, interpretWrite, joinLines, planEditedFile, splitLines } from '../files.ts';
import { remotePath } from '../schema-parts.ts';
import { FILE_FUNCTIONS, parseOrFail, parseProbeLines, probeFailure, stderrTail } from '../shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput, Step } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';

export interface SwapOffArgs {
  fstab?: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: { fstab: { ...remotePath('File system table whose swap lines are commented out.'), default: '/etc/fstab' } },
  additionalProperties: false,
};

/** Whether an fstab line mounts swap: its third field (the type) is `swap`. */
export function isSwapLine(line: string): boolean {
  if (/^\s*(#|$)/.test(line)) return false;
  return line.trim().split(/\s+/)[2] === 'swap';
}

/** Comment out the swap lines of an fstab text. */
export function commentOutSwap(text: string): { text: string; count: number } {
  let count = 0;
  const lines = splitLines(text).map((line) => {
    if (!isSwapLine(line)) return line;
    count += 1;
    return `# ${line}`;
  });
  return { text: count === 0 ? text : joinLines(lines), count };
}

function probeSwap(args: SwapOffArgs): Probe {
  const fstab = args.fstab ?? '/etc/fstab';
  const script = FILE_FUNCTIONS + editedFileProbe('fstab', fstab) + "awk 'NR > 1 { print \"active\", $1 }' /proc/swaps 2>/dev/null\n";
  return { script, reads: [fstab, '/proc/swaps'] };
}

function interpretSwapoff(result: RunResult): Outcome {
  if (result.exitCode === 0) return { changed: true };
  return {
    changed: false,
    failed: `swapoff -a failed (exit ${result.exitCode}): ${stderrTail(result.stderr, 5)}. A container cannot turn off its host's swap: run swapoff -a on the host.`,
  };
}

function planSwap(args: SwapOffArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'swap');
  if (failure) return failure;
  const fstab = args.fstab ?? '/etc/fstab';
  const lines = parseProbeLines(probed.stdout);
  const active = probed.stdout
    .split('\n')
    .filter((line) => line.startsWith('active '))
    .map((line) => line.slice(7));
  const filePlan = parseOrFail(fstab, () =>
    planEditedFile({ path: fstab, create: false, missingOk: `${fstab} does not exist, so no swap is mounted at boot` }, lines, 'fstab', (text) => {
      const edited = commentOutSwap(text);
      return { text: edited.text, description: edited.count === 0 ? 'has no active swap lines' : `comment out ${edited.count} swap line${edited.count === 1 ? '' : 's'}` };
    }),
  );
  if ('status' in filePlan) return filePlan;
  if (filePlan.kind === 'failed') return { status: 'failed', message: filePlan.message };

  const steps: Step[] = [];
  const parts: string[] = [];
  const reasons: string[] = [];
  if (active.length > 0) {
    steps.push({ description: 'swapoff -a', script: 'swapoff -a\n' });
    parts.push(`turn off swap on ${active.join(', ')}`);
  } else reasons.push('no swap is active (/proc/swaps)');
  if (filePlan.kind === 'change') {
    steps.push(...filePlan.steps);
    parts.push(filePlan.summary);
  } else reasons.push(filePlan.reason);

  if (steps.length === 0) return { status: 'ok', reason: reasons.join('; ') };
  return {
    status: 'change',
    summary: parts.join('; '),
    ...(filePlan.kind === 'change' ? { diff: filePlan.diff } : {}),
    steps,
    affects: [fstab, '/proc/swaps'],
    interpret: active.length > 0 ? interpretSwapoff : interpretWrite(`writing ${fstab}`),
  };
}

export const swapOffModule = defineModule<SwapOffArgs>({
  name: 'swap_off',
  description: 'Turn swap off now (swapoff -a) and comment out the swap lines of /etc/fstab.',
  schema,
  idempotent: true,
  probe: probeSwap,
  plan: planSwap,
});
