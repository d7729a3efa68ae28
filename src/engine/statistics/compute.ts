import { duckdbType, parseFeatureType, type ParsedType } from '../../domain/feature-types.ts';
import type { StatisticsConfig } from './config.ts';

/** The percentiles every numeric feature reports, in percent. */
export const PERCENTILES = [1, 5, 25, 50, 75, 95, 99] as const;

/** Top values kept in a string/boolean histogram; the rest are counted as one `other` entry. */
export const TOP_VALUES = 20;

/** One bar of a histogram: a numeric bin [lower, upper) (the last bin includes upper), or a value with its count. */
export interface HistogramBin {
  /** The value (strings, booleans as `true`/`false`); null for numeric bins and for the `other` entry. */
  readonly value: string | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly count: number;
  /** The entry counting every value outside the top values. */
  readonly other: boolean;
}

export interface Percentile {
  readonly percent: number;
  readonly value: number | null;
}

/** Statistics of one feature. Numbers: TIMESTAMP and DATE as epoch milliseconds. */
export interface FeatureStatistics {
  readonly name: string;
  readonly type: string;
  /** Non-null values. */
  readonly count: number;
  /** count / rows (1 when there are no rows). */
  readonly completeness: number;
  readonly nullCount: number;
  /** Exact distinct non-null values when exactUniqueness is on, else the approximate count (at most `count`). */
  readonly distinctCount: number;
  /** HyperLogLog estimate (DuckDB approx_count_distinct, 64 registers): standard error about 13 %. */
  readonly approximateDistinctCount: number;
  /** Whether distinctCount is exact. */
  readonly exactDistinct: boolean;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: number | null;
  readonly mean: number | null;
  /** Sample standard deviation. */
  readonly stddev: number | null;
  /** Approximate (t-digest, DuckDB approx_quantile); null for non-numeric features. */
  readonly percentiles: readonly Percentile[] | null;
  readonly histogram: readonly HistogramBin[] | null;
  /** distinctCount / count. */
  readonly distinctness: number | null;
  /** Values occurring exactly once / count (exactUniqueness only). */
  readonly uniqueness: number | null;
  /** Shannon entropy of the value distribution, natural log (exactUniqueness only). */
  readonly entropy: number | null;
}

/** Whether statistics count a feature type's values as epoch milliseconds: TIMESTAMP and DATE (at midnight UTC). */
export function isTemporalType(type: string): boolean {
  return kindOf(parseFeatureType(type)) === 'temporal';
}

/**
 * A statistic of a feature as a point in time: for TIMESTAMP and DATE features, the epoch
 * milliseconds as a Date (fractions of a millisecond dropped); null for other features, a null
 * statistic, or a value outside the Date range (DuckDB's TIMESTAMP reaches further than JavaScript's).
 */
export function statisticTime(type: string, value: number | null): Date | null {
  if (value === null || !isTemporalType(type)) return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time;
}

/** Pearson correlations between numeric features, pairwise over rows where both are non-null. */
export interface Correlations {
  readonly features: readonly string[];
  /** matrix[i][j]: correlation of features[i] and features[j]; null when undefined (constant or too few rows). */
  readonly matrix: readonly (readonly (number | null)[])[];
}

/** What a computation produces, stored as JSON. */
export interface StatisticsContent {
  readonly rowCount: number;
  readonly features: readonly FeatureStatistics[];
  readonly correlations: Correlations | null;
}

/** A feature to describe: its name and Granary type. */
export interface StatisticsFeature {
  readonly name: string;
  readonly type: string;
}

/**
 * Runs one SQL query whose result is small (aggregates) and returns its rows as arrays of plain
 * values: numbers, strings, booleans, null, and arrays of those for lists. The offline store does it.
 */
export type AggregateQuery = (sql: string) => Promise<unknown[][]>;

type Kind = 'numeric' | 'temporal' | 'categorical' | 'other';

