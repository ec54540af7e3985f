/**
 * `sluice plan -c NEW.yaml (--from OLD.yaml | --against URL) [--json]`: print what a reload
 * of NEW.yaml would change. The decision is the engine's reload preview (src/engine plan.ts,
 * reload.ts): the same code the hot reload runs, so the plan is what the reload will do.
 *
 * `--against` reads GET /api/v5/config/running (administrator; credentials from the
 * environment: SLUICE_API_KEY=key:secret for HTTP Basic, or SLUICE_API_TOKEN for Bearer).
 *
 * Exit status: 0 nothing would change; 2 changes; 1 errors (an unusable file, rules whose
 * new version is broken or needs a restart, the API unreachable); 64 usage (main.ts).
 */
import path from 'node:path';

import { formatIssue } from '../config/index.js';
import type { ConfigIssue } from '../config/index.js';
import { planReloadFile, startupState } from '../engine/index.js';
import type { ReloadPreview, RunningState } from '../engine/index.js';

export interface PlanCommandResult {
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Line diff (LCS): ` ` same, `-` only in a, `+` only in b. Rules are short; O(n·m) is fine. */
export function lineDiff(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      (lcs[i] as number[])[j] =
        x[i] === y[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, (lcs[i] as number[])[j + 1] as number);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push(`  ${x[i++]}`);
      j++;
    } else if (
      i < n &&
      (j === m ||
        ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    )
      out.push(`- ${x[i++]}`);
    else out.push(`+ ${y[j++]}`);
  }
  return out;
}

export interface PlanJson {
  readonly ok: boolean;
  readonly against: string;
  readonly rules: {
    readonly added: { id: string; actions: readonly string[] }[];
    readonly updated: { id: string; changed: string[]; diff?: string[] }[];
    readonly removed: string[];
    readonly kept: string[];
  };
  readonly sinks: ReloadPreview['sinks'];
  readonly restartRequired: readonly string[];
  readonly issues: readonly (ConfigIssue & { message: string })[];
  readonly changes: boolean;
}

export function describePlan(p: ReloadPreview, running: RunningState, against: string): PlanJson {
  const byId = new Map(running.rules.map((r) => [r.id, r]));
  const updated = p.put
    .filter((x) => x.change === 'updated')
    .map((x) => {
      const cur = byId.get(x.entry.id);
      const changed: string[] = [];
      if (cur) {
        if (cur.sql !== x.entry.sql) changed.push('sql');
        if (cur.actions.join('\u0000') !== x.entry.actions.join('\u0000')) changed.push('actions');
        if (cur.enabled !== x.entry.enabled) changed.push('enabled');
        if (cur.description !== x.entry.description) changed.push('description');
      }
      return {
        id: x.entry.id,
        changed,
        // Rule files blank their header lines (positions stay exact): trim for the diff.
        ...(cur && cur.sql !== x.entry.sql
          ? { diff: lineDiff(cur.sql.trim(), x.entry.sql.trim()) }
          : {}),
      };
    });
  const r = p.report;
  return {
    ok: r.ok,
    against,
    rules: {
      added: p.put
        .filter((x) => x.change === 'added')
        .map((x) => ({ id: x.entry.id, actions: x.entry.actions })),
      updated,
      removed: [...r.removed],
      kept: [...r.kept],
    },
    sinks: p.sinks,
    restartRequired: r.restartRequired,
    issues: r.issues.map((i) => ({ ...i, message: formatIssue(i) })),
    changes:
      r.added.length + r.updated.length + r.removed.length + r.restartRequired.length > 0 ||
      p.sinks.length > 0,
  };
}

