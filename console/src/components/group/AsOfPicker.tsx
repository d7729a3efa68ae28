import { useId, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { ErrorNote } from '../ErrorNote.tsx';

/** Commits listed per page (the API allows up to 1000; the picker lists them all once loaded). */
const PAGE = 100;

const COMMITS = graphql(`
  query ConsoleGroupCommitTimes($name: String!, $version: Int!, $first: Int!, $after: String) {
    featureGroup(name: $name, version: $version) {
      id
      commits(first: $first, after: $after) { id committedAt operation rowCount }
    }
  }
`);

interface CommitTime {
  readonly id: string;
  readonly committedAt: string;
  readonly operation: string;
  readonly rowCount: number;
}

/**
 * Picks the time the group's rows are read as of: now (the latest commit) or the time of one of its
 * commits, newest first. Older commits are loaded a page at a time on request.
 */
export function AsOfPicker({
  name,
  version,
  value,
  onChange,
}: {
  name: string;
  version: number;
  value: string | null;
  onChange: (asOf: string | null) => void;
}) {
  const id = useId();
  const client = useClient();
  const [{ data, error }] = useQuery({ query: COMMITS, variables: { name, version, first: PAGE, after: null } });
  const [older, setOlder] = useState<CommitTime[]>([]);
  const [olderError, setOlderError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [olderDone, setOlderDone] = useState(false);
  const first = data?.featureGroup?.commits ?? [];
  // A first page refreshed with new commits keeps the older pages loaded (they follow by commit id).
  const commits = [...first, ...older.filter((c) => !first.some((f) => f.id === c.id))];
  // A page shorter than asked for is the last one.
  const exhausted = first.length < PAGE || olderDone;
  const loadOlder = async () => {
    const last = commits[commits.length - 1];
    if (!last) return;
    setLoading(true);
    setOlderError(null);
    const result = await client.query(COMMITS, { name, version, first: PAGE, after: last.id }, { requestPolicy: 'network-only' }).toPromise();
    setLoading(false);
    if (result.error) {
      setOlderError(errorMessage(result.error));
      return;
    }
    const page = result.data?.featureGroup?.commits ?? [];
    setOlder((o) => [...o, ...page]);
    if (page.length < PAGE) setOlderDone(true);
  };

  return (
    <div className="toolbar">
      <label htmlFor={id}>As of</label>
      <select id={id} value={value ?? ''} onChange={(e) => onChange(e.target.value === '' ? null : e.target.value)}>
        <option value="">now (latest commit)</option>
        {commits.map((c, i) => (
          <option key={c.id} value={c.committedAt}>
            {formatTime(c.committedAt)} — {c.operation.toLowerCase()} of {c.rowCount.toLocaleString()} rows{i === 0 ? ' (latest)' : ''}
          </option>
        ))}
      </select>
      {!exhausted && commits.length > 0 && (
        <button type="button" onClick={() => void loadOlder()} disabled={loading}>
          {loading ? 'Loading older commits…' : 'List older commits'}
        </button>
      )}
      {data && commits.length === 0 && <span className="muted">No commits yet.</span>}
      {error && <ErrorNote message={errorMessage(error)} />}
      {olderError && <ErrorNote message={olderError} />}
    </div>
  );
}
