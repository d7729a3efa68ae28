import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { CreateKeyForm } from '../../components/settings/CreateKeyForm.tsx';
import { ConfirmButton, type Failure, FailureNote, failureOf, useBlocked } from '../../components/settings/forms.tsx';
import { ScopeBadges } from '../../components/settings/scopes.tsx';
import { formatTime } from '../../format.ts';
import { useViewer } from '../../viewer.tsx';

const KEYS = graphql(`
  query ConsoleApiKeys {
    viewer { apiKey { id } }
    apiKeys(includeRevoked: true) { id name prefix scopes createdAt lastUsedAt expiresAt revokedAt }
  }
`);

const REVOKE = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      __typename
      ... on RevokeApiKeyPayload { apiKey { id revokedAt } }
      ... on Error { message }
    }
  }
`);

type KeyRow = ResultOf<typeof KEYS>['apiKeys'][number];

/** Why the key the console is signed in with cannot be revoked from here. */
const OWN_KEY_REASON = 'This is the key you are signed in with: revoking it would end this session. Revoke it while signed in with another ADMIN key.';

/**
 * `/settings/keys`: the project's API keys, newest first, revoked ones included; create one (its
 * secret shown once) and revoke one after a confirmation. Only for an ADMIN key: another key gets
 * a note saying so, and the page asks the API nothing it would refuse.
 */
export function KeysSection() {
  const { canAdmin, keyName } = useViewer();
  if (!canAdmin) {
    return (
      <>
        <h2>API keys</h2>
        <p className="notice" role="note">
          <strong>Managing API keys needs an ADMIN key.</strong> The key you are signed in with ({keyName}) cannot list, create or revoke keys: sign in with an
          ADMIN key of this project to manage them.
        </p>
      </>
    );
  }
  return <Keys />;
}

function Keys() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: KEYS });
  const reload = () => reexecute({ requestPolicy: 'network-only' });
  return (
    <>
      <h2>API keys</h2>
      <p className="muted">
        Requests carry a key as <code>Authorization: Bearer &lt;secret&gt;</code>. Keys are stored as hashes: a secret is shown once, when the key is created.
      </p>
      <CreateKeyForm onCreated={reload} />
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && !error && <Loading what="API keys" />}
      {data && <KeysTable keys={data.apiKeys} ownId={data.viewer.apiKey.id} onChanged={reload} />}
    </>
  );
}

function KeysTable({ keys, ownId, onChanged }: { keys: readonly KeyRow[]; ownId: string; onChanged: () => void }) {
  return (
    <table className="list api-keys">
      <caption className="visually-hidden">API keys of the project, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Prefix</th>
          <th scope="col">Scopes</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires</th>
          <th scope="col">Revoked</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <KeyLine key={k.id} apiKey={k} own={k.id === ownId} onChanged={onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function KeyLine({ apiKey: k, own, onChanged }: { apiKey: KeyRow; own: boolean; onChanged: () => void }) {
  const blocked = useBlocked('ADMIN');
  const [{ fetching }, revoke] = useMutation(REVOKE);
  const [failure, setFailure] = useState<Failure | null>(null);
  const expired = k.expiresAt !== null && k.expiresAt !== undefined && new Date(k.expiresAt).getTime() <= Date.now();
  const revokeIt = async () => {
    setFailure(null);
    const result = await revoke({ id: k.id });
    const failed = failureOf(`${k.name} was not revoked`, result.error, result.data?.revokeApiKey, 'RevokeApiKeyPayload');
    if (failed) setFailure(failed);
    else onChanged();
  };
  return (
    <tr data-key={k.prefix} className={k.revokedAt ? 'revoked' : undefined}>
      <th scope="row">
        {k.name}
        {own && <span className="badge own">this key</span>}
      </th>
      <td>
        <code>gra_{k.prefix}_…</code>
      </td>
      <td>
        <ScopeBadges scopes={k.scopes} />
      </td>
      <td>{formatTime(k.createdAt)}</td>
      <td>{k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'}</td>
      <td>
        {k.expiresAt ? formatTime(k.expiresAt) : 'never'}
        {expired && !k.revokedAt && <span className="badge expired">expired</span>}
      </td>
      <td>{k.revokedAt ? formatTime(k.revokedAt) : <span className="muted">active</span>}</td>
      <td className="actions">
        {!k.revokedAt && (
          <ConfirmButton
            label="Revoke"
            accessibleLabel={`Revoke key ${k.name}`}
            question={`Revoke ${k.name}? Every request with it is refused from now on, and this cannot be undone.`}
            confirmLabel={`Revoke ${k.name}`}
            blocked={blocked ?? (own ? OWN_KEY_REASON : null)}
            busy={fetching}
            onConfirm={() => void revokeIt()}
          />
        )}
        {own && !k.revokedAt && <div className="muted own-note">Signed in with it: revoke it from another ADMIN key.</div>}
        {failure && <FailureNote failure={failure} />}
      </td>
    </tr>
  );
}
