/**
 * OCPP-J 1.6 framing (OCPP-J §4): one JSON array per WebSocket text message.
 *
 *   CALL        [2, "<UniqueId>", "<Action>", {payload}]
 *   CALLRESULT  [3, "<UniqueId>", {payload}]
 *   CALLERROR   [4, "<UniqueId>", "<errorCode>", "<errorDescription>", {errorDetails}]
 *
 * `parseFrame` never throws: it returns the frame or says what is wrong, with the UniqueId when
 * one could be read (so a broken CALL can still be answered with a CALLERROR, §4.2.3).
 */

export type OcppFrame =
  | { readonly type: 2; readonly id: string; readonly action: string; readonly payload: object }
  | { readonly type: 3; readonly id: string; readonly payload: object }
  | {
      readonly type: 4;
      readonly id: string;
      readonly code: string;
      readonly description: string;
      readonly details: object;
    };

/** The 1.6 CALLERROR codes (OCPP-J §4.2.3; 1.6 spellings, errata "won't fix"). */
export type OcppErrorCode =
  | 'NotImplemented'
  | 'NotSupported'
  | 'InternalError'
  | 'ProtocolError'
  | 'SecurityError'
  | 'FormationViolation'
  | 'PropertyConstraintViolation'
  | 'OccurenceConstraintViolation'
  | 'TypeConstraintViolation'
  | 'GenericError';

export type ParseResult =
  | { readonly ok: true; readonly frame: OcppFrame }
  /** Not JSON, or JSON but not an array: `invalid_json` policy applies. */
  | { readonly ok: false; readonly kind: 'not_json'; readonly reason: string }
  /** A MessageTypeId other than 2/3/4: ignored (OCPP-J 1.6 §4.1.3). */
  | { readonly ok: false; readonly kind: 'unknown_type'; readonly reason: string }
  /**
   * A broken frame. `callId` is set when it is a CALL whose UniqueId could be read: answer it
   * with FormationViolation; otherwise drop it.
   */
  | {
      readonly ok: false;
      readonly kind: 'malformed';
      readonly reason: string;
      readonly callId?: string;
    };

const isObject = (v: unknown): v is object =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseFrame(text: string, maxIdLength: number): ParseResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, kind: 'not_json', reason: 'not JSON' };
  }
  if (!Array.isArray(v)) return { ok: false, kind: 'not_json', reason: 'not a JSON array' };
  const [type, id] = v as unknown[];
  if (type !== 2 && type !== 3 && type !== 4) {
    if (typeof type === 'number')
      return { ok: false, kind: 'unknown_type', reason: `MessageTypeId ${type}` };
    return { ok: false, kind: 'malformed', reason: 'MessageTypeId is not a number' };
  }
  if (typeof id !== 'string')
    return { ok: false, kind: 'malformed', reason: 'UniqueId is not a string' };
  const callId = type === 2 ? id : undefined;
  const bad = (reason: string): ParseResult =>
    callId === undefined
      ? { ok: false, kind: 'malformed', reason }
      : { ok: false, kind: 'malformed', reason, callId };
  if (id.length === 0 || id.length > maxIdLength)
    return bad(`UniqueId must have 1..${maxIdLength} characters`);
  if (type === 2) {
    const [, , action, payload] = v as unknown[];
    if (v.length !== 4) return bad('a CALL has 4 elements');
    if (typeof action !== 'string' || action === '') return bad('Action is not a string');
    if (!isObject(payload)) return bad('payload is not a JSON object');
    return { ok: true, frame: { type, id, action, payload } };
  }
  if (type === 3) {
    const payload = (v as unknown[])[2];
    if (v.length !== 3) return bad('a CALLRESULT has 3 elements');
    if (!isObject(payload)) return bad('payload is not a JSON object');
    return { ok: true, frame: { type, id, payload } };
  }
  const [, , code, description, details] = v as unknown[];
  if (v.length !== 5 && v.length !== 4) return bad('a CALLERROR has 5 elements');
  if (typeof code !== 'string' || typeof description !== 'string')
    return bad('errorCode and errorDescription must be strings');
  if (details !== undefined && !isObject(details)) return bad('errorDetails is not a JSON object');
  return { ok: true, frame: { type, id, code, description, details: details ?? {} } };
}

/** The wire text of one frame (always one OCPP message per WebSocket message). */
export function serializeFrame(f: OcppFrame): string {
  switch (f.type) {
    case 2:
      return JSON.stringify([2, f.id, f.action, f.payload]);
    case 3:
      return JSON.stringify([3, f.id, f.payload]);
    case 4:
      return JSON.stringify([4, f.id, f.code, f.description, f.details]);
  }
}

export function callError(
  id: string,
  code: OcppErrorCode,
  description: string,
  details: object = {},
): OcppFrame {
  return { type: 4, id, code, description, details };
}
