// Insert positions of lineinfile and blockinfile: Ansible's
// insertafter/insertbefore with EOF, BOF or a regular expression.

/** `insertafter`/`insertbefore` arguments shared by lineinfile and blockinfile. */
export interface InsertPosition {
  insertafter?: string;
  insertbefore?: string;
  firstmatch?: boolean;
}

export const insertProperties = {
  insertafter: {
    type: 'string',
    minLength: 1,
    description:
      'EOF, or a JavaScript regular expression: new lines go after the last matching line (the first with firstmatch), or at the end when none matches. Default EOF.',
  },
  insertbefore: {
    type: 'string',
    minLength: 1,
    description:
      'BOF, or a JavaScript regular expression: new lines go before the last matching line (the first with firstmatch), or at the end when none matches.',
  },
  firstmatch: {
    type: 'boolean',
    default: false,
    description: 'Use the first line that matches insertafter or insertbefore instead of the last.',
  },
};

/** Compile a user's regular expression, or return the failure message. */
export function compilePattern(name: string, pattern: string): RegExp | string {
  try {
    return new RegExp(pattern);
  } catch (error) {
    return `${name} is not a valid JavaScript regular expression: ${(error as Error).message}`;
  }
}

/** Index of the last (or first) line matching `pattern`, or -1. */
export function findLine(lines: string[], pattern: RegExp, first = false): number {
  if (first) return lines.findIndex((line) => pattern.test(line));
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    if (pattern.test(lines[index] ?? '')) return index;
  }
  return -1;
}

/** Index at which new lines are inserted into `lines`, or a failure message. */
export function insertIndex(lines: string[], position: InsertPosition): number | string {
  if (position.insertbefore !== undefined) {
    if (position.insertbefore === 'BOF') return 0;
    const pattern = compilePattern('insertbefore', position.insertbefore);
    if (typeof pattern === 'string') return pattern;
    const found = findLine(lines, pattern, position.firstmatch);
    return found < 0 ? lines.length : found;
  }
  if (position.insertafter === undefined || position.insertafter === 'EOF') return lines.length;
  const pattern = compilePattern('insertafter', position.insertafter);
  if (typeof pattern === 'string') return pattern;
  const found = findLine(lines, pattern, position.firstmatch);
  return found < 0 ? lines.length : found + 1;
}