export function renderPlan(j: PlanJson, file: string): string[] {
  const out: string[] = [`plan: reloading ${file} onto ${j.against}`];
  if (!j.ok) {
    out.push('the new configuration is unusable: a reload would keep everything as it runs now');
    for (const i of j.issues) out.push(...i.message.split('\n'));
    return out;
  }
  const r = j.rules;
  if (r.added.length + r.updated.length + r.removed.length + r.kept.length) out.push('rules:');
  for (const a of r.added) out.push(`  + ${a.id} (actions: ${a.actions.join(', ') || 'none'})`);
  for (const u of r.updated) {
    out.push(`  ~ ${u.id}: ${u.changed.join(', ')} changed`);
    for (const l of u.diff ?? []) out.push(`      ${l}`);
  }
  for (const id of r.removed) out.push(`  - ${id}`);
  for (const id of r.kept)
    out.push(`  = ${id}: the new version is broken; the running version is kept`);
  if (j.sinks.length) out.push('sinks (take effect after a restart):');
  for (const s of j.sinks)
    out.push(
      s.change === 'added'
        ? `  + ${s.name} (${s.type})`
        : s.change === 'removed'
          ? `  - ${s.name} (${s.type})`
          : `  ~ ${s.name} (${s.type}): ${s.fields?.join(', ') ?? ''} changed`,
    );
  if (j.restartRequired.length)
    out.push(
      `restart required for: ${j.restartRequired.join(', ')} (a reload does not apply them)`,
    );
  if (j.issues.length) {
    out.push(`${j.issues.length} problem(s) a reload would report:`);
    for (const i of j.issues) out.push(...i.message.split('\n').map((l) => `  ${l}`));
  }
  out.push(
    j.changes
      ? `plan: ${r.added.length} rule(s) added, ${r.updated.length} changed, ${r.removed.length} removed, ${r.kept.length} kept; ${j.sinks.length} sink change(s)`
      : 'plan: no changes',
  );
  return out;
}

function authHeader(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const key = env['SLUICE_API_KEY'];
  if (key) return { authorization: `Basic ${Buffer.from(key, 'utf8').toString('base64')}` };
  const token = env['SLUICE_API_TOKEN'];
  if (token) return { authorization: `Bearer ${token}` };
  return {};
}

async function fetchRunning(
  url: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ ok: true; state: RunningState } | { ok: false; message: string }> {
  const target = `${url.replace(/\/+$/, '')}/api/v5/config/running`;
  let res: Response;
  try {
    res = await fetch(target, { headers: authHeader(env), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { ok: false, message: `cannot reach ${target}: ${(err as Error).message}` };
  }
  const body = (await res.json().catch(() => undefined)) as
    (RunningState & { code?: string; message?: string }) | undefined;
  if (!res.ok)
    return {
      ok: false,
      message: `${target} answered ${res.status}${body?.code ? ` ${body.code}: ${body.message ?? ''}` : ''}`,
    };
  if (!body || !Array.isArray(body.rules) || typeof body.sections !== 'object')
    return { ok: false, message: `${target} did not answer with a running configuration` };
  return { ok: true, state: body };
}

export async function planCommand(
  opts: { config: string; from?: string; against?: string; json?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): Promise<PlanCommandResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let running: RunningState;
  let against: string;
  if (opts.from !== undefined) {
    const s = startupState(opts.from, { env });
    if (!s.ok) {
      stderr.push(`sluice plan: ${opts.from} is unusable:`);
      for (const i of s.issues) stderr.push(formatIssue(i));
      return { exitCode: 1, stdout, stderr };
    }
    running = s.state;
    against = path.relative(process.cwd(), path.resolve(opts.from)) || opts.from;
  } else {
    const s = await fetchRunning(opts.against as string, env);
    if (!s.ok) {
      stderr.push(`sluice plan: ${s.message}`);
      return { exitCode: 1, stdout, stderr };
    }
    running = s.state;
    against = opts.against as string;
  }
  const preview = planReloadFile(opts.config, running, { env });
  const j = describePlan(preview, running, against);
  if (opts.json) stdout.push(JSON.stringify(j));
  else stdout.push(...renderPlan(j, opts.config));
  return { exitCode: !j.ok || j.issues.length ? 1 : j.changes ? 2 : 0, stdout, stderr };
}
