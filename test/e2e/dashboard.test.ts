/**
 * The dashboard end to end in Debian's Chromium (issue #18 item 3), driven by playwright-core
 * (it never downloads a browser: `executablePath` is /usr/bin/chromium, from
 * scripts/install-system-deps.sh). A real engine with the embedded broker and the API with an
 * API key; the dashboard built from web/ into a scratch directory, so the test runs the
 * sources as they are now.
 *
 * One story, in order, as an operator would: sign in (a wrong secret is refused), create a rule
 * whose SQL has a typo and see the diagnostic at its line and column — in the list and as a mark
 * drawn over the offending characters on screen — fix it, try it (output, then no match), save
 * it disabled, enable it from the rules list, publish with MQTT.js and watch the rule's rate,
 * the overview's msgs/s and the sink's counters move, kick the publisher from the clients page.
 * Then: a trace started from the traces page shows each step of a message that passes WHERE and
 * of one that fails it, live, and ends when deleted; a viewer key sees the pages but its change
 * is refused (403 shown); a loopback API without credentials needs no login.
 * axe-core runs on every page: no serious or critical violation. Screenshots go to
 * test-results/dashboard/ (gitignored). The page must raise no script error and no CSP report.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import axe from 'axe-core';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const CHROMIUM = process.env['SLUICE_CHROMIUM'] ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const why = `${CHROMIUM} not found: install it with \`sudo bash scripts/install-system-deps.sh\``;
  if (process.env['SLUICE_TEST_STRICT'] === '1') throw new Error(`browser suite: ${why}`);
  console.warn(`SKIPPED the dashboard browser suite: ${why}`);
}

const repo = path.resolve(import.meta.dirname, '../..');
const shots = path.join(repo, 'test-results', 'dashboard');

const YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0 }
`;

const TYPO_SQL =
  'SELECT payload.temp AS temp,\n  clientid\nFORM "sensors/#"\nWHERE payload.temp > 30';

let dir: string;
let engine: Engine;
let api: ApiServer;
let base: string;
let mqttUrl: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** axe-core on the page as it is now: no serious or critical violation. */
async function checkA11y(name: string): Promise<void> {
  // Evaluated over the DevTools protocol, so the page's CSP (scripts from 'self' only) stays on.
  await page.evaluate(axe.source);
  // A string, evaluated in the page (this file is type-checked without the DOM library).
  const violations = (await page.evaluate(`axe
    .run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    })))`)) as { id: string; impact: string; help: string; targets: string[] }[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `axe on ${name}`).toEqual([]);
}