interface Column {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly kind: Kind;
  /** The column as SQL (quoted identifier). */
  readonly ref: string;
  /** The column as DOUBLE (numeric and temporal kinds). */
  readonly num: string;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function kindOf(t: ParsedType): Kind {
  if (t.kind === 'decimal') return 'numeric';
  if (t.kind === 'array') return 'other';
  switch (t.name) {
    case 'BIGINT':
    case 'INT':
    case 'DOUBLE':
    case 'FLOAT':
      return 'numeric';
    case 'TIMESTAMP':
    case 'DATE':
      return 'temporal';
    case 'STRING':
    case 'BOOLEAN':
      return 'categorical';
    default:
      return 'other';
  }
}

function columnsOf(features: readonly StatisticsFeature[], config: Pick<StatisticsConfig, 'columns'>): Column[] {
  const wanted = config.columns ? new Set(config.columns) : null;
  return features
    .filter((f) => !wanted || wanted.has(f.name))
    .map((f, index) => {
      const parsed = parseFeatureType(f.type);
      const kind = kindOf(parsed);
      const ref = ident(f.name);
      const num = kind === 'numeric' ? `CAST(${ref} AS DOUBLE)` : kind === 'temporal' ? `CAST(epoch_ms(CAST(${ref} AS TIMESTAMP)) AS DOUBLE)` : 'NULL';
      return { index, name: f.name, type: f.type, kind, ref, num };
    });
}

const isNumber = (c: Column) => c.kind === 'numeric' || c.kind === 'temporal';

/**
 * The single aggregate SELECT of every scalar statistic of every column (and, when asked, every
 * pairwise correlation): one scan of the relation. Result: one row, in the order `readScalars` reads.
 */
export function scalarSql(relation: string, columns: readonly Column[], correlations: boolean): string {
  const items = ['count(*)'];
  for (const c of columns) {
    items.push(`count(${c.ref})`);
    items.push(`approx_count_distinct(${c.ref})`);
    if (isNumber(c)) {
      items.push(
        `min(${c.num})`,
        `max(${c.num})`,
        `sum(${c.num})`,
        `avg(${c.num})`,
        `stddev_samp(${c.num})`,
        `approx_quantile(${c.num}, [${PERCENTILES.map((p) => p / 100).join(', ')}])`,
      );
    }
  }
  if (correlations) {
    const numeric = columns.filter(isNumber);
    for (let i = 0; i < numeric.length; i++) {
      for (let j = i + 1; j < numeric.length; j++) items.push(`corr(${numeric[i]!.num}, ${numeric[j]!.num})`);
    }
  }
  return `SELECT ${items.join(', ')} FROM (${relation})`;
}

/**
 * Numeric histograms in one scan: per column, `histogram()` of the bin index between the column's
 * min and max (from the scalar pass), as JSON `{ "bin": count }`.
 */
export function numericHistogramSql(relation: string, columns: readonly { c: Column; min: number; max: number }[], bins: number): string {
  const items = columns.map(({ c, min, max }) => {
    if (min === max) return `to_json(histogram(CASE WHEN ${c.num} IS NOT NULL THEN 0 END))`;
    const width = (max - min) / bins;
    // The last bin is closed: max falls into bin `bins - 1`.
    // least/greatest skip NULLs: test for NULL first so null values fall in no bin.
    return `to_json(histogram(CASE WHEN ${c.num} IS NOT NULL THEN least(greatest(CAST(floor((${c.num} - ${sqlNumber(min)}) / ${sqlNumber(width)}) AS BIGINT), 0), ${bins - 1}) END))`;
  });
  return `SELECT ${items.join(', ')} FROM (${relation})`;
}

/**
 * Per-column GROUP BY work batched as one UNION ALL: top values of strings/booleans and, with
 * exactUniqueness, distinct count, values occurring once and entropy. Each column's value counts
 * are one materialized CTE read by both branches. Rows: (column index, kind, value, a, b, c).
 */
export function groupedSql(relation: string, columns: readonly Column[], options: { top: readonly Column[]; unique: readonly Column[] }): string | null {
  const involved = columns.filter((c) => options.top.includes(c) || options.unique.includes(c));
  if (involved.length === 0) return null;
  const ctes = [`rel AS (${relation})`];
  const branches: string[] = [];
  for (const c of involved) {
    const g = ident(`g${c.index}`);
    ctes.push(`${g} AS MATERIALIZED (SELECT ${c.ref} AS v, count(*) AS n FROM rel WHERE ${c.ref} IS NOT NULL GROUP BY 1)`);
    if (options.top.includes(c)) {
      branches.push(
        `(SELECT ${c.index}::INTEGER AS col, 'top' AS kind, CAST(v AS VARCHAR) AS value, CAST(n AS DOUBLE) AS a, NULL::DOUBLE AS b, NULL::DOUBLE AS c FROM ${g} ORDER BY n DESC, v LIMIT ${TOP_VALUES})`,
      );
    }
    if (options.unique.includes(c)) {
      branches.push(
        `(SELECT ${c.index}::INTEGER, 'unique', NULL::VARCHAR, CAST(count(*) AS DOUBLE), CAST(count(*) FILTER (WHERE n = 1) AS DOUBLE), ln(sum(n)) - sum(n * ln(n)) / sum(n) FROM ${g})`,
      );
    }
  }
  return `WITH ${ctes.join(', ')} ${branches.join(' UNION ALL ')}`;
}

function sqlNumber(x: number): string {
  return `CAST(${JSON.stringify(x)} AS DOUBLE)`;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : typeof v === 'number' ? v : Number(v));
const finite = (v: unknown): number | null => {
  const n = num(v);
  return n === null || !Number.isFinite(n) ? null : n;
};

/** A column's scalar statistics, as read from the aggregate scan. */
interface ScalarStatistics {
  readonly c: Column;
  readonly count: number;
  readonly approx: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: number | null;
  readonly mean: number | null;
  readonly stddev: number | null;
  readonly percentiles: readonly Percentile[] | null;
}

/** Exact uniqueness figures of a column (its values grouped). */
interface ExactCounts {
  readonly distinct: number;
  readonly once: number;
  readonly entropy: number | null;
}

/**
 * Computes the statistics of `relation` (SQL over Parquet, one column per feature) in DuckDB: one
 * aggregate scan for every scalar statistic (and correlations), then, concurrently, one scan for
 * every numeric histogram and one UNION ALL of per-column GROUP BYs for top values and exact
 * uniqueness. Only aggregates cross into JavaScript, never rows.
 */
export async function computeStatistics(
  query: AggregateQuery,
  relation: string,
  features: readonly StatisticsFeature[],
  config: Pick<StatisticsConfig, 'histograms' | 'correlations' | 'exactUniqueness' | 'columns' | 'histogramBins'>,
): Promise<StatisticsContent> {
  const columns = columnsOf(features, config);
  const numeric = columns.filter(isNumber);
  const [scalars] = await query(scalarSql(relation, columns, config.correlations && numeric.length > 1));
  const row = scalars!;
  const rowCount = num(row[0]) ?? 0;
  const { base, next } = readScalars(row, columns);
  const correlations = config.correlations ? readCorrelations(row, next, numeric, base) : null;

  const binned = config.histograms ? base.filter((b) => isNumber(b.c) && b.min !== null && b.max !== null) : [];
  const top = config.histograms ? columns.filter((c) => c.kind === 'categorical') : [];
  const unique = config.exactUniqueness ? columns : [];
  const grouped = groupedSql(relation, columns, { top, unique });
  const [histogramRows, groupedRows] = await Promise.all([
    binned.length > 0
      ? query(
          numericHistogramSql(
            relation,
            binned.map((b) => ({ c: b.c, min: b.min!, max: b.max! })),
            config.histogramBins,
          ),
        )
      : Promise.resolve([]),
    grouped ? query(grouped) : Promise.resolve([]),
  ]);

  const histograms = numericHistograms(binned, histogramRows[0], config.histogramBins);
  const exact = readGrouped(groupedRows, histograms);
  addOtherBins(top, base, histograms);
  const out = base.map((b) => featureStatistics(b, rowCount, exact.get(b.c.index), histograms.get(b.c.index) ?? null));
  return { rowCount, features: out, correlations };
}

/** Each column's scalar statistics from the aggregate row (after the row count), and the position after them. */
function readScalars(row: readonly unknown[], columns: readonly Column[]): { base: ScalarStatistics[]; next: number } {
  let at = 1;
  const base = columns.map((c) => {
    const count = num(row[at++]) ?? 0;
    const approx = num(row[at++]);
    const s = isNumber(c)
      ? {
          min: finite(row[at++]),
          max: finite(row[at++]),
          sum: finite(row[at++]),
          mean: finite(row[at++]),
          stddev: finite(row[at++]),
          percentiles: ((row[at++] as unknown[] | null) ?? PERCENTILES.map(() => null)).map((v, i) => ({ percent: PERCENTILES[i]!, value: finite(v) })),
        }
      : { min: null, max: null, sum: null, mean: null, stddev: null, percentiles: null };
    return { c, count, approx, ...s };
  });
  return { base, next: at };
}

/** The correlation matrix of the numeric columns from the aggregate row, read from position `at`. */
function readCorrelations(row: readonly unknown[], at: number, numeric: readonly Column[], base: readonly ScalarStatistics[]): Correlations {
  const matrix = numeric.map((_, i) => numeric.map((__, j) => (i === j ? 1 : (null as number | null))));
  if (numeric.length > 1) {
    for (let i = 0; i < numeric.length; i++) {
      for (let j = i + 1; j < numeric.length; j++) {
        const r = finite(row[at++]);
        matrix[i]![j] = r;
        matrix[j]![i] = r;
      }
    }
  }
  // A constant or empty column correlates with nothing, not even itself.
  numeric.forEach((c, i) => {
    const b = base[c.index]!;
    if (b.count < 2 || b.min === b.max) matrix[i]![i] = null;
  });
  return { features: numeric.map((c) => c.name), matrix };
}

/** The bins of each numeric histogram (by column index) from the histogram scan's row. */
function numericHistograms(
  binned: readonly ScalarStatistics[],
  histogramRow: readonly unknown[] | undefined,
  histogramBins: number,
): Map<number, HistogramBin[]> {
  const histograms = new Map<number, HistogramBin[]>();
  binned.forEach((b, i) => {
    const counts = JSON.parse(String(histogramRow![i] ?? '{}')) as Record<string, number>;
    const bins = b.min === b.max ? 1 : histogramBins;
    const width = (b.max! - b.min!) / bins;
    histograms.set(
      b.c.index,
      Array.from({ length: bins }, (_, k) => ({
        value: null,
        lower: b.min! + k * width,
        upper: k === bins - 1 ? b.max! : b.min! + (k + 1) * width,
        count: counts[String(k)] ?? 0,
        other: false,
      })),
    );
  });
  return histograms;
}

/** Reads the grouped rows: top values go into `histograms`; exact uniqueness figures are returned by column index. */
function readGrouped(groupedRows: readonly unknown[][], histograms: Map<number, HistogramBin[]>): Map<number, ExactCounts> {
  const exact = new Map<number, ExactCounts>();
  for (const [col, kind, value, a, b, c] of groupedRows) {
    const index = Number(col);
    if (kind === 'top') {
      const list = histograms.get(index) ?? [];
      list.push({ value: value as string, lower: null, upper: null, count: num(a) ?? 0, other: false });
      histograms.set(index, list);
    } else {
      exact.set(index, { distinct: num(a) ?? 0, once: num(b) ?? 0, entropy: finite(c) });
    }
  }
  return exact;
}

/** Orders each top-value histogram and adds the `other` entry counting the values left out. */
function addOtherBins(top: readonly Column[], base: readonly ScalarStatistics[], histograms: Map<number, HistogramBin[]>): void {
  for (const c of top) {
    const list = histograms.get(c.index) ?? [];
    // The GROUP BY branches come back unordered: order by count, then value, as the SQL chose them.
    list.sort((x, y) => y.count - x.count || (x.value! < y.value! ? -1 : x.value! > y.value! ? 1 : 0));
    const shown = list.reduce((n, bin) => n + bin.count, 0);
    const rest = base[c.index]!.count - shown;
    if (rest > 0) list.push({ value: null, lower: null, upper: null, count: rest, other: true });
    histograms.set(c.index, list);
  }
}

/** One feature's statistics from its scalar figures, its exact counts (when computed) and its histogram. */
function featureStatistics(b: ScalarStatistics, rowCount: number, e: ExactCounts | undefined, histogram: HistogramBin[] | null): FeatureStatistics {
  const approx = b.approx ?? 0;
  // An estimate may overshoot; no feature has more distinct values than non-null ones.
  const distinct = e ? e.distinct : Math.min(approx, b.count);
  return {
    name: b.c.name,
    type: b.c.type,
    count: b.count,
    completeness: rowCount === 0 ? 1 : b.count / rowCount,
    nullCount: rowCount - b.count,
    distinctCount: distinct,
    approximateDistinctCount: approx,
    exactDistinct: e !== undefined,
    min: b.min,
    max: b.max,
    sum: b.sum,
    mean: b.mean,
    stddev: b.stddev,
    percentiles: b.percentiles,
    histogram,
    distinctness: b.count === 0 ? null : distinct / b.count,
    uniqueness: e && b.count > 0 ? e.once / b.count : null,
    entropy: e ? (b.count === 0 ? null : (e.entropy ?? 0)) : null,
  };
}

/** A relation over files (Parquet or CSV) with each feature cast to its DuckDB type, for statistics of files written elsewhere (training dataset splits). */
export function fileRelationSql(paths: readonly string[], features: readonly StatisticsFeature[], format: 'PARQUET' | 'CSV'): string {
  const list = `[${paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')}]`;
  const reader = format === 'PARQUET' ? `read_parquet(${list})` : `read_csv(${list}, header = true)`;
  return `SELECT ${features.map((f) => `CAST(${ident(f.name)} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`).join(', ')} FROM ${reader}`;
}

/** Statistics of one training dataset split, as stored in `TrainingDataset.statistics` (a list of these). */
export interface SplitStatistics extends StatisticsContent {
  readonly split: string;
  readonly computedAt: string;
}

/** Settings of training dataset split statistics: histograms and correlations on, exact uniqueness off. */
export const SPLIT_STATISTICS_CONFIG = { histograms: true, correlations: true, exactUniqueness: false, columns: null, histogramBins: 20 } as const;

/** Statistics of each split's files (untransformed view columns), one entry per split, in order. */
export async function computeSplitStatistics(
  query: AggregateQuery,
  splits: readonly { name: string; paths: readonly string[] }[],
  features: readonly StatisticsFeature[],
  format: 'PARQUET' | 'CSV',
): Promise<SplitStatistics[]> {
  const out: SplitStatistics[] = [];
  for (const split of splits) {
    const content = await computeStatistics(query, fileRelationSql(split.paths, features, format), features, SPLIT_STATISTICS_CONFIG);
    out.push({ split: split.name, computedAt: new Date().toISOString(), ...content });
  }
  return out;
}
