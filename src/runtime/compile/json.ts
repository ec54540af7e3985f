/**
 * "Does this JSON payload need the exact (reviver) decode?" — a single byte scan of the Buffer
 * instead of core `decodeJson`'s regex over the decoded string (profiling showed that regex at
 * ~9% of a simple rule's cost). Used by `MessageContext.ensureExactPayload`.
 */

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 48 && c <= 57;

/**
 * True when the JSON text may contain a number whose float-ness or magnitude plain `JSON.parse`
 * would lose: a fraction of zeros (`2.0`), an exponent (`1e3`, `1.5E2`), or an integer part of
 * 16+ digits. False positives only cost speed (the exact decode gives the same value).
 */
export function needsExactDecode(b: Uint8Array): boolean {
  const n = b.length;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i] as number;
    if (c >= 48 && c <= 57) {
      if (++digits >= 16) return true;
      continue;
    }
    if (digits > 0) {
      if (c === 46 /* . */) {
        let j = i + 1;
        let zeros = true;
        while (j < n && isDigit(b[j])) {
          if (b[j] !== 48) zeros = false;
          j++;
        }
        if (j > i + 1 && zeros) return true;
        const e = b[j];
        if (e === 101 || e === 69) return true;
        i = j - 1;
      } else if (c === 101 || c === 69 /* e E */) {
        const d = b[i + 1];
        if (isDigit(d) || ((d === 43 || d === 45) && isDigit(b[i + 2]))) return true;
      }
    }
    digits = 0;
  }
  return false;
}
