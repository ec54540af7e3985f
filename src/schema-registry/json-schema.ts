/**
 * JSON Schema with Ajv (compiles each schema to a JavaScript validator once). The draft is
 * chosen by `$schema` as EMQX does: draft-04 (ajv-draft-04), draft-06 and draft-07 (Ajv's
 * draft-07 engine, with the draft-06 meta-schema added), 2019-09 (Ajv2019) and 2020-12
 * (Ajv2020); without `$schema` draft-07 rules apply (EMQX 6.0.4 picks draft-06, of which
 * draft-07 is a superset for validation). Formats (`email`, `date-time`, …) are checked
 * (ajv-formats). EMQX semantics: `schema_decode(Name, JsonText)` parses and validates and returns
 * the map; `schema_encode(Name, Map)` validates and returns the JSON text; `schema_check` says
 * whether either would succeed.
 */
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

import { decodeJson, encodeJson } from '../core/index.js';
import type { Value } from '../core/index.js';
import type { Codec } from './codec.js';
import { SchemaErrors } from './errors.js';

type AnyAjv = { compile(s: object): ValidateFunction };
// CommonJS default exports: the class/function sits on `.default` under NodeNext.
const AjvDraft04 = ((AjvDraft04Module as unknown as { default?: unknown }).default ??
  AjvDraft04Module) as unknown as new (opts: object) => AnyAjv;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (a: unknown) => void;

export type Draft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12';

export function draftOf(schema: Record<string, unknown>): Draft {
  const s = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  if (s.includes('draft-04')) return 'draft-04';
  if (s.includes('draft-06')) return 'draft-06';
  if (s.includes('2019-09')) return '2019-09';
  if (s.includes('2020-12')) return '2020-12';
  return 'draft-07';
}

function makeAjv(draft: Draft): AnyAjv {
  const opts = { allErrors: false, strict: false, validateSchema: true } as const;
  let a: AnyAjv & { addMetaSchema?(s: object): unknown };
  switch (draft) {
    case 'draft-04':
      a = new AjvDraft04(opts);
      break;
    case '2019-09':
      a = new Ajv2019(opts) as unknown as AnyAjv;
      break;
    case '2020-12':
      a = new Ajv2020(opts) as unknown as AnyAjv;
      break;
    default: {
      const d7 = new Ajv(opts);
      d7.addMetaSchema(draft06 as object);
      a = d7 as unknown as AnyAjv;
    }
  }
  addFormats(a);
  return a;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid';
  return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'} (keyword ${e.keyword})`;
}

export function compileJsonSchema(name: string, source: string): Codec & { readonly draft: Draft } {
  let validate: ValidateFunction;
  let draft: Draft;
  try {
    const schema = JSON.parse(source) as unknown;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
      throw new Error('a JSON Schema must be an object');
    draft = draftOf(schema as Record<string, unknown>);
    validate = makeAjv(draft).compile(schema);
  } catch (e) {
    throw SchemaErrors.schema_invalid(
      `schema ${JSON.stringify(name)}: invalid JSON schema: ${(e as Error).message}`,
      { cause: e, context: { schema: name } },
    );
  }
  const check = (doc: unknown, code: 'schema_decode_error' | 'schema_encode_error'): void => {
    if (!validate(doc))
      throw SchemaErrors[code](
        `{${code}, ${JSON.stringify(name)}}: validation_failure: ${describe(validate.errors)}`,
        { context: { schema: name } },
      );
  };
  return {
    type: 'json',
    draft,
    decode(data) {
      if (typeof data !== 'string' && !Buffer.isBuffer(data))
        throw SchemaErrors.schema_decode_error(
          `{schema_decode_error, ${JSON.stringify(name)}}: Data must be JSON text (a binary)`,
          { context: { schema: name } },
        );
      let plain: unknown;
      try {
        plain = JSON.parse(data.toString('utf8'));
      } catch (e) {
        throw SchemaErrors.schema_decode_error(
          `{schema_decode_error, ${JSON.stringify(name)}}: not JSON: ${(e as Error).message}`,
          { context: { schema: name } },
        );
      }
      // Ajv validates the plain reading; the rule gets the value-model reading (2.0 stays a float).
      check(plain, 'schema_decode_error');
      const doc: Value = decodeJson(data);
      return doc;
    },
    encode(data) {
      const text = encodeJson(data);
      check(JSON.parse(text), 'schema_encode_error');
      return text;
    },
  };
}
