/**
 * The EMQX 5.x MQTT envelope of an OCPP frame (JSON object) and the topic templates.
 *
 *   CALL        {"MessageTypeId":2,"UniqueId":…,"Action":…,"Payload":{…}}
 *   CALLRESULT  {"MessageTypeId":3,"UniqueId":…,"Payload":{…}}            (+ "Action" when known)
 *   CALLERROR   {"MessageTypeId":4,"UniqueId":…,"ErrorCode":…,"ErrorDescription":…}
 *               (+ "ErrorDetails", + "Action" when known)
 *
 * Upstream, `Action` on replies and `ErrorDetails` are additions to EMQX (which drops both);
 * an EMQX consumer ignores them. Downstream the fields EMQX requires are required, `Action` on
 * a reply is ignored and `ErrorDetails` defaults to `{}`.
 */
import type { OcppFrame } from './frames.js';

export function toEnvelope(f: OcppFrame, action?: string): string {
  switch (f.type) {
    case 2:
      return JSON.stringify({
        MessageTypeId: 2,
        UniqueId: f.id,
        Action: f.action,
        Payload: f.payload,
      });
    case 3:
      return JSON.stringify({
        MessageTypeId: 3,
        UniqueId: f.id,
        ...(action !== undefined ? { Action: action } : {}),
        Payload: f.payload,
      });
    case 4:
      return JSON.stringify({
        MessageTypeId: 4,
        UniqueId: f.id,
        ...(action !== undefined ? { Action: action } : {}),
        ErrorCode: f.code,
        ErrorDescription: f.description,
        ErrorDetails: f.details,
      });
  }
}

export type EnvelopeResult = { ok: true; frame: OcppFrame } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse a downstream MQTT payload into the frame to send to the charge point. */
export function fromEnvelope(payload: Buffer): EnvelopeResult {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  if (!isObject(v)) return { ok: false, reason: 'payload is not a JSON object' };
  const id = v['UniqueId'];
  if (typeof id !== 'string' || id === '') return { ok: false, reason: 'UniqueId missing' };
  switch (v['MessageTypeId']) {
    case 2: {
      const action = v['Action'];
      const p = v['Payload'];
      if (typeof action !== 'string' || action === '')
        return { ok: false, reason: 'Action missing' };
      if (!isObject(p)) return { ok: false, reason: 'Payload is not a JSON object' };
      return { ok: true, frame: { type: 2, id, action, payload: p } };
    }
    case 3: {
      const p = v['Payload'];
      if (!isObject(p)) return { ok: false, reason: 'Payload is not a JSON object' };
      return { ok: true, frame: { type: 3, id, payload: p } };
    }
    case 4: {
      const code = v['ErrorCode'];
      const desc = v['ErrorDescription'];
      const details = v['ErrorDetails'] ?? {};
      if (typeof code !== 'string' || code === '')
        return { ok: false, reason: 'ErrorCode missing' };
      if (typeof desc !== 'string') return { ok: false, reason: 'ErrorDescription missing' };
      if (!isObject(details)) return { ok: false, reason: 'ErrorDetails is not a JSON object' };
      return { ok: true, frame: { type: 4, id, code, description: desc, details } };
    }
    default:
      return { ok: false, reason: 'MessageTypeId must be 2, 3 or 4' };
  }
}

/**
 * A topic template with `${cid}`, `${clientid}`, `${action}`, `${id}`, `${type}` placeholders,
 * compiled once (an unknown placeholder is kept literally).
 */
export type TopicVars = { cid: string; action?: string; id?: string; type?: number };

export function compileTopic(template: string): (v: TopicVars) => string {
  const parts = template.split(/(\$\{[a-z]+\})/);
  return (v) => {
    let out = '';
    for (const p of parts) {
      switch (p) {
        case '${cid}':
        case '${clientid}':
          out += v.cid;
          break;
        case '${action}':
          out += v.action ?? '';
          break;
        case '${id}':
          out += v.id ?? '';
          break;
        case '${type}':
          out += v.type === undefined ? '' : String(v.type);
          break;
        default:
          out += p;
      }
    }
    return out;
  };
}
