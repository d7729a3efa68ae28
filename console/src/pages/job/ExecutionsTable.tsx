import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useSubscription } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import {
  EXECUTION_FIELDS,
  EXECUTION_UPDATES,
  type ExecutionSummary,
  isLive,
  mergeExecution,
  ProgressBar,
  runningTime,
  StateBadge,
  triggerWords,
  useNow,
} from '../../components/job/execution.tsx';
import { StopButton } from '../../components/job/StopButton.tsx';
import { formatTime } from '../../format.ts';

/** Runs listed at first, and added by each "Show older runs". */
const PAGE = 20;
/** Events kept between two renders at most. */
const RECENT = 50;

type Received = { count: number; recent: ExecutionSummary[] };

const EXECUTIONS = graphql(
  `
  query ConsoleJobExecutions($name: String!, $first: Int!, $after: String) {
    job(name: $name) {
      id
      executions(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { ...ConsoleExecutionFields } }
      }
    }
  }
`,
  [EXECUTION_FIELDS],
);

/** The address of an execution's page (its global id encoded: it may hold `/`, `+` and `=`). */
export const executionHref = (job: string, id: string): string => `/jobs/${encodeURIComponent(job)}/runs/${encodeURIComponent(id)}`;

/**
 * A job's runs, newest first, kept current by `executionUpdated`: new runs (manual, scheduled, or
 * started here: `started`) appear at the top and each row's state and progress change as it runs.
 */
export function ExecutionsTable({ job, started }: { job: string; started: ExecutionSummary | null }) {
  const client = useClient();
  const [list, setList] = useState<ExecutionSummary[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [more, setMore] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const readPage = useCallback(
    async (after: string | null) => {
      const result = await client.query(EXECUTIONS, { name: job, first: PAGE, after }, { requestPolicy: 'network-only' }).toPromise();
      if (result.error) throw new Error(errorMessage(result.error));
      const page = result.data?.job?.executions;
      return { nodes: page?.edges.map((e) => e.node) ?? [], next: page?.pageInfo.hasNextPage ? page.pageInfo.endCursor : null };
    },
    [client, job],
  );

  useEffect(() => {
    let cancelled = false;
    readPage(null).then(
      ({ nodes, next }) => {
        if (cancelled) return;
        // Events that arrived before this page stay (they are newer readings).
        setList((live) => nodes.reduce((all, e) => mergeExecution(all, e), live));
        setMore(next);
        setLoaded(true);
      },
      (error: Error) => {
        if (!cancelled) setFailure(error.message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [readPage]);

  const showOlder = async () => {
    if (more === null) return;
    try {
      const { nodes, next } = await readPage(more);
      setList((all) => nodes.reduce((merged, e) => mergeExecution(merged, e), all));
      setMore(next);
    } catch (error) {
      setFailure((error as Error).message);
    }
  };

  const merge = useCallback((update: ExecutionSummary) => setList((all) => mergeExecution(all, update)), []);
  useEffect(() => {
    if (started) merge(started);
  }, [started, merge]);

  // Events accumulate, numbered (several may arrive within one render); the effect merges the new ones.
  const [live] = useSubscription({ query: EXECUTION_UPDATES, variables: { job } }, (previous: Received | undefined, event) => {
    const update = event.executionUpdated;
    const received = previous ?? { count: 0, recent: [] };
    return update ? { count: received.count + 1, recent: [...received.recent, update].slice(-RECENT) } : received;
  });
  const handled = useRef(0);
  useEffect(() => {
    const received = live.data;
    if (!received || received.count === handled.current) return;
    const fresh = received.recent.slice(-(received.count - handled.current));
    handled.current = received.count;
    for (const update of fresh) merge(update);
  }, [live.data, merge]);

  const now = useNow(list.some((e) => isLive(e.state)));

  return (
    <>
      {failure !== null && <ErrorNote message={failure} />}
      {live.error && <ErrorNote title="Live updates stopped" message={errorMessage(live.error)} />}
      {!loaded && failure === null && <Loading what="runs" />}
      {loaded && list.length === 0 && <p>No run yet.</p>}
      {list.length > 0 && (
        <table className="list executions">
          <caption className="visually-hidden">Runs of {job}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">State</th>
              <th scope="col">Trigger</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Progress</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => {
              const when = formatTime(e.createdAt);
              return (
                <tr key={e.id} data-execution={e.id}>
                  <th scope="row">
                    <Link href={executionHref(job, e.id)}>{when}</Link>
                  </th>
                  <td>
                    <StateBadge state={e.state} />
                  </td>
                  <td>{triggerWords(e.trigger)}</td>
                  <td>{formatTime(e.startedAt)}</td>
                  <td>{formatTime(e.finishedAt)}</td>
                  <td className="num">{runningTime(e, now)}</td>
                  <td>
                    <ProgressBar progress={e.progress} label={`Progress of the run requested ${when}`} />
                  </td>
                  <td>
                    <StopButton execution={e} label={`Stop the run requested ${when}`} onStopped={merge} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more !== null && (
        <button type="button" onClick={showOlder}>
          Show older runs
        </button>
      )}
    </>
  );
}
