import { useId, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { Downloads } from '../../components/group/Downloads.tsx';
import { useCharts } from '../../components/statistics/charts.ts';
import { ChartBoundary, ChartPlaceholder, CorrelationTable, FeatureCard } from '../../components/statistics/FeatureCard.tsx';
import { TransformationStatistics } from '../../components/view/TransformationStatistics.tsx';
import { splitSummary } from '../../components/view/split.ts';
import { formatNumber, formatTime } from '../../format.ts';
import type { ViewTabProps } from './tab.ts';
import '../group/group.css';
import '../group/statistics.css';
import './view.css';

const DATASETS = graphql(`
  query ConsoleViewTrainingDatasets($name: String!, $version: Int!) {
    featureView(name: $name, version: $version) {
      id
      trainingDatasets { id version description createdAt format split splits { name rowCount } }
    }
  }
`);

const DATASET = graphql(`
  query ConsoleTrainingDataset($view: FeatureViewRef!, $version: Int!) {
    trainingDataset(featureView: $view, version: $version) {
      id
      version
      transformationStatistics
      splits {
        name
        rowCount
        csv: downloadUrl(format: CSV)
        parquet: downloadUrl(format: PARQUET)
        rawCsv: downloadUrl(format: CSV, transformed: false)
        statistics {
          id
          computedAt
          rowCount
          features {
            name
            type
            count
            completeness
            nullCount
            distinctCount
            approximateDistinctCount
            exactDistinct
            distinctness
            uniqueness
            entropy
            mean
            stddev
            min
            max
            sum
            percentiles { percent value }
            histogram { value lower upper count other }
          }
          correlations { features matrix { feature values } }
        }
      }
    }
  }
`);

type Split = NonNullable<ResultOf<typeof DATASET>['trainingDataset']>['splits'][number];

/**
 * The view's training dataset versions (split settings and row counts), then one version (the
 * latest, or `?td=<n>`): its splits' row counts, the fitted parameters of its transformation
 * functions, and each split's statistics drawn as on a feature group's Statistics tab.
 */
export function TrainingDataTab({ name, version, trainingDataset }: ViewTabProps & { trainingDataset: number | null }) {
  const [{ data, error, fetching }] = useQuery({ query: DATASETS, variables: { name, version } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="training datasets" />;
  const view = data?.featureView;
  if (!view) return <ErrorNote title="Not found" message={`no feature view ${name} version ${version}`} />;
  const datasets = view.trainingDatasets;
  const shown = trainingDataset ?? datasets.at(-1)?.version ?? null;
  return (
    <>
      <h2>Training datasets</h2>
      {datasets.length === 0 ? (
        <p>
          No training dataset yet: create one with the <code>createTrainingDataset</code> mutation (a random or time-series split, materialized as files, with
          the transformation functions fitted on its train split).
        </p>
      ) : (
        <table className="list">
          <caption className="visually-hidden">
            Training dataset versions of {name} version {version}
          </caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Created</th>
              <th scope="col">Split</th>
              <th scope="col">Rows per split</th>
              <th scope="col">Format</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  {d.version === shown ? (
                    <span aria-current="true">{d.version} (shown below)</span>
                  ) : (
                    <Link href={`/feature-views/${name}/training-data?version=${version}&td=${d.version}`}>version {d.version}</Link>
                  )}
                </th>
                <td>{formatTime(d.createdAt)}</td>
                <td>{splitSummary(d.split)}</td>
                <td>{d.splits.map((s) => `${s.name} ${formatNumber(s.rowCount)}`).join(' · ')}</td>
                <td>{d.format}</td>
                <td>{d.description || <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown !== null && <Dataset key={shown} view={{ name, version }} version={shown} />}
    </>
  );
}

function Dataset({ view, version }: { view: ViewTabProps; version: number }) {
  const headingId = useId();
  const pickerId = useId();
  const [{ data, error, fetching }] = useQuery({ query: DATASET, variables: { view, version } });
  const charts = useCharts();
  const [picked, setPicked] = useState<string | null>(null);
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what={`training dataset version ${version}`} />;
  const dataset = data?.trainingDataset;
  if (!dataset) return <ErrorNote title="Not found" message={`no training dataset version ${version} of feature view ${view.name} version ${view.version}`} />;
  const total = dataset.splits.reduce((sum, s) => sum + s.rowCount, 0);
  const split = dataset.splits.find((s) => s.name === picked) ?? dataset.splits[0] ?? null;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Training dataset version {dataset.version}</h2>
      <table className="list splits">
        <caption className="visually-hidden">Splits of training dataset version {dataset.version}</caption>
        <thead>
          <tr>
            <th scope="col">Split</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Share
            </th>
          </tr>
        </thead>
        <tbody>
          {dataset.splits.map((s) => (
            <tr key={s.name}>
              <th scope="row">{s.name}</th>
              <td className="num">
                <data value={s.rowCount}>{formatNumber(s.rowCount)}</data>
              </td>
              <td className="num">{total === 0 ? '—' : `${formatNumber((s.rowCount / total) * 100, 3)} %`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Download</h3>
      {dataset.splits.map((s) => (
        <div key={s.name}>
          <h4>{s.name}</h4>
          <Downloads
            note={`The ${s.name} split’s ${formatNumber(s.rowCount)} rows, labels included: transformed with this version’s fitted parameters, or raw.`}
            links={[
              { label: `${s.name} as CSV`, path: s.csv, fileName: `${view.name}_${view.version}_td${dataset.version}_${s.name}.csv` },
              { label: `${s.name} as Parquet`, path: s.parquet, fileName: `${view.name}_${view.version}_td${dataset.version}_${s.name}.parquet` },
              { label: `${s.name} raw as CSV`, path: s.rawCsv, fileName: `${view.name}_${view.version}_td${dataset.version}_${s.name}_raw.csv` },
            ]}
          />
        </div>
      ))}

      <h3>Fitted transformation parameters</h3>
      <TransformationStatistics value={dataset.transformationStatistics} />

      <h3>Statistics per split</h3>
      {split === null ? (
        <p className="muted">No splits.</p>
      ) : (
        <div className="statistics">
          <div className="stats-toolbar">
            <label htmlFor={pickerId}>Split</label>
            <select id={pickerId} value={split.name} onChange={(e) => setPicked(e.target.value)}>
              {dataset.splits.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name} ({formatNumber(s.rowCount)} rows)
                </option>
              ))}
            </select>
            {split.statistics && (
              <p className="stats-summary">
                {formatNumber(split.statistics.rowCount)} rows, {split.statistics.features.length} features, untransformed · computed{' '}
                <time dateTime={split.statistics.computedAt as string}>{formatTime(split.statistics.computedAt as string)}</time>
              </p>
            )}
          </div>
          {charts.error && <ErrorNote title="Could not load the charts" message={charts.error} />}
          <SplitStatistics key={split.name} split={split} charts={charts.charts} />
        </div>
      )}
    </section>
  );
}

function SplitStatistics({ split, charts }: { split: Split; charts: ReturnType<typeof useCharts>['charts'] }) {
  const featuresId = useId();
  const correlationsId = useId();
  const stats = split.statistics;
  if (!stats) return <p className="muted">No statistics were computed for the {split.name} split.</p>;
  const correlations = stats.correlations && stats.correlations.features.length > 0 ? stats.correlations : null;
  return (
    <>
      <section aria-labelledby={featuresId}>
        <h4 id={featuresId}>Features of the {split.name} split</h4>
        <div className="stats-cards">
          {stats.features.map((f) => (
            <FeatureCard key={f.name} feature={f} histogramsOff={null} charts={charts} />
          ))}
        </div>
      </section>
      <section aria-labelledby={correlationsId}>
        <h4 id={correlationsId}>Correlations in the {split.name} split</h4>
        {correlations ? (
          <>
            <ChartBoundary>{charts ? <charts.CorrelationHeatmap correlations={correlations} /> : <ChartPlaceholder />}</ChartBoundary>
            <CorrelationTable correlations={correlations} />
          </>
        ) : (
          <p className="muted">No correlation matrix: fewer than two numeric features.</p>
        )}
      </section>
    </>
  );
}