/** A link of the main navigation. */
function nav(name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

describe.skipIf(!haveChromium)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-e2e-'));
    mkdirSync(shots, { recursive: true });
    // Build the dashboard as `npm run build:web` does, into a scratch directory.
    const web = path.join(dir, 'web');
    execFileSync(
      process.execPath,
      [
        path.join(repo, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        path.join(repo, 'web/vite.config.ts'),
        '--outDir',
        web,
        '--emptyOutDir',
      ],
      { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    writeFileSync(
      path.join(dir, 'bootstrap'),
      'operator:op-secret-1\nwatcher:view-secret-1:viewer\n',
    );
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    await engine.start();
    mqttUrl = `mqtt://127.0.0.1:${engine.addresses.find((a) => a.type === 'tcp')?.port}`;
    api = createApiServer(
      { engine, logger: silentLogger, version: 'e2e' },
      {
        bind: '127.0.0.1',
        port: 0,
        bootstrapFile: path.join(dir, 'bootstrap'),
        dashboardDir: web,
        // The login test sends one wrong secret; keep the limiter out of the way.
        authFailureLimit: 0,
      },
    );
    base = (await api.start()).url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with an API key; a wrong secret is refused', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
    await checkA11y('login');
    await shot('01-login');
    await page.getByLabel('Key', { exact: true }).fill('operator');
    await page.getByLabel('Secret').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('api_unauthorized');
    await page.getByLabel('Secret').fill('op-secret-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The credential is kept for the tab only.
    const kept = await page.evaluate(`sessionStorage.getItem('sluice.authorization')`);
    expect(kept).toBe(`Basic ${Buffer.from('operator:op-secret-1').toString('base64')}`);
    await checkA11y('overview');
    await shot('02-overview');
  });

  it('shows a typo in the rule SQL at its line and column, on screen; fixed, tried, saved', async () => {
    await nav('Rules').click();
    await page.getByText('No rules yet.').waitFor();
    await checkA11y('rules (empty)');
    await page.getByRole('link', { name: 'New rule' }).click();
    await page.getByRole('heading', { name: 'New rule' }).waitFor();
    await page.getByLabel('Rule id').fill('hot');
    const sql = page.getByLabel('SQL', { exact: true });
    await sql.fill(TYPO_SQL);

    const diag = page.getByTestId('diagnostic');
    await diag.waitFor();
    expect(await diag.count()).toBe(1);
    expect(await diag.getAttribute('data-line')).toBe('3');
    expect(await diag.getAttribute('data-column')).toBe('6');
    expect(await diag.textContent()).toContain('Line 3, column 6');
    expect(await diag.textContent()).toContain('did you mean FROM?');
    expect(await page.locator('.snippet').textContent()).toBe(
      ' 3 | FORM "sensors/#"\n   |      ^^^^^^^^^^^',
    );
    // The mark covers exactly the offending token, drawn where line 3, column 6 is on screen.
    const mark = page.locator('mark.diag-mark');
    expect(await mark.textContent()).toBe('"sensors/#"');
    const box = (await sql.boundingBox())!;
    const m = (await mark.boundingBox())!;
    const metrics = (await page.evaluate(`(() => {
      const el = document.getElementById('rule-sql');
      const cs = getComputedStyle(el);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = cs.fontSize + ' ' + cs.fontFamily;
      return {
        lineHeight: parseFloat(cs.lineHeight),
        padTop: parseFloat(cs.paddingTop) + parseFloat(cs.borderTopWidth),
        padLeft: parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth),
        charWidth: ctx.measureText('M').width,
      };
    })()`)) as { lineHeight: number; padTop: number; padLeft: number; charWidth: number };
    expect(m.y - box.y).toBeGreaterThanOrEqual(metrics.padTop + 2 * metrics.lineHeight - 2);
    expect(m.y - box.y).toBeLessThanOrEqual(metrics.padTop + 2 * metrics.lineHeight + 2);
    expect(Math.abs(m.x - box.x - (metrics.padLeft + 5 * metrics.charWidth))).toBeLessThan(2);
    expect(Math.abs(m.width - 11 * metrics.charWidth)).toBeLessThan(2);
    expect(await sql.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('button', { name: 'Create rule' }).isDisabled()).toBe(true);
    await checkA11y('rule editor with a diagnostic');
    await shot('03-rule-typo');

    await sql.fill(TYPO_SQL.replace('FORM', 'FROM'));
    await page.getByTestId('no-diagnostics').waitFor();
    expect(await page.locator('mark.diag-mark').count()).toBe(0);
    expect(await sql.getAttribute('aria-invalid')).toBe('false');

    // Try it: the default sample (temp 35 from c_dashboard) passes WHERE …
    await page.getByRole('button', { name: 'Run test' }).click();
    const out = page.getByTestId('try-output');
    await expect.poll(() => out.textContent()).toContain('"temp": 35');
    expect(JSON.parse((await out.textContent())!)).toEqual({ temp: 35, clientid: 'c_dashboard' });
    // … and one that does not pass says so.
    await page.getByLabel('Payload').fill('{"temp": 20}');
    await page.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => out.textContent()).toContain('SQL Not Match');
    await shot('04-rule-try-it');

    await page.getByRole('checkbox', { name: /mem/ }).check();
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toContain('Rule hot saved (disabled)');
    const r = engine.rules().find((x) => x.id === 'hot');
    expect(r).toMatchObject({ enabled: false, actions: ['mem'] });
    expect(r?.sql).toBe(TYPO_SQL.replace('FORM', 'FROM'));
    await checkA11y('rule editor (saved)');
  });

  it('enables the rule, and the rate, the overview and the sink follow MQTT.js traffic', async () => {
    await nav('Rules').click();
    const row = page.locator('tr[data-rule="hot"]');
    await row.waitFor();
    expect(await row.getByTestId('rule-status').textContent()).toBe('disabled');
    await row.getByRole('button', { name: 'Enable hot' }).click();
    await expect.poll(() => row.getByTestId('rule-status').textContent()).toBe('enabled');
    expect(engine.rules().find((x) => x.id === 'hot')?.enabled).toBe(true);

    const pub = await mqtt.connectAsync(mqttUrl, { clientId: 'sensor-1', reconnectPeriod: 0 });
    let sent = 0;
    let hot = 0;
    let publishing = true;
    const loop = (async () => {
      while (publishing) {
        const temp = sent % 4 === 0 ? 20 : 40; // one in four stays under WHERE's 30
        await pub.publishAsync('sensors/room1', JSON.stringify({ temp }), { qos: 1 });
        sent++;
        if (temp > 30) hot++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const rate = await until('a rule rate above 0 on the rules page', async () => {
        const t = await row.getByTestId('rule-rate').textContent();
        return t !== null && Number(t) > 0 ? Number(t) : undefined;
      });
      expect(rate).toBeGreaterThan(0);
      await shot('05-rules-live');
      await checkA11y('rules (live)');
      await nav('Overview').click();
      await until('msgs/s in above 0 on the overview', async () => {
        const t = await page.getByTestId('rate-in').textContent();
        return t !== null && Number(t.replace('k', '')) > 0;
      });
      expect(await page.getByTestId('count-rules').textContent()).toBe('1 enabled of 1');
      await shot('06-overview-live');
      // A sink page: its write rate moves and its charts fill while traffic flows.
      await nav('Sinks').click();
      await page.locator('tr[data-sink="mem"]').getByRole('link', { name: 'mem' }).click();
      await page.getByRole('heading', { name: 'Sink mem' }).waitFor();
      await until('the sink write rate above 0', async () => {
        const t = await page.getByTestId('sink-write-rate').textContent();
        return t !== null && Number(t) > 0;
      });
      expect(await page.locator('.chart canvas').count()).toBe(3);
      await checkA11y('sink page');
      await shot('08-sink-mem');
    } finally {
      publishing = false;
      await loop;
    }
    // Every message was counted: matched on the rules page, written by the sink.
    await nav('Rules').click();
    await until('matched to reach every message sent', async () =>
      (await row.getByTestId('rule-matched').textContent()) === String(sent) ? true : undefined,
    );
    const mem = engine.sink('mem') as MemorySink;
    await until('the sink to hold every message over 30', async () => mem.records.length === hot);
    await nav('Sinks').click();
    const sinkRow = page.locator('tr[data-sink="mem"]');
    await until('the sinks page to count every write', async () =>
      (await sinkRow.getByTestId('sink-success').textContent()) === String(hot) ? true : undefined,
    );
    await checkA11y('sinks');
    await shot('07-sinks');

    // Clients: the publisher is listed; kick it, and it sees its connection close.
    let closed = false;
    pub.on('close', () => (closed = true));
    await nav('Clients').click();
    const client = page.locator('tr[data-client="sensor-1"]');
    await client.waitFor();
    await checkA11y('clients');
    await shot('09-clients');
    await client.getByRole('button', { name: 'Kick sensor-1' }).click();
    await until('the kicked client to see its connection close', async () => closed);
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toContain('Client sensor-1 disconnected.');
    await client.waitFor({ state: 'detached' });
    await pub.endAsync(true);
  });

  it('follows a trace live: each step of a message that passes WHERE and of one that fails it', async () => {
    await nav('Traces').click();
    await page.getByRole('heading', { name: 'Start a trace' }).waitFor();
    await page.getByLabel('Name').fill('e2e');
    await page.getByLabel('Topic filter').fill('sensors/#');
    await page.getByLabel('Duration (s)').fill('120');
    await page.getByLabel('Max messages').fill('10');
    await page.getByRole('button', { name: 'Start trace' }).click();
    await expect.poll(() => page.getByTestId('trace-state').textContent()).toMatch(/^Live/);
    const id = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/traces\//, ''));
    expect(id).not.toBe('');
    const dev = await mqtt.connectAsync(mqttUrl, { clientId: 'dev-trace', reconnectPeriod: 0 });
    try {
      await dev.publishAsync('sensors/room2', JSON.stringify({ temp: 41 }), { qos: 1 });
      await dev.publishAsync('sensors/room2', JSON.stringify({ temp: 12 }), { qos: 1 });
    } finally {
      await dev.endAsync();
    }
    const msgs = page.locator('details.trace-msg');
    const stepsOf = (i: number) =>
      msgs
        .nth(i)
        .locator('li[data-step]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    await until('both messages and the ack of the first', async () =>
      (await msgs.count()) === 2 && (await stepsOf(0)).includes('ack') ? true : undefined,
    );
    expect(await stepsOf(0)).toEqual([
      'received',
      'rule_matched',
      'where',
      'select',
      'action_render',
      'buffered',
      'send_attempt',
      'ack',
    ]);
    expect(await stepsOf(1)).toEqual(['received', 'rule_matched', 'where']);
    const where = msgs.nth(1).locator('li[data-step="where"]');
    expect(await where.textContent()).toContain('"result":false');
    expect(await where.textContent()).toContain('"value":12');
    expect(await msgs.nth(0).locator('summary').textContent()).toContain('from dev-trace');
    await checkA11y('trace view');
    await shot('11-trace');
    // Deleting the trace ends its stream: the view says so.
    await page
      .locator(`tr[data-trace="${id}"]`)
      .getByRole('button', { name: /Delete/ })
      .click();
    await expect.poll(() => page.getByTestId('trace-state').textContent()).toMatch(/^Ended/);
  });

  it('the traces page passes axe too', async () => {
    await nav('Traces').click();
    await page.getByRole('heading', { name: 'Start a trace' }).waitFor();
    await checkA11y('traces');
    await shot('10-traces');
  });

  it('shows a viewer key every page but refuses its changes with the API’s 403', async () => {
    // A fresh context: its own sessionStorage, so it signs in anew.
    const ctx = await browser.newContext();
    const p2 = await ctx.newPage();
    try {
      await p2.goto(`${base}/#/rules`);
      await p2.getByLabel('Key', { exact: true }).fill('watcher');
      await p2.getByLabel('Secret').fill('view-secret-1');
      await p2.getByRole('button', { name: 'Sign in' }).click();
      const row = p2.locator('tr[data-rule="hot"]');
      await row.waitFor();
      await row.getByRole('button', { name: 'Disable hot' }).click();
      await expect.poll(() => p2.getByRole('alert').textContent()).toContain('api_forbidden');
      expect(engine.rules().find((x) => x.id === 'hot')?.enabled).toBe(true);
    } finally {
      await ctx.close();
    }
  });

  it('needs no login on a loopback API without credentials (anonymous, as the API)', async () => {
    const open = createApiServer(
      { engine, logger: silentLogger, version: 'e2e' },
      { bind: '127.0.0.1', port: 0, dashboardDir: path.join(dir, 'web') },
    );
    const url = (await open.start()).url;
    const p2 = await browser.newPage();
    try {
      await p2.goto(`${url}/#/rules`);
      await p2.getByRole('heading', { name: 'Rules' }).waitFor();
      await p2.locator('tr[data-rule="hot"]').waitFor();
      expect(await p2.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      await p2.close();
      await open.stop();
    }
  });

  it('raised no script error and no CSP violation on any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
