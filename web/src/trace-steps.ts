/** Trace steps as the stream sends them (`event: step`, docs/dashboard.md) and their grouping. */

export interface TraceStep {
  trace_id: string;
  seq: number;
  msg_id: string;
  ts: number | string;
  step: string;
  rule_id?: string;
  action?: string;
  clientid?: string;
  topic?: string;
  detail?: Record<string, unknown>;
}

/** Steps grouped by message, in arrival order (pure: exported for the unit test). */
export function groupByMessage(
  steps: readonly TraceStep[],
): { msgId: string; steps: TraceStep[] }[] {
  const groups = new Map<string, TraceStep[]>();
  for (const s of [...steps].sort((a, b) => a.seq - b.seq)) {
    const g = groups.get(s.msg_id);
    if (g) g.push(s);
    else groups.set(s.msg_id, [s]);
  }
  return [...groups].map(([msgId, list]) => ({ msgId, steps: list }));
}
