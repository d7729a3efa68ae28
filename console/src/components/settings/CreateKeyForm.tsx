import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { type Failure, FailureNote, FieldIssues, failureOf, issuesAt, useBlocked } from './forms.tsx';
import { SCOPES, type Scope, ScopeBadges } from './scopes.tsx';

const CREATE_KEY = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeyPayload { secret apiKey { id name scopes expiresAt } }
      ... on ValidationError { issues { path message } }
      ... on Error { message }
    }
  }
`);

/** A key just created, with its secret (held by the page until dismissed, never stored). */
interface Minted {
  readonly secret: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt: string | null;
}

/** A `datetime-local` value (local time) as an ISO instant; null when empty, an error when unreadable. */
function expiryOf(text: string): { at: string | null } | { error: string } {
  if (text.trim() === '') return { at: null };
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? { error: 'not a date and time' } : { at: date.toISOString() };
}

/**
 * Mints a key of the project (ADMIN): a name, scopes and an optional expiry. The secret is shown
 * once, in a field to copy, until dismissed; the API keeps only its hash.
 */
export function CreateKeyForm({ onCreated }: { onCreated: () => void }) {
  const blocked = useBlocked('ADMIN');
  const id = useId();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<readonly Scope[]>(['READ']);
  const [expires, setExpires] = useState('');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [minted, setMinted] = useState<Minted | null>(null);
  const [{ fetching }, create] = useMutation(CREATE_KEY);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (blocked !== null) return;
    setFailure(null);
    setMinted(null);
    const expiry = expiryOf(expires);
    if ('error' in expiry) {
      setFailure({ title: 'The key was not created', message: 'check the expiry', issues: [{ path: ['input', 'expiresAt'], message: expiry.error }] });
      return;
    }
    const result = await create({ input: { name: name.trim(), scopes: [...scopes], expiresAt: expiry.at } });
    const payload = result.data?.createApiKey;
    const failed = failureOf('The key was not created', result.error, payload, 'CreateApiKeyPayload');
    if (failed) {
      setFailure(failed);
      return;
    }
    if (payload?.__typename !== 'CreateApiKeyPayload') return;
    setMinted({ secret: payload.secret, name: payload.apiKey.name, scopes: payload.apiKey.scopes, expiresAt: payload.apiKey.expiresAt ?? null });
    setName('');
    setScopes(['READ']);
    setExpires('');
    onCreated();
  };
  const toggle = (scope: Scope, on: boolean) => setScopes((s) => (on ? SCOPES.filter((x) => x === scope || s.includes(x)) : s.filter((x) => x !== scope)));
  const describedBy = (field: string, hint?: string) => {
    const ids = [hint, issuesAt(failure, field).length > 0 ? `${id}-${field}-issues` : undefined].filter(Boolean);
    return ids.length > 0 ? ids.join(' ') : undefined;
  };
  return (
    <>
      {minted && <SecretOnce minted={minted} onDone={() => setMinted(null)} />}
      <form className="panel-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <fieldset className="body" disabled={blocked !== null} title={blocked ?? undefined}>
          <legend className="title" id={`${id}-title`}>
            New API key
          </legend>
          <div className="field">
            <label htmlFor={`${id}-name`}>Name</label>
            <input
              id={`${id}-name`}
              type="text"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              autoComplete="off"
              placeholder="nightly-pipeline"
              aria-invalid={issuesAt(failure, 'name').length > 0 || undefined}
              aria-describedby={describedBy('name')}
            />
            <FieldIssues id={`${id}-name-issues`} issues={issuesAt(failure, 'name')} />
          </div>
          <fieldset className="choices" aria-describedby={describedBy('scopes', `${id}-scopes-hint`)}>
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s}>
                <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />
                {s}
              </label>
            ))}
            <p className="hint muted" id={`${id}-scopes-hint`}>
              READ queries; WRITE also changes objects and data; ADMIN also manages keys, tag schemas and alert receivers. At most this key’s own.
            </p>
            <FieldIssues id={`${id}-scopes-issues`} issues={issuesAt(failure, 'scopes')} />
          </fieldset>
          <div className="field">
            <label htmlFor={`${id}-expires`}>
              Expires <span className="muted">(optional, your local time; empty: never)</span>
            </label>
            <input
              id={`${id}-expires`}
              type="datetime-local"
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
              aria-invalid={issuesAt(failure, 'expiresAt').length > 0 || undefined}
              aria-describedby={describedBy('expiresAt')}
            />
            <FieldIssues id={`${id}-expiresAt-issues`} issues={issuesAt(failure, 'expiresAt')} />
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={fetching}>
              {fetching ? 'Creating…' : 'Create key'}
            </button>
            {blocked !== null && <span className="muted">{blocked}</span>}
          </div>
        </fieldset>
        {failure && <FailureNote failure={failure} shownAt={['name', 'scopes', 'expiresAt']} />}
      </form>
    </>
  );
}

/** The secret of a key just created: shown this once, to copy, with a plain warning. */
function SecretOnce({ minted, onDone }: { minted: Minted; onDone: () => void }) {
  const id = useId();
  const field = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(minted.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard permission (or an insecure origin): the text is selected for the user to copy.
      setCopied('The browser refused the clipboard: the secret is selected, copy it with Ctrl+C (⌘C).');
    }
  };
  return (
    <section className="secret-once" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} ref={heading} tabIndex={-1}>
        Key {minted.name} created
      </h3>
      <p>
        <ScopeBadges scopes={minted.scopes} /> {minted.expiresAt ? `expires ${formatTime(minted.expiresAt)}` : 'never expires'}
      </p>
      <p className="notice" id={`${id}-warning`}>
        <strong>Copy the secret now: it will not be shown again.</strong> Granary keeps only its hash; if it is lost, revoke the key and create another.
      </p>
      <div className="secret-row">
        <label htmlFor={`${id}-secret`}>Secret</label>
        <input
          id={`${id}-secret`}
          ref={field}
          type="text"
          readOnly
          value={minted.secret}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={`${id}-warning`}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
      <p className="live-status" role="status">
        {copied}
      </p>
    </section>
  );
}
