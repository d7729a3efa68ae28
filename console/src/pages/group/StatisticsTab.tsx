import { Component, type ReactNode, useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { type Bin, type CorrelationMatrix, chartKind, formatCorrelation, formatStat, formatValue, isTemporal } from '../../components/charts/data.tsx';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { formatDuration, formatTime } from '../../format.ts';
import type { GroupTabProps } from './tab.ts';
import './statistics.css';

/** Marked once the last chart of a load of statistics is drawn (a benchmark measures the time to it). */
export const STATISTICS_DRAWN_MARK = 'granary:statistics-drawn';

/** How many computations the commit picker lists (newest first); statistics are computed about once per commit. */
const HISTORY_SIZE = 100;

const HISTORY = graphql(`
  query ConsoleStatisticsHistory($name: String!, $version: Int, $first: Int!) {
    featureGroup(name: $name, version: $version) {
      id
      statisticsConfig { enabled histograms correlations }
      statisticsHistory(first: $first) { id commit computedAt rowCount }
      commits(first: $first) { id committedAt }
    }
  }
`);

const STATISTICS = graphql(`
  query ConsoleStatistics($name: String!, $version: Int, $commit: ID) {
    featureGroup(name: $name, version: $version) {
      id
      statistics(commit: $commit) {
        id
        commit
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
`);

const UPDATED = graphql(`
  subscription ConsoleStatisticsUpdated($group: FeatureGroupRef!) {
    statisticsUpdated(featureGroup: $group) { id commit computedAt }
  }
`);

type Statistics = NonNullable<NonNullable<ResultOf<typeof STATISTICS>['featureGroup']>['statistics']>;
type FeatureStatistics = Statistics['features'][number];
type Config = NonNullable<ResultOf<typeof HISTORY>['featureGroup']>['statisticsConfig'];

type Charts = typeof import('../../components/charts/Charts.tsx');

// The charts (and Observable Plot) load as one chunk of their own, fetched as soon as the tab is
// shown, while its queries run. Not React.lazy: a lazy component suspends on its first render even
// when its module has loaded, and React then holds back revealing the suspended content (by about
// 300 ms), which a page of charts would wait for on every load. The module is kept here instead,
// and cards show a placeholder until it is there.
let chartsLoaded: Charts | null = null;
let chartsLoading: Promise<Charts> | null = null;
function loadCharts(): Promise<Charts> {
  chartsLoading ??= import('../../components/charts/Charts.tsx').then(
    (charts) => {
      chartsLoaded = charts;
      return charts;
    },
    (error: unknown) => {
      // Tried again the next time the tab is shown.
      chartsLoading = null;
      throw error;
    },
  );
  return chartsLoading;
}

// A statistics page opened as such (a link, a bookmark, a reload) loads the charts with the app,
// rather than once the group's query has answered and the tab is shown. A failure is reported by
// the tab, which tries again.
if (/^\/feature-groups\/[^/]+\/statistics\/?$/.test(window.location.pathname)) loadCharts().catch(() => {});

/** The chart components once their chunk has loaded (null until then), or why it could not load. */
function useCharts(): { charts: Charts | null; error: string | null } {
  const [state, setState] = useState<{ charts: Charts | null; error: string | null }>(() => ({ charts: chartsLoaded, error: null }));
  useEffect(() => {
    let mounted = true;
    loadCharts().then(
      (charts) => mounted && setState((s) => (s.charts === charts ? s : { charts, error: null })),
      (error: unknown) => mounted && setState({ charts: null, error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      mounted = false;
    };
  }, []);
  return state;
}

/** A commit the picker offers: one whose statistics were computed. */
interface CommitChoice {
  readonly commit: string;
  readonly committedAt: string | null;
  readonly computedAt: string;
  readonly rowCount: number;
}

/**
 * Statistics of a feature group version, as Hopsworks shows them: pick a commit (the latest by
 * default), then per feature its descriptive statistics, percentiles and histogram (or top values),
 * and the correlation matrix as a heat map. Statistics computed while the tab is open (after an
 * insert, or computeStatistics) arrive over the `statisticsUpdated` subscription: the latest are
 * shown at once; when an older commit is picked it stays shown, with a note that newer ones exist.
 */
export function StatisticsTab({ name, version }: GroupTabProps) {
  const headingId = useId();
  const pickerId = useId();
  // The commit picked; null follows the latest statistics (and live updates).
  const [picked, setPicked] = useState<string | null>(null);
  // Statistics announced while an older commit is shown.
  const [newer, setNewer] = useState<{ commit: string | null; computedAt: string } | null>(null);

  const [history, refetchHistory] = useQuery({ query: HISTORY, variables: { name, version, first: HISTORY_SIZE } });
  const [current, refetchStatistics] = useQuery({ query: STATISTICS, variables: { name, version, commit: picked } });
  const charts = useCharts();
  const [live] = useSubscription({ query: UPDATED, variables: { group: { name, version } } });

  // Each announcement once: the history gains a commit; the statistics shown are read again when
  // they follow the latest (or the announced ones are the shown commit's, computed again).
  const event = live.data?.statisticsUpdated ?? null;
  const handled = useRef<string | null>(null);
  useEffect(() => {
    if (!event || handled.current === event.id) return;
    handled.current = event.id;
    refetchHistory({ requestPolicy: 'network-only' });
    if (picked === null || event.commit === picked) refetchStatistics({ requestPolicy: 'network-only' });
    else setNewer({ commit: event.commit, computedAt: event.computedAt });
  }, [event, picked, refetchHistory, refetchStatistics]);

  const group = history.data?.featureGroup;
  const choices = useMemo<CommitChoice[]>(() => {
    if (!group) return [];
    const committedAt = new Map(group.commits.map((c) => [c.id, c.committedAt as string]));
    const seen = new Set<string>();
    const list: CommitChoice[] = [];
    // The history is newest computation first: the first one of each commit is its latest.
    for (const s of group.statisticsHistory) {
      if (!s.commit || seen.has(s.commit)) continue;
      seen.add(s.commit);
      list.push({ commit: s.commit, committedAt: committedAt.get(s.commit) ?? null, computedAt: s.computedAt as string, rowCount: s.rowCount });
    }
    // Commit ids are uuid v7: they sort in commit order.
    return list.sort((a, b) => (a.commit < b.commit ? 1 : a.commit > b.commit ? -1 : 0));
  }, [group]);

  const stats = current.data?.featureGroup?.statistics ?? null;
  const latest = choices[0]?.commit ?? null;
  const shownCommit = picked ?? stats?.commit ?? latest;
  const olderShown = picked !== null && latest !== null && picked !== latest;

  const pick = (value: string) => {
    setNewer(null);
    // The newest commit is "the latest": picking it follows live updates again.
    setPicked(value === '' || value === latest ? null : value);
  };

  if (history.error) return <ErrorNote message={errorMessage(history.error)} />;
  if (!history.data && history.fetching) return <Loading what="statistics" />;
  if (!group) return <ErrorNote title="Not found" message={`no feature group ${name} version ${version} in this project`} />;

  const none = group.statisticsHistory.length === 0 && !stats && !current.fetching && !current.error;
  return (
    <section className="statistics" aria-labelledby={headingId}>
      <h2 id={headingId}>Statistics</h2>
      {live.error && <ErrorNote title="Live updates stopped" message={errorMessage(live.error)} />}
      {none ? (
        <NoStatistics config={group.statisticsConfig} />
      ) : (
        <>
          <div className="stats-toolbar">
            <label htmlFor={pickerId}>Commit</label>
            <select id={pickerId} value={shownCommit ?? ''} onChange={(e) => pick(e.target.value)}>
              {shownCommit !== null && !choices.some((c) => c.commit === shownCommit) && <option value={shownCommit}>commit {shortId(shownCommit)}</option>}
              {shownCommit === null && <option value="">latest statistics (no commit)</option>}
              {choices.map((c, i) => (
                <option key={c.commit} value={c.commit}>
                  {commitLabel(c)}
                  {i === 0 ? ' (latest)' : ''}
                </option>
              ))}
            </select>
            {stats && (
              <p className="stats-summary">
                <data value={stats.rowCount}>{formatStat(stats.rowCount)}</data> rows, {stats.features.length} features · computed{' '}
                <time dateTime={stats.computedAt as string}>{formatTime(stats.computedAt as string)}</time>
              </p>
            )}
          </div>
          <div role="status" aria-live="polite" className="stats-status">
            {olderShown && (
              <p className="notice">
                {newer ? 'New statistics arrived' : 'Newer statistics exist'} (commit {shortId(newer?.commit ?? latest)}): this shows an older commit.{' '}
                <button type="button" onClick={() => pick('')}>
                  Show the latest
                </button>
              </p>
            )}
            {current.fetching && stats && <span className="muted">Loading statistics…</span>}
          </div>
          {current.error && <ErrorNote message={errorMessage(current.error)} />}
          {!stats && current.fetching && <Loading what="statistics" />}
          {charts.error && <ErrorNote title="Could not load the charts" message={charts.error} />}
          {stats && <StatisticsView key={stats.id} stats={stats} config={group.statisticsConfig} charts={charts.charts} />}
        </>
      )}
    </section>
  );
}

function NoStatistics({ config }: { config: Config }) {
  return (
    <div className="empty">
      <p>
        <strong>No statistics yet.</strong> Statistics are computed after each commit when the group’s statistics config is enabled
        {config.enabled ? ' (it is: they appear here once the first commit’s are computed)' : ' (it is disabled: turn it on with updateFeatureGroup)'}, or on
        demand with the computeStatistics mutation.
      </p>
    </div>
  );
}

/** A commit id short enough for a menu: its last characters (a uuid v7 begins with its time, so commits close in time share their first ones). */
function shortId(id: string | null): string {
  return id ? `…${id.slice(-8)}` : 'unknown';
}

function commitLabel(c: CommitChoice): string {
  const when = c.committedAt ? formatTime(c.committedAt) : `statistics of ${formatTime(c.computedAt)}`;
  return `${when} · ${formatStat(c.rowCount)} rows · commit ${shortId(c.commit)}`;
}

/**
 * One load of statistics (remounted for each: see the key above): the feature cards and the
 * correlations, marking {@link STATISTICS_DRAWN_MARK} once each of their charts is drawn.
 */
function StatisticsView({ stats, config, charts }: { stats: Statistics; config: Config; charts: Charts | null }) {
  const featuresId = useId();
  const correlationsId = useId();
  const correlations = stats.correlations && stats.correlations.features.length > 0 ? stats.correlations : null;
  const drawn = useDrawnMark(stats, correlations !== null);

  return (
    <>
      <section aria-labelledby={featuresId}>
        <h3 id={featuresId}>Features</h3>
        <div className="stats-cards">
          {stats.features.map((f) => (
            <FeatureCard key={f.name} feature={f} config={config} charts={charts} onDrawn={drawn} />
          ))}
        </div>
      </section>
      <section aria-labelledby={correlationsId}>
        <h3 id={correlationsId}>Correlations</h3>
        {correlations ? (
          <>
            <ChartBoundary>
              {charts ? <charts.CorrelationHeatmap correlations={correlations} onDrawn={() => drawn('correlations')} /> : <ChartPlaceholder />}
            </ChartBoundary>
            <CorrelationTable correlations={correlations} />
          </>
        ) : (
          <p className="muted">
            No correlation matrix in these statistics:{' '}
            {config.correlations
              ? 'they were computed before correlations were turned on.'
              : 'the group’s correlations setting is off (turn it on with updateFeatureGroup).'}
          </p>
        )}
      </section>
    </>
  );
}

/**
 * Calls performance.mark once every chart of these statistics is drawn: the returned function is
 * called with each chart's key (a feature's name, or "correlations") as it draws; statistics
 * without charts are marked once rendered.
 */
function useDrawnMark(stats: Statistics, withCorrelations: boolean): (key: string) => void {
  const pending = useRef<Set<string> | null>(null);
  if (pending.current === null) {
    pending.current = new Set(stats.features.filter((f) => chartKind(f.histogram) !== null).map((f) => f.name));
    if (withCorrelations) pending.current.add('correlations');
  }
  const marked = useRef(false);
  const drawn = useCallback(
    (key: string) => {
      const waiting = pending.current!;
      waiting.delete(key);
      if (waiting.size > 0 || marked.current) return;
      marked.current = true;
      performance.mark(STATISTICS_DRAWN_MARK, { detail: { statistics: stats.id, commit: stats.commit } });
    },
    [stats.id, stats.commit],
  );
  useEffect(() => {
    if (pending.current?.size === 0) drawn('');
  }, [drawn]);
  return drawn;
}

function FeatureCard({
  feature: f,
  config,
  charts,
  onDrawn,
}: {
  feature: FeatureStatistics;
  config: Config;
  charts: Charts | null;
  onDrawn: (key: string) => void;
}) {
  const headingId = useId();
  const kind = chartKind(f.histogram);
  const bins = (f.histogram ?? []) as readonly Bin[];
  const drawn = () => onDrawn(f.name);
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
        <p className="muted">No histogram: {noHistogramReason(f, config)}.</p>
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
function facts(f: FeatureStatistics): [string, number, string][] {
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

function noHistogramReason(f: FeatureStatistics, config: Config): string {
  if (f.count === 0) return 'the feature has no values';
  if (f.histogram === null && !config.histograms) return 'the group’s histograms setting is off';
  if (f.histogram === null) return `none is computed for ${f.type} features`;
  return 'no bins';
}

/** The correlations as a table, for screen readers (the heat map is a picture of it). */
function CorrelationTable({ correlations }: { correlations: CorrelationMatrix }) {
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

function ChartPlaceholder() {
  return <div className="chart-placeholder" aria-hidden="true" />;
}

/** Shows a chart that could not be drawn as an error, the rest of the tab intact. */
class ChartBoundary extends Component<{ children: ReactNode }, { error: string | null }> {
  state = { error: null as string | null };
  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  render() {
    return this.state.error === null ? this.props.children : <ErrorNote title="Could not draw the chart" message={this.state.error} />;
  }
}
