import { builder } from '../builder.ts';
import './types.ts';

builder.queryField('tagSchemas', (t) =>
  t.prismaField({
    type: ['TagSchema'],
    description: 'The tag schemas of the caller’s project, by name.',
    authScopes: { read: true },
    resolve: (query, _root, _args, ctx) => ctx.prisma.tagSchema.findMany({ ...query, where: { projectId: ctx.viewer.projectId }, orderBy: { name: 'asc' } }),
  }),
);

builder.queryField('tagSchema', (t) =>
  t.prismaField({
    type: 'TagSchema',
    nullable: true,
    description: 'A tag schema of the caller’s project by name; null when there is none.',
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true, description: 'Tag name.' }) },
    resolve: (query, _root, { name }, ctx) =>
      ctx.prisma.tagSchema.findUnique({ ...query, where: { projectId_name: { projectId: ctx.viewer.projectId, name } } }),
  }),
);

builder.queryField('allKeywords', (t) =>
  t.stringList({
    description: 'Every keyword on an object of the caller’s project, sorted.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.services.tags.allKeywords(ctx.viewer),
  }),
);
