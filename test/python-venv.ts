/**
 * Python virtualenvs for tests that drive real Python clients (HStreamDB's official client,
 * paho-mqtt). Each venv is created once per checkout under node_modules/.cache/<name> and
 * reused; it is built in a temporary directory and renamed into place, so an interrupted or
 * concurrent install never leaves a half-made venv behind. No skip: a missing python3 or an
 * unreachable package index is an Error with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 540_000 });
  if (r.error || r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `setting up the Python venv failed at "${what}" (${cmd} ${args.join(' ')}): ${
        r.error ? r.error.message : `exit ${r.status}`
      }\n${tail}`,
    );
  }
}

export interface VenvSpec {
  /** Directory name under node_modules/.cache (include the versions: a new spec, a new venv). */
  name: string;
  /** `pip install` argument lists, run in order. */
  installs: string[][];
  /** A module the finished venv must import. */
  probe: string;
}

/** Path of the venv's python, installing it on first use. */
export function venvPython(spec: VenvSpec): string {
  const venv = join(ROOT, 'node_modules', '.cache', spec.name);
  const python = join(venv, 'bin', 'python');
  const ready = () =>
    existsSync(python) &&
    spawnSync(python, ['-c', `import ${spec.probe}`], { stdio: 'ignore' }).status === 0;
  if (ready()) return python;
  const tmp = `${venv}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(venv), { recursive: true });
  run('python3', ['-m', 'venv', tmp], 'python3 -m venv (is python3 with venv installed?)');
  const pip = [join(tmp, 'bin', 'python'), '-m', 'pip', '--disable-pip-version-check', 'install'];
  for (const args of spec.installs)
    run(pip[0]!, [...pip.slice(1), ...args], `pip install ${args.join(' ')}`);
  try {
    renameSync(tmp, venv);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run finished first
  }
  if (!ready()) throw new Error(`the Python venv at ${venv} cannot import ${spec.probe}`);
  return python;
}

/** paho-mqtt 2 (the Eclipse Python MQTT client). */
export const PAHO_MQTT_VERSION = '2.2.0';
export const pahoPython = (): string =>
  venvPython({
    name: `sluice-paho-${PAHO_MQTT_VERSION}`,
    installs: [[`paho-mqtt==${PAHO_MQTT_VERSION}`]],
    probe: 'paho.mqtt.client',
  });
