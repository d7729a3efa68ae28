// What the charts draw, as the API gives it, and how its values read. Nothing here imports Plot:
// the statistics tab uses these in the console's initial script, the charts themselves load later.

// Formatters made once: toLocaleString with options builds a new Intl.NumberFormat on every call,
// which a page of many features (each fact, percentile and histogram bin) pays hundreds of times.
const WHOLE = new Intl.NumberFormat();
const DECIMAL = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });

/** A statistic for people, as format.ts's formatNumber writes it (4 significant digits), with formatters made once. */
export function formatStat(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isInteger(value)) return WHOLE.format(value);
  return DECIMAL.format(Number(value.toPrecision(4)));
}

/** One bar of a histogram as the API gives it (`HistogramBin`). */
export interface Bin {
  readonly value: string | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly count: number;
  readonly other: boolean;
}

/** TIMESTAMP and DATE statistics count in epoch milliseconds: drawn on a time axis, read as dates. */
export function isTemporal(type: string): boolean {
  return type === 'TIMESTAMP' || type === 'DATE';
}

/** A value of a feature for people: a date (UTC) for temporal features, a number otherwise. */
export function formatValue(value: number | null | undefined, type: string): string {
  if (value === null || value === undefined) return '—';
  if (!isTemporal(type)) return formatStat(value);
  const iso = new Date(value).toISOString();
  return type === 'DATE' ? iso.slice(0, 10) : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** Which chart shows a feature's histogram: top values when its bins are values (strings, booleans), bins otherwise; none without bins. */
export function chartKind(histogram: readonly Bin[] | null | undefined): 'histogram' | 'top-values' | null {
  if (!histogram || histogram.length === 0) return null;
  return histogram.some((b) => b.value !== null || b.other) ? 'top-values' : 'histogram';
}

/** The label of a top-values entry: the value, "(empty)" for an empty string, or the entry counting every other value. */
export function topValueLabel(bin: Bin): string {
  if (bin.other) return '(all other values)';
  if (bin.value === '') return '(empty)';
  return bin.value ?? '(null)';
}

/** The API's `Correlations`: features in matrix order, one row per feature. */
export interface CorrelationMatrix {
  readonly features: readonly string[];
  readonly matrix: readonly { readonly feature: string; readonly values: readonly (number | null)[] }[];
}

/** One cell of the matrix: the row's feature (y), the column's (x), and their correlation (null when undefined). */
export interface CorrelationCell {
  readonly x: string;
  readonly y: string;
  readonly value: number | null;
}

/** The cells row by row, each row's columns in `features` order: the order the heat map draws them in. */
export function correlationCells(correlations: CorrelationMatrix): CorrelationCell[] {
  return correlations.matrix.flatMap((row) => correlations.features.map((x, j) => ({ x, y: row.feature, value: row.values[j] ?? null })));
}

export function formatCorrelation(value: number | null): string {
  return value === null ? 'undefined' : value.toFixed(2);
}
