/**
 * `parseRule`: SQL text → typed AST or diagnostics (CONVENTIONS.md #1). Never throws on bad
 * input; a throw from here is a bug in this module.
 *
 * Steps (shared/spec/rule-sql.md §1): reject invalid UTF-8/unpaired surrogates; trim trailing
 * whitespace (leading whitespace is skipped by the lexer so offsets stay those of the caller's
 * text); reject empty input; lex; reject a `--` comment on the last line; parse; build the AST.
 */
import { EOF, type CstNode, type IToken } from 'chevrotain';
import { AstBuilder, PositionMap } from './ast-builder.js';
import type { Statement } from './ast.js';
import { createDiagnostic, type Diagnostic } from './diagnostics.js';
import type { SqlParserErrorCode } from './errors.js';
import * as T from './lexer.js';
import { expectedAfter, parseTokens } from './parser.js';
import { explainLexError, explainSyntaxError, type Problem } from './syntax-messages.js';

export type ParseResult =
  | { readonly ast: Statement; readonly diagnostics?: undefined }
  | { readonly ast?: undefined; readonly diagnostics: readonly Diagnostic[] };

/**
 * Size limits checked before the expensive phases (issue #19): a rule is parsed and compiled on
 * the event loop, in time and memory roughly proportional to its token count (a 5,000-branch
 * CASE, 169 KB, took 0.2 s of CPU and ~300 MB of transient heap). EMQX has no such limit; the
 * defaults are far above hand-written rules and can be raised (`rule_limits.max_sql_bytes`,
 * `rule_limits.max_sql_tokens`). 0 disables a limit.
 */
export interface ParseLimits {
  /** Longest rule SQL in UTF-8 bytes, checked before anything else. */
  readonly maxBytes?: number;
  /** Most tokens, checked after lexing (cheap) and before parsing (not). */
  readonly maxTokens?: number;
}

export const DEFAULT_PARSE_LIMITS = { maxBytes: 65_536, maxTokens: 4_000 } as const;

/** Longest token prefix for which the "expected …" probe runs (see parser.ts `expectedAfter`). */
const PROBE_LIMIT = 400;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parse one rule statement; called once per rule create/update, never per message.
 * `sql` may be a string or the raw UTF-8 bytes of one (bytes are decoded strictly: invalid
 * UTF-8 yields `sql_invalid_utf8`, as EMQX rejects it).
 *
 * Returns `{ ast }` — hand it to the planner/compiler — or `{ diagnostics }` (at least one):
 * the rule must not be deployed; show each with `formatDiagnostic`. Diagnostics' offsets,
 * lines and columns refer to `sql` (the decoded text for bytes).
 */
