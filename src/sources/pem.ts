import { readFileSync } from 'node:fs';

/** A PEM field: the text itself when it starts with "-----BEGIN", else a file path read now. */
export function readPem(v: string | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  return v.trimStart().startsWith('-----BEGIN') ? Buffer.from(v) : readFileSync(v);
}
