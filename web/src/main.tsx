/**
 * The Sluice dashboard (docs/dashboard.md): a login gate, then the pages, chosen by the URL
 * hash. Every figure comes from the management API, polled while its page is shown.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { credentialRequired, getAuth, setAuth } from './api.js';
import { Clients } from './pages/clients.js';
import { Login } from './pages/login.js';
import { Overview } from './pages/overview.js';
import { RuleEditor } from './pages/rule-editor.js';
import { Rules } from './pages/rules.js';
import { SinkPage, Sinks } from './pages/sinks.js';
import { Traces } from './pages/traces.js';
import { parseRoute } from './route.js';
import type { Route } from './route.js';
import './styles.css';

const NAV: { href: string; label: string; pages: Route['page'][] }[] = [
  { href: '#/', label: 'Overview', pages: ['overview'] },
  { href: '#/rules', label: 'Rules', pages: ['rules', 'rule'] },
  { href: '#/sinks', label: 'Sinks', pages: ['sinks', 'sink'] },
  { href: '#/clients', label: 'Clients', pages: ['clients'] },
  { href: '#/traces', label: 'Traces', pages: ['traces'] },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'rules':
      return <Rules />;
    case 'rule':
      return <RuleEditor key={route.id ?? 'new'} id={route.id} />;
    case 'sinks':
      return <Sinks />;
    case 'sink':
      return <SinkPage key={route.name} name={route.name} />;
    case 'clients':
      return <Clients />;
    case 'traces':
      return <Traces selected={route.id} />;
  }
}

function App() {
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  const [needsLogin, setNeedsLogin] = useState<boolean | undefined>(undefined);
  const [auth, setAuthState] = useState(getAuth());
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    const onAuth = () => setAuthState(getAuth());
    window.addEventListener('hashchange', onHash);
    window.addEventListener('sluice:auth', onAuth);
    credentialRequired().then(setNeedsLogin, () => setNeedsLogin(true));
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('sluice:auth', onAuth);
    };
  }, []);
  useEffect(() => {
    const title = NAV.find((n) => n.pages.includes(route.page))?.label ?? 'Overview';
    document.title = `${title} · Sluice`;
  }, [route]);

  if (needsLogin === undefined) return <main id="main">Connecting…</main>;
  if (needsLogin && !auth) return <Login />;
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Sluice</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.pages.includes(route.page) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {auth ? (
          <button type="button" class="link" onClick={() => setAuth(null)}>
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
