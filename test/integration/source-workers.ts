/**
 * Sluice worker child processes (fixtures/source-worker.ts) for the source tests and the
 * scale-out bench: spawn, wait for `@@ready`, read metrics, SIGKILL or SIGTERM them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(root, 'test/integration/fixtures/source-worker.ts');

export interface Worker {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Source metrics reported by the worker (SIGUSR2 → `@@metrics`). */
  metrics(): Promise<{ source?: Record<string, number | boolean> }>;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
}

export async function startWorker(
  name: string,
  config: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', SLUICE_WORKER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitFor = async (re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(out.slice(from));
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`worker ${name} exited:\n${out}`);
      if (Date.now() > deadline)
        throw new Error(`worker ${name}: no ${re} within ${ms} ms:\n${out}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await waitFor(/@@ready/, timeoutMs);
  return {
    name,
    child,
    output: () => out,
    async metrics() {
      const from = out.length;
      child.kill('SIGUSR2');
      const m = await waitFor(/@@metrics (.*)\n/, 10_000, from);
      return JSON.parse(m[1]!) as { source?: Record<string, number | boolean> };
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
