/**
 * Issue #20 item 3: every warning and error log line carries a code from docs/errors.md. The
 * scanner (scripts/log-call-scan.ts) reads every src/**\/*.ts except tests with the TypeScript
 * parser, so files added later are checked too.
 */
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadAllErrorModules } from '../../scripts/errors-catalog.js';
import { scanSource, scanTree } from '../../scripts/log-call-scan.js';
import { allErrorCodes } from '../../src/core/index.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('log call scanner', () => {
  const scan = (text: string) =>
    scanSource('probe.ts', text).map(({ line, level, codes, problem }) => ({
      line,
      level,
      codes,
      problem,
    }));

  it('finds the code of literal, multi-line, conditional and const-object calls', () => {
    const text = [
      "log.warn({ code: 'a_code', rule: id }, 'm');",
      'this.opts.logger.error(',
      "  { err, code: 'b_code' },",
      "  'm',",
      ');',
      "logger.child({ component: 'x' }).warn({ code: ok ? 'c1' : 'c2' }, 'm');",
      "const fields = { code: 'd_code', n: 1 };",
      "deps.rulesLog.error(fields, 'm');",
      "o['logger'].warn({ ...base, code: 'e_code' }, `m ${x}`);",
    ].join('\n');
    expect(scan(text)).toEqual([
      { line: 1, level: 'warn', codes: ['a_code'], problem: undefined },
      { line: 2, level: 'error', codes: ['b_code'], problem: undefined },
      { line: 6, level: 'warn', codes: ['c1', 'c2'], problem: undefined },
      { line: 8, level: 'error', codes: ['d_code'], problem: undefined },
      { line: 9, level: 'warn', codes: ['e_code'], problem: undefined },
    ]);
  });

  it('reports calls whose code is missing, computed, shadowed by a spread or not in a literal', () => {
    const text = [
      "log.warn({ err }, 'no code');",
      "log.error({ code: err.code }, 'computed');",
      "log.warn({ code }, 'shorthand');",
      "log.warn({ code: 'x', ...report }, 'spread after');",
      "log.error(makeFields(), 'call');",
      "log.error(unknownVar, 'unresolved');",
      'log.warn();',
      "sink.error({ err }, 'pino shape on any receiver');",
    ].join('\n');
    const problems = scan(text).map((c) => [c.line, c.problem]);
    expect(problems).toEqual([
      [1, 'no code property'],
      [2, 'code is not a string literal: err.code'],
      [3, 'code is a variable (`{ code }`), not a string literal'],
      [4, 'a spread after code may override it: ...report'],
      [5, 'first argument is not an object literal: makeFields()'],
      [6, 'first argument unknownVar is not an object literal'],
      [7, 'no arguments: pass { code: … } first'],
      [8, 'no code property'],
    ]);
  });

  it('leaves console and non-logger .error calls (RxJS subscribers) alone', () => {
    const text = [
      "console.warn('x');",
      "console.error({ a: 1 }, 'y');",
      'subscriber.error(err);',
      "catalog.warn('not a logger');",
      'log.info({}, "info is not checked");',
    ].join('\n');
    expect(scan(text)).toEqual([]);
  });
});

describe('warn/error log calls in src/', () => {
  it('each logs a documented code (docs/errors.md; declare new codes in the errors.ts of the module)', async () => {
    await loadAllErrorModules();
    const declared = allErrorCodes();
    const calls = scanTree(root);
    // The scanner must see the tree (dozens of calls today); an empty scan proves nothing.
    expect(calls.length).toBeGreaterThan(30);
    const bad = calls
      .map((c) => {
        const undeclared = c.codes.filter((k) => !declared.has(k));
        const why =
          c.problem ?? (undeclared.length ? `undeclared code ${undeclared.join(', ')}` : '');
        return why ? `${c.file}:${c.line}: ${c.level}: ${why}` : '';
      })
      .filter(Boolean);
    expect(bad).toEqual([]);
  });
});
