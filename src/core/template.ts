/**
 * EMQX-style `${path}` placeholder templates, compiled once (CONVENTIONS.md #3) and rendered
 * per record by every sink that has templated settings (Kafka topic/key/value, HStreamDB
 * record/partition key, republish topic/payload/properties).
 *
 * Semantics mirror EMQX 5 `emqx_template` / `emqx_placeholder` as used by the rule actions
 * (`emqx_rule_actions:republish`) and data bridges:
 *
 *  - A placeholder is `${path}` where `path` is dot-separated segments of `[A-Za-z0-9_]`
 *    (EMQX's placeholder regex), optionally with a leading dot (`${.clientid}` = `${clientid}`).
 *    `${.}` (or `${}`) is the whole rule output. Anything that does not match stays literal
 *    text, exactly as EMQX leaves it untouched.
 *  - Extension: a segment may be single-quoted to hold other characters, e.g.
 *    `${pub_props.'User-Property'.foo}` (EMQX only recognises that spelling as a special case
 *    in republish; here it is a general path segment).
 *  - `${$}` renders a literal `$` (EMQX `emqx_template` escape), so `${$}{x}` gives `${x}`.
 *  - Lookup walks maps by key; when an intermediate value is a string/Buffer holding a JSON
 *    object or list it is decoded on the fly (EMQX `emqx_jsonish`), so `${payload.temp}` works on
 *    a raw JSON payload. Sluice extension: a path not found in the rule output is looked up in
 *    the triggering event's columns (`SinkRecord.context`), so `${clientid}` works even if the
 *    rule did not select it.
 *  - A template that is exactly one placeholder yields the raw value (number, map, Buffer, …)
 *    so callers can keep types (EMQX `render_simple_var`, used for qos/retain/user props).
 *    A template with text around placeholders yields a string: strings and Buffers (UTF-8)
 *    as-is, integers as decimal text, floats with at most 10 decimals (`toText`), booleans
 *    `true`/`false`, JSON `null` as `null`, maps and lists as compact JSON, and a missing value
 *    as the literal text `undefined` — EMQX renders missing bindings as "undefined" in
 *    republish topic/payload ("NOTE: rendering missing bindings as string "undefined"" in
 *    emqx_rule_actions.erl) and in the HStreamDB bridge. Callers that need another text for
 *    missing values pass `{ undefinedText }` (e.g. `''`).
 */
import type { Template } from './sink.js';
import type { Value, ValueMap } from './values.js';
import { decodeJson, isMap, toText } from './values.js';

export interface TemplateOptions {
  /** Text that a missing value renders as inside text (default `'undefined'`, like EMQX). */
  undefinedText?: string;
}

/** A compiled template: callable as a `Template`, plus facts about its shape. */
export interface CompiledTemplate extends Template {
  /** The template source text. */
  readonly source: string;
  /** True when the text has no placeholder (renders to the same string every time). */
  readonly isConst: boolean;
  /** True when the text is exactly one placeholder (rendering yields the raw value). */
  readonly isSingleVar: boolean;
  /** The placeholder paths, in order (`[]` = the whole output). */
  readonly paths: readonly (readonly string[])[];
  /** Text used for a missing value inside text. */
  readonly undefinedText: string;
}

type Part = string | readonly string[];

const SEGMENT_CHAR = /[A-Za-z0-9_]/;

/**
 * Parse `${...}` starting at `start` (the index of `$`). Returns the path and the index after
 * `}`, or null when this is not a placeholder (then the `$` is literal text).
 */
function parsePlaceholder(
  text: string,
  start: number,
): { path: string[] | '$'; end: number } | null {
  let i = start + 2; // after "${"
  if (text[i] === '$' && text[i + 1] === '}') return { path: '$', end: i + 2 };
  if (text[i] === '.') i++;
  const path: string[] = [];
  if (text[i] === '}') return { path, end: i + 1 };
  for (;;) {
    let seg: string;
    if (text[i] === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return null;
      seg = text.slice(i + 1, close);
      i = close + 1;
    } else {
      const from = i;
      while (i < text.length && SEGMENT_CHAR.test(text[i] as string)) i++;
      if (i === from) return null;
      seg = text.slice(from, i);
    }
    path.push(seg);
    if (text[i] === '}') return { path, end: i + 1 };
    if (text[i] !== '.') return null;
    i++;
  }
}

