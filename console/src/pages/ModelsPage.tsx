import { useEffect, useMemo, useState } from 'react';
import { type CombinedError, type OperationResult, useClient } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { AliasBadges, BestMark } from '../components/model/badges.tsx';
import { SortHeader, type SortOrder } from '../components/model/SortHeader.tsx';
import { formatNumber, formatTime } from '../format.ts';
import { bestValue, LOWER_IS_BETTER_WORDS, lowerIsBetter, metricNames, numericMetrics } from './model/metrics.ts';
import './model/model.css';

export const MODELS = graphql(`
  query ConsoleModels($after: String) {
    models(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          name
          version
          framework
          description
          metrics
          aliases
          createdAt
        }
      }
    }
  }
`);

type ModelRow = ResultOf<typeof MODELS>['models']['edges'][number]['node'];

interface Row {
  readonly model: ModelRow;
  readonly metrics: Map<string, number>;
}

const DEFAULT_ORDER: SortOrder = { column: 'name', direction: 'ascending' };

/**
 * The model registry: one row per model version, so that every version's metrics sit in the same
 * columns and sorting by a metric ranks versions across models and within one (filter by name to
 * see one model's versions). The best value of each metric among the rows shown is marked.
 */
export function ModelsPage() {
  const { data, error, fetching } = useAllModels();
  const [filter, setFilter] = useState('');
  const [order, setOrder] = useState<SortOrder>(DEFAULT_ORDER);

  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const all = (data ?? []).map((model) => ({ model, metrics: numericMetrics(model.metrics) }));
    return f === '' ? all : all.filter(({ model: m }) => m.name.includes(f) || m.framework.toLowerCase().includes(f) || m.aliases.some((a) => a.includes(f)));
  }, [data, filter]);
  const metrics = useMemo(() => metricNames(rows.map((r) => r.model)), [rows]);
  const best = useMemo(
    () =>
      new Map(
        metrics.map((m) => [
          m,
          bestValue(
            m,
            rows.map((r) => r.metrics.get(m)),
          ),
        ]),
      ),
    [metrics, rows],
  );
  const sorted = useMemo(() => sortRows(rows, order), [rows, order]);
  const lower = metrics.filter(lowerIsBetter);

  return (
    <section>
      <h1>Models</h1>
      <label className="filter">
        Filter by name, framework or alias <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="models" />}
      {data && sorted.length > 0 && (
        <>
          <div className="wide">
            <table className="list models">
              <caption className="visually-hidden">Model versions, sortable by each column; the best value of each metric is marked</caption>
              <thead>
                <tr>
                  <SortHeader column="name" label="Name" order={order} onSort={setOrder} />
                  <SortHeader column="version" label="Version" order={order} onSort={setOrder} className="num" firstDirection="descending" />
                  <SortHeader column="framework" label="Framework" order={order} onSort={setOrder} />
                  {metrics.map((m) => (
                    <SortHeader
                      key={m}
                      column={`metric:${m}`}
                      label={m}
                      order={order}
                      onSort={setOrder}
                      className="num"
                      firstDirection={lowerIsBetter(m) ? 'ascending' : 'descending'}
                      hint={lowerIsBetter(m) ? 'lower is better' : undefined}
                    />
                  ))}
                  <th scope="col">Aliases</th>
                  <th scope="col">Registered</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map(({ model: m, metrics: values }) => (
                  <tr key={m.id}>
                    <th scope="row">
                      <Link href={`/models/${m.name}?version=${m.version}`}>{m.name}</Link>
                      {m.description && <div className="muted description">{m.description}</div>}
                    </th>
                    <td className="num">{m.version}</td>
                    <td>{m.framework}</td>
                    {metrics.map((name) => {
                      const value = values.get(name);
                      const isBest = value !== undefined && value === best.get(name);
                      return (
                        <td key={name} className={isBest ? 'num best' : 'num'}>
                          {value === undefined ? <span className="muted">—</span> : formatNumber(value)}
                          {isBest && <BestMark />}
                        </td>
                      );
                    })}
                    <td>
                      <AliasBadges aliases={m.aliases} />
                    </td>
                    <td>{formatTime(m.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {metrics.length > 0 && (
            <p className="muted legend">
              <BestMark /> the best value of each metric among the versions shown: the highest, except for metrics whose name says lower is better (a word of it
              is or ends with {LOWER_IS_BETTER_WORDS.join(', ')}), where it is the lowest
              {lower.length > 0 ? ` — here ${lower.join(', ')}` : ''}. Sort by a column with its header.
            </p>
          )}
        </>
      )}
      {data && sorted.length === 0 && <p>No model {filter === '' ? 'registered yet' : 'matches'}.</p>}
    </section>
  );
}

/** Rows in an order; a metric's missing values go last whichever the direction; ties by name, then newest version first. */
function sortRows(rows: readonly Row[], order: SortOrder): Row[] {
  const sign = order.direction === 'ascending' ? 1 : -1;
  const byName = (a: Row, b: Row) => a.model.name.localeCompare(b.model.name) || b.model.version - a.model.version;
  const compare = (a: Row, b: Row): number => {
    if (order.column === 'name') return sign * a.model.name.localeCompare(b.model.name) || b.model.version - a.model.version;
    if (order.column === 'version') return sign * (a.model.version - b.model.version) || byName(a, b);
    if (order.column === 'framework') return sign * a.model.framework.localeCompare(b.model.framework) || byName(a, b);
    const metric = order.column.slice('metric:'.length);
    const x = a.metrics.get(metric);
    const y = b.metrics.get(metric);
    if (x === undefined || y === undefined) return x === y ? byName(a, b) : x === undefined ? 1 : -1;
    return sign * (x - y) || byName(a, b);
  };
  return [...rows].sort(compare);
}

/** Every model version, read page by page (the API serves at most 100 a page). */
function useAllModels(): { data: ModelRow[] | null; error: CombinedError | null; fetching: boolean } {
  const client = useClient();
  const [state, setState] = useState<{ data: ModelRow[] | null; error: CombinedError | null; fetching: boolean }>({ data: null, error: null, fetching: true });
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const rows: ModelRow[] = [];
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<ResultOf<typeof MODELS>> = await client.query(MODELS, { after }, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setState({ data: rows.length > 0 ? rows : null, error: result.error ?? null, fetching: false });
          return;
        }
        const page: ResultOf<typeof MODELS>['models'] = result.data.models;
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
