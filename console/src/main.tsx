/**
 * The Parley console: sign in with the admin key, then five pages behind hash links
 * (#/playground, #/keys, #/usage, #/logs, #/routes) — hash routing, so Parley serves one file
 * for every page and a reload stays on the page.
 */
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, gql, session } from './api';
import { ErrorBox } from './components';
import { KeysPage } from './pages/keys';
import { LogsPage } from './pages/logs';
import { PlaygroundPage } from './pages/playground';
import { RoutesPage } from './pages/routes';
import { UsagePage } from './pages/usage';

const PAGES = [
  { path: 'playground', title: 'Playground', Page: PlaygroundPage },
  { path: 'keys', title: 'Keys', Page: KeysPage },
  { path: 'usage', title: 'Usage', Page: UsagePage },
  { path: 'logs', title: 'Logs', Page: LogsPage },
  { path: 'routes', title: 'Routes', Page: RoutesPage },
] as const;

/** The page and its parameters from the URL's hash: #/logs?call=abc → ['logs', {call: 'abc'}]. */
function parseHash(): { path: string; params: URLSearchParams } {
  const [path = '', query = ''] = window.location.hash.replace(/^#\/?/, '').split('?');
  return { path: path || 'playground', params: new URLSearchParams(query) };
}

function useHash() {
  const [hash, setHash] = useState(parseHash);
  useEffect(() => {
    const on = () => setHash(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Any admin field proves the key; apiKeys is the cheapest.
      await gql('{ apiKeys { id } }', undefined, key.trim());
      session.signIn(key.trim());
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiProblem && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN')
          ? new Error(`${err.message} Sign in with PARLEY_ADMIN_KEY.`)
          : err,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Parley console</h1>
      <form onSubmit={submit}>
        <label for="admin-key">Admin key</label>
        <input
          id="admin-key"
          type="password"
          autocomplete="current-password"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          The key set as <code>PARLEY_ADMIN_KEY</code>. It is kept for this browser tab only (sessionStorage).
        </p>
        {error ? <ErrorBox error={error} /> : null}
      </form>
    </main>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(() => session.adminKey() !== null);
  const { path, params } = useHash();
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const { Page } = page;
  return (
    <>
      <header>
        <a class="brand" href="#/playground">
          Parley
        </a>
        <nav aria-label="Console pages">
          {PAGES.map((p) => (
            <a key={p.path} href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="signout"
          onClick={() => {
            session.signOut();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        <h1>{page.title}</h1>
        <Page params={params} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
