/** Sign up / sign in. Credentials go to the engine's worker, which keeps them in IndexedDB. */
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../engine/api.js';
import { useLink } from './engine-context.js';

export function AuthScreen({ onSession }: { onSession: (s: SessionInfo) => void }) {
  const link = useLink();
  const [mode, setMode] = useState<'signup' | 'signin'>('signup');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const username = String(form.get('username') ?? '').trim();
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError('');
    try {
      const session = mode === 'signup' ? await link.engine.register(username, password) : await link.engine.login(username, password);
      onSession(session);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'signup' ? 'Create your account' : 'Sign in';
  return (
    <main class="auth">
      <h1 class="brand">Tidings</h1>
      <form class="card" onSubmit={submit} aria-labelledby="auth-title">
        <h2 id="auth-title">{title}</h2>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+" />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={mode === 'signup' ? 'new-password' : 'current-password'} required minLength={8} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'signup' ? 'Sign up' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => setMode(mode === 'signup' ? 'signin' : 'signup')}>
          {mode === 'signup' ? 'I already have an account' : 'Create a new account'}
        </button>
      </form>
    </main>
  );
}
