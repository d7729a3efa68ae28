import {
  DEFAULT_STATISTICS_CONFIG,
  MAX_HISTOGRAM_BINS,
  PERCENTILES_TEXT,
  storedStatisticsConfig,
  type StatisticsConfig,
} from '../../engine/statistics/config.ts';
import { statisticTime, type Correlations, type FeatureStatistics, type HistogramBin, type Percentile } from '../../engine/statistics/compute.ts';
import { NotFoundError, ValidationError, DataSourceError } from '../../errors.ts';
import { splitStatistics, type StatisticsRecord } from '../../services/statistics/statistics.service.ts';
import { builder } from '../builder.ts';
import { FeatureGroupRefInput, FeatureGroupType } from '../feature-group/types.ts';
import { SplitRef } from '../feature-view/training-data.ts';
import { pageSize } from '../shared/pagination.ts';

/** Statistics as resolved: a stored record, with the group it describes when it is a group's. */
type StatisticsParent = StatisticsRecord & { readonly featureGroupId: string | null };

/**
 * A histogram bin or percentile with the type of its feature: TIMESTAMP and DATE features count as
 * epoch milliseconds, and their `…Time` fields give the same values as DateTime.
 */
type OfFeature<T> = T & { readonly featureType: string };

const StatisticsConfigRef = builder.objectRef<StatisticsConfig>('StatisticsConfig').implement({
  description: 'Statistics settings of a feature group (set with `createFeatureGroup` / `updateFeatureGroup` as JSON with these keys).',
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled', { description: `Statistics may be computed (on demand and by jobs). Default ${DEFAULT_STATISTICS_CONFIG.enabled}.` }),
    histograms: t.exposeBoolean('histograms', {
      description: `Histograms: equal-width bins for numbers and timestamps, top values for strings and booleans. Default ${DEFAULT_STATISTICS_CONFIG.histograms}.`,
    }),
    correlations: t.exposeBoolean('correlations', {
      description: `Pearson correlation matrix between numeric features. Default ${DEFAULT_STATISTICS_CONFIG.correlations}.`,
    }),
    exactUniqueness: t.exposeBoolean('exactUniqueness', {
      description: `Exact distinct count, uniqueness and entropy (a GROUP BY per feature). Default ${DEFAULT_STATISTICS_CONFIG.exactUniqueness}.`,
    }),
    columns: t.exposeStringList('columns', { nullable: true, description: 'Only these features; null: every feature.' }),
    histogramBins: t.exposeInt('histogramBins', {
      description: `Bins of numeric histograms (1–${MAX_HISTOGRAM_BINS}). Default ${DEFAULT_STATISTICS_CONFIG.histogramBins}.`,
    }),
  }),
});

const HistogramBinRef = builder.objectRef<OfFeature<HistogramBin>>('HistogramBin').implement({
  description:
    'One bar of a histogram. Numbers and timestamps: a bin [lower, upper) (the last bin includes upper), in order. Strings and booleans: a value with its count, most frequent first, then at most one `other` entry counting the rest.',
  fields: (t) => ({
    value: t.exposeString('value', { nullable: true, description: 'The value (booleans as `true`/`false`); null for numeric bins and for `other`.' }),
    lower: t.exposeFloat('lower', { nullable: true, description: 'Lower bound of a numeric bin (inclusive).' }),
    upper: t.exposeFloat('upper', { nullable: true, description: 'Upper bound of a numeric bin (exclusive, except for the last bin).' }),
    lowerTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: '`lower` as a date and time, for a TIMESTAMP or DATE feature (DATE at midnight UTC); null for other features.',
      resolve: (b) => statisticTime(b.featureType, b.lower),
    }),
    upperTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: '`upper` as a date and time, for a TIMESTAMP or DATE feature (DATE at midnight UTC); null for other features.',
      resolve: (b) => statisticTime(b.featureType, b.upper),
    }),
    count: t.exposeFloat('count', { description: 'Non-null values in the bin, or occurrences of the value.' }),
    other: t.exposeBoolean('other', { description: 'This entry counts every value outside the top values.' }),
  }),
});

const PercentileRef = builder.objectRef<OfFeature<Percentile>>('Percentile').implement({
  description: 'An approximate percentile (t-digest): within about 1 % of rank of the exact one.',
  fields: (t) => ({
    percent: t.exposeInt('percent', { description: `Percent: one of ${PERCENTILES_TEXT}.` }),
    value: t.exposeFloat('value', { nullable: true, description: 'The value below which `percent` % of the non-null values lie; null when there are none.' }),
    time: t.field({
      type: 'DateTime',
      nullable: true,
      description: '`value` as a date and time, for a TIMESTAMP or DATE feature (DATE at midnight UTC); null for other features.',
      resolve: (p) => statisticTime(p.featureType, p.value),
    }),
  }),
});

