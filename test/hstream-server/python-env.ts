/**
 * A Python virtualenv with HStreamDB's official Python client (`hstreamdb` 0.5.0 from PyPI,
 * unmodified), for test/integration/hstream-python.test.ts. Created once per checkout under
 * node_modules/.cache/sluice-hstream-py and reused; built in a temporary directory and renamed
 * into place, so an interrupted or concurrent install never leaves a half-made venv behind.
 *
 * hstreamdb 0.5.0 ships only an sdist whose setup.py imports `pkg_resources`, so it installs with
 * `pip install 'setuptools<70' wheel` then `pip install --no-build-isolation hstreamdb==0.5.0`.
 * No skip: a missing python3 or an unreachable package index is an Error with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HSTREAMDB_PY_VERSION = '0.5.0';
const VENV = join(ROOT, 'node_modules', '.cache', `sluice-hstream-py-${HSTREAMDB_PY_VERSION}`);

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 540_000 });
  if (r.error || r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `setting up the Python client venv failed at "${what}" (${cmd} ${args.join(' ')}): ${
        r.error ? r.error.message : `exit ${r.status}`
      }\n${tail}`,
    );
  }
}

/** Path of the venv's python with `hstreamdb` importable; installs it on first use. */
export function hstreamPython(): string {
  const python = join(VENV, 'bin', 'python');
  const ready = () =>
    existsSync(python) &&
    spawnSync(python, ['-c', 'import hstreamdb'], { stdio: 'ignore' }).status === 0;
  if (ready()) return python;
  const tmp = `${VENV}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(VENV), { recursive: true });
  run('python3', ['-m', 'venv', tmp], 'python3 -m venv (is python3 with venv installed?)');
  const pip = [join(tmp, 'bin', 'python'), '-m', 'pip', '--disable-pip-version-check', 'install'];
  run(pip[0]!, [...pip.slice(1), 'setuptools<70', 'wheel'], 'pip install setuptools<70 wheel');
  run(
    pip[0]!,
    [...pip.slice(1), '--no-build-isolation', `hstreamdb==${HSTREAMDB_PY_VERSION}`],
    `pip install --no-build-isolation hstreamdb==${HSTREAMDB_PY_VERSION}`,
  );
  try {
    renameSync(tmp, VENV);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run finished first
  }
  if (!ready()) throw new Error(`the Python client venv at ${VENV} cannot import hstreamdb`);
  return python;
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
