/**
 * The lock of a disk persistence directory (`broker.persistence.dir`): two brokers journaling
 * into one directory would corrupt each other's state, so a broker holds `LOCK` while it runs.
 *
 * The file names its owner (`<hostname>:<pid>`) and is touched every `heartbeatMs` while held.
 * Opening a directory whose LOCK names another owner and was touched within `staleMs` fails with
 * `broker_persistence_locked` (another Sluice runs on it, on this host or on another one sharing
 * the volume). A lock that is older than that, or that names this very owner (a crashed run of
 * the same container restarting as the same pid, or a crash simulated in-process), is stale and
 * taken over. Liveness is judged by the heartbeat, not by the pid, because pids mean nothing
 * across hosts and containers (every container's Sluice may be pid 1).
 */
import {
  closeSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BrokerErrors } from './errors.js';

export interface DirLock {
  release(): void;
}

export interface DirLockOptions {
  readonly heartbeatMs?: number;
  readonly staleMs?: number;
  readonly now?: () => number;
}

export function lockDir(dir: string, opts: DirLockOptions = {}): DirLock {
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const staleMs = opts.staleMs ?? 3 * heartbeatMs;
  const now = opts.now ?? Date.now;
  const path = join(dir, 'LOCK');
  const me = `${hostname()}:${process.pid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${me}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let owner = '';
      let age = Infinity;
      try {
        owner = readFileSync(path, 'utf8').trim();
        age = now() - statSync(path).mtimeMs;
      } catch {
        // Gone in between: try again.
      }
      if (owner !== me && age < staleMs)
        throw BrokerErrors.broker_persistence_locked(
          `broker.persistence.dir ${dir} is in use by ${owner || 'another broker'} (its LOCK was refreshed ${Math.round(age / 1000)} s ago); one broker per directory. If no broker runs there, the lock goes stale after ${Math.round(staleMs / 1000)} s`,
          { context: { dir, owner, age_ms: Math.round(age) } },
        );
      unlinkSync(path);
    }
  }
  const timer = setInterval(() => {
    const t = new Date(now());
    try {
      utimesSync(path, t, t);
    } catch {
      // Removed under us; the next open by another broker will succeed — nothing to do here.
    }
  }, heartbeatMs);
  timer.unref();
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      clearInterval(timer);
      try {
        if (readFileSync(path, 'utf8').trim() === me) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
