import type { FeatureView, TrainingDataset } from '../../generated/sqlite/client.ts';
import { NotFoundError, ValidationError, DataSourceError } from '../../errors.ts';
import type { StoredSplit } from '../../services/feature-view/training-dataset.service.ts';
import { listTransformationFunctions, type TransformationFunctionInfo } from '../../engine/transformations/index.ts';
import { builder } from '../builder.ts';
import { ModelRefInput } from '../model/types.ts';
import { MODEL, TD_VERSION } from './serving.ts';
import { DataFrameRef } from '../shared/data-frame.ts';
import { DownloadFormatEnum } from '../shared/download-format.ts';
import { trainingSplitPath } from '../shared/download-paths.ts';
import { pageSize } from '../shared/pagination.ts';
import { FeatureViewRefInput } from './inputs.ts';
import { readSplits } from '../../services/json-columns.ts';

const SplitTypeEnum = builder.enumType('SplitType', {
  description: 'How a training dataset’s rows are split.',
  values: {
    NONE: { description: 'No split: every row in `train`.' },
    RANDOM: { description: 'Random by testSize and validationSize, reproducible with the seed.' },
    TIME_SERIES: { description: 'By the left group’s event time, into non-overlapping windows.' },
  } as const,
});

const TrainingDataFormatEnum = builder.enumType('TrainingDataFormat', {
  description: 'File format of a training dataset.',
  values: {
    PARQUET: { description: 'Apache Parquet (zstd).' },
    CSV: { description: 'Comma-separated values with a header row.' },
  } as const,
});

type SplitParent = StoredSplit & { view: FeatureView; dataset: TrainingDataset };

export const SplitRef = builder.objectRef<SplitParent>('TrainingDatasetSplit').implement({
  description: 'One split (train, validation or test) of a training dataset version.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'train, validation or test.' }),
    rowCount: t.exposeInt('rowCount', { description: 'Rows in the split.' }),
    data: t.field({
      type: DataFrameRef,
      description: 'The split’s rows, labels included; transformed with the version’s fitted parameters unless `transformed: false`.',
      args: {
        first: t.arg.int({ defaultValue: 1000, description: 'At most this many rows (1–1 000 000).' }),
        transformed: t.arg.boolean({ defaultValue: true, description: 'Apply the transformation functions.' }),
      },
      resolve: (s, args, ctx) =>
        ctx.services.trainingDatasets.splitData(ctx.viewer, s.view, s.dataset, s.name, {
          transformed: args.transformed !== false,
          first: pageSize(args.first, 1000, 1_000_000),
        }),
    }),
    downloadUrl: t.string({
      description:
        'Path of a download of the split’s rows (as `data`, without a row limit), relative to the server’s origin. GET it with the same Authorization header.',
      args: {
        format: t.arg({ type: DownloadFormatEnum, defaultValue: 'PARQUET', description: 'PARQUET (default) or CSV.' }),
        transformed: t.arg.boolean({ defaultValue: true, description: 'Apply the transformation functions.' }),
      },
      resolve: (s, args) => trainingSplitPath(s.view, s.dataset.version, s.name, args.format ?? 'PARQUET', args.transformed !== false),
    }),
  }),
});

export const TrainingDatasetType = builder.prismaNode('TrainingDataset', {
  description: 'A version of a feature view’s data: split, materialized as files, with the transformation functions fitted on its train split.',
  id: { field: 'id', description: 'Global id, for `node(id:)`, tags and lineage.' },
  // Extended unique filter: a global id of another project resolves to nothing.
  findUnique: (id, ctx) => ({ id, featureView: { projectId: ctx.viewer.projectId } }),
  nullable: true,
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'Version within the feature view.' }),
    description: t.exposeString('description', { description: 'What the version is for.' }),
    format: t.field({ type: TrainingDataFormatEnum, description: 'File format.', resolve: (d) => d.format as 'PARQUET' | 'CSV' }),
    split: t.expose('split', { type: 'JSON', description: 'The split settings used.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    featureView: t.relation('featureView', { description: 'The view it is a version of.' }),
    splits: t.field({
      type: [SplitRef],
      description: 'The splits with their row counts and data.',
      select: { featureView: true },
      resolve: (d) => readSplits(d.splits).map((s) => ({ ...s, view: d.featureView, dataset: d })),
    }),
    transformationStatistics: t.field({
      type: 'JSON',
      description: 'Fitted parameters of each transformation function (min, max, categories, …), from the train split.',
      resolve: (d) => d.transformationParams,
    }),
    statistics: t.expose('statistics', {
      type: 'JSON',
      nullable: true,
      description:
        'Statistics per split as stored, untyped: a list of `{ split, computedAt, rowCount, features, correlations }`, TIMESTAMP and DATE values in epoch milliseconds.',
      deprecationReason: 'Use `splits { name statistics { … } }`: the same statistics per split, typed as `Statistics`, with DateTime fields.',
    }),
  }),
});

