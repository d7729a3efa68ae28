import type { ExecutionMessage } from '../../pubsub.ts';
import { builder } from '../builder.ts';
import './types.ts';

builder.subscriptionField('executionUpdated', (t) =>
  t.prismaField({
    type: 'Execution',
    nullable: true,
    description:
      'Every state change and progress step of the caller’s project’s executions (manual and scheduled runs), as it happens, and new log lines of a running one (at most twice a second). `state` is the state of that change; other fields are read when it is delivered. Null when the execution was deleted meanwhile.',
    authScopes: { read: true },
    args: { job: t.arg.string({ description: 'Only executions of this job; all jobs when omitted.' }) },
    subscribe: (_root, { job }, ctx) => ctx.services.jobs.subscribe(ctx.viewer.projectId, job),
    resolve: async (query, message, _args, ctx) => {
      const update = message as unknown as ExecutionMessage;
      const execution = await ctx.prisma.execution.findFirst({ ...query, where: { id: update.executionId, projectId: ctx.viewer.projectId } });
      // The state this update announced: a fast run may have moved on by the time it is read.
      if (!execution) return null;
      const live = update.state === 'INITIALIZING' || update.state === 'RUNNING';
      return { ...execution, state: update.state, ...(live ? { finalStatus: null, finishedAt: null } : {}) };
    },
  }),
);
