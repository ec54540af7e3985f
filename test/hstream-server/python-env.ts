/**
 * A Python virtualenv with HStreamDB's official Python client (`hstreamdb` 0.5.0 from PyPI,
 * unmodified), for test/integration/hstream-python.test.ts. Created once per checkout under
 * node_modules/.cache/sluice-hstream-py and reused; built in a temporary directory and renamed
 * into place, so an interrupted or concurrent install never leaves a half-made venv behind.
 *
 * hstreamdb 0.5.0 ships only an sdist whose setup.py imports `pkg_resources`, so it installs with
 * `pip install 'setuptools<70' wheel` then `pip install --no-build-isolation hstreamdb==0.5.0`.
 * No skip: a missing python3 or an unreachable package index is an Error with the reason
 * (test/python-venv.ts).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { venvPython } from '../python-venv.js';

export const HSTREAMDB_PY_VERSION = '0.5.0';

/** Path of the venv's python with `hstreamdb` importable; installs it on first use. */
export function hstreamPython(): string {
  return venvPython({
    name: `sluice-hstream-py-${HSTREAMDB_PY_VERSION}`,
    installs: [
      ['setuptools<70', 'wheel'],
      ['--no-build-isolation', `hstreamdb==${HSTREAMDB_PY_VERSION}`],
    ],
    probe: 'hstreamdb',
  });
}

/**
 * Run the client check script with a JSON plan; resolves with its parsed JSON output. Async on
 * purpose: the stand-in server usually runs in this process and must keep answering.
 */
export function runPythonCheck<T>(python: string, plan: unknown, timeoutMs = 240_000): Promise<T> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'python', 'hstream_client_check.py');
  return new Promise<T>((resolve, reject) => {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(
          new Error(`python client check failed (exit ${code ?? signal}):\n${err.slice(-4000)}`),
        );
      try {
        resolve(JSON.parse(out) as T);
      } catch (e) {
        reject(new Error(`python client check printed no JSON: ${(e as Error).message}\n${err}`));
      }
    });
    child.stdin.end(JSON.stringify(plan));
  });
}
