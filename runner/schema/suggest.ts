// "Did you mean" suggestions for misspelled keys, module names and values.

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}

/**
 * Return the candidate closest to `word`, if it is within half the word's
 * length (at least 2 edits), ignoring case, `-` and `_`.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const normalize = (text: string): string => text.toLowerCase().replace(/[-_]/g, '');
  const wanted = normalize(word);
  const limit = Math.max(2, Math.floor(word.length / 2));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Format a list of allowed names for an error's `allowed` field. */
export function listAllowed(names: Iterable<string>, max = 40): string {
  const all = [...names];
  const shown = all.slice(0, max).join(', ');
  return all.length > max ? `${shown}, ... (${all.length} in all)` : shown;
}
