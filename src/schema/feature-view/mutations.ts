import type { FeatureView } from '../../generated/sqlite/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { builder } from '../builder.ts';
import { CreateFeatureViewInput, FeatureViewRefInput } from './inputs.ts';
import { FeatureViewType } from './types.ts';

const CreateFeatureViewPayload = builder.objectRef<{ featureView: FeatureView }>('CreateFeatureViewPayload').implement({
  description: 'The created feature view, or the existing one with the same definition.',
  fields: (t) => ({
    featureView: t.field({ type: FeatureViewType, description: 'The view.', resolve: (p) => p.featureView }),
  }),
});

builder.mutationField('createFeatureView', (t) =>
  t.field({
    type: CreateFeatureViewPayload,
    description: 'Creates a feature view, or returns the existing one with the same definition (get-or-create).',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateFeatureViewInput, required: true, description: 'The definition.' }) },
    resolve: async (_root, { input }, ctx) => ({ featureView: await ctx.services.featureViews.create(ctx.viewer, input) }),
  }),
);

const DeleteFeatureViewPayload = builder.objectRef<FeatureView>('DeleteFeatureViewPayload').implement({
  description: 'The deleted feature view version.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name of the deleted view.' }),
    version: t.exposeInt('version', { description: 'Version deleted.' }),
  }),
});

builder.mutationField('deleteFeatureView', (t) =>
  t.field({
    type: DeleteFeatureViewPayload,
    description: 'Deletes a feature view version with its training datasets and their files.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: { featureView: t.arg({ type: FeatureViewRefInput, required: true, description: 'The view; the latest version when omitted.' }) },
    resolve: (_root, args, ctx) => ctx.services.trainingDatasets.deleteView(ctx.viewer, args.featureView),
  }),
);
