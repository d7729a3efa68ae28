import { type FormEvent, useState } from 'react';
import { ErrorNote } from './components/ErrorNote.tsx';

/** The sign-in box: asks for an API key when none is stored or the stored one was refused. */
export function SignIn({ error, onKey }: { error: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim() !== '') onKey(key.trim());
  };
  return (
    <main className="sign-in">
      <h1>Granary</h1>
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Sign in</h2>
        <p>
          Paste an API key of your project. On its first start the server prints the console's address with the admin key and writes the key to{' '}
          <code>admin.key</code> in its data directory; <code>createApiKey</code> makes others.
        </p>
        {error !== null && <ErrorNote title="The key was refused" message={error} />}
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
        <button type="submit" disabled={key.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}
