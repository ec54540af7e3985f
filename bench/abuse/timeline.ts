/**
 * What the server did while a probe round trip was slow: for every probe of a phase slower than
 * `--min` ms, the server's loop iterations over 3 ms (wall-clock and main-thread CPU) and its GCs
 * during that round trip, from a run with `ABUSE_TIMELINE=<file>`:
 *
 *   ABUSE_TIMELINE=/tmp/tl.json npm run bench:abuse -- --dist
 *   npx tsx bench/abuse/timeline.ts /tmp/tl.json [--phase=subs_100k] [--min=30]
 *
 * An iteration whose wall-clock time is far above its CPU time waited for a core (another
 * thread or process had it) rather than ran long: that is how the looping jq worker showed up
 * inside subs_100k (bench/RESULTS.md).
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: timeline.ts <ABUSE_TIMELINE file> [--phase=NAME] [--min=MS]\n');
  process.exit(2);
}
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const phaseName = opt('phase') ?? 'subs_100k';
const min = Number(opt('min') ?? 30);

/** [0, end, wall ms, CPU ms] an iteration; [1, start, ms, kind] a GC (server.ts). */
type Event = [0 | 1, number, number, number];
const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
const { samples, phases } = JSON.parse(readFileSync(`${file}.probe.json`, 'utf8')) as {
  samples: { t: number; rtt: number | null }[];
  phases: [string, number, number][];
};
const phase = phases.find((p) => p[0] === phaseName);
if (!phase) {
  process.stderr.write(`no phase ${phaseName}; phases: ${phases.map((p) => p[0]).join(', ')}\n`);
  process.exit(2);
}
const [, from, to] = phase;
// perf_hooks' NodeGCPerformanceDetail kinds.
const kinds: Record<number, string> = {
  1: 'scavenge',
  2: 'minor mark-compact',
  4: 'mark-compact',
  8: 'incremental marking',
  16: 'weak callbacks',
};
const mine = samples.filter((s) => s.t >= from && s.t < to);
for (const s of mine) {
  if (s.rtt === null || s.rtt < min) continue;
  process.stdout.write(`probe sent at +${s.t - from} ms: round trip ${s.rtt.toFixed(1)} ms\n`);
  for (const [type, at, ms, x] of events) {
    const start = type === 0 ? at - ms : at;
    const end = type === 0 ? at : at + ms;
    if (end < s.t - 5 || start > s.t + s.rtt + 5) continue;
    const rel = (t: number) => (t - s.t).toFixed(1);
    process.stdout.write(
      type === 0
        ? `  iteration ${rel(start)} … ${rel(end)} ms: wall ${ms.toFixed(1)} ms, main-thread CPU ${x.toFixed(1)} ms\n`
        : `  GC ${kinds[x] ?? x} at ${rel(start)} ms: ${ms.toFixed(1)} ms\n`,
    );
  }
}
process.stdout.write(
  `${phaseName}: ${mine.length} probes, round trips ms: ${mine.map((s) => (s.rtt === null ? 'lost' : s.rtt.toFixed(0))).join(' ')}\n`,
);
