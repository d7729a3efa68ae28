import { useEffect, useMemo, useState } from 'react';
import { type CombinedError, type OperationResult, useClient } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';

export const VIEWS = graphql(`
  query ConsoleFeatureViews($after: String) {
    featureViews(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          name
          version
          description
          createdAt
          labels
          keywords
          features { name }
          trainingDatasets { id }
        }
      }
    }
  }
`);

/** Every feature view version of the project, filtered by name, label or keyword. */
export function FeatureViewsPage() {
  const { data, error, fetching } = useAllViews();
  const [filter, setFilter] = useState('');
  const views = useMemo(() => {
    const all = data ?? [];
    const f = filter.trim().toLowerCase();
    if (f === '') return all;
    return all.filter((v) => v.name.includes(f) || v.labels.some((l) => l.toLowerCase().includes(f)) || v.keywords.some((k) => k.toLowerCase().includes(f)));
  }, [data, filter]);
  return (
    <section>
      <h1>Feature views</h1>
      <label className="filter">
        Filter by name, label or keyword <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="feature views" />}
      {data && views.length > 0 && (
        <table className="list">
          <caption className="visually-hidden">Feature views</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col" className="num">
                Features
              </th>
              <th scope="col">Labels</th>
              <th scope="col" className="num">
                Training datasets
              </th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {views.map((v) => (
              <tr key={v.id}>
                <th scope="row">
                  <Link href={`/feature-views/${v.name}/overview?version=${v.version}`}>{v.name}</Link>
                  {v.description && <div className="muted">{v.description}</div>}
                </th>
                <td>{v.version}</td>
                <td className="num">{v.features.length}</td>
                <td>
                  {v.labels.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    v.labels.map((l) => (
                      <span key={l} className="badge">
                        {l}
                      </span>
                    ))
                  )}
                </td>
                <td className="num">{v.trainingDatasets.length}</td>
                <td>{formatTime(v.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && views.length === 0 && <p>No feature view {filter === '' ? 'yet' : 'matches'}.</p>}
    </section>
  );
}

type ViewRow = ResultOf<typeof VIEWS>['featureViews']['edges'][number]['node'];

/** Every view version, read page by page (the API serves at most 100 a page). */
function useAllViews(): { data: ViewRow[] | null; error: CombinedError | null; fetching: boolean } {
  const client = useClient();
  const [state, setState] = useState<{ data: ViewRow[] | null; error: CombinedError | null; fetching: boolean }>({ data: null, error: null, fetching: true });
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const rows: ViewRow[] = [];
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<ResultOf<typeof VIEWS>> = await client.query(VIEWS, { after }, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setState({ data: rows.length > 0 ? rows : null, error: result.error ?? null, fetching: false });
          return;
        }
        const page: ResultOf<typeof VIEWS>['featureViews'] = result.data.featureViews;
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
