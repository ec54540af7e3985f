/**
 * Expected vs actual for `sluice test` (rule-tests.ts): per-field differences with a path
 * (`alerts[0].payload.temp`), so a failure says which field is wrong, not just "not equal".
 *
 * - exact: equal values; objects have the same keys; lists the same length, item by item.
 * - subset: every expected key is present and matches (recursively); extra keys are fine;
 *   lists still match item by item and have the same length (outputs are ordered).
 * - An expected mapping or list compared with a text value is compared with that text
 *   JSON-decoded (republish payloads, Kafka values are JSON text on the wire).
 */
import { encodeJson } from '../core/index.js';
import type { Value } from '../core/index.js';

export interface FieldDifference {
  readonly path: string;
  readonly message: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
}

export type MatchMode = 'exact' | 'subset';

/** A rule value as plain JSON (what a test file can write): floats, Buffers, maps decoded. */
export function plainJson(v: Value): unknown {
  if (v === undefined) return null;
  return JSON.parse(encodeJson(v)) as unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

export function compareValues(
  expected: unknown,
  actual: unknown,
  mode: MatchMode,
  path: string,
  out: FieldDifference[] = [],
): FieldDifference[] {
  if ((isObject(expected) || Array.isArray(expected)) && typeof actual === 'string') {
    let decoded: unknown;
    try {
      decoded = JSON.parse(actual);
    } catch {
      out.push({
        path,
        message: `${path}: expected ${show(expected)}, got text that is not JSON: ${show(actual)}`,
        expected,
        actual,
      });
      return out;
    }
    return compareValues(expected, decoded, mode, path, out);
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push({
        path,
        message: `${path}: expected a list ${show(expected)}, got ${show(actual)}`,
        expected,
        actual,
      });
      return out;
    }
    if (expected.length !== actual.length)
      out.push({
        path,
        message: `${path}: expected ${expected.length} item(s), got ${actual.length}`,
        expected,
        actual,
      });
    const n = Math.min(expected.length, actual.length);
    for (let i = 0; i < n; i++) compareValues(expected[i], actual[i], mode, `${path}[${i}]`, out);
    return out;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) {
      out.push({
        path,
        message: `${path}: expected a mapping ${show(expected)}, got ${show(actual)}`,
        expected,
        actual,
      });
      return out;
    }
    for (const [k, e] of Object.entries(expected)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in actual)) {
        out.push({ path: p, message: `${p}: missing (expected ${show(e)})`, expected: e });
        continue;
      }
      compareValues(e, actual[k], mode, p, out);
    }
    if (mode === 'exact')
      for (const [k, a] of Object.entries(actual))
        if (!(k in expected)) {
          const p = path ? `${path}.${k}` : k;
          out.push({ path: p, message: `${p}: not expected, got ${show(a)}`, actual: a });
        }
    return out;
  }
  if (expected !== actual && !(expected === null && actual === undefined))
    out.push({
      path,
      message: `${path}: expected ${show(expected)}, got ${show(actual)}`,
      expected,
      actual,
    });
  return out;
}

/** One action's outputs: count first, then item by item. */
export function compareOutputs(
  action: string,
  expected: readonly unknown[],
  actual: readonly unknown[],
  mode: MatchMode,
): FieldDifference[] {
  const out: FieldDifference[] = [];
  if (expected.length !== actual.length)
    out.push({
      path: action,
      message:
        expected.length === 0
          ? `${action}: expected no output, got ${actual.length}: ${actual.map(show).join(', ')}`
          : `${action}: expected ${expected.length} output(s), got ${actual.length}${actual.length ? `: ${actual.map(show).join(', ')}` : ''}`,
      expected,
      actual,
    });
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) compareValues(expected[i], actual[i], mode, `${action}[${i}]`, out);
  return out;
}
