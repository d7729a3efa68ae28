import { z } from 'zod';
import type { FeatureDef, GroupSchema } from '../domain/feature-types.ts';
import { FILTER_OPS, type ViewQuery } from '../engine/feature-view/query.ts';
import type { SplitStatistics, StatisticsContent } from '../engine/statistics/compute.ts';
import type { TransformationSpec } from '../engine/transformations/types.ts';
import type { Prisma } from '../generated/sqlite/client.ts';
import { EXPECTATION_TYPES, type Expectation } from '../engine/validation/expectations.ts';
import type { CommitFile } from '../stores/offline/offline-store.ts';
import type { MaterializedSplit } from '../stores/offline/training-data.ts';

/**
 * The JSON columns of the metadata store, parsed where a row is read: one zod schema and one
 * `read…` function per column, handing typed values up instead of casting `Prisma.JsonValue`.
 *
 * The schemas describe what the services store (already validated and normalized on write), not
 * what users send. Objects are loose: keys the schema does not name are kept, so a value reads
 * back exactly as it was stored. A stored value that does not parse is a bug of the server, not
 * of the caller: the reader throws a plain Error naming the column, which stays masked.
 */

/** A reader of one column: parses the stored value or throws an Error naming the column. */
function columnReader<T>(column: string, schema: z.ZodType<T>): (value: unknown) => T {
  return (value) => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new Error(`stored ${column} does not parse${where}: ${issue?.message ?? 'invalid value'}`);
  };
}

const nullableNumber = z.number().nullable();

const featureDef: z.ZodType<FeatureDef> = z.looseObject({ name: z.string(), type: z.string(), description: z.string() });

const groupSchema: z.ZodType<GroupSchema> = z.looseObject({
  features: z.array(featureDef),
  primaryKey: z.array(z.string()),
  eventTime: z.string().nullable(),
});

const groupRef = z.looseObject({ name: z.string(), version: z.number() });

const viewQuery: z.ZodType<ViewQuery> = z.looseObject({
  left: z.looseObject({ group: groupRef, schema: groupSchema, features: z.array(z.string()) }),
  joins: z.array(
    z.looseObject({
      group: groupRef,
      schema: groupSchema,
      features: z.array(z.string()),
      on: z.array(z.looseObject({ left: z.string(), right: z.string() })),
      type: z.enum(['LEFT', 'INNER']),
      prefix: z.string().nullable(),
    }),
  ),
  filters: z.array(z.looseObject({ feature: z.string(), op: z.enum(FILTER_OPS), value: z.unknown() })),
});

const transformationSpec: z.ZodType<TransformationSpec> = z.looseObject({
  function: z.string(),
  feature: z.string(),
  args: z.record(z.string(), z.unknown()).nullish(),
});

const expectation: z.ZodType<Expectation> = z.looseObject({ type: z.enum(EXPECTATION_TYPES), kwargs: z.record(z.string(), z.unknown()) });

const commitFile: z.ZodType<CommitFile> = z.looseObject({ path: z.string(), bytes: z.number(), rows: z.number() });

const materializedSplit: z.ZodType<MaterializedSplit> = z.looseObject({
  name: z.string(),
  rowCount: z.number(),
  files: z.array(z.looseObject({ path: z.string(), bytes: z.number() })),
});

const featureStatistics = z.looseObject({
  name: z.string(),
  type: z.string(),
  count: z.number(),
  completeness: z.number(),
  nullCount: z.number(),
  distinctCount: z.number(),
  approximateDistinctCount: z.number(),
  exactDistinct: z.boolean(),
  min: nullableNumber,
  max: nullableNumber,
  sum: nullableNumber,
  mean: nullableNumber,
  stddev: nullableNumber,
  percentiles: z.array(z.looseObject({ percent: z.number(), value: nullableNumber })).nullable(),
  histogram: z
    .array(z.looseObject({ value: z.string().nullable(), lower: nullableNumber, upper: nullableNumber, count: z.number(), other: z.boolean() }))
    .nullable(),
  distinctness: nullableNumber,
  uniqueness: nullableNumber,
  entropy: nullableNumber,
});

const statisticsFields = {
  rowCount: z.number(),
  features: z.array(featureStatistics),
  correlations: z.looseObject({ features: z.array(z.string()), matrix: z.array(z.array(nullableNumber)) }).nullable(),
};

const statisticsContent: z.ZodType<StatisticsContent> = z.looseObject(statisticsFields);

const splitStatistics: z.ZodType<SplitStatistics> = z.looseObject({ ...statisticsFields, split: z.string(), computedAt: z.string() });

const columns = z.record(z.string(), z.string());

/** What an external group reads from its source (see `ExternalSpec`): a table, a query, or files. */
const externalSpec = z.union([
  z.looseObject({ table: z.string(), columns }),
  z.looseObject({ query: z.string(), columns }),
  z.looseObject({ path: z.string(), format: z.enum(['PARQUET', 'CSV']), columns }),
]);

/** `FeatureGroup.features`: the group's features in schema order (empty until inferred). */
export const readFeatures = columnReader('FeatureGroup.features', z.array(featureDef));

/** `FeatureGroup.external`: an external group's source spec. */
export const readExternalSpec = columnReader('FeatureGroup.external', externalSpec);

/** `Commit.files`: the data files of a commit. */
export const readCommitFiles = columnReader('Commit.files', z.array(commitFile));

/** `FeatureView.query`: the normalized view query. */
export const readViewQuery = columnReader('FeatureView.query', viewQuery);

/** `FeatureView.transformations`: the view's transformation specs. */
export const readTransformations = columnReader('FeatureView.transformations', z.array(transformationSpec));

/** `ExpectationSuite.expectations`: the suite's validated expectations. */
export const readExpectations = columnReader('ExpectationSuite.expectations', z.array(expectation));

/** `Statistics.content`: one statistics computation of a feature group. */
export const readStatisticsContent = columnReader('Statistics.content', statisticsContent);

/** `TrainingDataset.splits`: the materialized splits of a training dataset version. */
export const readSplits = columnReader('TrainingDataset.splits', z.array(materializedSplit));

/** `TrainingDataset.statistics`: statistics per split; null before they are computed. */
export const readSplitStatistics = columnReader('TrainingDataset.statistics', z.array(splitStatistics).nullable());

/**
 * A value the services built as plain JSON (objects, arrays, strings, finite numbers, booleans,
 * null), as Prisma's input for a JSON column. TypeScript cannot see that an interface is JSON
 * (it has no index signature), so this is the one place where writes convert.
 */
export function jsonInput(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
