import type { Execution, Job } from '../../generated/sqlite/client.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { builder } from '../builder.ts';
import { ExecutionObject, JobObject } from './types.ts';

const JobScheduleInput = builder.inputType('JobScheduleInput', {
  description: 'When a job runs by itself.',
  fields: (t) => ({
    cron: t.string({ required: true, description: 'Cron pattern, in UTC: 5 fields (`0 3 * * *`: daily at 03:00) or 6, seconds first (`*/10 * * * * *`).' }),
    startTime: t.field({ type: 'DateTime', description: 'No scheduled run before this time.' }),
    endTime: t.field({ type: 'DateTime', description: 'No scheduled run at or after this time.' }),
    paused: t.boolean({ description: 'Create the schedule paused. Default false.' }),
  }),
});

const CreateJobInput = builder.inputType('CreateJobInput', {
  description: 'A job to create.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _, unique in the project.' }),
    type: t.string({ required: true, description: 'A job type from `jobTypes` (MATERIALIZE, TRAINING_DATASET, COMMAND, …).' }),
    config: t.field({
      type: 'JSON',
      description:
        'The type’s configuration (see `jobTypes`), checked when the job is created: the objects it names exist in the project, ranges hold. Errors name `input.config.<field>`.',
    }),
    schedule: t.field({ type: JobScheduleInput, description: 'Run on a cron schedule as well as on demand.' }),
  }),
});

const jobPayload = (name: string, description: string) =>
  builder.objectRef<{ job: Job }>(name).implement({
    description,
    fields: (t) => ({ job: t.field({ type: JobObject, description: 'The job.', resolve: (p) => p.job }) }),
  });

const executionPayload = (name: string, description: string) =>
  builder.objectRef<{ execution: Execution }>(name).implement({
    description,
    fields: (t) => ({ execution: t.field({ type: ExecutionObject, description: 'The execution.', resolve: (p) => p.execution }) }),
  });

builder.mutationField('createJob', (t) =>
  t.field({
    type: jobPayload('CreateJobPayload', 'The created job (or the existing one with the same definition).'),
    description:
      'Creates a job. Its config is checked against its type, its cron pattern parsed; a bad one is a ValidationError and nothing is stored. COMMAND jobs need an ADMIN key.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError, ForbiddenError] },
    args: { input: t.arg({ type: CreateJobInput, required: true, description: 'The job.' }) },
    resolve: async (_root, { input }, ctx) => ({ job: await ctx.services.jobs.create(ctx.viewer, input) }),
  }),
);

const DeleteJobPayload = builder.objectRef<Job>('DeleteJobPayload').implement({
  description: 'The deleted job.',
  fields: (t) => ({ name: t.exposeString('name', { description: 'Name of the deleted job.' }) }),
});

builder.mutationField('deleteJob', (t) =>
  t.field({
    type: DeleteJobPayload,
    description: 'Deletes a job, its schedule and its executions; its running executions are killed.',
    authScopes: { write: true },
    errors: { types: [NotFoundError, ForbiddenError] },
    args: { name: t.arg.string({ required: true, description: 'Job name.' }) },
    resolve: (_root, { name }, ctx) => ctx.services.jobs.delete(ctx.viewer, name),
  }),
);

builder.mutationField('runJob', (t) =>
  t.field({
    type: executionPayload('RunJobPayload', 'The new execution (INITIALIZING; follow it with `executionUpdated` or `execution`).'),
    description: 'Starts a run of a job now. COMMAND jobs need an ADMIN key.',
    authScopes: { write: true },
    errors: { types: [NotFoundError, ForbiddenError, ValidationError] },
    args: {
      name: t.arg.string({ required: true, description: 'Job name.' }),
      args: t.arg({
        type: 'JSON',
        description:
          'Arguments of this run, checked by the job’s type (a ValidationError at `args` otherwise). COMMAND: `GRANARY_JOB_ARGS` (JSON text), and an array of strings is appended to the command’s arguments; COMPUTE_STATISTICS: `{ commitId }`.',
      }),
    },
    resolve: async (_root, args, ctx) => ({ execution: await ctx.services.jobs.run(ctx.viewer, args.name, args.args) }),
  }),
);

builder.mutationField('stopExecution', (t) =>
  t.field({
    type: executionPayload('StopExecutionPayload', 'The execution, KILLED once it has stopped (an ended one as it was).'),
    description: 'Stops a running or waiting execution: it ends KILLED (a command gets SIGTERM, then SIGKILL).',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true, description: 'The execution’s id.' }) },
    resolve: async (_root, { id }, ctx) => ({ execution: await ctx.services.jobs.stop(ctx.viewer, String(id)) }),
  }),
);

builder.mutationField('scheduleJob', (t) =>
  t.field({
    type: jobPayload('ScheduleJobPayload', 'The job with its new schedule.'),
    description: 'Sets or replaces a job’s cron schedule (active unless `paused`). A bad pattern is a ValidationError.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError] },
    args: {
      name: t.arg.string({ required: true, description: 'Job name.' }),
      cron: t.arg.string({ required: true, description: 'Cron pattern, in UTC: 5 fields or 6 (seconds first).' }),
      startTime: t.arg({ type: 'DateTime', description: 'No scheduled run before this time.' }),
      endTime: t.arg({ type: 'DateTime', description: 'No scheduled run at or after this time.' }),
      paused: t.arg.boolean({ description: 'Set the schedule paused. Default false.' }),
    },
    resolve: async (_root, { name, ...schedule }, ctx) => ({ job: await ctx.services.jobs.schedule(ctx.viewer, name, schedule) }),
  }),
);

const scheduleChange = (field: 'pauseSchedule' | 'resumeSchedule' | 'unscheduleJob', description: string, payload: string) =>
  builder.mutationField(field, (t) =>
    t.field({
      type: jobPayload(payload, 'The job with its schedule as it is now.'),
      description,
      authScopes: { write: true },
      errors: { types: [ValidationError, NotFoundError, ForbiddenError] },
      args: { name: t.arg.string({ required: true, description: 'Job name.' }) },
      resolve: async (_root, { name }, ctx) => {
        const jobs = ctx.services.jobs;
        const job =
          field === 'pauseSchedule'
            ? await jobs.pause(ctx.viewer, name)
            : field === 'resumeSchedule'
              ? await jobs.resume(ctx.viewer, name)
              : await jobs.unschedule(ctx.viewer, name);
        return { job };
      },
    }),
  );

scheduleChange('pauseSchedule', 'Pauses a job’s schedule: no scheduled runs until resumed.', 'PauseSchedulePayload');
scheduleChange('resumeSchedule', 'Resumes a paused schedule from now on; times missed while paused are not run.', 'ResumeSchedulePayload');
scheduleChange('unscheduleJob', 'Removes a job’s schedule; the job stays and runs on demand.', 'UnscheduleJobPayload');
