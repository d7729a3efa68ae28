import { Link } from 'wouter';
import { ExecutionPanel } from '../components/job/ExecutionPanel.tsx';
import { useLiveExecution } from '../components/job/live.ts';
import { formatTime } from '../format.ts';
import './job/job.css';

/** One run of a job, `/jobs/<name>/runs/<execution id, URI-encoded>`: kept current as it runs. */
export function ExecutionPage({ job, id }: { job: string; id: string }) {
  // Another run's page starts afresh: no reading of this one is taken for the next.
  return <ExecutionView key={`${job}/${id}`} job={job} id={id} />;
}

function ExecutionView({ job, id }: { job: string; id: string }) {
  const live = useLiveExecution(id, job);
  const execution = live.execution;
  // A run of another job under this job's address is not shown as this job's.
  const misplaced = execution && execution.job.name !== job;
  return (
    <section>
      <p className="crumbs">
        <Link href="/jobs">Jobs</Link> / <Link href={`/jobs/${encodeURIComponent(job)}`}>{job}</Link> /
      </p>
      <h1>
        Run of {job}
        {execution && !misplaced && <span className="muted"> requested {formatTime(execution.createdAt)}</span>}
      </h1>
      {misplaced ? (
        <p className="warning">
          This run belongs to job <Link href={`/jobs/${encodeURIComponent(execution.job.name)}`}>{execution.job.name}</Link>, not {job}.
        </p>
      ) : (
        <ExecutionPanel live={live} />
      )}
    </section>
  );
}
