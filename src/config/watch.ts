/**
 * Hot reload trigger: watch directories (sluice.yaml's directory and every rule-file
 * directory) with `fs.watch` and call `onChange` once the files have been quiet for
 * `debounceMs`. Editors often save by writing a temp file and renaming it over the original,
 * which breaks a watch on the file itself — watching the directory survives that. Only changes
 * to names matching the target's patterns count (sluice.yaml, the rule-file globs), so logs or
 * other files written next to the config do not trigger reloads. A directory that cannot be
 * watched (missing) is skipped; `update()` re-targets the set after a reload.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';

/** A directory and the file names in it that matter (`*` and `?` globs). */
export interface WatchTarget {
  readonly dir: string;
  readonly names: readonly string[];
}

export interface ConfigWatcher {
  /** Watch exactly these targets from now on. */
  update(targets: readonly WatchTarget[]): void;
  close(): void;
}

/** `*`/`?` glob over one file name → RegExp. */
export function globName(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]') +
      '$',
  );
}

export function watchDirs(
  targets: readonly WatchTarget[],
  debounceMs: number,
  onChange: () => void,
  onError: (err: unknown, dir: string) => void = () => {},
): ConfigWatcher {
  const watchers = new Map<string, { w: FSWatcher; key: string }>();
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

  function update(next: readonly WatchTarget[]): void {
    // One watcher per directory, matching the union of its targets' names.
    const byDir = new Map<string, Set<string>>();
    for (const t of next) {
      const set = byDir.get(t.dir) ?? new Set<string>();
      for (const n of t.names) set.add(n);
      byDir.set(t.dir, set);
    }
    for (const [dir, entry] of watchers) {
      const names = byDir.get(dir);
      if (!names || [...names].sort().join('\0') !== entry.key) {
        entry.w.close();
        watchers.delete(dir);
      }
    }
    for (const [dir, names] of byDir) {
      if (watchers.has(dir)) continue;
      const res = [...names].map(globName);
      // Some platforms give no file name; then any change counts.
      const relevant = (name: string | null): boolean =>
        name === null || res.some((re) => re.test(name));
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (relevant(name === null ? null : String(name))) fire();
        });
        w.on('error', (err) => onError(err, dir));
        watchers.set(dir, { w, key: [...names].sort().join('\0') });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err, dir);
      }
    }
  }

  update(targets);
  return {
    update,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const e of watchers.values()) e.w.close();
      watchers.clear();
    },
  };
}
