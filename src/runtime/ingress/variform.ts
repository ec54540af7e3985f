/**
 * Variform expressions (EMQX 5.8 message transformation `operations[].value`): the subset EMQX
 * documents — function calls, string literals ('…' or "…"), integer / float literals, `true` /
 * `false`, arrays `[a, b]` and variable paths (`payload.a.b`, `clientid`, `user_property.k`).
 * No operators: `concat([topic, '/x'])`, not `topic + '/x'`.
 *
 * We parse the expression ourselves (so the accepted syntax is exactly variform's), then
 * translate it into a rule SQL expression and compile it with the rule runtime: the functions
 * are the rule SQL's library (src/runtime/functions), resolved and arity-checked once.
 */

export interface VariformError {
  /** 0-based offset in the expression. */
  readonly offset: number;
  readonly reason: string;
}

type Node =
  | { k: 'str'; v: string }
  | { k: 'num'; v: string }
  | { k: 'bool'; v: boolean }
  | { k: 'path'; v: string[] }
  | { k: 'arr'; items: Node[] }
  | { k: 'call'; name: string; args: Node[] };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUM = /-?\d+(\.\d+)?([eE][-+]?\d+)?/y;

/** Parse a variform expression; the SQL expression text it stands for, or the first error. */
export function variformToSql(src: string): { sql: string } | { error: VariformError } {
  let i = 0;
  const fail = (reason: string, at = i): never => {
    throw { offset: at, reason } satisfies VariformError;
  };
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i] as string)) i++;
  };
  const expr = (): Node => {
    ws();
    const c = src[i];
    if (c === undefined) return fail('expression expected');
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail(`unterminated string (missing ${c})`);
      const v = src.slice(i + 1, end);
      i = end + 1;
      return { k: 'str', v };
    }
    if (c === '[') {
      i++;
      const items = list(']');
      return { k: 'arr', items };
    }
    NUM.lastIndex = i;
    const n = NUM.exec(src);
    if (n && (c === '-' || /\d/.test(c))) {
      i += n[0].length;
      return { k: 'num', v: n[0] };
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(src);
    if (!id) return fail(`unexpected ${JSON.stringify(c)}`);
    const start = i;
    i += id[0].length;
    ws();
    if (src[i] === '(') {
      if (id[0].includes('.')) fail('a function name has no dots', start);
      i++;
      return { k: 'call', name: id[0], args: list(')') };
    }
    if (id[0] === 'true' || id[0] === 'false') return { k: 'bool', v: id[0] === 'true' };
    const path = [id[0]];
    while (src[i] === '.') {
      i++;
      IDENT.lastIndex = i;
      const seg = IDENT.exec(src);
      if (!seg) fail('a path segment is expected after "."');
      path.push((seg as RegExpExecArray)[0]);
      i += (seg as RegExpExecArray)[0].length;
    }
    return { k: 'path', v: path };
  };
  const list = (close: string): Node[] => {
    const out: Node[] = [];
    ws();
    if (src[i] === close) {
      i++;
      return out;
    }
    for (;;) {
      out.push(expr());
      ws();
      if (src[i] === ',') {
        i++;
        continue;
      }
      if (src[i] === close) {
        i++;
        return out;
      }
      fail(src[i] === undefined ? `missing ${close}` : `expected "," or "${close}"`);
    }
  };
  try {
    const node = expr();
    ws();
    if (i < src.length) fail(`unexpected ${JSON.stringify(src[i])} after the expression`);
    return { sql: toSql(node) };
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'offset' in e) return { error: e as VariformError };
    throw e;
  }
}

function toSql(n: Node): string {
  switch (n.k) {
    case 'str':
      // Rule SQL strings have no escape for `'`: splice it in (`"it's"` → concat of 3 parts).
      return n.v.includes("'")
        ? `concat([${n.v
            .split("'")
            .map((part) => `'${part}'`)
            .join(", unescape('\\x27'), ")}])`
        : `'${n.v}'`;
    case 'num':
      return n.v;
    case 'bool':
      return n.v ? 'true' : 'false';
    case 'path':
      // Quoted segments: a path may use any SQL reserved word (`payload.from`).
      return n.v.map((s) => `"${s}"`).join('.');
    case 'arr':
      return `[${n.items.map(toSql).join(', ')}]`;
    case 'call':
      return `${n.name}(${n.args.map(toSql).join(', ')})`;
  }
}
