/**
 * Long event-loop turns in a V8 CPU profile (`node --cpu-prof`, e.g. the abuse server's
 * `npm run bench:abuse -- --cpu-prof` profile in /tmp/sluice-abuse-prof).
 *
 * A "turn" is approximated as a run of consecutive samples outside `(idle)` / `(program)` gaps
 * of more than `--gap` ms (default 1). For every turn longer than `--min` ms (default 10) it
 * prints the wall time, then the functions with the most self time and the most inclusive time
 * (the frames a reader would name: parse, compile, JSON.parse, …).
 *
 *   npx tsx bench/abuse/long-turns.ts /tmp/sluice-abuse-prof/CPU.*.cpuprofile [--min=10] [--top=12]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const minMs = opt('min', 10);
const top = opt('top', 12);
const gapMs = opt('gap', 1);
const files = args.filter((a) => !a.startsWith('--'));

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    const where = f.url
      ? `${f.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
      : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const idle = (id: number) => {
    const f = byId.get(id)!.callFrame.functionName;
    return f === '(idle)' || f === '(program)';
  };
  // sample i lasts timeDeltas[i + 1] (the delta to the next sample)
  let t = prof.startTime;
  const times = prof.timeDeltas.map((d) => (t += d));
  const turns: { start: number; end: number; from: number; to: number }[] = [];
  let cur: { start: number; end: number; from: number; to: number } | undefined;
  for (let i = 0; i < prof.samples.length; i++) {
    const dur = (times[i + 1] ?? times[i]!) - times[i]!;
    if (idle(prof.samples[i]!)) {
      if (cur && times[i]! - cur.end > gapMs * 1000) {
        turns.push(cur);
        cur = undefined;
      }
      continue;
    }
    if (cur === undefined) cur = { start: times[i]!, end: times[i]! + dur, from: i, to: i };
    else {
      cur.end = times[i]! + dur;
      cur.to = i;
    }
  }
  if (cur) turns.push(cur);
  const long = turns.filter((x) => (x.end - x.start) / 1000 >= minMs);
  console.log(`# ${file}: ${turns.length} busy stretches, ${long.length} ≥ ${minMs} ms`);
  for (const turn of long) {
    const self = new Map<string, number>();
    const incl = new Map<string, number>();
    for (let i = turn.from; i <= turn.to; i++) {
      const id = prof.samples[i]!;
      if (idle(id)) continue;
      const dur = ((times[i + 1] ?? times[i]!) - times[i]!) / 1000;
      const n = byId.get(id)!;
      self.set(name(n), (self.get(name(n)) ?? 0) + dur);
      const seen = new Set<string>();
      for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
        const nm = name(byId.get(p)!);
        if (seen.has(nm)) continue;
        seen.add(nm);
        incl.set(nm, (incl.get(nm) ?? 0) + dur);
      }
    }
    const rows = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, v]) => `    ${v.toFixed(1).padStart(7)} ms  ${k}`)
        .join('\n');
    console.log(
      `\n## turn at +${((turn.start - prof.startTime) / 1e6).toFixed(3)} s: ${((turn.end - turn.start) / 1000).toFixed(1)} ms\n  self:\n${rows(self)}\n  inclusive:\n${rows(incl)}`,
    );
  }
}
