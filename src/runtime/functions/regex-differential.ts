/**
 * Differential check of the regex functions against real PCRE2: random patterns built from the
 * constructs both engines support, run by `pcre2test` and by `compilePcre` on the same subjects,
 * first match and groups compared (docs/decisions/0005-linear-time-regex.md quotes its output).
 *
 *   apt-get install pcre2-utils                                   # provides pcre2test
 *   npx tsx src/runtime/functions/regex-differential.ts [count] [seed] [--no-dollar]
 *
 * Not a unit test (it needs a system tool): prints the differing cases and a summary line.
 * `--no-dollar` leaves out `$` and `\Z`, whose known difference (what follows a `$` that matched
 * before a final newline) would otherwise dominate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePcre } from './regex.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const count = Number(args[0] ?? 1500);
let seed = Number(args[1] ?? 4242);
const noDollar = process.argv.includes('--no-dollar');

const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)] as T;

const ATOMS = ['a', 'b', '1', '-', '.', '\\d', '\\w', '\\s', '\\S', '\\h', '\\n', '[ab]', '[^a]']
  .concat(['[a-]', '\\b', '^', '\\A', '\\z'])
  .concat(noDollar ? [] : ['$', '\\Z']);
const ASSERTIONS = new Set(['\\b', '^', '\\A', '\\z', '$', '\\Z']);
const QUANTIFIERS = ['', '', '', '*', '+', '?', '{1,2}', '{2}', '*?', '+?', '??'];

function atom(depth: number): string {
  const r = rnd(depth > 2 ? 10 : 14);
  if (r < 10) return pick(ATOMS);
  if (r === 10) return `(${pattern(depth + 1)})`;
  if (r === 11) return `(?:${pattern(depth + 1)})`;
  if (r === 12) return `(${pattern(depth + 1)}|${pattern(depth + 1)})`;
  return `(?i:${pattern(depth + 1)})`;
}

function pattern(depth = 0): string {
  let s = '';
  for (let n = 1 + rnd(3); n > 0; n--) {
    const a = atom(depth);
    s += ASSERTIONS.has(a) ? a : a + pick(QUANTIFIERS);
  }
  return rnd(6) === 0 ? `${s}|${atom(depth)}` : s;
}

const SUBJECTS = ['ab1', 'a\n', 'ba-b\n', 'AB a', '11\nab', 'aab b1\n', 'b\n\n'];
const UNSET = '<unset>';
const patterns = Array.from(
  { length: count },
  () => pick(['', '', '', '(?m)', '(?s)', '(?i)']) + pattern(),
);

const escapeSubject = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
let input = '';
for (const p of patterns) {
  input += `/${p.replace(/\//g, '\\/')}/utf\n`;
  for (const s of SUBJECTS) input += `    ${escapeSubject(s)}\n`;
  input += '\n';
}
const dir = mkdtempSync(join(tmpdir(), 'sluice-pcre-'));
writeFileSync(join(dir, 'in.txt'), input);
let output: string;
try {
  output = execFileSync('pcre2test', [join(dir, 'in.txt')], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
} catch (e) {
  output = (e as { stdout?: string }).stdout ?? '';
  if (!output) throw e;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const unescapeOutput = (s: string): string =>
  s.replace(/\\x\{([0-9a-f]+)\}|\\x([0-9a-f]{2})/g, (_m, a?: string, b?: string) =>
    String.fromCodePoint(parseInt(a ?? b ?? '0', 16)),
  );

/** pcre2test's answer per subject: the groups of the first match (trailing unset left out). */
function parseBlock(lines: readonly string[]): (string[] | null)[] {
  const results: (string[] | null)[] = [];
  let current: string[] | null = null;
  let started = false;
  for (const l of lines) {
    if (l.startsWith('    ')) {
      if (started) results.push(current);
      started = true;
      current = null;
      continue;
    }
    const m = /^ *(\d+): (.*)$/.exec(l);
    if (m) {
      current ??= [];
      current[Number(m[1])] = m[2] === UNSET ? UNSET : unescapeOutput(m[2] as string);
    }
  }
  if (started) results.push(current);
  return results;
}

let compared = 0;
let groupDiffs = 0;
let matchDiffs = 0;
let skipped = 0;
const blocks = output.split(/\n(?=\/)/).filter((b) => b.startsWith('/'));
blocks.forEach((block, k) => {
  const p = patterns[k] as string;
  const lines = block.split('\n');
  if (lines.some((l) => l.startsWith('Failed:'))) {
    skipped++; // PCRE2 itself rejects it
    return;
  }
  const want = parseBlock(lines.slice(1));
  const re = compilePcre(p);
  SUBJECTS.forEach((s, i) => {
    compared++;
    const w = want[i] ? Array.from(want[i], (g) => g ?? UNSET) : null;
    const got = re.exec(s)?.map((g) => g ?? UNSET) ?? null;
    while (got && got.length > (w?.length ?? 0) && got[got.length - 1] === UNSET) got.pop();
    if (JSON.stringify(w) === JSON.stringify(got)) return;
    const whole = w?.[0] !== got?.[0];
    if (whole) matchDiffs++;
    else groupDiffs++;
    console.log(
      `${whole ? 'MATCH ' : 'GROUPS'} ${JSON.stringify(p)} on ${JSON.stringify(s)}: PCRE ${JSON.stringify(w)}, ours ${JSON.stringify(got)}`,
    );
  });
});
console.log(
  `${blocks.length} patterns × ${SUBJECTS.length} subjects: ${compared} compared, ` +
    `${matchDiffs} differ in the whole match, ${groupDiffs} only in groups, ${skipped} patterns rejected by PCRE2`,
);
