/**
 * Diagnostic codes of the rule-SQL parser. They appear as `Diagnostic.code` (parseRule never
 * throws on bad input); declaring them here lists them in docs/errors.md. None is retriable:
 * the same SQL always fails the same way.
 */
import { defineErrors } from '../core/index.js';

const specs = {
  sql_empty: {
    description: 'The rule SQL is empty or only whitespace.',
    retriable: false,
  },
  sql_invalid_utf8: {
    description: 'The rule SQL is not valid UTF-8 (or contains an unpaired UTF-16 surrogate).',
    retriable: false,
  },
  sql_lex_error: {
    description:
      'The rule SQL contains a character sequence that is not a token (e.g. `&`, `;`, `_x`).',
    retriable: false,
  },
  sql_unterminated_string: {
    description: 'A `\'…\'` string literal or `"…"` quoted identifier has no closing quote.',
    retriable: false,
  },
  sql_syntax_error: {
    description: 'The rule SQL does not follow the grammar; the message says what was expected.',
    retriable: false,
  },
  sql_bad_number: {
    description:
      'A numeric literal cannot be converted (e.g. `10e2`: an exponent needs a decimal point).',
    retriable: false,
  },
  sql_reserved_word: {
    description:
      'A reserved word (SELECT, FROM, IF, …) is used as a name; quote it as "name" instead.',
    retriable: false,
  },
  sql_select_item_not_allowed: {
    description:
      'A select item is an AND/OR/NOT/IN condition, which EMQX only allows in conditions.',
    retriable: false,
  },
  sql_unsupported_operator: {
    description:
      'An operator that rule SQL does not support was used (`==`, `~=`, `&&`, `||`, `!`).',
    retriable: false,
  },
  sql_comment_on_last_line: {
    description:
      'A `--` comment ends the SQL without a line break, so EMQX would read it as two minus signs.',
    retriable: false,
  },
  sql_bad_alias: {
    description: 'An alias target (AS …) has an index that is not an integer, or a range.',
    retriable: false,
  },
  sql_bad_index: {
    description: 'A path index `[…]` is neither an integer nor a path.',
    retriable: false,
  },
  sql_bad_call: {
    description: 'Something other than `name` or `Module.name` is called like a function.',
    retriable: false,
  },
  sql_too_large: {
    description:
      'The rule SQL is longer than rule_limits.max_sql_bytes (default 64 KiB) or has more tokens than rule_limits.max_sql_tokens (default 4,000); checked before parsing, so an oversized rule costs no parse time. The diagnostic points at the first byte or token over the limit.',
    retriable: false,
  },
  sql_too_complex: {
    description: 'The rule SQL nests expressions too deeply to be parsed.',
    retriable: false,
  },
} as const;

export type SqlParserErrorCode = keyof typeof specs;

export const SqlParserErrors = defineErrors('sql-parser', specs);