builder.prismaObjectField('FeatureView', 'trainingDatasets', (t) =>
  t.relation('trainingDatasets', {
    description: 'Training dataset versions of this view, oldest first.',
    query: { orderBy: { version: 'asc' } },
  }),
);

builder.queryField('trainingDataset', (t) =>
  t.prismaField({
    type: 'TrainingDataset',
    nullable: true,
    description: 'A training dataset version of a feature view; the latest when version is omitted.',
    authScopes: { read: true },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, required: true, description: 'The view.' }),
      version: t.arg.int({ description: 'Training dataset version; latest when omitted.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      const view = await ctx.services.featureViews.find(ctx.viewer, args.featureView);
      // The selection is always used (Pothos checks it): no view matches no id and gives null.
      return ctx.prisma.trainingDataset.findFirst({
        ...query,
        where: { featureViewId: view?.id ?? '', ...(args.version != null ? { version: args.version } : {}) },
        orderBy: { version: 'desc' },
      });
    },
  }),
);

builder.queryField('batchData', (t) =>
  t.field({
    type: DataFrameRef,
    description:
      'The view’s rows for inference (labels left out), transformed with the fitted parameters of a training dataset version (latest when omitted), as training data was.',
    authScopes: { read: true },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, description: 'The view (required unless model is given).' }),
      model: t.arg({ type: ModelRefInput, description: MODEL }),
      trainingDatasetVersion: t.arg.int({ description: TD_VERSION }),
      startTime: t.arg({ type: 'DateTime', description: 'Only rows whose left event time is at or after this.' }),
      endTime: t.arg({ type: 'DateTime', description: 'Only rows whose left event time is before this.' }),
      transformed: t.arg.boolean({ defaultValue: true, description: 'Apply the transformation functions.' }),
      includeKeys: t.arg.boolean({
        defaultValue: false,
        description: 'Prepend the serving keys and the left event time, to tell which entity each row is.',
      }),
      first: t.arg.int({ defaultValue: 1000, description: 'At most this many rows (1–1 000 000), in key order.' }),
    },
    resolve: async (_root, args, ctx) => {
      const target = await ctx.services.deployments.served.target(ctx.viewer, args);
      return ctx.services.trainingDatasets.batchData(ctx.viewer, target.featureView, {
        trainingDatasetVersion: target.trainingDatasetVersion,
        startTime: args.startTime,
        endTime: args.endTime,
        transformed: args.transformed !== false,
        includeKeys: args.includeKeys === true,
        first: pageSize(args.first, 1000, 1_000_000),
      });
    },
  }),
);

