/**
 * Process helpers for the test services: free ephemeral ports on 127.0.0.1, spawning a server in
 * its own process group (so one `kill(-pgid)` ends it and every child it forked), and stopping
 * such a group with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { openSync, closeSync, existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it immediately). */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port from listen(0)');
  return addr.port;
}

async function udpFree(port: number): Promise<boolean> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, '127.0.0.1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      sock.close();
    } catch {
      /* not bound */
    }
  }
}

/** A port free for both TCP and UDP on 127.0.0.1 (the KDC serves both on one port). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort();
    if (await udpFree(port)) return port;
  }
  throw new Error('could not find a port free for both TCP and UDP on 127.0.0.1');
}

/** `n` distinct free TCP ports. */
export async function freeTcpPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freeTcpPort());
  return [...ports];
}

export interface Spawned {
  pid: number;
  /** Resolves with the exit code/signal once the leader process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `cmd` detached in a new process group, stdout+stderr appended to `logFile`. The child is
 * unref'd: it outlives the caller until `stopGroup(pid)` (vitest globalSetup teardown does that).
 */
export function spawnGroup(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): Spawned {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`failed to start ${cmd}`);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: -1, signal: null }));
      },
    );
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/** True while any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM the whole group, wait up to `graceMs`, then SIGKILL. Never throws. */
export async function stopGroup(pgid: number, graceMs = 15_000): Promise<void> {
  if (!groupAlive(pgid)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await delay(100);
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await delay(100);
}

/** Run a command to completion; rejects with its output on a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`),
          );
        } else resolve(stdout + stderr);
      },
    );
  });
}

/** Absolute path of an executable from the usual system dirs (sbin is often not on PATH). */
export function which(name: string): string | undefined {
  const dirs = [
    ...(process.env['PATH'] ?? '').split(':'),
    '/usr/sbin',
    '/sbin',
    '/usr/bin',
    '/usr/local/bin',
    '/usr/local/sbin',
  ];
  for (const d of dirs) {
    if (d && existsSync(`${d}/${name}`)) return `${d}/${name}`;
  }
  return undefined;
}
