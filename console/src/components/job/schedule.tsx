import { type FormEvent, useId, useState } from 'react';
import { useMutation } from 'urql';
import { graphql, type ResultOf } from '../../api.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { mutationFailure, useJobAccess } from './access.ts';
import { cronInWords } from './cron.ts';

/** A job's schedule as the console shows it. */
export const SCHEDULE_FIELDS = graphql(`
  fragment ConsoleJobScheduleFields on Job {
    name
    nextRunAt
    updatedAt
    schedule { cron paused nextRunAt startTime endTime }
  }
`);

export type ScheduledJob = ResultOf<typeof SCHEDULE_FIELDS>;

const PAUSE = graphql(
  `
  mutation ConsolePauseSchedule($name: String!) {
    pauseSchedule(name: $name) {
      __typename
      ... on PauseSchedulePayload { job { ...ConsoleJobScheduleFields } }
      ... on Error { message }
    }
  }
`,
  [SCHEDULE_FIELDS],
);

const RESUME = graphql(
  `
  mutation ConsoleResumeSchedule($name: String!) {
    resumeSchedule(name: $name) {
      __typename
      ... on ResumeSchedulePayload { job { ...ConsoleJobScheduleFields } }
      ... on Error { message }
    }
  }
`,
  [SCHEDULE_FIELDS],
);

const SCHEDULE = graphql(
  `
  mutation ConsoleScheduleJob($name: String!, $cron: String!, $paused: Boolean) {
    scheduleJob(name: $name, cron: $cron, paused: $paused) {
      __typename
      ... on ScheduleJobPayload { job { ...ConsoleJobScheduleFields } }
      ... on Error { message }
    }
  }
`,
  [SCHEDULE_FIELDS],
);

/** The pattern and, for the common shapes, its words. */
export function CronText({ cron }: { cron: string }) {
  const words = cronInWords(cron);
  return (
    <span className="cron">
      {words !== null && <span className="cron-words">{words}</span>}
      <code>{cron}</code>
    </span>
  );
}

/**
 * Pauses or resumes a job's schedule (`pauseSchedule`, `resumeSchedule`); nothing for a job
 * without one. `onChanged` gets the job as the API returned it.
 */
export function PauseResume({ job, onChanged }: { job: ScheduledJob; onChanged: (job: ScheduledJob) => void }) {
  const { changeBlocked } = useJobAccess();
  const [pausing, pause] = useMutation(PAUSE);
  const [resuming, resume] = useMutation(RESUME);
  const [failure, setFailure] = useState<string | null>(null);
  if (!job.schedule) return null;
  const paused = job.schedule.paused;
  const click = async () => {
    setFailure(null);
    const result = paused ? await resume({ name: job.name }) : await pause({ name: job.name });
    const payload = result.data && ('resumeSchedule' in result.data ? result.data.resumeSchedule : result.data.pauseSchedule);
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure(failed);
    else if (payload && 'job' in payload) onChanged(payload.job);
  };
  const action = paused ? 'Resume schedule' : 'Pause schedule';
  return (
    <>
      <button
        type="button"
        onClick={click}
        disabled={changeBlocked !== null || pausing.fetching || resuming.fetching}
        title={changeBlocked ?? undefined}
        aria-label={`${action} of ${job.name}`}
      >
        {action}
      </button>
      {failure !== null && <ErrorNote title={`Could not ${paused ? 'resume' : 'pause'} the schedule`} message={failure} />}
    </>
  );
}

/** Sets or replaces a job's cron pattern (`scheduleJob`); the API checks it and says what is wrong. */
export function ScheduleForm({ job, onChanged }: { job: ScheduledJob; onChanged: (job: ScheduledJob) => void }) {
  const id = useId();
  const { changeBlocked } = useJobAccess();
  const [cron, setCron] = useState(job.schedule?.cron ?? '');
  const [{ fetching }, schedule] = useMutation(SCHEDULE);
  const [failure, setFailure] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const words = cron.trim() === '' ? null : cronInWords(cron);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    setSaved(null);
    // A paused schedule stays paused when its pattern changes.
    const result = await schedule({ name: job.name, cron: cron.trim(), paused: job.schedule?.paused ?? false });
    const payload = result.data?.scheduleJob;
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure(failed);
    else if (payload && 'job' in payload) {
      setSaved(`Saved: ${payload.job.schedule?.cron ?? cron}`);
      onChanged(payload.job);
    }
  };
  return (
    <form className="schedule-form" onSubmit={submit}>
      <fieldset disabled={changeBlocked !== null} title={changeBlocked ?? undefined}>
        <legend>{job.schedule ? 'Change the schedule' : 'Schedule it'}</legend>
        <label htmlFor={`${id}-cron`}>Cron pattern, in UTC (5 fields, or 6 with seconds first)</label>
        <div className="toolbar">
          <input id={`${id}-cron`} type="text" required value={cron} onChange={(e) => setCron(e.target.value)} placeholder="0 2 * * *" spellCheck={false} />
          <button type="submit" disabled={fetching}>
            Save schedule
          </button>
        </div>
        <p className="muted status" aria-live="polite">
          {words ?? (cron.trim() === '' ? '' : 'No words for this pattern; the API checks it when saved.')}
          {saved && ` ${saved}.`}
        </p>
      </fieldset>
      {failure !== null && <ErrorNote title="Could not save the schedule" message={failure} />}
    </form>
  );
}
