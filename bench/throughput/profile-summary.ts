/**
 * Summarise V8 `.cpuprofile` files (from `node --cpu-prof`): self time by function and by
 * source file, top N, as markdown tables (bench/results/profile-*.md). `(idle)` samples are
 * counted but the percentages are of the busy (non-idle) samples, so two profiles taken at
 * different loads compare.
 *
 *   npx tsx bench/throughput/profile-summary.ts FILE.cpuprofile [--top 30] [--title T]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const file = args[0];
if (!file || file.startsWith('--'))
  throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top 30] [--title T]');
const top = Number(opt('top', '30'));
const title = opt('title', file);

const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));

/** A repository-relative file name (worktrees, the tsx loader and file:// prefixes removed). */
function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/work\/(main|wt\/[^/]+)\//, '')
    .replace(/^\/tmp\/[^/]+\//, 'build/');
}

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
let idle = 0;
for (const s of prof.samples) {
  const n = byId.get(s);
  if (!n) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  if (functionName === '(idle)') {
    idle++;
    continue;
  }
  const u = shortUrl(url);
  const f = u === '' ? functionName || '(native)' : u;
  const name = `${functionName || '(anonymous)'}${u ? ` ${u}:${lineNumber + 1}` : ''}`;
  byFn.set(name, (byFn.get(name) ?? 0) + 1);
  byFile.set(f, (byFile.get(f) ?? 0) + 1);
}
const busy = prof.samples.length - idle;
const ms = (prof.endTime - prof.startTime) / 1000;
const pct = (v: number): string => `${((v / busy) * 100).toFixed(1)} %`;
const table = (head: string, m: Map<string, number>): string[] => [
  `| ${head} | self (of busy) |`,
  '| --- | ---: |',
  ...[...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${pct(v)} |`),
];
const lines = [
  `### ${title}`,
  '',
  `${prof.samples.length} samples over ${(ms / 1000).toFixed(1)} s; busy ${busy} (${((busy / prof.samples.length) * 100).toFixed(0)} %), idle ${idle}.`,
  '',
  ...table('file', byFile),
  '',
  ...table('function', byFn),
  '',
];
process.stdout.write(lines.join('\n'));
