import { builder } from '../builder.ts';
import { FeatureViewRefInput } from '../feature-view/inputs.ts';
import { ModelFrameworkEnum, ModelType, SortDirectionEnum } from './types.ts';

builder.queryField('model', (t) =>
  t.prismaField({
    type: 'Model',
    nullable: true,
    description: 'A model version of the caller’s project: by version, by alias, or the latest READY version when neither is given.',
    authScopes: { read: true },
    args: {
      name: t.arg.string({ required: true, description: 'Model name.' }),
      version: t.arg.int({ description: 'Version; the latest when omitted.' }),
      alias: t.arg.string({ description: 'An alias (`champion`) instead of a version.' }),
      includePending: t.arg.boolean({ defaultValue: false, description: 'Also return PENDING versions (files still being added).' }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.model.findFirst({
        ...query,
        where: ctx.services.models.lookupWhere(ctx.viewer, args),
        orderBy: { version: 'desc' },
      }),
  }),
);

builder.queryField('models', (t) =>
  t.prismaConnection(
    {
      type: 'Model',
      cursor: 'id',
      description: 'Model versions of the caller’s project, by name then version.',
      authScopes: { read: true },
      args: {
        name: t.arg.string({ description: 'Only versions of this model name.' }),
        framework: t.arg({ type: ModelFrameworkEnum, description: 'Only models of this framework.' }),
        featureView: t.arg({ type: FeatureViewRefInput, description: 'Only models trained from this feature view (any version when version is omitted).' }),
        includePending: t.arg.boolean({ defaultValue: false, description: 'Also list PENDING versions.' }),
      },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.model.findMany({
          ...query,
          where: ctx.services.models.listWhere(ctx.viewer, args),
          orderBy: [{ name: 'asc' }, { version: 'asc' }],
        }),
    },
    { name: 'ModelConnection', description: 'A page of model versions.' },
    { name: 'ModelEdge', description: 'A model version in a page, with its cursor.' },
  ),
);

builder.queryField('bestModel', (t) =>
  t.prismaField({
    type: 'Model',
    nullable: true,
    description:
      'The version of a model with the best value of a metric; versions without that metric are ignored, and a tie goes to the newer version. Null when no version has it.',
    authScopes: { read: true },
    args: {
      name: t.arg.string({ required: true, description: 'Model name.' }),
      metric: t.arg.string({ required: true, description: 'Metric name, a key of `metrics`.' }),
      direction: t.arg({ type: SortDirectionEnum, defaultValue: 'MAX', description: 'MAX (default): highest is best; MIN: lowest.' }),
      includePending: t.arg.boolean({ defaultValue: false, description: 'Also consider PENDING versions.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      const id = await ctx.services.models.best(ctx.viewer, args.name, args.metric, args.direction ?? 'MAX', args.includePending ?? false);
      // The selection is always used (Pothos checks it); no id matches nothing and gives null.
      return ctx.prisma.model.findUnique({ ...query, where: { id: id ?? '' } });
    },
  }),
);

export { ModelType };
