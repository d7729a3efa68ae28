import type { Execution } from '../../generated/sqlite/client.ts';
import { EXECUTION_STATES, EXECUTION_TRIGGERS, type ExecutionState, type ExecutionTrigger, type FinalState } from '../../jobs/execution-state.ts';
import type { JobType } from '../../jobs/job-type.ts';
import { builder } from '../builder.ts';

const STATE_DESCRIPTIONS: Record<ExecutionState, string> = {
  INITIALIZING: 'Created, waiting for a slot of the runner.',
  RUNNING: 'Running.',
  SUCCEEDED: 'Ended successfully.',
  FAILED: 'Ended with an error (see the logs), or its server process died and the type cannot resume.',
  KILLED: 'Stopped by `stopExecution` or by a server shutdown.',
};

export const ExecutionStateEnum = builder.enumType('ExecutionState', {
  description: 'Where an execution is in its life: INITIALIZING, RUNNING, then SUCCEEDED, FAILED or KILLED.',
  values: Object.fromEntries(EXECUTION_STATES.map((s) => [s, { description: STATE_DESCRIPTIONS[s] }])) as Record<ExecutionState, { description: string }>,
});

export const ExecutionFinalStatusEnum = builder.enumType('ExecutionFinalStatus', {
  description: 'How an execution ended.',
  values: {
    SUCCEEDED: { description: 'It succeeded.' },
    FAILED: { description: 'It failed.' },
    KILLED: { description: 'It was stopped.' },
  } as const,
});

const TRIGGER_DESCRIPTIONS: Record<ExecutionTrigger, string> = {
  MANUAL: 'A `runJob` call.',
  SCHEDULE: 'The job’s schedule.',
  COMMIT: 'A commit of a feature group: its statistics job, run after each insert when statistics are enabled.',
};

export const ExecutionTriggerEnum = builder.enumType('ExecutionTrigger', {
  description: 'What started an execution.',
  values: Object.fromEntries(EXECUTION_TRIGGERS.map((t) => [t, { description: TRIGGER_DESCRIPTIONS[t] }])) as Record<ExecutionTrigger, { description: string }>,
});

export const JobTypeInfoRef = builder.objectRef<JobType>('JobTypeInfo').implement({
  description: 'A built-in job type: what `createJob(input: { type })` accepts.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name to pass as `type` (MATERIALIZE, TRAINING_DATASET, COMMAND, …).' }),
    description: t.exposeString('description', { description: 'What it does and its config.' }),
    scope: t.exposeString('scope', { description: 'Scope a key needs to create, run or delete jobs of this type (WRITE or ADMIN).' }),
    resumable: t.exposeBoolean('resumable', {
      description: 'Whether a run cut short by a server crash continues from its checkpoint on restart (else it is marked FAILED).',
    }),
  }),
});

export const JobScheduleRef = builder
  .objectRef<{ cron: string; startTime: Date | null; endTime: Date | null; paused: boolean; nextRunAt: Date | null }>('JobSchedule')
  .implement({
    description: 'When a job runs by itself.',
    fields: (t) => ({
      cron: t.exposeString('cron', { description: 'Cron pattern: 5 fields (minute first) or 6 (seconds first), in UTC.' }),
      startTime: t.expose('startTime', { type: 'DateTime', nullable: true, description: 'No scheduled run before this time.' }),
      endTime: t.expose('endTime', { type: 'DateTime', nullable: true, description: 'No scheduled run at or after this time.' }),
      paused: t.exposeBoolean('paused', { description: 'Paused: no scheduled runs until `resumeSchedule`.' }),
      nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'The next scheduled time; null when paused or the window has ended.' }),
    }),
  });

export const JobObject = builder.prismaNode('Job', {
  description: 'A named job: a built-in type with its configuration, run on demand (`runJob`) or on a cron schedule.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique in the project.' }),
    type: t.exposeString('type', { description: 'Job type (see `jobTypes`).' }),
    config: t.field({
      type: 'JSON',
      description: 'Configuration, as the type’s schema parsed it; secret values (COMMAND `secretEnv`) read as "***".',
      resolve: (j, _args, ctx) => ctx.services.jobs.config(j),
    }),
    schedule: t.field({
      type: JobScheduleRef,
      nullable: true,
      description: 'The schedule; null when the job runs only on demand.',
      resolve: (j) =>
        j.cron ? { cron: j.cron, startTime: j.startTime, endTime: j.endTime, paused: j.paused, nextRunAt: j.paused ? null : j.nextRunAt } : null,
    }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The next scheduled time; null when not scheduled or paused.',
      resolve: (j) => (j.cron && !j.paused ? j.nextRunAt : null),
    }),
    executions: t.relatedConnection(
      'executions',
      {
        cursor: 'id',
        description: 'Runs of the job, newest first.',
        query: () => ({ orderBy: { id: 'desc' } }),
      },
      { name: 'ExecutionConnection', description: 'A page of executions.' },
      { name: 'ExecutionEdge', description: 'An execution in a page, with its cursor.' },
    ),
    createdBy: t.exposeString('createdBy', { description: 'Name of the API key that created it; runs act with that key’s project and scopes.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the job was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the job (or its schedule) last changed.' }),
  }),
});

export const ExecutionObject = builder.prismaNode('Execution', {
  description: 'One run of a job: state, progress, timing and log.',
  id: { field: 'id', description: 'Global id, for `node(id:)`, `execution(id:)` and `stopExecution(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    job: t.relation('job', { description: 'The job this is a run of.' }),
    state: t.field({ type: ExecutionStateEnum, description: 'Where the run is in its life.', resolve: (e) => e.state as ExecutionState }),
    finalStatus: t.field({
      type: ExecutionFinalStatusEnum,
      nullable: true,
      description: 'How the run ended; null while it runs.',
      resolve: (e) => e.finalStatus as FinalState | null,
    }),
    trigger: t.field({ type: ExecutionTriggerEnum, description: 'What started it.', resolve: (e) => e.trigger as ExecutionTrigger }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', nullable: true, description: 'The schedule time it is the run for; null for manual runs.' }),
    args: t.expose('args', { type: 'JSON', nullable: true, description: 'Arguments given to `runJob`.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was requested.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it started running; null while INITIALIZING.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while it runs.' }),
    duration: t.float({
      nullable: true,
      description: 'Seconds from start to end (to now while running); null before it starts.',
      resolve: (e) => (e.startedAt ? ((e.finishedAt ?? new Date()).getTime() - e.startedAt.getTime()) / 1000 : null),
    }),
    progress: t.exposeFloat('progress', { description: 'Fraction done, 0 to 1, as the job last reported it.' }),
    progressMessage: t.exposeString('progressMessage', { nullable: true, description: 'What the job last said about its progress.' }),
    logs: t.stringList({
      description:
        'Log lines, oldest first (readable while it runs): the job’s own lines, command output (stderr lines prefixed `[stderr]`) and why it failed or was killed.',
      args: { tail: t.arg.int({ description: 'Only the last this many lines (1–10 000); all (up to 10 000) when omitted.' }) },
      resolve: (e, { tail }, ctx) => ctx.services.jobs.logs(e.id, tail),
    }),
  }),
});

export type { Execution };
