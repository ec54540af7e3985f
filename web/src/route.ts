/** Hash routes (`#/rules/abc`): the server serves one page, so no path ever needs a fallback. */

export type Route =
  | { page: 'overview' }
  | { page: 'rules' }
  | { page: 'rule'; id: string | undefined }
  | { page: 'sinks' }
  | { page: 'sink'; name: string }
  | { page: 'clients' }
  | { page: 'traces'; id: string | undefined };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '');
  let seg: string[];
  try {
    seg = parts.map((p) => decodeURIComponent(p));
  } catch {
    return { page: 'overview' };
  }
  const [a, b] = seg;
  switch (a) {
    case 'rules':
      if (b === undefined) return { page: 'rules' };
      return { page: 'rule', id: b === 'new' ? undefined : b };
    case 'sinks':
      return b === undefined ? { page: 'sinks' } : { page: 'sink', name: b };
    case 'clients':
      return { page: 'clients' };
    case 'traces':
      return { page: 'traces', id: b };
    default:
      return { page: 'overview' };
  }
}
