/**
 * What authentication and the audit log cost a management API request: sequential keep-alive
 * requests over real HTTP on 127.0.0.1 to APIs started from one engine, one scenario at a
 * time, plus the latency of a key's first request (its scrypt verification).
 *
 *   npx tsx bench/throughput/api-auth.bench.ts [requests per scenario, default 5000]
 *
 * Results: bench/results/api.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';

import { createApiKey, createApiServer } from '../../src/api/index.js';
import type { ApiServerConfig } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-bench-'));
writeFileSync(
  path.join(dir, 'sluice.yaml'),
  [
    'broker:',
    '  listeners:',
    '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
    'sinks:',
    '  mem: { type: memory }',
    'rules:',
    '  - { id: r1, sql: "SELECT 1 AS one FROM \\"b/#\\"", actions: [mem] }',
    'rule_files: []',
  ].join('\n'),
);
const engine = createEngine(path.join(dir, 'sluice.yaml'), {
  logger: silentLogger,
  env: {},
  watch: false,
});
await engine.start();
const keysFile = path.join(dir, 'keys.json');
const key = createApiKey(keysFile, { name: 'bench', role: 'administrator' });
const basic = `Basic ${Buffer.from(`${key.stored.api_key}:${key.secret}`).toString('base64')}`;

function call(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function scenario(
  name: string,
  config: Partial<ApiServerConfig>,
  method: string,
  p: string,
  headers: Record<string, string>,
  body?: string,
  n = N,
): Promise<void> {
  const api = createApiServer(
    { engine, logger: silentLogger },
    { bind: '127.0.0.1', port: 0, ...config },
  );
  const { url } = await api.start();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const t0 = performance.now();
  const first = await call(agent, url + p, method, headers, body);
  const firstMs = performance.now() - t0;
  for (let i = 0; i < Math.min(200, n); i++) await call(agent, url + p, method, headers, body); // warm-up
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = await call(agent, url + p, method, headers, body);
    if (s !== first) throw new Error(`${name}: status ${s}, first was ${first}`);
  }
  const ms = performance.now() - t1;
  agent.destroy();
  await api.stop();
  console.log(
    `| ${name} | ${n} | ${first} | ${firstMs.toFixed(1)} | ${Math.round((n / ms) * 1000)} | ${((ms / n) * 1000).toFixed(0)} |`,
  );
}

console.log(`requests per scenario: ${N}; load average ${loadavg()[0]?.toFixed(2)}`);
console.log('| scenario | requests | status | first request (ms) | requests/s | µs/request |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
await scenario('GET status, loopback, no credential configured', {}, 'GET', '/api/v5/status', {});
await scenario('GET status, bearer token', { token: 'bench-token' }, 'GET', '/api/v5/status', {
  Authorization: 'Bearer bench-token',
});
await scenario('GET status, API key (HTTP Basic)', { keysFile }, 'GET', '/api/v5/status', {
  Authorization: basic,
});
await scenario(
  'GET status, wrong API key secret (401, limit off)',
  { keysFile, authFailureLimit: 0 },
  'GET',
  '/api/v5/status',
  { Authorization: `Basic ${Buffer.from(`${key.stored.api_key}:wrong`).toString('base64')}` },
  undefined,
  50, // each one is an scrypt verification
);
const put = '{"enable": true}';
await scenario(
  'PUT rule, API key, audit to the log only',
  { keysFile },
  'PUT',
  '/api/v5/rules/r1',
  {
    Authorization: basic,
  },
  put,
);
await scenario(
  'PUT rule, API key, audit log file',
  { keysFile, auditLog: path.join(dir, 'audit.jsonl') },
  'PUT',
  '/api/v5/rules/r1',
  { Authorization: basic },
  put,
);
await engine.stop({ drainMs: 0 });
rmSync(dir, { recursive: true, force: true });
