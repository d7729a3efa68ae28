import { builder } from '../builder.ts';
import { FeatureGroupType } from './types.ts';

builder.queryField('featureGroup', (t) =>
  t.prismaField({
    type: 'FeatureGroup',
    nullable: true,
    description: 'A feature group of the caller’s project; the latest version when version is omitted.',
    authScopes: { read: true },
    args: {
      name: t.arg.string({ required: true, description: 'Group name.' }),
      version: t.arg.int({ description: 'Version; latest when omitted.' }),
    },
    resolve: (query, _root, { name, version }, ctx) =>
      ctx.prisma.featureGroup.findFirst({
        ...query,
        where: { projectId: ctx.viewer.projectId, name, ...(version != null ? { version } : {}) },
        orderBy: { version: 'desc' },
      }),
  }),
);

builder.queryField('featureGroups', (t) =>
  t.prismaConnection(
    {
      type: 'FeatureGroup',
      cursor: 'id',
      description: 'Feature groups of the caller’s project, by name then version.',
      authScopes: { read: true },
      args: {
        name: t.arg.string({ description: 'Only groups with this name (all its versions).' }),
        latestOnly: t.arg.boolean({ defaultValue: false, description: 'Only the latest version of each name.' }),
      },
      resolve: async (query, _root, { name, latestOnly }, ctx) => {
        const where = { projectId: ctx.viewer.projectId, ...(name ? { name } : {}) };
        if (!latestOnly) return ctx.prisma.featureGroup.findMany({ ...query, where, orderBy: [{ name: 'asc' }, { version: 'asc' }] });
        const latest = await ctx.prisma.featureGroup.groupBy({ by: ['name'], where, _max: { version: true } });
        return ctx.prisma.featureGroup.findMany({
          ...query,
          where: { ...where, OR: latest.map((l) => ({ name: l.name, version: l._max.version ?? 0 })) },
          orderBy: [{ name: 'asc' }, { version: 'asc' }],
        });
      },
    },
    { name: 'FeatureGroupConnection', description: 'A page of feature groups.' },
    { name: 'FeatureGroupEdge', description: 'A feature group in a page, with its cursor.' },
  ),
);

export { FeatureGroupType };
