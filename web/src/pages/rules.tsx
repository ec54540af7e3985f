/** Rules: every rule with its status, enable/disable, counters and live rate + sparkline. */
import { useRef, useState } from 'preact/hooks';

import { api, errorText } from '../api.js';
import { Chart } from '../components/sparkline.js';
import { usePoll } from '../poll.js';
import { formatRate, RateSeries } from '../rates.js';
import type { List, Rule, RuleMetrics } from '../types.js';

interface Row {
  rule: Rule;
  metrics: RuleMetrics['metrics'] | undefined;
}

/** Per rule, kept across page switches (for the tab's life), so sparklines do not start empty. */
const SERIES = new Map<string, RateSeries>();

export function Rules() {
  const series = useRef(SERIES);
  const [actionError, setActionError] = useState<string | undefined>();
  const { data, error, refresh } = usePoll<Row[]>(async () => {
    const rules = (await api<List<Rule>>('GET', '/api/v5/rules')).data;
    const now = Date.now();
    const rows = await Promise.all(
      rules.map(async (rule) => {
        const m = await api<RuleMetrics>(
          'GET',
          `/api/v5/rules/${encodeURIComponent(rule.id)}/metrics`,
        ).catch(() => undefined);
        let s = series.current.get(rule.id);
        if (!s) series.current.set(rule.id, (s = new RateSeries()));
        if (m) s.add(now, m.metrics.matched);
        return { rule, metrics: m?.metrics };
      }),
    );
    for (const id of series.current.keys())
      if (!rules.some((r) => r.id === id)) series.current.delete(id);
    return rows;
  }, 1000);

  async function toggle(r: Rule): Promise<void> {
    setActionError(undefined);
    try {
      await api('PUT', `/api/v5/rules/${encodeURIComponent(r.id)}`, { enable: !r.enable });
    } catch (e) {
      setActionError(errorText(e));
    }
    refresh();
  }

  return (
    <>
      <h1>Rules</h1>
      <p>
        <a class="button" href="#/rules/new">
          New rule
        </a>
      </p>
      {error || actionError ? (
        <p role="alert" class="error">
          {actionError ?? error}
        </p>
      ) : null}
      {data && data.length === 0 ? <p>No rules yet.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <caption class="sr-only">Rules with live rates</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Status</th>
              <th scope="col">Matched</th>
              <th scope="col">Passed</th>
              <th scope="col">Failed</th>
              <th scope="col">Rate (msg/s)</th>
              <th scope="col">Last minute</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.map(({ rule, metrics }) => {
              const s = series.current.get(rule.id);
              const rate = formatRate(s?.current ?? 0);
              return (
                <tr key={rule.id} data-rule={rule.id}>
                  <th scope="row">
                    <a href={`#/rules/${encodeURIComponent(rule.id)}`}>{rule.id}</a>
                    {rule.description ? <div class="muted">{rule.description}</div> : null}
                  </th>
                  <td>
                    <span class={`badge ${rule.status}`} data-testid="rule-status">
                      {rule.status}
                    </span>
                  </td>
                  <td data-testid="rule-matched">{metrics?.matched ?? '–'}</td>
                  <td>{metrics?.passed ?? '–'}</td>
                  <td>{metrics?.failed ?? '–'}</td>
                  <td data-testid="rule-rate">{rate}</td>
                  <td>
                    <Chart
                      times={s?.history.map((p) => p.t) ?? []}
                      series={[
                        {
                          label: 'matched/s',
                          values: s?.history.map((p) => p.rate) ?? [],
                          stroke: '#0b57d0',
                        },
                      ]}
                      label={`${rule.id}: matched per second over the last minute, now ${rate}`}
                    />
                  </td>
                  <td>
                    <button type="button" onClick={() => void toggle(rule)}>
                      {rule.enable ? 'Disable' : 'Enable'}
                      <span class="sr-only"> {rule.id}</span>
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
