/**
 * Hot reload trigger: watch directories (sluice.yaml's directory and every rule-file
 * directory) with `fs.watch` and call `onChange` once the files have been quiet for
 * `debounceMs`. Editors often save by writing a temp file and renaming it over the original,
 * which breaks a watch on the file itself — watching the directory survives that. A directory
 * that cannot be watched (missing) is skipped; `update()` re-targets the set after a reload.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';

export interface ConfigWatcher {
  /** Watch exactly these directories from now on. */
  update(dirs: readonly string[]): void;
  close(): void;
}

export function watchDirs(
  dirs: readonly string[],
  debounceMs: number,
  onChange: () => void,
  onError: (err: unknown, dir: string) => void = () => {},
): ConfigWatcher {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fire = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) onChange();
    }, debounceMs);
  };

  function update(next: readonly string[]): void {
    for (const [dir, w] of watchers) {
      if (!next.includes(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of next) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, fire);
        w.on('error', (err) => onError(err, dir));
        watchers.set(dir, w);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err, dir);
      }
    }
  }

  update(dirs);
  return {
    update,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
