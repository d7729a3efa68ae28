import { builder } from '../builder.ts';
import { JobTypeInfoRef } from './types.ts';

builder.queryField('jobTypes', (t) =>
  t.field({
    type: [JobTypeInfoRef],
    description: 'The built-in job types, by name.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.services.jobs.types.list(),
  }),
);

builder.queryField('job', (t) =>
  t.prismaField({
    type: 'Job',
    nullable: true,
    description: 'A job of the caller’s project by name; null when there is none.',
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true, description: 'Job name.' }) },
    resolve: (query, _root, { name }, ctx) => ctx.prisma.job.findUnique({ ...query, where: { projectId_name: { projectId: ctx.viewer.projectId, name } } }),
  }),
);

builder.queryField('jobs', (t) =>
  t.prismaConnection(
    {
      type: 'Job',
      cursor: 'id',
      description: 'Jobs of the caller’s project, by name.',
      authScopes: { read: true },
      args: { type: t.arg.string({ description: 'Only jobs of this type.' }) },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.job.findMany({ ...query, where: ctx.services.jobs.listWhere(ctx.viewer, args), orderBy: { name: 'asc' } }),
    },
    { name: 'JobConnection', description: 'A page of jobs.' },
    { name: 'JobEdge', description: 'A job in a page, with its cursor.' },
  ),
);

builder.queryField('execution', (t) =>
  t.prismaField({
    type: 'Execution',
    nullable: true,
    description: 'An execution of the caller’s project by id; null when there is none.',
    authScopes: { read: true },
    args: { id: t.arg.id({ required: true, description: 'The execution’s id (`Execution.id`).' }) },
    resolve: async (query, _root, { id }, ctx) => {
      const execution = await ctx.services.jobs.execution(ctx.viewer, String(id));
      return ctx.prisma.execution.findUnique({ ...query, where: { id: execution?.id ?? '' } });
    },
  }),
);