const FeatureStatisticsRef = builder.objectRef<FeatureStatistics>('FeatureStatistics').implement({
  description:
    'Statistics of one feature. Numbers are doubles; TIMESTAMP and DATE features count as epoch milliseconds in the Float fields, and their `minTime`, `maxTime`, `meanTime`, `Percentile.time` and `HistogramBin.lowerTime`/`upperTime` give the same points as DateTime (their `stddev` is a duration in milliseconds). Counts are whole numbers (Float because they may exceed 2^31).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Feature name.' }),
    type: t.exposeString('type', { description: 'Feature type.' }),
    count: t.exposeFloat('count', { description: 'Non-null values.' }),
    completeness: t.exposeFloat('completeness', { description: 'count / rows (1 when there are no rows).' }),
    nullCount: t.exposeFloat('nullCount', { description: 'Null values.' }),
    distinctCount: t.exposeFloat('distinctCount', {
      description:
        'Distinct non-null values: exact when the group’s `exactUniqueness` is on (see `exactDistinct`), else the approximate count (capped at `count`).',
    }),
    approximateDistinctCount: t.exposeFloat('approximateDistinctCount', {
      description: 'HyperLogLog estimate of the distinct non-null values (DuckDB approx_count_distinct: standard error about 13 %).',
    }),
    exactDistinct: t.exposeBoolean('exactDistinct', { description: 'Whether distinctCount is exact.' }),
    min: t.exposeFloat('min', { nullable: true, description: 'Smallest value (numbers; timestamps and dates as epoch milliseconds, see `minTime`).' }),
    max: t.exposeFloat('max', { nullable: true, description: 'Largest value (numbers; timestamps and dates as epoch milliseconds, see `maxTime`).' }),
    sum: t.exposeFloat('sum', { nullable: true, description: 'Sum of the values (numbers; timestamps and dates as epoch milliseconds).' }),
    mean: t.exposeFloat('mean', { nullable: true, description: 'Mean of the values (numbers; timestamps and dates as epoch milliseconds, see `meanTime`).' }),
    stddev: t.exposeFloat('stddev', {
      nullable: true,
      description: 'Sample standard deviation (numbers; timestamps and dates in milliseconds); null below 2 values.',
    }),
    minTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Earliest value of a TIMESTAMP or DATE feature (DATE at midnight UTC); null for other features and without values.',
      resolve: (f) => statisticTime(f.type, f.min),
    }),
    maxTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Latest value of a TIMESTAMP or DATE feature (DATE at midnight UTC); null for other features and without values.',
      resolve: (f) => statisticTime(f.type, f.max),
    }),
    meanTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Mean of a TIMESTAMP or DATE feature’s values; null for other features and without values.',
      resolve: (f) => statisticTime(f.type, f.mean),
    }),
    percentiles: t.field({
      type: [PercentileRef],
      nullable: true,
      description: `Approximate percentiles ${PERCENTILES_TEXT} (numbers, timestamps and dates).`,
      resolve: (f) => f.percentiles?.map((p) => ({ ...p, featureType: f.type })) ?? null,
    }),
    histogram: t.field({
      type: [HistogramBinRef],
      nullable: true,
      description: 'Histogram, when the group’s `histograms` setting is on; null for BINARY and ARRAY features.',
      resolve: (f) => f.histogram?.map((b) => ({ ...b, featureType: f.type })) ?? null,
    }),
    distinctness: t.exposeFloat('distinctness', { nullable: true, description: 'distinctCount / count; null without values.' }),
    uniqueness: t.exposeFloat('uniqueness', {
      nullable: true,
      description: 'Values occurring exactly once / count; only with `exactUniqueness`.',
    }),
    entropy: t.exposeFloat('entropy', {
      nullable: true,
      description: 'Shannon entropy of the value distribution in nats (natural log); only with `exactUniqueness`.',
    }),
  }),
});

const CorrelationRowRef = builder.objectRef<{ feature: string; values: readonly (number | null)[] }>('CorrelationRow').implement({
  description: 'One row of a correlation matrix.',
  fields: (t) => ({
    feature: t.exposeString('feature', { description: 'The row’s feature.' }),
    values: t.field({
      type: ['Float'],
      nullable: { list: false, items: true },
      description: 'Its correlation with each feature of `Correlations.features`, in order; null when undefined (a constant feature, or fewer than 2 rows).',
      resolve: (r) => [...r.values],
    }),
  }),
});

const CorrelationsRef = builder.objectRef<Correlations>('Correlations').implement({
  description: 'Pearson correlations between the numeric (and timestamp) features, each pair over the rows where both are non-null.',
  fields: (t) => ({
    features: t.exposeStringList('features', { description: 'The features, in matrix order.' }),
    matrix: t.field({
      type: [CorrelationRowRef],
      description: 'The symmetric matrix, one row per feature in `features` order.',
      resolve: (c) => c.features.map((feature, i) => ({ feature, values: c.matrix[i]! })),
    }),
  }),
});

