import { builder } from '../builder.ts';
import './types.ts';

builder.queryField('featureView', (t) =>
  t.prismaField({
    type: 'FeatureView',
    nullable: true,
    description: 'A feature view of the caller’s project; the latest version when version is omitted.',
    authScopes: { read: true },
    args: {
      name: t.arg.string({ required: true, description: 'View name.' }),
      version: t.arg.int({ description: 'Version; latest when omitted.' }),
    },
    resolve: (query, _root, { name, version }, ctx) =>
      ctx.prisma.featureView.findFirst({
        ...query,
        where: { projectId: ctx.viewer.projectId, name, ...(version != null ? { version } : {}) },
        orderBy: { version: 'desc' },
      }),
  }),
);

builder.queryField('featureViews', (t) =>
  t.prismaConnection(
    {
      type: 'FeatureView',
      cursor: 'id',
      description: 'Feature views of the caller’s project, by name then version.',
      authScopes: { read: true },
      args: { name: t.arg.string({ description: 'Only views with this name (all its versions).' }) },
      resolve: (query, _root, { name }, ctx) =>
        ctx.prisma.featureView.findMany({
          ...query,
          where: { projectId: ctx.viewer.projectId, ...(name ? { name } : {}) },
          orderBy: [{ name: 'asc' }, { version: 'asc' }],
        }),
    },
    { name: 'FeatureViewConnection', description: 'A page of feature views.' },
    { name: 'FeatureViewEdge', description: 'A feature view in a page, with its cursor.' },
  ),
);
