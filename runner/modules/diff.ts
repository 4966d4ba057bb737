// A small unified line diff for --diff output. The common prefix and
// suffix are trimmed first, and the rest is matched by a longest common
// subsequence table, which is quadratic: changed regions whose line counts
// multiply past MAX_TABLE_CELLS are shown as one removal and one addition.

const MAX_TABLE_CELLS = 4_000_000;
const CONTEXT_LINES = 3;

type Edit = { kind: ' ' | '-' | '+'; line: string };

/** Return whether bytes look like text: valid UTF-8 without NUL bytes. */
export function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

function editScript(before: string[], after: string[]): Edit[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start += 1;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore -= 1;
    endAfter -= 1;
  }
  // concat, not push(...), because a spread of 100k lines overflows the stack.
  const head: Edit[] = before.slice(0, start).map((line) => ({ kind: ' ', line }));
  const tail: Edit[] = before.slice(endBefore).map((line) => ({ kind: ' ', line }));
  return head.concat(middleEdits(before.slice(start, endBefore), after.slice(start, endAfter)), tail);
}

function middleEdits(before: string[], after: string[]): Edit[] {
  const rows = before.length;
  const columns = after.length;
  if (rows * columns > MAX_TABLE_CELLS) {
    const removed: Edit[] = before.map((line) => ({ kind: '-', line }));
    return removed.concat(after.map((line): Edit => ({ kind: '+', line })));
  }

  // lengths[i * (columns + 1) + j] is the LCS length of before[i..] and after[j..].
  const width = columns + 1;
  const lengths = new Uint32Array((rows + 1) * width);
  for (let i = rows - 1; i >= 0; i -= 1) {
    for (let j = columns - 1; j >= 0; j -= 1) {
      lengths[i * width + j] =
        before[i] === after[j]
          ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0);
    }
  }

  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < rows && j < columns) {
    if (before[i] === after[j]) {
      edits.push({ kind: ' ', line: before[i] ?? '' });
      i += 1;
      j += 1;
    } else if ((lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0)) {
      edits.push({ kind: '-', line: before[i] ?? '' });
      i += 1;
    } else {
      edits.push({ kind: '+', line: after[j] ?? '' });
      j += 1;
    }
  }

  for (; i < rows; i += 1) edits.push({ kind: '-', line: before[i] ?? '' });
  for (; j < columns; j += 1) edits.push({ kind: '+', line: after[j] ?? '' });
  return edits;
}

/**
 * Render a unified diff of two texts with 3 lines of context, or an empty
 * string when they are equal.
 */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }): string {
  const edits = editScript(splitLines(before), splitLines(after));
  const changed = edits.map((edit, index) => (edit.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return '';

  const output = [`--- ${labels.before}`, `+++ ${labels.after}`];
  let hunkStart = 0;
  while (hunkStart < changed.length) {
    // Extend the hunk while the next change is within two contexts of the last one.
    let hunkEnd = hunkStart;
    while (hunkEnd + 1 < changed.length && (changed[hunkEnd + 1] ?? 0) - (changed[hunkEnd] ?? 0) <= 2 * CONTEXT_LINES) {
      hunkEnd += 1;
    }
    const from = Math.max(0, (changed[hunkStart] ?? 0) - CONTEXT_LINES);
    const to = Math.min(edits.length, (changed[hunkEnd] ?? 0) + CONTEXT_LINES + 1);
    output.push(...renderHunk(edits, from, to));
    hunkStart = hunkEnd + 1;
  }
  return `${output.join('\n')}\n`;
}

function renderHunk(edits: Edit[], from: number, to: number): string[] {
  let beforeLine = 1;
  let afterLine = 1;
  for (const edit of edits.slice(0, from)) {
    if (edit.kind !== '+') beforeLine += 1;
    if (edit.kind !== '-') afterLine += 1;
  }
  const body = edits.slice(from, to);
  const beforeCount = body.filter((edit) => edit.kind !== '+').length;
  const afterCount = body.filter((edit) => edit.kind !== '-').length;
  const range = (start: number, count: number): string => `${count === 0 ? start - 1 : start},${count}`;
  return [
    `@@ -${range(beforeLine, beforeCount)} +${range(afterLine, afterCount)} @@`,
    ...body.map((edit) => `${edit.kind}${edit.line}`),
  ];
}
