import { useEffect, useMemo, useState } from 'react';
import { type CombinedError, type OperationResult, useClient } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';

export const GROUPS = graphql(`
  query ConsoleFeatureGroups($after: String) {
    featureGroups(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          name
          version
          description
          onlineEnabled
          rowCount
          keywords
          tags { name }
          external
          commits(first: 1) { committedAt }
          freshness { lastEventTime pendingRows onlineLagMs }
        }
      }
    }
  }
`);

/** Every feature group version of the project, filtered by name, tag or keyword. */
export function FeatureGroupsPage() {
  const { data, error, fetching } = useAllGroups();
  const [filter, setFilter] = useState('');
  const groups = useMemo(() => {
    const all = data ?? [];
    const f = filter.trim().toLowerCase();
    if (f === '') return all;
    return all.filter((g) => g.name.includes(f) || g.keywords.some((k) => k.toLowerCase().includes(f)) || g.tags.some((t) => t.name.toLowerCase().includes(f)));
  }, [data, filter]);
  return (
    <section>
      <h1>Feature groups</h1>
      <label className="filter">
        Filter by name, tag or keyword <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="feature groups" />}
      {data && (
        <table className="list">
          <caption className="visually-hidden">Feature groups</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Stores</th>
              <th scope="col">Rows</th>
              <th scope="col">Last commit</th>
              <th scope="col">Freshness</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.id}>
                <th scope="row">
                  <Link href={`/feature-groups/${g.name}?version=${g.version}`}>{g.name}</Link>
                  {g.description && <div className="muted">{g.description}</div>}
                </th>
                <td>{g.version}</td>
                <td>
                  {g.external ? <span className="badge">external</span> : <span className="badge">offline</span>}
                  {g.onlineEnabled && <span className="badge online">online</span>}
                </td>
                <td className="num">{g.rowCount.toLocaleString()}</td>
                <td>{formatTime(g.commits[0]?.committedAt)}</td>
                <td>{g.freshness.lastEventTime ? `newest event ${formatTime(g.freshness.lastEventTime)}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && groups.length === 0 && <p>No feature group {filter === '' ? 'yet' : 'matches'}.</p>}
    </section>
  );
}

type GroupRow = ResultOf<typeof GROUPS>['featureGroups']['edges'][number]['node'];

/** Every group version, read page by page (the API serves at most 100 a page). */
function useAllGroups(): { data: GroupRow[] | null; error: CombinedError | null; fetching: boolean } {
  const client = useClient();
  const [state, setState] = useState<{ data: GroupRow[] | null; error: CombinedError | null; fetching: boolean }>({ data: null, error: null, fetching: true });
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const rows: GroupRow[] = [];
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<ResultOf<typeof GROUPS>> = await client.query(GROUPS, { after }, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setState({ data: rows.length > 0 ? rows : null, error: result.error ?? null, fetching: false });
          return;
        }
        const page: ResultOf<typeof GROUPS>['featureGroups'] = result.data.featureGroups;
        for (const edge of page.edges) rows.push(edge.node);
        if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) break;
        after = page.pageInfo.endCursor;
      }
      setState({ data: rows, error: null, fetching: false });
    })();
    return () => {
      cancelled = true;
    };
  }, [client]);
  return state;
}
