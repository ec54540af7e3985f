/**
 * The dashboard's only way to the server: `fetch` to the management API on the same origin,
 * with the credential the login page took, as an `Authorization` header (the same Basic API
 * key or bearer token the API takes; docs/dashboard.md "Authentication").
 *
 * The header value is kept in sessionStorage: it lives as long as the tab, is not sent by the
 * browser on its own (no cookie, so no cross-site request can use it: nothing to forge), and
 * the page's Content-Security-Policy allows scripts from this origin only.
 * A 401 forgets it and sends the user back to the login page.
 */

const STORAGE_KEY = 'sluice.authorization';

export function getAuth(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setAuth(value: string | null): void {
  if (value === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, value);
  window.dispatchEvent(new Event('sluice:auth'));
}

/** `Basic base64(key:secret)` (UTF-8), as the API's key check reads it. */
export function basicAuth(key: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${key}:${secret}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** A coded API error `{code, message}` with its HTTP status and the body's extra fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  const a = getAuth();
  if (a) h['authorization'] = a;
  if (json) h['content-type'] = 'application/json';
  return h;
}

/** A raw request with the credential; a 401 logs out. */
export async function request(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  extra: Readonly<Record<string, string>> = {},
): Promise<Response> {
  const res = await fetch(path, {
    method,
    ...(signal ? { signal } : {}),
    headers: { ...headers(body !== undefined), ...extra },
    credentials: 'omit',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401 && getAuth() !== null) setAuth(null);
  return res;
}

/** JSON request: the parsed body, or an ApiError for any non-2xx status. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
      string,
      unknown
    >;
    throw new ApiError(
      res.status,
      typeof o['code'] === 'string' ? o['code'] : `http_${res.status}`,
      typeof o['message'] === 'string' ? o['message'] : `HTTP ${res.status}`,
      o,
    );
  }
  return parsed as T;
}

/**
 * Does this server want a credential? A loopback API with no key or token configured answers
 * anonymously (docs/api.md); then the dashboard needs no login either.
 */
export async function credentialRequired(): Promise<boolean> {
  const res = await fetch('/api/v5/status', { credentials: 'omit', cache: 'no-store' });
  return res.status === 401;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
