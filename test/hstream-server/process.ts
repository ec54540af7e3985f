/**
 * Run the stand-in server (a TEST DOUBLE for the HStreamDB wire protocol) as a child process,
 * for the benchmark and the kill/restart fault tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface StandInProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Send a signal and wait for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export async function spawnStandIn(args: string[] = []): Promise<StandInProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error('stand-in server did not start within 30 s')),
      30_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /HSTREAM_STANDIN_PORT=(\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in server exited early with code ${code}`));
    });
  });
  return {
    port,
    child,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
