import { useId, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { formatNumber } from '../../format.ts';
import { lowerIsBetter, numericMetrics } from '../../pages/model/metrics.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';

const BEST = graphql(`
  query ConsoleBestModel($name: String!, $metric: String!, $direction: SortDirection!) {
    bestModel(name: $name, metric: $metric, direction: $direction) { id version metrics aliases }
  }
`);

/** The API's best version of a model by a metric picked here (highest, or lowest for a lower-is-better metric). */
export function BestVersion({ name, metrics, current }: { name: string; metrics: readonly string[]; current: number }) {
  const [metric, setMetric] = useState(() => metrics[0] ?? '');
  const id = useId();
  if (metrics.length === 0) return <p className="muted">No version has metrics.</p>;
  return (
    <div className="toolbar">
      <label htmlFor={id}>Best version by</label>
      <select id={id} value={metric} onChange={(e) => setMetric(e.target.value)}>
        {metrics.map((m) => (
          <option key={m} value={m}>
            {m}
            {lowerIsBetter(m) ? ' (lowest)' : ' (highest)'}
          </option>
        ))}
      </select>
      <BestAnswer name={name} metric={metric} current={current} />
    </div>
  );
}

function BestAnswer({ name, metric, current }: { name: string; metric: string; current: number }) {
  const direction = lowerIsBetter(metric) ? 'MIN' : 'MAX';
  const [{ data, error, fetching }] = useQuery({ query: BEST, variables: { name, metric, direction } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the best version" />;
  const best = data?.bestModel;
  if (!best) return <span className="muted">No version has {metric}.</span>;
  const value = numericMetrics(best.metrics).get(metric);
  return (
    <output aria-live="polite">
      {best.version === current ? `version ${best.version} (this one)` : <Link href={`/models/${name}?version=${best.version}`}>version {best.version}</Link>},{' '}
      {metric} {formatNumber(value)}
    </output>
  );
}
