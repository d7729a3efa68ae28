// How the model pages read a version's `metrics` (a flat JSON object of metric name to number).

/** The numeric metrics of a version, by name; values that are not finite numbers are left out. */
export function numericMetrics(metrics: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) return out;
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value === 'number' && Number.isFinite(value)) out.set(name, value);
  }
  return out;
}

/** Every metric name of some versions, sorted. */
export function metricNames(versions: readonly { readonly metrics: unknown }[]): string[] {
  const names = new Set<string>();
  for (const v of versions) for (const name of numericMetrics(v.metrics).keys()) names.add(name);
  return [...names].sort();
}

/** Words of a metric name that mean "lower is better" (`val_loss`, `rmse`, `mean_absolute_error`). */
export const LOWER_IS_BETTER_WORDS = ['loss', 'error', 'rmse', 'mae', 'mse'] as const;

/**
 * Whether the lowest value of a metric is the best one, judged by its name: one of its words (split
 * at anything but letters and digits) is, or ends with, one of {@link LOWER_IS_BETTER_WORDS}
 * (`logloss` and `val_loss` as well as `rmse`). Every other metric is higher-is-better.
 */
export function lowerIsBetter(metric: string): boolean {
  const words = metric.toLowerCase().split(/[^a-z0-9]+/);
  return words.some((w) => LOWER_IS_BETTER_WORDS.some((l) => w === l || w.endsWith(l)));
}

/** The best value of a metric among some values (null when there is none). */
export function bestValue(metric: string, values: readonly (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => v !== undefined);
  if (present.length === 0) return null;
  return lowerIsBetter(metric) ? Math.min(...present) : Math.max(...present);
}
