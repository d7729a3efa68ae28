import type { Context } from '../../context.ts';
import type { FeatureViewRef } from '../../services/feature-view/feature-view.service.ts';
import type { FeatureVector, VectorForm } from '../../services/feature-view/serving.service.ts';
import { builder } from '../builder.ts';
import { ModelRefInput } from '../model/types.ts';
import { FeatureViewRefInput } from './inputs.ts';

const TRANSFORMED =
  'Apply the view’s transformation functions with the fitted parameters (default). false: the raw feature values as stored online (passed features applied), under their own names, as Hopsworks’ `get_feature_vector(..., transform=False)`; no training dataset is needed then.';

export const MODEL =
  'Serve through a registered model version (by version or alias): its own feature view and training dataset version, so the fitted transformations are the ones it was trained with. featureView and trainingDatasetVersion may then be left out.';
export const TD_VERSION =
  'Whose fitted parameters to apply. Default: the model’s training dataset when model is given, else the view’s latest training dataset version.';

/**
 * Calls `serve` with the view and training dataset version to serve: given directly (no await on
 * the hot path), or those of a model version.
 */
export function withTarget<T>(
  ctx: Context,
  args: {
    featureView?: FeatureViewRef | null;
    model?: { name: string; version?: number | null; alias?: string | null } | null;
    trainingDatasetVersion?: number | null;
  },
  serve: (view: FeatureViewRef, trainingDatasetVersion: number | null | undefined) => Promise<T>,
): Promise<T> {
  if (!args.model && args.featureView) return serve(args.featureView, args.trainingDatasetVersion);
  return ctx.services.deployments.served.target(ctx.viewer, args).then((t) => serve(t.featureView, t.trainingDatasetVersion));
}

/** An explicit null is the default: transformed. */
const formOf = (transformed: boolean | null | undefined): VectorForm => (transformed === false ? 'raw' : 'transformed');

export const FeatureVectorRef = builder.objectRef<FeatureVector>('FeatureVector').implement({
  description: 'One entity’s features from the online store, transformed as the training data was (or as stored, when asked for with `transformed: false`).',
  fields: (t) => ({
    // The plan's own arrays, not copies: nothing downstream mutates a resolved list.
    features: t.stringList({
      description: 'Feature names in order (labels left out; transformed features replaced by their outputs, unless `transformed: false`).',
      resolve: (v) => v.features as string[],
    }),
    values: t.field({ type: 'JSON', description: 'Values in the order of `features`: the model’s input row.', resolve: (v) => v.values }),
    record: t.field({ type: 'JSON', description: 'Values keyed by feature name.', resolve: (v) => v.record }),
    missing: t.stringList({
      description: 'Feature groups with no online row for this entity; their features are null.',
      resolve: (v) => v.missing as string[],
    }),
  }),
});

builder.queryField('featureVector', (t) =>
  t.field({
    type: FeatureVectorRef,
    description: 'Online features of one entity: every group of the view read by key, joined, transformed with a training dataset version’s fitted parameters.',
    authScopes: { read: true },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, description: 'The view (required unless model is given).' }),
      model: t.arg({ type: ModelRefInput, description: MODEL }),
      entry: t.arg({ type: 'JSON', required: true, description: 'The serving keys, e.g. { "customerid": "7590-VHVEG" }.' }),
      passedFeatures: t.arg({
        type: 'JSON',
        description:
          'Feature values that override the stored ones (computed at request time), by feature name. Each must be a feature of the view (labels excepted) with a value of its type, or null.',
      }),
      trainingDatasetVersion: t.arg.int({ description: TD_VERSION }),
      transformed: t.arg.boolean({ defaultValue: true, description: TRANSFORMED }),
    },
    resolve: (_root, args, ctx) =>
      withTarget(ctx, args, (view, td) => ctx.services.serving.vector(ctx.viewer, view, args.entry, args.passedFeatures, td, formOf(args.transformed))),
  }),
);

builder.queryField('featureVectors', (t) =>
  t.field({
    type: [FeatureVectorRef],
    description: 'Online features of several entities, in order; one online-store round trip per group for all of them.',
    authScopes: { read: true },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, description: 'The view (required unless model is given).' }),
      model: t.arg({ type: ModelRefInput, description: MODEL }),
      entries: t.arg({ type: ['JSON'], required: true, description: 'Serving keys of each entity.' }),
      passedFeatures: t.arg({
        type: ['JSON'],
        required: { list: false, items: false },
        description: 'Overrides per entity, in the order of entries (null for none).',
      }),
      trainingDatasetVersion: t.arg.int({ description: TD_VERSION }),
      transformed: t.arg.boolean({ defaultValue: true, description: TRANSFORMED }),
    },
    resolve: (_root, args, ctx) =>
      withTarget(ctx, args, (view, td) => ctx.services.serving.vectors(ctx.viewer, view, args.entries, args.passedFeatures, td, formOf(args.transformed))),
  }),
);
