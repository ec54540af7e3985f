/** The login page: an API key and secret (HTTP Basic) or a bearer token, checked once. */
import { useState } from 'preact/hooks';

import { api, basicAuth, errorText, setAuth } from '../api.js';

export function Login() {
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event): Promise<void> {
    e.preventDefault();
    const value = token.trim() !== '' ? `Bearer ${token.trim()}` : basicAuth(key, secret);
    setBusy(true);
    setError(undefined);
    // Check the credential before keeping it: a GET every role may make.
    sessionStorage.setItem('sluice.authorization', value);
    try {
      await api('GET', '/api/v5/rules');
      setAuth(value);
    } catch (err) {
      sessionStorage.removeItem('sluice.authorization');
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="login">
      <h1>Sign in to Sluice</h1>
      <p>
        Use an API key (<code>sluice api-key create</code>) or the API's bearer token.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>API key</legend>
          <label for="login-key">Key</label>
          <input
            id="login-key"
            name="key"
            autocomplete="username"
            value={key}
            onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          />
          <label for="login-secret">Secret</label>
          <input
            id="login-secret"
            name="secret"
            type="password"
            autocomplete="current-password"
            value={secret}
            onInput={(e) => setSecret((e.currentTarget as HTMLInputElement).value)}
          />
        </fieldset>
        <fieldset>
          <legend>Or a bearer token</legend>
          <label for="login-token">Token</label>
          <input
            id="login-token"
            name="token"
            type="password"
            autocomplete="off"
            value={token}
            onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
          />
        </fieldset>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error ? (
          <p role="alert" class="error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
