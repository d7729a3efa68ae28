import { Component, type ReactNode, useId } from 'react';
import { formatDuration } from '../../format.ts';
import { type Bin, type CorrelationMatrix, chartKind, formatCorrelation, formatStat, formatValue, isTemporal } from '../charts/data.tsx';
import { ErrorNote } from '../ErrorNote.tsx';
import type { Charts } from './charts.ts';

// A feature's statistics card (descriptive statistics, percentiles, histogram or top values) and
// the correlation table, as the API's `FeatureStatistics` and `Correlations` give them: shared by
// a feature group's Statistics tab and a training dataset's splits.

/** The fields of the API's `FeatureStatistics` a card shows. */
export interface CardStatistics {
  readonly name: string;
  readonly type: string;
  readonly count: number;
  readonly completeness: number;
  readonly nullCount: number;
  readonly distinctCount: number;
  readonly approximateDistinctCount: number;
  readonly exactDistinct: boolean;
  readonly distinctness: number | null;
  readonly uniqueness: number | null;
  readonly entropy: number | null;
  readonly mean: number | null;
  readonly stddev: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: number | null;
  readonly percentiles: readonly { readonly percent: number; readonly value: number | null }[] | null;
  readonly histogram: readonly Bin[] | null;
}

/**
 * One feature's card. `histogramsOff` says why there is no histogram when none was computed because
 * histograms were turned off (null: they were on). `onDrawn` is called once its chart is drawn.
 */
export function FeatureCard({
  feature: f,
  histogramsOff,
  charts,
  onDrawn,
}: {
  feature: CardStatistics;
  histogramsOff: string | null;
  charts: Charts | null;
  onDrawn?: (key: string) => void;
}) {
  const headingId = useId();
  const kind = chartKind(f.histogram);
  const bins = f.histogram ?? [];
  const drawn = () => onDrawn?.(f.name);
  return (
    <article className="card stat-card" aria-labelledby={headingId}>
      <header>
        <h4 id={headingId}>{f.name}</h4>
        <span className="badge">{f.type}</span>
      </header>
      <div className="stat-body">
        <dl className="facts">
          {facts(f).map(([label, value, text]) => (
            <Fact key={label} label={label} value={value} text={text} />
          ))}
        </dl>
        {f.percentiles && f.percentiles.length > 0 && (
          <table className="percentiles">
            <caption>Percentiles</caption>
            <tbody>
              {f.percentiles.map((p) => (
                <tr key={p.percent}>
                  <th scope="row">{p.percent} %</th>
                  <td>{p.value === null ? '—' : <data value={p.value}>{formatValue(p.value, f.type)}</data>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {kind === null ? (
        <p className="muted">No histogram: {noHistogramReason(f, histogramsOff)}.</p>
      ) : (
        <ChartBoundary>
          {!charts ? (
            <ChartPlaceholder />
          ) : kind === 'histogram' ? (
            <charts.Histogram feature={f.name} type={f.type} bins={bins} onDrawn={drawn} />
          ) : (
            <charts.TopValues feature={f.name} bins={bins} onDrawn={drawn} />
          )}
        </ChartBoundary>
      )}
    </article>
  );
}

/** A term and its value: the exact number in a `<data>` element, shown formatted. */
function Fact({ label, value, text }: { label: string; value: number; text: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>
        <data value={value}>{text}</data>
      </dd>
    </>
  );
}

/** The descriptive statistics a feature has, as [label, exact value, text]. */
function facts(f: CardStatistics): [string, number, string][] {
  const list: [string, number, string][] = [
    ['Count', f.count, formatStat(f.count)],
    ['Completeness', f.completeness, percent(f.completeness)],
    ['Null count', f.nullCount, formatStat(f.nullCount)],
    [f.exactDistinct ? 'Distinct (exact)' : 'Distinct (approx.)', f.distinctCount, formatStat(f.distinctCount)],
  ];
  if (f.exactDistinct) list.push(['Distinct (approx.)', f.approximateDistinctCount, formatStat(f.approximateDistinctCount)]);
  if (f.distinctness !== null) list.push(['Distinctness', f.distinctness, percent(f.distinctness)]);
  if (f.uniqueness !== null) list.push(['Uniqueness', f.uniqueness, percent(f.uniqueness)]);
  if (f.entropy !== null) list.push(['Entropy (nats)', f.entropy, formatStat(f.entropy)]);
  const temporal = isTemporal(f.type);
  if (f.mean !== null) list.push(['Mean', f.mean, formatValue(f.mean, f.type)]);
  // A temporal feature's spread is a duration (milliseconds); its sum means nothing.
  if (f.stddev !== null) list.push(['Std. deviation', f.stddev, temporal ? formatDuration(f.stddev) : formatStat(f.stddev)]);
  if (f.min !== null) list.push(['Minimum', f.min, formatValue(f.min, f.type)]);
  if (f.max !== null) list.push(['Maximum', f.max, formatValue(f.max, f.type)]);
  if (f.sum !== null && !temporal) list.push(['Sum', f.sum, formatStat(f.sum)]);
  return list;
}

function percent(ratio: number): string {
  return `${formatStat(ratio * 100)} %`;
}

function noHistogramReason(f: CardStatistics, histogramsOff: string | null): string {
  if (f.count === 0) return 'the feature has no values';
  if (f.histogram === null && histogramsOff !== null) return histogramsOff;
  if (f.histogram === null) return `none is computed for ${f.type} features`;
  return 'no bins';
}

/** The correlations as a table, for screen readers (the heat map is a picture of it). */
export function CorrelationTable({ correlations }: { correlations: CorrelationMatrix }) {
  return (
    <table className="visually-hidden">
      <caption>Correlation matrix: Pearson correlation of each pair of features</caption>
      <thead>
        <tr>
          <td />
          {correlations.features.map((f) => (
            <th key={f} scope="col">
              {f}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {correlations.matrix.map((row) => (
          <tr key={row.feature}>
            <th scope="row">{row.feature}</th>
            {correlations.features.map((f, j) => (
              <td key={f}>{formatCorrelation(row.values[j] ?? null)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ChartPlaceholder() {
  return <div className="chart-placeholder" aria-hidden="true" />;
}

/** Shows a chart that could not be drawn as an error, the rest of the page intact. */
export class ChartBoundary extends Component<{ children: ReactNode }, { error: string | null }> {
  state = { error: null as string | null };
  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  render() {
    return this.state.error === null ? this.props.children : <ErrorNote title="Could not draw the chart" message={this.state.error} />;
  }
}
