/** Overview: messages/s in and out (broker counters), rules, sinks, connected clients. */
import { useRef } from 'preact/hooks';

import { api } from '../api.js';
import { Chart } from '../components/sparkline.js';
import { usePoll } from '../poll.js';
import { formatRate, RateSeries } from '../rates.js';
import type { List, Rule, Sink, Status, Totals } from '../types.js';

interface Snapshot {
  status: Status | undefined;
  totals: Totals;
  rules: Rule[];
  sinks: Sink[];
}

/** Kept across page switches (for the tab's life), so the sparklines do not start empty. */
const SERIES = { in: new RateSeries(), out: new RateSeries(), matched: new RateSeries() };

export function Overview() {
  const series = useRef(SERIES);
  const { data, error } = usePoll<Snapshot>(async () => {
    const [status, totals, rules, sinks] = await Promise.all([
      // 503 while the broker is stopped still has a body; show what there is.
      api<Status>('GET', '/api/v5/status').catch(() => undefined),
      api<Totals>('GET', '/api/v5/metrics'),
      api<List<Rule>>('GET', '/api/v5/rules'),
      api<Sink[]>('GET', '/api/v5/sinks'),
    ]);
    const now = Date.now();
    series.current.in.add(now, totals['messages.received']);
    series.current.out.add(now, totals['messages.sent']);
    series.current.matched.add(now, totals['rules.matched']);
    return { status, totals, rules: rules.data, sinks };
  }, 1000);
  const s = series.current;
  const card = (title: string, value: string, testid: string, r?: RateSeries) => (
    <section class="card" aria-labelledby={`${testid}-h`}>
      <h2 id={`${testid}-h`}>{title}</h2>
      <p class="big" data-testid={testid}>
        {value}
      </p>
      {r ? (
        <Chart
          times={r.history.map((p) => p.t)}
          series={[{ label: title, values: r.history.map((p) => p.rate), stroke: '#0b57d0' }]}
          label={`${title}, last minute; now ${value}`}
        />
      ) : null}
    </section>
  );
  const rulesOn = data?.rules.filter((r) => r.status === 'enabled').length ?? 0;
  const sinksUp = data?.sinks.filter((x) => x.metrics?.status === 'connected').length ?? 0;
  return (
    <>
      <h1>Overview</h1>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      <div class="cards">
        {card('Messages in /s', formatRate(s.in.current), 'rate-in', s.in)}
        {card('Messages out /s', formatRate(s.out.current), 'rate-out', s.out)}
        {card('Rule matches /s', formatRate(s.matched.current), 'rate-matched', s.matched)}
        {card('Rules', data ? `${rulesOn} enabled of ${data.rules.length}` : '…', 'count-rules')}
        {card('Sinks', data ? `${sinksUp} connected of ${data.sinks.length}` : '…', 'count-sinks')}
        {card('Clients', data ? String(data.totals['connections.count']) : '…', 'count-clients')}
      </div>
      {data?.status ? (
        <p class="muted">
          Node {data.status.node_name}, version {data.status.rel_vsn}, {data.status.status}, up{' '}
          {data.status.uptime} s.
        </p>
      ) : null}
    </>
  );
}
