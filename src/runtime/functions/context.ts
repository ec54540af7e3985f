/**
 * Context ("IoT") functions, spec §8.1: they read the trigger's columns only when evaluated in
 * a SELECT or DO field; in WHERE/FOREACH/INCASE they return undefined (`flags()` returns `{}`).
 * Also `null()`, `contains_topic*` (which are ordinary pure functions).
 */
import { decodeJson, exactEquals, isMap } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { CallContext, FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { getPath, splitPath } from './paths.js';
import { needInt, needList, needText, show } from './util.js';

const FAMILY = 'context';

function readable(ctx: CallContext): boolean {
  return ctx.clause === 'select' || ctx.clause === 'do';
}

/** A zero-argument function returning one column in SELECT/DO. */
function column(name: string, column: string, description: string, result: string): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: `${name}()`,
    description,
    examples: [{ sql: `${name}()`, result }],
    impl: (_args, ctx) => (readable(ctx) ? ctx.columns[column] : undefined),
  };
}

/** MQTT topic-name levels (`a//b` has an empty middle level). */
function levels(topic: string): string[] {
  return topic.split('/');
}

/** MQTT topic filter matching (`+` one level, `#` the rest; wildcards never match `$` first levels). */
export function topicMatches(topic: string, filter: string): boolean {
  const t = levels(topic);
  const f = levels(filter);
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const fl = f[i];
    if (fl === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return t.length === f.length;
}

function containsTopic(match: (topic: string, filter: string) => boolean) {
  return (args: readonly Value[]): Value => {
    const filters = needList(args[0], 'Filters');
    const topic = needText(args[1], 'Topic');
    for (const entry of filters) {
      if (!isMap(entry)) continue;
      const f = entry['topic'];
      if (typeof f !== 'string' && !Buffer.isBuffer(f)) continue;
      if (match(topic, f.toString())) {
        return args.length < 3 ? true : exactEquals(entry['qos'], args[2]);
      }
    }
    return false;
  };
}

export const contextFunctions: readonly FunctionDef[] = [
  column('msgid', 'id', 'The message id (the `id` column).', '"0005F8F84FFFAFB9F44200000D810002"'),
  column('clientid', 'clientid', 'The client id (the `clientid` column).', '"c1"'),
  column('username', 'username', 'The username (the `username` column).', '"u1"'),
  column('peerhost', 'peerhost', "The client's IP address as text.", '"127.0.0.1"'),
  column('clientip', 'peerhost', 'Same as `peerhost()`.', '"127.0.0.1"'),
  column('qos', 'qos', 'The QoS of the message.', '1'),
  {
    name: 'topic',
    family: FAMILY,
    arity: { min: 0, max: 1 },
    signature: 'topic([N])',
    description:
      'The topic, or its N-th level (1-based; an N beyond the last level is an error). Undefined outside SELECT/DO.',
    examples: [
      { sql: 'topic()', result: '"t/1"' },
      { sql: 'topic(2)', result: '"1"' },
    ],
    impl: (args, ctx) => {
      const n = args.length === 0 ? 0 : needInt(args[0], 'N');
      if (args.length > 0 && n < 1)
        return badArg(`topic level ${n} out of range (levels start at 1)`);
      if (!readable(ctx)) return undefined;
      const topic = ctx.columns['topic'];
      if (args.length === 0) return topic;
      if (typeof topic !== 'string' && !Buffer.isBuffer(topic)) return undefined;
      const parts = levels(topic.toString());
      if (n > parts.length) badArg(`topic level ${n} out of range for ${show(topic)}`);
      return parts[n - 1];
    },
  },
  {
    name: 'flags',
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'flags()',
    description: 'The message flags map (`{}` outside SELECT/DO or when absent).',
    examples: [{ sql: 'flags()', result: '{"dup":false,"retain":true}' }],
    impl: (_args, ctx) => {
      const f = readable(ctx) ? ctx.columns['flags'] : undefined;
      return f === undefined ? {} : f;
    },
  },
  {
    name: 'flag',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'flag(Name)',
    description: 'One message flag by name (undefined if absent or outside SELECT/DO).',
    examples: [{ sql: "flag('retain')", result: 'true' }],
    impl: (args, ctx) => {
      if (!readable(ctx)) return undefined;
      return getPath(ctx.columns['flags'], [needText(args[0], 'Name')]);
    },
  },
  {
    name: 'payload',
    family: FAMILY,
    arity: { min: 0, max: 1 },
    signature: 'payload([Path])',
    description:
      'The raw payload, or with a dot Path the value at that path of the JSON-decoded payload (undefined if the payload is not a JSON object or the path is missing).',
    examples: [
      { sql: 'payload()', result: '"{\\"x\\":{\\"y\\":1}}"' },
      { sql: "payload('x.y')", result: '1' },
    ],
    impl: (args, ctx) => {
      if (!readable(ctx)) return undefined;
      const p = ctx.columns['payload'];
      if (args.length === 0) return p;
      return payloadPath(p, splitPath(needText(args[0], 'Path')));
    },
    specialize: ([path]) => {
      if (typeof path !== 'string') return undefined;
      const keys = splitPath(path);
      return (_args, ctx) =>
        readable(ctx) ? payloadPath(ctx.columns['payload'], keys) : undefined;
    },
  },
  {
    name: 'null',
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'null()',
    description: 'The undefined value (emitted as JSON null; `is_null(null())` is true).',
    examples: [{ sql: 'is_null(null())', result: 'true' }],
    impl: () => undefined,
    pure: true,
  },
  {
    name: 'contains_topic',
    family: FAMILY,
    arity: { min: 2, max: 3 },
    signature: 'contains_topic(Filters, Topic[, QoS])',
    description:
      'True when a map in the list Filters has a `topic` equal to Topic (and, with QoS, a `qos` equal to QoS).',
    examples: [
      {
        sql: 'contains_topic(json_decode(\'[{"topic":"t/1","qos":1}]\'), \'t/1\')',
        result: 'true',
      },
      {
        sql: 'contains_topic(json_decode(\'[{"topic":"t/1","qos":1}]\'), \'t/1\', 2)',
        result: 'false',
      },
    ],
    impl: containsTopic((t, f) => t === f),
    pure: true,
  },
  {
    name: 'contains_topic_match',
    family: FAMILY,
    arity: { min: 2, max: 3 },
    signature: 'contains_topic_match(Filters, Topic[, QoS])',
    description:
      'Like `contains_topic`, but each `topic` is an MQTT filter matched with wildcards (`+`, `#`).',
    examples: [
      {
        sql: 'contains_topic_match(json_decode(\'[{"topic":"t/#","qos":0}]\'), \'t/a/b\')',
        result: 'true',
      },
    ],
    impl: containsTopic(topicMatches),
    pure: true,
  },
];

function payloadPath(payload: Value, keys: readonly string[]): Value {
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    let decoded: Value;
    try {
      decoded = decodeJson(payload);
    } catch {
      return undefined;
    }
    return getPath(decoded, keys);
  }
  return getPath(payload, keys);
}