export function parseRule(sql: string | Uint8Array, limits: ParseLimits = {}): ParseResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_PARSE_LIMITS.maxBytes;
  const maxTokens = limits.maxTokens ?? DEFAULT_PARSE_LIMITS.maxTokens;
  let text: string;
  if (typeof sql === 'string') {
    text = sql;
  } else {
    if (maxBytes > 0 && sql.length > maxBytes) return tooLarge(utf8.decode(sql), maxBytes);
    try {
      text = utf8.decode(sql);
    } catch {
      const r = { offset: 0, line: 1, column: 1 };
      return {
        diagnostics: [
          {
            code: 'sql_invalid_utf8',
            message: 'the rule SQL is not valid UTF-8',
            line: 1,
            column: 1,
            range: { start: r, end: r },
            snippet: '',
          },
        ],
      };
    }
  }
  // UTF-8 is at least one byte per UTF-16 unit: only a long text needs counting.
  if (maxBytes > 0 && text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)
    return tooLarge(text, maxBytes);
  const pos = new PositionMap(text);
  const diag = (p: Problem): ParseResult => ({
    diagnostics: [
      createDiagnostic(
        text,
        p.code,
        p.message,
        pos.range(p.start, Math.max(p.end, p.start)),
        p.expected,
      ),
    ],
  });
  const simple = (code: SqlParserErrorCode, message: string, start: number, end: number) =>
    diag({ code, message, start, end });

  const bad = LONE_SURROGATE.exec(text);
  if (bad !== null) {
    return simple(
      'sql_invalid_utf8',
      'the rule SQL contains an unpaired UTF-16 surrogate (not valid UTF-8)',
      bad.index,
      bad.index + 1,
    );
  }
  const trimmed = trimEnd(text);
  if (/^[ \t\r\n]*$/.test(trimmed)) return simple('sql_empty', 'the rule SQL is empty', 0, 0);

  try {
    const lexed = T.lexRule(trimmed);
    const tokens = lexed.tokens;
    // Checked before lex errors: the text of such a comment is lexed too and may not lex.
    const comment = commentOnLastLine(trimmed, tokens);
    if (comment !== undefined) {
      return simple(
        'sql_comment_on_last_line',
        'a `--` comment cannot be on the last line: the SQL is trimmed first, so no line break ' +
          'ends the comment and EMQX reads `--` as two minus signs; move the comment up or remove it',
        comment,
        trimmed.length,
      );
    }
    if (maxTokens > 0 && tokens.length > maxTokens) {
      const t = tokens[maxTokens] as IToken;
      return simple(
        'sql_too_large',
        `the rule SQL has ${tokens.length} tokens, over the limit of ${maxTokens} ` +
          `(rule_limits.max_sql_tokens); token ${maxTokens + 1} is here — split the rule, or use ` +
          `a lookup (e.g. map_get on a map) instead of a long CASE`,
        t.startOffset,
        t.startOffset + t.image.length,
      );
    }
    const lexErr = lexed.errors[0];
    if (lexErr !== undefined) return diag(explainLexError(trimmed, lexErr.offset, lexErr.length));

    const parsed = parseTokens(tokens);
    if (parsed.error !== undefined) {
      const errTok = parsed.error.token;
      let index = errTok.tokenType === EOF ? tokens.length : tokens.indexOf(errTok);
      if (index < 0) index = tokens.findIndex((t) => t.startOffset >= errTok.startOffset);
      if (index < 0) index = tokens.length;
      const before = tokens.slice(0, index);
      // The probe re-parses the prefix once per token type; on very long input fall back to
      // what Chevrotain reported for the failing decision (less complete, but linear).
      const { expected, endAllowed } =
        before.length <= PROBE_LIMIT
          ? expectedAfter(before)
          : {
              expected: parsed.error.raw.expected.flatMap((n) => {
                const t = T.allTokens.find((x) => x.name === n);
                return t === undefined ? [] : [t];
              }),
              endAllowed: parsed.error.raw.kind === 'notAllInput',
            };
      return diag(
        explainSyntaxError(trimmed, tokens, { index, expected, endAllowed }, trimmed.length, (o) =>
          pos.at(o),
        ),
      );
    }
    const builder = new AstBuilder(pos);
    const ast = builder.statement(parsed.cst as CstNode);
    if (builder.problems.length > 0) {
      return {
        diagnostics: [...builder.problems]
          .sort((a, b) => a.start - b.start)
          .map((p) => createDiagnostic(text, p.code, p.message, pos.range(p.start, p.end))),
      };
    }
    return { ast };
  } catch (e) {
    if (e instanceof RangeError) {
      return simple(
        'sql_too_complex',
        'the rule SQL nests expressions too deeply to be parsed',
        0,
        trimmed.length,
      );
    }
    throw e;
  }
}

/** `sql_too_large` for a text over `maxBytes` UTF-8 bytes, at the first character past it. */
function tooLarge(text: string, maxBytes: number): ParseResult {
  let bytes = 0;
  let at = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) break;
    at += ch.length;
  }
  const pos = new PositionMap(text);
  return {
    diagnostics: [
      createDiagnostic(
        text,
        'sql_too_large',
        `the rule SQL is ${Buffer.byteLength(text, 'utf8')} bytes, over the limit of ${maxBytes} ` +
          `(rule_limits.max_sql_bytes); byte ${maxBytes + 1} is here`,
        pos.range(at, Math.min(at + 1, text.length)),
      ),
    ],
  };
}

/** Remove trailing spaces, tabs, CR and LF (§1). A loop, not a regex: linear on any input. */
function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
    end--;
  }
  return text.slice(0, end);
}

/** Offset of a `--` pair of adjacent minus tokens on the last line, if any. */
function commentOnLastLine(text: string, tokens: readonly IToken[]): number | undefined {
  const lastLineStart = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1;
  for (let i = 1; i < tokens.length; i++) {
    const a = tokens[i - 1] as IToken;
    const b = tokens[i] as IToken;
    if (
      a.startOffset >= lastLineStart &&
      a.tokenType === T.Minus &&
      b.tokenType === T.Minus &&
      b.startOffset === a.startOffset + 1
    ) {
      return a.startOffset;
    }
  }
  return undefined;
}
