import { z } from 'zod';
import { FEATURE_NAME } from '../../domain/feature-types.ts';
import { ValidationError, type InputIssue, issueMessage } from '../../errors.ts';

/**
 * A feature group's statistics settings. Defaults differ from Hopsworks' (enabled, histograms and
 * correlations off) on one point: histograms are on, since a front end plots them and they cost
 * one more scan; correlations (a pairwise aggregate per pair of numeric features) and exact
 * uniqueness (a GROUP BY per feature) stay opt-in because they grow with width and cardinality.
 */
export interface StatisticsConfig {
  /** Statistics are computed (on demand, by jobs); false refuses computing them. */
  readonly enabled: boolean;
  /** Histograms: equal-width bins for numbers and timestamps, top values for strings and booleans. */
  readonly histograms: boolean;
  /** Pearson correlation matrix between numeric features. */
  readonly correlations: boolean;
  /** Exact distinct count, uniqueness and entropy (one GROUP BY per feature). */
  readonly exactUniqueness: boolean;
  /** Only these features; null: every feature. */
  readonly columns: readonly string[] | null;
  /** Bins of numeric histograms. */
  readonly histogramBins: number;
}

export const DEFAULT_STATISTICS_CONFIG: StatisticsConfig = {
  enabled: true,
  histograms: true,
  correlations: false,
  exactUniqueness: false,
  columns: null,
  histogramBins: 20,
};

/** The reported percentiles, in words (for descriptions). */
export const PERCENTILES_TEXT = '1, 5, 25, 50, 75, 95 and 99';

/** At most this many bins in a numeric histogram. */
export const MAX_HISTOGRAM_BINS = 1000;

const statisticsConfigSchema = z.strictObject({
  enabled: z.boolean().optional(),
  histograms: z.boolean().optional(),
  correlations: z.boolean().optional(),
  exactUniqueness: z.boolean().optional(),
  columns: z.array(z.string().regex(FEATURE_NAME, 'not a feature name: lower-case letters, digits and _')).max(10_000).nullable().optional(),
  histogramBins: z.number().int('must be an integer').min(1, 'at least 1 bin').max(MAX_HISTOGRAM_BINS, `at most ${MAX_HISTOGRAM_BINS} bins`).optional(),
});

/**
 * Validates statistics settings as a user gives them (a JSON object; unknown keys are errors) and
 * fills the defaults. `base` supplies the values of omitted keys (the defaults, or the group's
 * current settings for an update). When `features` is given, every name in `columns` must be one
 * of them. Issues are reported at `path` + the key.
 */
export function parseStatisticsConfig(
  raw: unknown,
  options: { path?: readonly (string | number)[]; base?: StatisticsConfig; features?: readonly string[] | null } = {},
): StatisticsConfig {
  const path = options.path ?? ['statisticsConfig'];
  const base = options.base ?? DEFAULT_STATISTICS_CONFIG;
  if (raw == null) return base;
  const parsed = statisticsConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues: InputIssue[] = parsed.error.issues.map((issue) => ({
      path: [...path, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown setting(s) ${issue.keys.join(', ')}; known: ${Object.keys(statisticsConfigSchema.shape).join(', ')}`
          : issueMessage(issue),
    }));
    throw new ValidationError(`${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
  }
  const v = parsed.data;
  const config: StatisticsConfig = {
    enabled: v.enabled ?? base.enabled,
    histograms: v.histograms ?? base.histograms,
    correlations: v.correlations ?? base.correlations,
    exactUniqueness: v.exactUniqueness ?? base.exactUniqueness,
    columns: v.columns === undefined ? base.columns : v.columns === null ? null : [...new Set(v.columns)],
    histogramBins: v.histogramBins ?? base.histogramBins,
  };
  if (options.features) checkColumns(config, options.features, path);
  return config;
}

/** Throws a ValidationError naming each configured column that is not a feature. */
export function checkColumns(config: StatisticsConfig, features: readonly string[], path: readonly (string | number)[] = ['statisticsConfig']): void {
  if (!config.columns) return;
  const known = new Set(features);
  const issues: InputIssue[] = [];
  config.columns.forEach((c, i) => {
    if (!known.has(c)) issues.push({ path: [...path, 'columns', i], message: `${c} is not a feature of the group` });
  });
  if (issues.length > 0) throw new ValidationError(`${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
}

/** Settings as stored (a JSON column that may be null or predate a key): defaults filled, never throws on old keys. */
export function storedStatisticsConfig(stored: unknown): StatisticsConfig {
  try {
    return parseStatisticsConfig(stored);
  } catch {
    return DEFAULT_STATISTICS_CONFIG;
  }
}
