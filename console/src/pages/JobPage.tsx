import { Fragment, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { useJobAccess } from '../components/job/access.ts';
import { ExecutionPanel } from '../components/job/ExecutionPanel.tsx';
import type { ExecutionSummary } from '../components/job/execution.tsx';
import { useLiveExecution } from '../components/job/live.ts';
import { RunForm } from '../components/job/RunForm.tsx';
import { CronText, PauseResume, SCHEDULE_FIELDS, ScheduleForm, type ScheduledJob } from '../components/job/schedule.tsx';
import { formatTime } from '../format.ts';
import { ExecutionsTable, executionHref } from './job/ExecutionsTable.tsx';
import './job/job.css';

const JOB = graphql(
  `
  query ConsoleJob($name: String!) {
    job(name: $name) { id type config createdAt createdBy ...ConsoleJobScheduleFields }
  }
`,
  [SCHEDULE_FIELDS],
);

/** A job, `/jobs/<name>`: its type, config and schedule, a run started now, and its runs as they happen. */
export function JobPage({ name }: { name: string }) {
  // Another job's page starts afresh (its runs, the run started here, schedule changes).
  return <JobView key={name} name={name} />;
}

function JobView({ name }: { name: string }) {
  const [{ data, error, fetching }] = useQuery({ query: JOB, variables: { name } });
  // The job as the last schedule change returned it (newer than the page's first read).
  const [changed, setChanged] = useState<ScheduledJob | null>(null);
  const [started, setStarted] = useState<ExecutionSummary | null>(null);
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what={`job ${name}`} />;
  const job = data?.job;
  if (!job) {
    return (
      <section>
        <p className="crumbs">
          <Link href="/jobs">Jobs</Link> /
        </p>
        <h1>{name}</h1>
        <ErrorNote title="Not found" message={`no job ${name} in this project`} />
      </section>
    );
  }
  const scheduled = changed && changed.updatedAt >= job.updatedAt ? changed : job;
  return (
    <section>
      <p className="crumbs">
        <Link href="/jobs">Jobs</Link> /
      </p>
      <h1>
        {job.name} <span className="badge">{job.type}</span>
      </h1>
      <div className="cards job-cards">
        <section className="card" aria-labelledby="job-config-title">
          <h2 id="job-config-title">Configuration</h2>
          <Config config={job.config} />
          <p className="muted">
            Created {formatTime(job.createdAt)} by key {job.createdBy}; runs act with that key’s project and scopes.
          </p>
        </section>
        <section className="card" aria-labelledby="job-schedule-title">
          <h2 id="job-schedule-title">Schedule</h2>
          <Schedule job={scheduled} onChanged={setChanged} />
        </section>
      </div>

      <h2>Run now</h2>
      <RunForm name={job.name} type={job.type} onStarted={setStarted} />
      {started && <StartedRun key={started.id} job={job.name} id={started.id} />}

      <h2>Runs</h2>
      <ExecutionsTable job={job.name} started={started} />
    </section>
  );
}

function Schedule({ job, onChanged }: { job: ScheduledJob; onChanged: (job: ScheduledJob) => void }) {
  const schedule = job.schedule;
  // A key that may not change the schedule sees it, and no form to change it.
  const { changeBlocked } = useJobAccess();
  return (
    <>
      {schedule ? (
        <dl className="facts">
          <dt>Runs</dt>
          <dd>
            <CronText cron={schedule.cron} />
          </dd>
          <dt>Status</dt>
          <dd>{schedule.paused ? <span className="badge paused">paused</span> : <span className="badge active">active</span>}</dd>
          <dt>Next run</dt>
          <dd>{schedule.nextRunAt ? formatTime(schedule.nextRunAt) : schedule.paused ? 'none while paused' : 'none (the window has ended)'}</dd>
          {schedule.startTime && (
            <>
              <dt>Not before</dt>
              <dd>{formatTime(schedule.startTime)}</dd>
            </>
          )}
          {schedule.endTime && (
            <>
              <dt>Not after</dt>
              <dd>{formatTime(schedule.endTime)}</dd>
            </>
          )}
        </dl>
      ) : (
        <p>Runs only on demand.</p>
      )}
      <div className="toolbar">
        <PauseResume job={job} onChanged={onChanged} />
      </div>
      {changeBlocked === null && <ScheduleForm key={schedule?.cron ?? ''} job={job} onChanged={onChanged} />}
    </>
  );
}

/** A job's config, top-level field by field; secret values read as the API masks them ("***"). */
function Config({ config }: { config: unknown }) {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return <code className="json">{JSON.stringify(config)}</code>;
  const entries = Object.entries(config as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0) return <p className="muted">No settings.</p>;
  return (
    <dl className="facts config">
      {entries.map(([key, value]) => (
        <Fragment key={key}>
          <dt>{key}</dt>
          <dd>{typeof value === 'string' ? <code>{value}</code> : <code className="json">{JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ')}</code>}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** The run just started from this page, as it happens. */
function StartedRun({ job, id }: { job: string; id: string }) {
  const live = useLiveExecution(id, job);
  return (
    <section className="card started-run" aria-labelledby="job-started-title">
      <h3 id="job-started-title">
        The run started here <Link href={executionHref(job, id)}>open its page</Link>
      </h3>
      <ExecutionPanel live={live} level={3} />
    </section>
  );
}
