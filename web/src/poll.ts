/** `usePoll`: run a loader now and every `ms` while the page is shown; keep the last result. */
import { useEffect, useRef, useState } from 'preact/hooks';

import { errorText } from './api.js';

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Load again now (after a change the user made). */
  readonly refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, ms: number, key = ''): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const tick = useRef<() => void>(() => {});
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const run = async (): Promise<void> => {
      if (running) return;
      running = true;
      clearTimeout(timer);
      try {
        const v = await load();
        if (alive) {
          setData(v);
          setError(undefined);
        }
      } catch (e) {
        if (alive) setError(errorText(e));
      } finally {
        running = false;
        if (alive) timer = setTimeout(() => void run(), ms);
      }
    };
    tick.current = () => void run();
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // `load` is a fresh closure each render; `key` says when it really changed.
  }, [ms, key]);
  return { data, error, refresh: () => tick.current() };
}
