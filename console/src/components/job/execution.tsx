import { useEffect, useState } from 'react';
import { graphql, type ResultOf } from '../../api.ts';
import { formatDuration } from '../../format.ts';

/** What the console shows of an execution everywhere (its log aside). */
export const EXECUTION_FIELDS = graphql(`
  fragment ConsoleExecutionFields on Execution {
    id
    state
    finalStatus
    trigger
    createdAt
    scheduledAt
    startedAt
    finishedAt
    duration
    progress
    progressMessage
  }
`);

/**
 * Every state change and progress step of a job's executions. The API sends no event for log
 * lines: pages showing a running execution's log also read it again while it runs.
 */
export const EXECUTION_UPDATES = graphql(
  `
  subscription ConsoleExecutionUpdates($job: String) {
    executionUpdated(job: $job) { ...ConsoleExecutionFields job { name } }
  }
`,
  [EXECUTION_FIELDS],
);

export type ExecutionSummary = ResultOf<typeof EXECUTION_FIELDS>;
export type ExecutionStateName = ExecutionSummary['state'];

export const isLive = (state: ExecutionStateName): boolean => state === 'INITIALIZING' || state === 'RUNNING';

const RANK: Record<ExecutionStateName, number> = { INITIALIZING: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, KILLED: 2 };

/**
 * The newer of two readings of one execution. Events and reads may arrive out of order (an event
 * announcing RUNNING after the read that saw it end): a reading never moves an execution back
 * in its life.
 */
export function newer<T extends Pick<ExecutionSummary, 'state'>>(known: T | undefined, update: T): T {
  if (known && RANK[update.state] < RANK[known.state]) return known;
  return update;
}

/** A list of executions, newest first, with an update merged in (added when new). */
export function mergeExecution<T extends ExecutionSummary>(list: readonly T[], update: T): T[] {
  const i = list.findIndex((e) => e.id === update.id);
  if (i < 0) return [update, ...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const merged = newer(list[i], update);
  if (merged === list[i]) return list as T[];
  return list.map((e, j) => (j === i ? merged : e));
}

/** An execution's state as a badge coloured by outcome (the text carries it, not the colour alone). */
export function StateBadge({ state }: { state: ExecutionStateName }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{state}</span>;
}

const TRIGGER_WORDS: Record<ExecutionSummary['trigger'], string> = {
  MANUAL: 'manual',
  SCHEDULE: 'scheduled',
  COMMIT: 'after a commit',
};

export function triggerWords(trigger: ExecutionSummary['trigger']): string {
  return TRIGGER_WORDS[trigger];
}

/** Date.now(), again every second while `ticking` (for the running time of a live execution). */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}

/** How long it ran (or has been running, counted here between the API's readings); "—" before it starts. */
export function runningTime(execution: Pick<ExecutionSummary, 'state' | 'startedAt' | 'duration'>, now: number): string {
  if (execution.startedAt && isLive(execution.state)) return formatDuration(Math.max(0, now - new Date(execution.startedAt).getTime()));
  if (execution.duration === null || execution.duration === undefined) return '—';
  return formatDuration(execution.duration * 1000);
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

/** A progress bar with its accessible name and the percentage beside it. */
export function ProgressBar({ progress, label, message }: { progress: number; label: string; message?: string | null }) {
  return (
    <span className="progress">
      <progress value={progress} max={1} aria-label={label} />
      <span className="num">{percent(progress)}</span>
      {message && <span className="muted"> {message}</span>}
    </span>
  );
}
