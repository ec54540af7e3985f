/**
 * The dashboard's built assets (docs/dashboard.md), served under `/` by the API server.
 *
 * Only `GET`/`HEAD` of `/` (index.html) and of files under the dashboard directory are
 * answered here, before authentication: the assets are the same for everyone and hold no data
 * (they ship in the npm package); every API call the page makes carries the credential the
 * login page took (`Authorization` header, same auth as the API). Anything else — every
 * `/api/…` path, `/metrics`, a file that does not exist — goes on to the API pipeline
 * (auth first, then 404), so no API route can be shadowed by a file.
 *
 * Paths are resolved inside the directory only (no `..`, no dot files); files are read once
 * and kept (the directory is the package's build output and does not change while running).
 * Every answer carries a strict Content-Security-Policy (scripts and connections to this origin
 * only), `nosniff` and `frame-ancestors 'none'`; hashed files under `assets/` are immutable.
 */
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** What the dashboard page may do: its own scripts and styles, fetch to this origin only. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sizes its canvas with inline style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface StaticFiles {
  /** Answer `req` from the dashboard directory; false when it is not a dashboard file. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** index.html exists (the dashboard was built). */
  readonly available: boolean;
}

interface Cached {
  readonly body: Buffer;
  readonly type: string;
  readonly immutable: boolean;
}

export function createStaticFiles(dir: string): StaticFiles {
  const root = path.resolve(dir);
  const cache = new Map<string, Cached | null>();

  function load(rel: string): Cached | null {
    const hit = cache.get(rel);
    if (hit !== undefined) return hit;
    let found: Cached | null = null;
    const file = path.resolve(root, rel);
    // Inside the directory only; no dot files or folders (no `..`, `.git`, …).
    const inside = file.startsWith(root + path.sep);
    const hidden = rel.split('/').some((s) => s.startsWith('.') || s === '');
    if (inside && !hidden) {
      try {
        if (statSync(file).isFile())
          found = {
            body: readFileSync(file),
            type: TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
            immutable: rel.startsWith('assets/'),
          };
      } catch {
        found = null;
      }
    }
    // Bounded: only names that exist are kept, plus a few misses.
    if (found || cache.size < 1000) cache.set(rel, found);
    return found;
  }

  return {
    get available() {
      return load('index.html') !== null;
    },
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const pathname = (req.url ?? '/').split('?')[0] as string;
      if (pathname.startsWith('/api/') || pathname === '/api' || pathname === '/metrics')
        return false;
      let rel: string;
      try {
        rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
      } catch {
        return false;
      }
      if (rel.includes('\0') || rel.includes('\\')) return false;
      const f = load(rel);
      if (!f) return false;
      res.writeHead(200, {
        'Content-Type': f.type,
        'Content-Length': f.body.length,
        'Cache-Control': f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'Content-Security-Policy': DASHBOARD_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
      });
      res.end(req.method === 'HEAD' ? undefined : f.body);
      return true;
    },
  };
}
