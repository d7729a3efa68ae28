import { useId, useState } from 'react';
import { useMutation } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { READ_ONLY_REASON, useViewer } from '../../viewer.tsx';

const SET_ALIAS = graphql(`
  mutation ConsoleSetModelAlias($name: String!, $alias: String!, $version: Int!) {
    setModelAlias(name: $name, alias: $alias, version: $version) {
      __typename
      ... on SetModelAliasPayload { alias model { version } }
      ... on ValidationError { message issues { path message } }
      ... on Error { message }
    }
  }
`);

const DELETE_ALIAS = graphql(`
  mutation ConsoleDeleteModelAlias($name: String!, $alias: String!) {
    deleteModelAlias(name: $name, alias: $alias) {
      __typename
      ... on DeleteModelAliasPayload { alias version }
      ... on Error { message }
    }
  }
`);

export interface AliasedVersion {
  readonly version: number;
  readonly state: string;
  readonly aliases: readonly string[];
}

/** A failure to show where it happened: the API's message, and a ValidationError's issues. */
interface Failure {
  readonly title: string;
  readonly message: string;
  readonly issues?: readonly { readonly path: readonly string[]; readonly message: string }[];
}

/**
 * The aliases of a model name (each points at one version) with a button to remove each, and a
 * form that points an alias at a version — creating it, or moving it from the version it was on.
 * For a key without WRITE the controls are disabled and say why.
 */
export function Aliases({ name, current, versions, onChanged }: { name: string; current: number; versions: readonly AliasedVersion[]; onChanged: () => void }) {
  const { canWrite } = useViewer();
  const [, setAlias] = useMutation(SET_ALIAS);
  const [, deleteAlias] = useMutation(DELETE_ALIAS);
  const [alias, setAliasText] = useState('');
  const [target, setTarget] = useState(current);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const aliasId = useId();
  const versionId = useId();
  const reasonId = useId();
  const aliases = versions.flatMap((v) => v.aliases.map((a) => ({ alias: a, version: v.version }))).sort((a, b) => a.alias.localeCompare(b.alias));
  const ready = versions.filter((v) => v.state === 'READY').sort((a, b) => b.version - a.version);
  const readOnly = canWrite ? undefined : READ_ONLY_REASON;
  // An alias points at a READY version: a pending page's own version is not offered.
  const chosen = ready.some((v) => v.version === target) ? target : ready[0]?.version;

  const submit = async () => {
    if (chosen === undefined) return;
    const wanted = alias.trim();
    const before = aliases.find((a) => a.alias === wanted)?.version;
    setBusy(true);
    setDone(null);
    setFailure(null);
    const result = await setAlias({ name, alias: wanted, version: chosen });
    setBusy(false);
    const payload = result.data?.setModelAlias;
    if (result.error || !payload) {
      setFailure({ title: 'The alias was not set', message: result.error ? errorMessage(result.error) : 'the API returned nothing' });
      return;
    }
    if (payload.__typename !== 'SetModelAliasPayload') {
      setFailure({ title: 'The alias was not set', message: payload.message, issues: payload.__typename === 'ValidationError' ? payload.issues : undefined });
      return;
    }
    const moved = before !== undefined && before !== payload.model.version ? ` (moved from version ${before})` : '';
    setDone(`Alias ${payload.alias} now points at version ${payload.model.version}${moved}.`);
    setAliasText('');
    onChanged();
  };

  const remove = async (a: string) => {
    setBusy(true);
    setDone(null);
    setFailure(null);
    const result = await deleteAlias({ name, alias: a });
    setBusy(false);
    const payload = result.data?.deleteModelAlias;
    if (result.error || !payload) {
      setFailure({ title: `Alias ${a} was not removed`, message: result.error ? errorMessage(result.error) : 'the API returned nothing' });
      return;
    }
    if (payload.__typename !== 'DeleteModelAliasPayload') {
      setFailure({ title: `Alias ${a} was not removed`, message: payload.message });
      return;
    }
    setDone(`Removed alias ${payload.alias} (it pointed at version ${payload.version}).`);
    onChanged();
  };

  return (
    <>
      {aliases.length === 0 ? (
        <p className="muted">No alias points at a version of {name}.</p>
      ) : (
        <table className="list aliases">
          <caption className="visually-hidden">Aliases of {name}</caption>
          <thead>
            <tr>
              <th scope="col">Alias</th>
              <th scope="col">Version</th>
              <th scope="col">
                <span className="visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {aliases.map((a) => (
              <tr key={a.alias}>
                <th scope="row">
                  <span className="badge alias">{a.alias}</span>
                </th>
                <td>{a.version === current ? `${a.version} (this one)` : <Link href={`/models/${name}?version=${a.version}`}>version {a.version}</Link>}</td>
                <td>
                  <button
                    type="button"
                    disabled={!canWrite || busy}
                    title={readOnly}
                    aria-describedby={canWrite ? undefined : reasonId}
                    onClick={() => void remove(a.alias)}
                  >
                    Remove<span className="visually-hidden"> alias {a.alias}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="alias-form"
        aria-label={`Set an alias of ${name}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (canWrite) void submit();
        }}
      >
        <div className="field">
          <label htmlFor={aliasId}>Alias</label>
          <input
            id={aliasId}
            value={alias}
            onChange={(e) => setAliasText(e.target.value)}
            placeholder="champion"
            required
            autoComplete="off"
            disabled={!canWrite}
            title={readOnly}
            aria-describedby={canWrite ? undefined : reasonId}
          />
        </div>
        <div className="field">
          <label htmlFor={versionId}>points at version</label>
          <select
            id={versionId}
            value={chosen ?? ''}
            onChange={(e) => setTarget(Number(e.target.value))}
            disabled={!canWrite}
            title={readOnly}
            aria-describedby={canWrite ? undefined : reasonId}
          >
            {ready.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
                {v.version === current ? ' (this one)' : ''}
              </option>
            ))}
          </select>
        </div>
        <button
          type="submit"
          disabled={!canWrite || busy || alias.trim() === '' || chosen === undefined}
          title={readOnly}
          aria-describedby={canWrite ? undefined : reasonId}
        >
          {busy ? 'Saving…' : 'Set alias'}
        </button>
        <p className="muted hint" id={reasonId}>
          {canWrite ? 'An alias points at one ready version: setting an alias another version has moves it to the version picked.' : READ_ONLY_REASON}
        </p>
      </form>
      <p aria-live="polite" className="status">
        {done}
      </p>
      {failure && <AliasFailure failure={failure} />}
    </>
  );
}

function AliasFailure({ failure }: { failure: Failure }) {
  const issues = failure.issues ?? [];
  return (
    <div className="error" role="alert">
      <strong>{failure.title}:</strong> {failure.message}
      {issues.length > 0 && (
        <ul>
          {issues.map((i) => (
            <li key={`${i.path.join('.')}:${i.message}`}>
              {i.path.length > 0 && <code>{i.path.join('.')}</code>} {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
