/**
 * Schema checks of OCPP 1.6 payloads (`message_format_checking`), against the official OCA 1.6
 * JSON schemas plus the security whitepaper's (78 in all) as exported by `typed-ocpp`
 * (`OCPP16.schemas`, keyed `<Action>Request` / `<Action>Response`; imported from the package's
 * schemas module). Compiled once, lazily, when
 * checking is on; never per message.
 *
 * Error-code mapping (OCPP-J 1.6 §4.2.3; the first failing keyword decides):
 *   required, minItems, maxItems        → OccurenceConstraintViolation (1.6 spelling)
 *   type (of a field)                   → TypeConstraintViolation
 *   enum, maxLength, minLength, format,
 *   minimum, maximum, pattern, …        → PropertyConstraintViolation
 *   additionalProperties, anything else → FormationViolation
 * With `validation_error_codes: formation_violation` every failure is FormationViolation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
// The schemas module only (the package index compiles every 1.6/2.0/2.1 validator at import,
// ≈ 1–7 s; this module is plain data, ≈ 10 ms).
import * as OCPP16_SCHEMAS from 'typed-ocpp/dist/ocpp16/schemas.js';

import { OcppErrors } from './errors.js';
import type { OcppErrorCode } from './frames.js';

export interface Violation {
  readonly code: OcppErrorCode;
  readonly description: string;
  readonly details: { readonly path: string; readonly keyword: string; readonly message: string };
}

export interface PayloadValidator {
  /** A CALL's payload: a Violation, or `null` when valid. Unknown action → NotImplemented. */
  call(action: string, payload: object): Violation | null;
  /** A CALLRESULT's payload for `action`; `null` when valid or when there is no schema. */
  result(action: string, payload: object): Violation | null;
}

const OCCURENCE = new Set(['required', 'minItems', 'maxItems', 'minProperties', 'maxProperties']);
const PROPERTY = new Set([
  'enum',
  'const',
  'maxLength',
  'minLength',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'pattern',
  'uniqueItems',
]);

function codeOf(e: ErrorObject): OcppErrorCode {
  if (OCCURENCE.has(e.keyword)) return 'OccurenceConstraintViolation';
  if (e.keyword === 'type') return 'TypeConstraintViolation';
  if (PROPERTY.has(e.keyword)) return 'PropertyConstraintViolation';
  return 'FormationViolation';
}

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv) => void;
const AjvDraft04 = ((AjvDraft04Module as unknown as { default?: unknown }).default ??
  AjvDraft04Module) as unknown as new (opts: object) => Ajv;

export interface ValidatorOptions {
  acceptDateTimeWithoutZone?: boolean;
  /**
   * EMQX `json_schema_dir`: a directory of the official OCA draft-04 files (`<Action>.json`,
   * `<Action>Response.json`) used instead of the bundled schemas; a schema's `id` minus
   * `schemaIdPrefix` names it (`BootNotificationRequest`), else its file name does.
   */
  schemaDir?: string;
  schemaIdPrefix?: string;
}

/** The schemas of `dir` by name (`<Action>Request` / `<Action>Response`). */
function loadSchemaDir(dir: string, prefix: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<
      string,
      unknown
    >;
    const id = typeof schema['id'] === 'string' ? schema['id'] : undefined;
    const base = file.slice(0, -'.json'.length);
    const name =
      id?.startsWith(prefix) && id.length > prefix.length
        ? id.slice(prefix.length)
        : base.endsWith('Response')
          ? base
          : `${base}Request`;
    out[name] = schema;
  }
  return out;
}

/** RFC 3339 date-time with the zone optional (some chargers send `2024-05-14T08:10:05`). */
const DATE_TIME_ZONE_OPTIONAL =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$/i;

export function createPayloadValidator(
  mode: 'detailed' | 'formation_violation',
  opts: ValidatorOptions = {},
): PayloadValidator {
  const options = { strict: false, allErrors: false };
  const ajv = opts.schemaDir ? new AjvDraft04(options) : new Ajv(options);
  addFormats(ajv);
  if (opts.acceptDateTimeWithoutZone) ajv.addFormat('date-time', DATE_TIME_ZONE_OPTIONAL);
  const compiled = new Map<string, ValidateFunction>();
  try {
    const schemas = opts.schemaDir
      ? loadSchemaDir(opts.schemaDir, opts.schemaIdPrefix ?? 'urn:OCPP:1.6:2019:12:')
      : (OCPP16_SCHEMAS as Record<string, Record<string, unknown>>);
    for (const [name, schema] of Object.entries(schemas)) {
      // Ids are dropped: the schemas are looked up by name, and two files may share one.
      const { $id: _i, id: _d, ...rest } = schema;
      if (!opts.schemaDir) delete rest['$schema'];
      compiled.set(name, ajv.compile(rest));
    }
  } catch (err) {
    throw OcppErrors.ocpp_schema_invalid(
      `cannot load the OCPP 1.6 schemas${opts.schemaDir ? ` of ${opts.schemaDir}` : ''}: ${(err as Error).message}`,
      { cause: err },
    );
  }

  function check(name: string, payload: object): Violation | null {
    const v = compiled.get(name);
    if (!v || v(payload)) return null;
    const e = v.errors?.[0];
    if (!e)
      return {
        code: 'FormationViolation',
        description: `payload does not match ${name}`,
        details: { path: '', keyword: '', message: '' },
      };
    const path = e.instancePath || '/';
    const message = e.message ?? e.keyword;
    return {
      // A payload that is not even an object is a structure error, not a field's type.
      code:
        mode === 'formation_violation' || (e.keyword === 'type' && e.instancePath === '')
          ? 'FormationViolation'
          : codeOf(e),
      description: `${name} ${path} ${message}`.slice(0, 255),
      details: { path, keyword: e.keyword, message },
    };
  }

  return {
    call(action, payload) {
      const name = `${action}Request`;
      if (!compiled.has(name))
        return {
          code: 'NotImplemented',
          description: `unknown action ${action}`.slice(0, 255),
          details: { path: '', keyword: 'action', message: 'no such OCPP 1.6 action' },
        };
      return check(name, payload);
    },
    result(action, payload) {
      return check(`${action}Response`, payload);
    },
  };
}
