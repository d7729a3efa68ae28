import { useCallback, useEffect, useRef, useState } from 'react';
import { type OperationResult, useClient, useSubscription } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { EXECUTION_FIELDS, EXECUTION_UPDATES, type ExecutionSummary, newer, StateBadge } from '../components/job/execution.tsx';
import { RunButton } from '../components/job/RunForm.tsx';
import { CronText, PauseResume, SCHEDULE_FIELDS, type ScheduledJob } from '../components/job/schedule.tsx';
import { formatTime } from '../format.ts';
import { executionHref } from './job/ExecutionsTable.tsx';
import './job/job.css';

const JOBS = graphql(
  `
  query ConsoleJobs($after: String) {
    jobs(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          type
          ...ConsoleJobScheduleFields
          executions(first: 1) { edges { node { ...ConsoleExecutionFields } } }
        }
      }
    }
  }
`,
  [SCHEDULE_FIELDS, EXECUTION_FIELDS],
);

type JobNode = ResultOf<typeof JOBS>['jobs']['edges'][number]['node'];
interface JobRow {
  readonly id: string;
  readonly type: string;
  readonly scheduled: ScheduledJob;
  readonly lastRun: ExecutionSummary | null;
}

const rowOf = (node: JobNode): JobRow => ({ id: node.id, type: node.type, scheduled: node, lastRun: node.executions.edges[0]?.node ?? null });

/** A job's last run after a reading of one of its runs: the newest requested wins, the same one moves forward only. */
function lastRunAfter(known: ExecutionSummary | null, update: ExecutionSummary): ExecutionSummary {
  if (!known || update.createdAt > known.createdAt) return update;
  return update.id === known.id ? newer(known, update) : known;
}

type Received = { count: number; recent: { job: string; execution: ExecutionSummary }[] };
/** Events kept between two renders at most. */
const RECENT = 50;

/** The project's jobs by name: type, schedule in words, next and last run, and run / pause / resume. */
export function JobsPage() {
  const { rows, error, loaded, update } = useJobRows();

  // Each run's changes move its job's "last run" as they happen.
  const [live] = useSubscription({ query: EXECUTION_UPDATES }, (previous: Received | undefined, event) => {
    const e = event.executionUpdated;
    const received = previous ?? { count: 0, recent: [] };
    return e ? { count: received.count + 1, recent: [...received.recent, { job: e.job.name, execution: e }].slice(-RECENT) } : received;
  });
  const handled = useRef(0);
  useEffect(() => {
    const received = live.data;
    if (!received || received.count === handled.current) return;
    const fresh = received.recent.slice(-(received.count - handled.current));
    handled.current = received.count;
    for (const { job, execution } of fresh) update(job, (row) => ({ ...row, lastRun: lastRunAfter(row.lastRun, execution) }));
  }, [live.data, update]);

  return (
    <section>
      <h1>Jobs</h1>
      <p className="muted">Built-in jobs (statistics, materialization, training data) and commands, run on demand or on a schedule (cron, in UTC).</p>
      {error !== null && <ErrorNote message={error} />}
      {live.error && <ErrorNote title="Live updates stopped" message={errorMessage(live.error)} />}
      {!loaded && error === null && <Loading what="jobs" />}
      {loaded && rows.length === 0 && <p>No job yet.</p>}
      {rows.length > 0 && (
        <table className="list jobs">
          <caption className="visually-hidden">Jobs, by name</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Schedule</th>
              <th scope="col">Next run</th>
              <th scope="col">Last run</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const job = row.scheduled;
              const setLastRun = (execution: ExecutionSummary) => update(job.name, (r) => ({ ...r, lastRun: lastRunAfter(r.lastRun, execution) }));
              return (
                <tr key={row.id} data-job={job.name}>
                  <th scope="row">
                    <Link href={`/jobs/${encodeURIComponent(job.name)}`}>{job.name}</Link>
                  </th>
                  <td>{row.type}</td>
                  <td>
                    {job.schedule ? (
                      <>
                        <CronText cron={job.schedule.cron} />
                        {job.schedule.paused && <span className="badge paused">paused</span>}
                      </>
                    ) : (
                      <span className="muted">on demand</span>
                    )}
                  </td>
                  <td>{job.nextRunAt ? formatTime(job.nextRunAt) : '—'}</td>
                  <td>
                    {row.lastRun ? (
                      <>
                        <StateBadge state={row.lastRun.state} />{' '}
                        <Link href={executionHref(job.name, row.lastRun.id)}>
                          {formatTime(row.lastRun.finishedAt ?? row.lastRun.startedAt ?? row.lastRun.createdAt)}
                        </Link>
                      </>
                    ) : (
                      <span className="muted">never run</span>
                    )}
                  </td>
                  <td className="actions">
                    <RunButton name={job.name} type={row.type} onStarted={setLastRun} />
                    <PauseResume job={job} onChanged={(changed) => update(job.name, (r) => ({ ...r, scheduled: changed }))} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Every job of the project, read page by page (the API serves at most 100 a page), and a way to change one row. */
function useJobRows(): { rows: JobRow[]; error: string | null; loaded: boolean; update: (job: string, change: (row: JobRow) => JobRow) => void } {
  const client = useClient();
  const [rows, setRows] = useState<JobRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const all: JobRow[] = [];
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<ResultOf<typeof JOBS>> = await client.query(JOBS, { after }, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setError(result.error ? errorMessage(result.error) : 'the API returned no jobs');
          break;
        }
        const page: ResultOf<typeof JOBS>['jobs'] = result.data.jobs;
        for (const edge of page.edges) all.push(rowOf(edge.node));
        if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) break;
        after = page.pageInfo.endCursor;
      }
      setRows(all);
      setLoaded(true);
    })();
    return () => {
      cancelled = true;
    };
  }, [client]);
  const update = useCallback((job: string, change: (row: JobRow) => JobRow) => {
    setRows((all) => all.map((row) => (row.scheduled.name === job ? change(row) : row)));
  }, []);
  return { rows, error, loaded, update };
}
