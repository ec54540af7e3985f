/**
 * Finds every warning/error log call in the source and the `code` it logs (issue #20 item 3:
 * every warn/error line carries a code documented in docs/errors.md). Used by
 * test/unit/log-codes.test.ts; `npx tsx scripts/log-call-scan.ts` prints the offending calls.
 *
 * A call is a log call when it is `<receiver>.warn(…)`, `.error(…)` or `.fatal(…)` and either
 * the receiver is named like a logger (`log`, `logger`, `this.opts.logger`, `rulesLog`, a
 * `….child(…)` call) or the call has pino's shape `(object literal, message)`. `console` is
 * not a logger. The first argument must be an object literal (or a `const` in the same file
 * initialised with one) whose `code` property is a string literal, or a `?:` choosing between
 * string literals, with no spread after it (a spread could override it).
 */
import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface LogCall {
  file: string;
  line: number;
  level: string;
  /** The literal codes the call can log (two for `cond ? 'a' : 'b'`); empty when `problem`. */
  codes: string[];
  /** Why the call's code cannot be checked, if it cannot. */
  problem?: string;
}

const LEVELS = new Set(['warn', 'error', 'fatal']);

function receiverIsLogger(e: ts.Expression): boolean {
  if (ts.isParenthesizedExpression(e)) return receiverIsLogger(e.expression);
  if (ts.isCallExpression(e))
    return ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'child';
  const name = ts.isIdentifier(e)
    ? e.text
    : ts.isPropertyAccessExpression(e)
      ? e.name.text
      : undefined;
  return (
    name !== undefined && (/^(log|logger)$/i.test(name) || /[a-z0-9_](Log|Logger)$/.test(name))
  );
}

function isReceiverConsole(e: ts.Expression): boolean {
  return ts.isIdentifier(e) && e.text === 'console';
}

/** Literal values of a `code` initialiser, or a problem. */
function literalCodes(e: ts.Expression): string[] | string {
  if (ts.isParenthesizedExpression(e)) return literalCodes(e.expression);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [e.text];
  if (ts.isConditionalExpression(e)) {
    const a = literalCodes(e.whenTrue);
    const b = literalCodes(e.whenFalse);
    if (typeof a === 'string') return a;
    if (typeof b === 'string') return b;
    return [...a, ...b];
  }
  return `code is not a string literal: ${e.getText()}`;
}

function propName(n: ts.PropertyName): string | undefined {
  return ts.isIdentifier(n) || ts.isStringLiteral(n) ? n.text : undefined;
}

function checkObject(obj: ts.ObjectLiteralExpression): string[] | string {
  let codes: string[] | string | undefined;
  for (const p of obj.properties) {
    if (ts.isSpreadAssignment(p)) {
      if (codes !== undefined) return `a spread after code may override it: ${p.getText()}`;
      continue;
    }
    if (ts.isShorthandPropertyAssignment(p) && p.name.text === 'code')
      codes = 'code is a variable (`{ code }`), not a string literal';
    else if (ts.isPropertyAssignment(p) && propName(p.name) === 'code')
      codes = literalCodes(p.initializer);
  }
  return codes ?? 'no code property';
}

/** The object literal a `const name = {…}` in this file holds, if any. */
function constObject(sf: ts.SourceFile, name: string): ts.ObjectLiteralExpression | undefined {
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (n: ts.Node): void => {
    if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.name.text === name &&
      n.initializer &&
      ts.isObjectLiteralExpression(n.initializer) &&
      ts.isVariableDeclarationList(n.parent) &&
      (n.parent.flags & ts.NodeFlags.Const) !== 0
    )
      found = n.initializer;
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

function firstArgument(sf: ts.SourceFile, call: ts.CallExpression): string[] | string {
  const a = call.arguments[0];
  if (!a) return 'no arguments: pass { code: … } first';
  if (ts.isObjectLiteralExpression(a)) return checkObject(a);
  if (ts.isIdentifier(a)) {
    const obj = constObject(sf, a.text);
    return obj ? checkObject(obj) : `first argument ${a.text} is not an object literal`;
  }
  return `first argument is not an object literal: ${a.getText().slice(0, 60)}`;
}

/** Every warn/error/fatal log call in one source text. */
export function scanSource(file: string, text: string): LogCall[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: LogCall[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      let level: string | undefined;
      let receiver: ts.Expression | undefined;
      if (ts.isPropertyAccessExpression(callee) || ts.isPropertyAccessChain(callee)) {
        level = callee.name.text;
        receiver = callee.expression;
      } else if (
        ts.isElementAccessExpression(callee) &&
        ts.isStringLiteral(callee.argumentExpression)
      ) {
        level = callee.argumentExpression.text;
        receiver = callee.expression;
      }
      if (level && receiver && LEVELS.has(level) && !isReceiverConsole(receiver)) {
        const [a0, a1] = n.arguments;
        const pinoShape =
          n.arguments.length === 2 &&
          a0 !== undefined &&
          ts.isObjectLiteralExpression(a0) &&
          a1 !== undefined &&
          !ts.isObjectLiteralExpression(a1);
        if (receiverIsLogger(receiver) || pinoShape) {
          const r = firstArgument(sf, n);
          const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
          out.push(
            typeof r === 'string'
              ? { file, line, level, codes: [], problem: r }
              : { file, line, level, codes: r },
          );
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Every warn/error/fatal log call under src/ (tests excluded). */
export function scanTree(root: string): LogCall[] {
  const files = globSync('src/**/*.ts', { cwd: root })
    .filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
  return files.flatMap((f) => scanSource(f, readFileSync(path.join(root, f), 'utf8')));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadAllErrorModules } = await import('./errors-catalog.js');
  const { allErrorCodes } = await import('../src/core/index.js');
  await loadAllErrorModules();
  const declared = allErrorCodes();
  let bad = 0;
  for (const c of scanTree(path.resolve(import.meta.dirname, '..'))) {
    const undeclared = c.codes.filter((k) => !declared.has(k));
    if (c.problem || undeclared.length) {
      bad++;
      console.log(`${c.file}:${c.line}: ${c.level}: ${c.problem ?? `undeclared ${undeclared}`}`);
    }
  }
  process.exitCode = bad ? 1 : 0;
}
