/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`) for bench/results/hstream.md: self time
 * per function and per package/file area, top N.
 *
 *   npx tsx bench/throughput/hstream-profile.ts FILE.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const file = process.argv[2];
if (!file) throw new Error('usage: hstream-profile.ts FILE.cpuprofile [top]');
const top = Number(process.argv[3] ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const fn = new Map<string, number>();
const area = new Map<string, number>();
for (const s of prof.samples) {
  const n = byId.get(s)!;
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '');
  const name = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : ''}`;
  fn.set(name, (fn.get(name) ?? 0) + 1);
  const a = url.startsWith('node_modules/')
    ? url
        .split('/')
        .slice(1, url.split('/')[1]!.startsWith('@') ? 3 : 2)
        .join('/')
    : url.startsWith('node:')
      ? 'node core'
      : url === ''
        ? n.callFrame.functionName.startsWith('(')
          ? n.callFrame.functionName
          : 'native/builtin'
        : url.split('/').slice(0, 3).join('/');
  area.set(a, (area.get(a) ?? 0) + 1);
}
const total = prof.samples.length;
const pct = (v: number) => `${((v / total) * 100).toFixed(1)}%`;
console.log(`samples: ${total}\n\nby area:`);
for (const [k, v] of [...area].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(v).padStart(6)}  ${k}`);
console.log('\nby function (self):');
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(v).padStart(6)}  ${k}`);
