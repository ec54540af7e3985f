/**
 * The threads of this process as Linux reports them (/proc/self/task/<tid>/stat): name, CPU
 * time (user + system) and nice value, by thread id. Empty where /proc is missing. Used by the
 * abuse suite's server (bench/abuse/server.ts) and jq-priority-child.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ThreadStat {
  name: string;
  /** CPU ms, in USER_HZ ticks of 10 ms. */
  ms: number;
  nice: number;
}

export function threadStats(): Map<number, ThreadStat> {
  const out = new Map<number, ThreadStat>();
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const t of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(t), { name, ms: (Number(f[11]) + Number(f[12])) * 10, nice: Number(f[16]) });
  }
  return out;
}
