/** Near-miss suggestions ("did you mean …?") shared by the SQL diagnostics and config checks. */

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prevDiag = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min(
        (d[j] as number) + 1,
        (d[j - 1] as number) + 1,
        prevDiag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prevDiag = tmp;
    }
  }
  return d[b.length] as number;
}

/**
 * The candidate closest to `word` if it is a plausible typo: at most 1 edit for names of up to
 * 4 characters, 2 for longer ones (case-insensitive); undefined otherwise or on a tie.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  let tie = false;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
      tie = false;
    } else if (d === bestD) tie = true;
  }
  if (best === undefined || tie || bestD === 0) return undefined;
  return bestD <= (best.length <= 4 ? 1 : 2) ? best : undefined;
}
