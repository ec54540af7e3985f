/**
 * A strict JSON parser for checking log lines (issue #20 item 1): RFC 8259 grammar, and an
 * object with the same member name twice is an error, not "the last one wins" as in
 * `JSON.parse`. Names are compared after unescaping (`"a"` and `"\u0061"` are the same name).
 */
export class StrictJsonError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at offset ${at}`);
    this.name = 'StrictJsonError';
  }
}

const WS = /[ \t\n\r]*/y;
// eslint-disable-next-line no-control-regex -- RFC 8259 §7: U+0000..U+001F must be escaped
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

export function parseStrictJson(text: string): unknown {
  let i = 0;
  const skip = (): void => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const token = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return undefined;
    i = re.lastIndex;
    return m[0];
  };
  const expect = (c: string): void => {
    skip();
    if (text[i] !== c) throw new StrictJsonError(`expected '${c}'`, i);
    i++;
  };
  const string = (): string => {
    const s = token(STRING);
    if (s === undefined) throw new StrictJsonError('expected a string', i);
    return JSON.parse(s) as string;
  };
  const value = (depth: number): unknown => {
    if (depth > 200) throw new StrictJsonError('nested too deeply', i);
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      const names = new Set<string>();
      skip();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        skip();
        const at = i;
        const name = string();
        if (names.has(name)) throw new StrictJsonError(`duplicate key "${name}"`, at);
        names.add(name);
        expect(':');
        Object.defineProperty(out, name, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}');
        return out;
      }
    }
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(']');
        return out;
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const n = token(NUMBER);
    if (n === undefined) throw new StrictJsonError('expected a value', i);
    return Number(n);
  };
  const v = value(0);
  skip();
  if (i !== text.length) throw new StrictJsonError('unexpected text after the value', i);
  return v;
}