function parse(text: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('${', i);
    if (at < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, at);
    const ph = parsePlaceholder(text, at);
    if (!ph) {
      literal += '${';
      i = at + 2;
      continue;
    }
    if (ph.path === '$') {
      literal += '$';
    } else {
      if (literal) parts.push(literal);
      literal = '';
      parts.push(ph.path);
    }
    i = ph.end;
  }
  if (literal) parts.push(literal);
  return parts;
}

const JSON_START = /^\s*[{[]/;

/** Decode a string/Buffer holding a JSON object or list; otherwise undefined. */
function jsonish(v: string | Buffer): Value {
  const s = typeof v === 'string' ? v : v.toString('utf8');
  if (!JSON_START.test(s)) return undefined;
  try {
    return decodeJson(s);
  } catch {
    return undefined;
  }
}

/**
 * Walk `path` in `root`; undefined when any step is missing. `decoded` (optional) remembers the
 * JSON decoding of Buffers met on the way, so a template reading several fields of one payload
 * decodes it once (payload Buffers are treated as immutable, as the broker's frozen events are).
 */
export function lookupPath(
  root: Value,
  path: readonly string[],
  decoded?: WeakMap<Buffer, Value>,
): Value {
  let cur: Value = root;
  for (let i = 0; i < path.length; i++) {
    if (typeof cur === 'string') cur = jsonish(cur);
    else if (Buffer.isBuffer(cur)) {
      const buf: Buffer = cur;
      if (decoded?.has(buf)) cur = decoded.get(buf);
      else {
        cur = jsonish(buf);
        decoded?.set(buf, cur);
      }
    }
    if (!isMap(cur)) return undefined;
    const key = path[i] as string;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function lookup(
  path: readonly string[],
  data: ValueMap,
  context: Readonly<ValueMap> | undefined,
  decoded: WeakMap<Buffer, Value> | undefined,
): Value {
  const v = lookupPath(data, path, decoded);
  if (v !== undefined || context === undefined || path.length === 0) return v;
  return lookupPath(context as ValueMap, path, decoded);
}

/** Text of one value inside a text template. */
export function valueText(v: Value, undefinedText = 'undefined'): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return undefinedText;
  return toText(v);
}

/** Compile `text` once. Never throws: text that is not a placeholder stays literal. */
export function compileTemplate(text: string, options: TemplateOptions = {}): CompiledTemplate {
  const parts = parse(text);
  const undefinedText = options.undefinedText ?? 'undefined';
  const paths = parts.filter((p): p is readonly string[] => typeof p !== 'string');
  // Only templates that read inside a value more than once benefit from remembering decodes.
  const deep = paths.filter((p) => p.length > 1).length;
  const decoded = deep > 1 ? new WeakMap<Buffer, Value>() : undefined;
  let fn: Template;
  if (parts.length === 0) {
    fn = () => '';
  } else if (paths.length === 0) {
    const constant = parts.join('');
    fn = () => constant;
  } else if (parts.length === 1) {
    const path = parts[0] as readonly string[];
    fn = (data, context) => lookup(path, data, context, undefined);
  } else {
    fn = (data, context) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as Part;
        out +=
          typeof p === 'string' ? p : valueText(lookup(p, data, context, decoded), undefinedText);
      }
      return out;
    };
  }
  return Object.assign(fn, {
    source: text,
    isConst: paths.length === 0,
    isSingleVar: parts.length === 1 && paths.length === 1,
    paths,
    undefinedText,
  });
}

/** Render as text (a single-placeholder template's raw value converted like inside text). */
export function renderText(
  template: Template,
  data: ValueMap,
  context?: Readonly<ValueMap>,
): string {
  const v = template(data, context);
  if (typeof v === 'string') return v;
  return valueText(v, (template as Partial<CompiledTemplate>).undefinedText);
}

/** Render as bytes: a Buffer value is passed through untouched, anything else as UTF-8 text. */
export function renderBytes(
  template: Template,
  data: ValueMap,
  context?: Readonly<ValueMap>,
): Buffer {
  const v = template(data, context);
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(
    typeof v === 'string' ? v : valueText(v, (template as Partial<CompiledTemplate>).undefinedText),
    'utf8',
  );
}
