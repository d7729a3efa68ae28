import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { chartKind, formatStat } from '../../components/charts/data.tsx';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { type Charts, loadCharts, useCharts } from '../../components/statistics/charts.ts';
import { ChartBoundary, ChartPlaceholder, CorrelationTable, FeatureCard } from '../../components/statistics/FeatureCard.tsx';
import { formatTime } from '../../format.ts';
import type { GroupTabProps } from './tab.ts';
import './statistics.css';

/** Marked once the last chart of a load of statistics is drawn (a benchmark measures the time to it). */
export const STATISTICS_DRAWN_MARK = 'granary:statistics-drawn';

/** How many computations the commit picker lists (newest first); statistics are computed about once per commit. */
const HISTORY_SIZE = 100;
/** When the tab reads its statistics once more after opening: long enough for the subscription to have started. */
const CATCH_UP_MS = 2000;

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
type Config = NonNullable<ResultOf<typeof HISTORY>['featureGroup']>['statisticsConfig'];

// A statistics page opened as such (a link, a bookmark, a reload) loads the charts with the app,
// rather than once the group's query has answered and the tab is shown. A failure is reported by
// the tab, which tries again.
if (/^\/feature-groups\/[^/]+\/statistics\/?$/.test(window.location.pathname)) loadCharts().catch(() => {});

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
  // Statistics computed between the first read and the subscription's start would never be
  // announced: read once more after the subscription has had time to start.
  useEffect(() => {
    const timer = setTimeout(() => {
      refetchHistory({ requestPolicy: 'network-only' });
      refetchStatistics({ requestPolicy: 'network-only' });
    }, CATCH_UP_MS);
    return () => clearTimeout(timer);
  }, [refetchHistory, refetchStatistics]);

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

  const latest = choices[0]?.commit ?? null;
  // The statistics of the commit asked for: urql keeps the previous commit's result until the new
  // one arrives, and those must not show under the new commit's name.
  const answered = current.data?.featureGroup?.statistics ?? null;
  const stats = answered && (picked === null ? latest === null || answered.commit === latest : answered.commit === picked) ? answered : null;
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
            <FeatureCard
              key={f.name}
              feature={f}
              histogramsOff={config.histograms ? null : 'the group’s histograms setting is off'}
              charts={charts}
              onDrawn={drawn}
            />
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
