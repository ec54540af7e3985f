/** Sinks: each sink's state and counters; one sink's queue/in-flight/latency/drop charts. */
import { useRef } from 'preact/hooks';

import { api } from '../api.js';
import { Chart } from '../components/sparkline.js';
import { usePoll } from '../poll.js';
import { formatRate, RateSeries } from '../rates.js';
import type { Sink, SinkMetrics } from '../types.js';

export function Sinks() {
  const { data, error } = usePoll(() => api<Sink[]>('GET', '/api/v5/sinks'), 1000);
  return (
    <>
      <h1>Sinks</h1>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {data && data.length === 0 ? <p>No sinks configured.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <caption class="sr-only">Sinks</caption>
          <thead>
            <tr>
              <th scope="col">Sink</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col">Queued</th>
              <th scope="col">In flight</th>
              <th scope="col">Success</th>
              <th scope="col">Failed</th>
              <th scope="col">Dropped</th>
              <th scope="col">p99 (ms)</th>
            </tr>
          </thead>
          <tbody>
            {data.map((s) => (
              <tr key={s.name} data-sink={s.name}>
                <th scope="row">
                  <a href={`#/sinks/${encodeURIComponent(s.name)}`}>{s.name}</a>
                </th>
                <td>{s.type}</td>
                <td>
                  <span class={`badge ${s.metrics?.status ?? 'unknown'}`}>
                    {s.metrics?.status ?? 'unknown'}
                  </span>
                </td>
                <td>{s.metrics?.queued ?? '–'}</td>
                <td>{s.metrics?.inflight ?? '–'}</td>
                <td data-testid="sink-success">{s.metrics?.success ?? '–'}</td>
                <td>{s.metrics?.failed ?? '–'}</td>
                <td>{s.metrics?.dropped ?? '–'}</td>
                <td>{s.metrics?.latency_ms.p99 ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

interface Sample {
  t: number;
  queued: number;
  inflight: number;
  p50: number;
  p99: number;
}

export function SinkPage({ name }: { name: string }) {
  const hist = useRef<Sample[]>([]);
  const drops = useRef(new RateSeries());
  const writes = useRef(new RateSeries());
  const { data, error } = usePoll(
    async () => {
      const r = await api<{ name: string; type: string; metrics: SinkMetrics }>(
        'GET',
        `/api/v5/sinks/${encodeURIComponent(name)}/metrics`,
      );
      const now = Date.now();
      const m = r.metrics;
      hist.current.push({
        t: now / 1000,
        queued: m.queued,
        inflight: m.inflight,
        p50: m.latency_ms.p50,
        p99: m.latency_ms.p99,
      });
      if (hist.current.length > 60) hist.current.shift();
      drops.current.add(now, m.dropped);
      writes.current.add(now, m.success);
      return r;
    },
    1000,
    name,
  );
  const h = hist.current;
  const t = h.map((x) => x.t);
  const m = data?.metrics;
  const d = drops.current;
  const w = writes.current;
  return (
    <>
      <h1>Sink {name}</h1>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {m ? (
        <dl class="facts">
          <dt>Type</dt>
          <dd>{data.type}</dd>
          <dt>State</dt>
          <dd>{m.status ?? 'unknown'}</dd>
          <dt>Last error</dt>
          <dd>{m.last_error ? `${m.last_error.code}: ${m.last_error.message}` : 'none'}</dd>
          <dt>Written /s</dt>
          <dd data-testid="sink-write-rate">{formatRate(w.current)}</dd>
          <dt>Retried</dt>
          <dd>{m.retried}</dd>
          <dt>Dropped by reason</dt>
          <dd>
            {Object.entries(m.dropped_by)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ') || 'none'}
          </dd>
        </dl>
      ) : null}
      <div class="charts">
        <section aria-labelledby="c-queue">
          <h2 id="c-queue">Queue and in flight</h2>
          <Chart
            axes
            width={420}
            height={160}
            times={t}
            series={[
              { label: 'queued', values: h.map((x) => x.queued), stroke: '#0b57d0' },
              { label: 'in flight', values: h.map((x) => x.inflight), stroke: '#b3261e' },
            ]}
            label={`Queued records and in-flight batches, last minute; now ${m?.queued ?? 0} queued, ${m?.inflight ?? 0} in flight`}
          />
        </section>
        <section aria-labelledby="c-latency">
          <h2 id="c-latency">Latency (ms)</h2>
          <Chart
            axes
            width={420}
            height={160}
            times={t}
            series={[
              { label: 'p50', values: h.map((x) => x.p50), stroke: '#0b57d0' },
              { label: 'p99', values: h.map((x) => x.p99), stroke: '#b3261e' },
            ]}
            label={`Ingest to acknowledgement latency; now p50 ${m?.latency_ms.p50 ?? 0} ms, p99 ${m?.latency_ms.p99 ?? 0} ms`}
          />
        </section>
        <section aria-labelledby="c-drops">
          <h2 id="c-drops">Drops /s</h2>
          <Chart
            axes
            width={420}
            height={160}
            times={d.history.map((p) => p.t)}
            series={[
              { label: 'dropped/s', values: d.history.map((p) => p.rate), stroke: '#b3261e' },
            ]}
            label={`Records dropped per second, last minute; now ${formatRate(d.current)}`}
          />
        </section>
      </div>
      <p>
        <a href="#/sinks">Back to sinks</a>
      </p>
    </>
  );
}