const CreateTrainingDatasetInput = builder.inputType('CreateTrainingDatasetInput', {
  description: 'How to split and materialize a new training dataset version.',
  fields: (t) => ({
    description: t.string({ description: 'What the version is for.' }),
    split: t.field({ type: SplitTypeEnum, description: 'NONE, RANDOM or TIME_SERIES; inferred from the other fields when omitted.' }),
    testSize: t.float({ description: 'RANDOM: share of rows in test (0–1).' }),
    validationSize: t.float({ description: 'RANDOM: share of rows in validation (0–1).' }),
    seed: t.int({ description: 'RANDOM: seed; the same seed and data give the same splits. Default 42.' }),
    trainStart: t.field({ type: 'DateTime', description: 'TIME_SERIES: train window start (inclusive).' }),
    trainEnd: t.field({ type: 'DateTime', description: 'TIME_SERIES: train window end (exclusive).' }),
    validationStart: t.field({ type: 'DateTime', description: 'TIME_SERIES: validation window start.' }),
    validationEnd: t.field({ type: 'DateTime', description: 'TIME_SERIES: validation window end.' }),
    testStart: t.field({ type: 'DateTime', description: 'TIME_SERIES: test window start.' }),
    testEnd: t.field({ type: 'DateTime', description: 'TIME_SERIES: test window end.' }),
    startTime: t.field({ type: 'DateTime', description: 'Only rows whose left event time is at or after this.' }),
    endTime: t.field({ type: 'DateTime', description: 'Only rows whose left event time is before this.' }),
    format: t.field({ type: TrainingDataFormatEnum, description: 'PARQUET (default) or CSV.' }),
  }),
});

const CreateTrainingDatasetPayload = builder.objectRef<{ trainingDataset: TrainingDataset }>('CreateTrainingDatasetPayload').implement({
  description: 'The new training dataset version.',
  fields: (t) => ({
    trainingDataset: t.field({ type: TrainingDatasetType, description: 'The version.', resolve: (p) => p.trainingDataset }),
  }),
});

builder.mutationField('createTrainingDataset', (t) =>
  t.field({
    type: CreateTrainingDatasetPayload,
    description: 'Creates the next training dataset version of a view: splits its rows, fits the transformation functions on train, writes each split.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, DataSourceError] },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, required: true, description: 'The view; the latest version when omitted.' }),
      input: t.arg({ type: CreateTrainingDatasetInput, defaultValue: {}, description: 'Split and format.' }),
    },
    resolve: async (_root, args, ctx) => ({
      trainingDataset: await ctx.services.trainingDatasets.create(ctx.viewer, args.featureView, args.input ?? {}),
    }),
  }),
);

const DeleteTrainingDatasetPayload = builder.objectRef<TrainingDataset>('DeleteTrainingDatasetPayload').implement({
  description: 'The deleted training dataset version.',
  fields: (t) => ({ version: t.exposeInt('version', { description: 'Version deleted.' }) }),
});

builder.mutationField('deleteTrainingDataset', (t) =>
  t.field({
    type: DeleteTrainingDatasetPayload,
    description: 'Deletes a training dataset version and its files.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: {
      featureView: t.arg({ type: FeatureViewRefInput, required: true, description: 'The view.' }),
      version: t.arg.int({ required: true, description: 'Training dataset version.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.trainingDatasets.delete(ctx.viewer, args.featureView, args.version),
  }),
);

const TransformationArgumentRef = builder.objectRef<TransformationFunctionInfo['args'][number]>('TransformationArgument').implement({
  description: 'An argument a transformation function accepts.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Argument name.' }),
    description: t.exposeString('description', { description: 'What it does.' }),
    default: t.field({ type: 'JSON', nullable: true, description: 'Value when omitted; null when required.', resolve: (a) => a.default ?? null }),
  }),
});

const TransformationFunctionRef = builder.objectRef<TransformationFunctionInfo>('TransformationFunction').implement({
  description: 'A built-in model-dependent transformation function.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name to use in a view’s transformations.' }),
    description: t.exposeString('description', { description: 'What it computes.' }),
    inputTypes: t.exposeStringList('inputTypes', { description: 'Feature types it accepts.' }),
    statistics: t.exposeStringList('statistics', { description: 'Statistics of the train split it is fitted with.' }),
    args: t.field({ type: [TransformationArgumentRef], description: 'Arguments it accepts.', resolve: (f) => [...f.args] }),
    outputs: t.exposeString('outputs', { description: 'Its output columns, in words.' }),
    missing: t.exposeString('missing', { description: 'What missing values become.' }),
    inverse: t.exposeString('inverse', { description: 'exact, approximate or none: how its outputs map back to the input.' }),
  }),
});

builder.queryField('transformationFunctions', (t) =>
  t.field({
    type: [TransformationFunctionRef],
    description: 'The built-in transformation functions.',
    authScopes: { read: true },
    resolve: () => listTransformationFunctions(),
  }),
);