export const StatisticsRef = builder.objectRef<StatisticsParent>('Statistics').implement({
  description: 'Statistics of a feature group’s rows as of a commit, or of a training dataset split.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Id of this computation.' }),
    computedAt: t.field({ type: 'DateTime', description: 'When it was computed.', resolve: (s) => s.computedAt }),
    rowCount: t.exposeFloat('rowCount', { description: 'Rows described.' }),
    commit: t.exposeID('commitId', {
      nullable: true,
      description: 'Id of the newest commit the statistics include; null for a split, or a group without commits.',
    }),
    split: t.exposeString('split', {
      nullable: true,
      description: 'The training dataset split described (train, validation or test); null for a feature group’s statistics.',
    }),
    featureGroup: t.field({
      type: FeatureGroupType,
      nullable: true,
      description: 'The feature group described; null for a training dataset split.',
      resolve: (s, _args, ctx) =>
        s.featureGroupId ? ctx.prisma.featureGroup.findFirst({ where: { id: s.featureGroupId, projectId: ctx.viewer.projectId } }) : null,
    }),
    features: t.field({ type: [FeatureStatisticsRef], description: 'Per feature, in column order.', resolve: (s) => [...s.content.features] }),
    correlations: t.field({
      type: CorrelationsRef,
      nullable: true,
      description: 'Correlation matrix, when the `correlations` setting is on.',
      resolve: (s) => s.content.correlations,
    }),
  }),
});

builder.prismaObjectField('FeatureGroup', 'statisticsConfig', (t) =>
  t.field({
    type: StatisticsConfigRef,
    description: 'Statistics settings, defaults filled in.',
    select: { statisticsConfig: true },
    resolve: (g) => storedStatisticsConfig(g.statisticsConfig),
  }),
);

builder.prismaObjectField('FeatureGroup', 'statistics', (t) =>
  t.field({
    type: StatisticsRef,
    nullable: true,
    description: 'The latest statistics, or the latest computed as of a commit; null when none were computed.',
    args: { commit: t.arg.id({ description: 'A commit id: the statistics computed as of that commit.' }) },
    select: { id: true },
    resolve: async (g, args, ctx) => {
      const record = await ctx.services.statistics.forGroup(g.id, args.commit == null ? null : String(args.commit));
      return record && { ...record, featureGroupId: g.id };
    },
  }),
);

builder.prismaObjectField('FeatureGroup', 'statisticsHistory', (t) =>
  t.field({
    type: [StatisticsRef],
    description: 'Every statistics computation, newest first.',
    args: { first: t.arg.int({ defaultValue: 20, description: 'At most this many (1–1000).' }) },
    select: { id: true },
    resolve: async (g, args, ctx) => (await ctx.services.statistics.history(g.id, pageSize(args.first, 20, 1000))).map((r) => ({ ...r, featureGroupId: g.id })),
  }),
);

const ComputeStatisticsPayload = builder.objectRef<{ statistics: StatisticsParent }>('ComputeStatisticsPayload').implement({
  description: 'The statistics just computed and stored.',
  fields: (t) => ({ statistics: t.field({ type: StatisticsRef, description: 'The statistics.', resolve: (p) => p.statistics }) }),
});

builder.mutationField('computeStatistics', (t) =>
  t.field({
    type: ComputeStatisticsPayload,
    description:
      'Computes the statistics of a feature group’s rows now, with its `statisticsConfig`, stores them (see `statistics`, `statisticsHistory`) and announces them on `statisticsUpdated`.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, DataSourceError] },
    args: {
      featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }),
      commit: t.arg.id({ description: 'Compute as of this commit (its visible rows then); the newest when omitted.' }),
    },
    resolve: async (_root, args, ctx) => {
      const group = await ctx.services.featureGroups.get(ctx.viewer, args.featureGroup);
      const record = await ctx.services.statistics.computeForGroup(
        ctx.viewer,
        { name: group.name, version: group.version },
        {
          commitId: args.commit == null ? null : String(args.commit),
        },
      );
      return { statistics: { ...record, featureGroupId: group.id } };
    },
  }),
);

builder.subscriptionField('statisticsUpdated', (t) =>
  t.field({
    type: StatisticsRef,
    nullable: true,
    description: 'Statistics each time they are computed in the caller’s project; only those of one group when given.',
    authScopes: { read: true },
    args: { featureGroup: t.arg({ type: FeatureGroupRefInput, description: 'Only this group (the latest version when version is omitted).' }) },
    subscribe: (_root, args, ctx) => ctx.services.statistics.subscribe(ctx.viewer, args.featureGroup),
    resolve: async (event, _args, ctx) => {
      const found = await ctx.services.statistics.byId(ctx.viewer, (event as { statisticsId: string }).statisticsId);
      return found && { ...found.record, featureGroupId: found.group.id };
    },
  }),
);

builder.objectField(SplitRef, 'statistics', (t) =>
  t.field({
    type: StatisticsRef,
    nullable: true,
    description: 'Statistics of the split’s rows (untransformed; histograms and correlations on), computed when the version was created.',
    resolve: (s) => {
      const record = splitStatistics(s.dataset, s.name);
      return record && { ...record, featureGroupId: null };
    },
  }),
);
