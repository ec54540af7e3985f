/**
 * The WebSocket upgrade request of a charge point: identity from the URL, subprotocol choice
 * and HTTP Basic credentials. Pure functions; the gateway turns refusals into HTTP answers.
 */

/**
 * `<path>/<cid>` → the percent-decoded charge point id (OCPP-J §3.1.1). Refused: another path,
 * an empty id, an id that does not decode, or one containing `/`, `+` or `#` (it is used in
 * MQTT topics). The query string is ignored.
 */
export function identityOf(
  url: string | undefined,
  basePath: string,
): { ok: true; cid: string } | { ok: false; status: 400 | 404; reason: string } {
  const raw = (url ?? '').split('?')[0] ?? '';
  const base = basePath.endsWith('/') ? basePath : `${basePath}/`;
  if (!raw.startsWith(base)) return { ok: false, status: 404, reason: 'unknown path' };
  const enc = raw.slice(base.length);
  if (enc === '') return { ok: false, status: 400, reason: 'clientid_cannot_be_empty' };
  if (enc.includes('/')) return { ok: false, status: 400, reason: 'unsupported_clientid' };
  let cid: string;
  try {
    cid = decodeURIComponent(enc);
  } catch {
    return { ok: false, status: 400, reason: 'unsupported_clientid' };
  }
  if (cid === '') return { ok: false, status: 400, reason: 'clientid_cannot_be_empty' };
  if (/[/+#]/.test(cid) || cid.includes('\u0000'))
    return { ok: false, status: 400, reason: 'unsupported_clientid' };
  return { ok: true, cid };
}

/**
 * The offered subprotocols, parsed tolerantly (`,ocpp2.0.1`, extra spaces): empty entries are
 * skipped. Undefined when the client offered none.
 */
export function offeredProtocols(header: string | string[] | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const list = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length ? list : undefined;
}

/** The server's first supported protocol that the client offered (server preference). */
export function chooseProtocol(
  offered: readonly string[],
  supported: readonly string[],
): string | undefined {
  return supported.find((p) => offered.includes(p));
}

/**
 * `Authorization: Basic …` → username / password. The password may be binary and the id may
 * contain `:`, so a decoded value starting with `<cid>:` is split there (security whitepaper:
 * username = charge point id); otherwise at the first colon (RFC 7617).
 */
export function basicCredentials(
  header: string | undefined,
  cid: string,
): { username: string | undefined; password: Buffer | undefined } {
  const m = header ? /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header) : null;
  if (!m) return { username: undefined, password: undefined };
  const buf = Buffer.from(m[1] as string, 'base64');
  const prefix = Buffer.from(`${cid}:`, 'utf8');
  if (buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix))
    return { username: cid, password: buf.subarray(prefix.length) };
  const colon = buf.indexOf(0x3a);
  if (colon < 0) return { username: buf.toString('utf8'), password: undefined };
  return { username: buf.subarray(0, colon).toString('utf8'), password: buf.subarray(colon + 1) };
}
