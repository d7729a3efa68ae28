import { doubleReader, doubleSql, NUMERIC_KINDS, typeNames, type NumericKind } from './kinds.ts';
import { doubleLiteral, jsonDouble, portableLn, portableLnSql } from './numeric.ts';
import {
  castDouble,
  castInt,
  checkKnown,
  fromDouble,
  integerArg,
  noArgs,
  NULL_DOUBLE,
  NULL_INT,
  num,
  outputNumber,
  probabilityArg,
  single,
  type Fail,
  type FeatureStats,
  type StatisticsNeeds,
  type TransformationFunction,
} from './transformation-function.ts';
import type { InverseKind, TransformationArgument } from './types.ts';

/** Built-in transformation functions of numeric inputs: scalers, log, binners, winsorize, binarizer, mean and median imputers. */

/**
 * Bin index of `d`: how many of the ascending `edges` are ≤ d (sklearn's
 * `searchsorted(inner_edges, x, side="right")`). SQL: a balanced tree of comparisons, so a row
 * costs O(log edges) like the JavaScript binary search.
 */
function binSql(d: string, edges: readonly number[]): string {
  const rec = (lo: number, hi: number): string => {
    if (hi - lo <= 4) {
      if (hi === lo) return String(lo);
      const whens = edges
        .slice(lo, hi)
        .map((e, i) => `WHEN ${d} < ${doubleLiteral(e)} THEN ${lo + i}`)
        .join(' ');
      return `CASE ${whens} ELSE ${hi} END`;
    }
    const mid = (lo + hi) >>> 1;
    return `CASE WHEN ${d} < ${doubleLiteral(edges[mid]!)} THEN ${rec(lo, mid)} ELSE ${rec(mid + 1, hi)} END`;
  };
  return rec(0, edges.length);
}

function binJs(d: number, edges: ArrayLike<number>): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Inner edges from the full ascending edge list [min, …, max], equal neighbours merged (fewer bins, as sklearn). */
function innerEdges(full: readonly number[]): number[] {
  const unique: number[] = [];
  for (const e of full) if (unique.length === 0 || e > unique[unique.length - 1]!) unique.push(e);
  return unique.slice(1, -1);
}

// ---------------------------------------------------------------------------------------------
// Function families

interface NumericDef {
  readonly name: string;
  readonly description: string;
  readonly statistics: readonly string[];
  readonly args?: readonly TransformationArgument[];
  readonly outputType: 'DOUBLE' | 'INT';
  readonly missing: string;
  readonly inverseKind: InverseKind;
  readonly resolveArgs?: (args: Readonly<Record<string, unknown>>, fail: Fail) => Record<string, unknown>;
  readonly needs: (args: Readonly<Record<string, unknown>>) => StatisticsNeeds;
  readonly fit: (stats: FeatureStats, args: Readonly<Record<string, unknown>>) => Record<string, unknown>;
  /** SQL of the output from `d`, the input as a DOUBLE that is NULL when missing. */
  readonly sqlOf: (d: string, params: Readonly<Record<string, unknown>>, args: Readonly<Record<string, unknown>>) => string;
  /** The output from the input as a number (null when missing). Must mirror sqlOf operation for operation. */
  readonly jsOf: (params: Readonly<Record<string, unknown>>, args: Readonly<Record<string, unknown>>) => (d: number | null) => number | null;
  /** The input (as a double) from the output; null when it cannot be told. */
  readonly inverseOf: (params: Readonly<Record<string, unknown>>, args: Readonly<Record<string, unknown>>) => (y: number) => number | null;
}

/** A function of a numeric input with one DOUBLE or INT output. */
function numericFunction(def: NumericDef): TransformationFunction {
  return {
    name: def.name,
    description: def.description,
    inputTypes: typeNames(NUMERIC_KINDS),
    statistics: def.statistics,
    args: def.args ?? [],
    outputs: `one ${def.outputType} column \`${def.name}_<feature>_\``,
    outputColumns: (prefix) => single(prefix, def.outputType),
    missing: def.missing,
    inverse: def.inverseKind,
    kinds: NUMERIC_KINDS,
    resolveArgs: (args, fail) => (def.resolveArgs ? def.resolveArgs(args, fail) : noArgs(args, fail)),
    needs: def.needs,
    fit: (stats, args) => def.fit(stats, args),
    sql: (x, f) => {
      const expr = def.sqlOf(doubleSql(x, f.kind as NumericKind), f.params, f.args);
      return [def.outputType === 'DOUBLE' ? castDouble(expr) : castInt(expr)];
    },
    js: (f) => {
      const read = doubleReader(f.kind as NumericKind);
      const apply = def.jsOf(f.params, f.args);
      const name = f.outputs[0]!.name;
      return def.outputType === 'DOUBLE'
        ? (value, out) => {
            const y = apply(read(value));
            out[name] = y === null ? null : jsonDouble(y);
          }
        : (value, out) => {
            out[name] = apply(read(value));
          };
    },
    invert: (f) => {
      const name = f.outputs[0]!.name;
      const invert = def.inverseOf(f.params, f.args);
      const back = fromDouble(f.kind);
      return (transformed) => {
        const y = outputNumber(transformed[name]);
        if (y === null) return null;
        const x = invert(y);
        return x === null ? null : back(x);
      };
    },
  };
}

interface AffineDef {
  readonly name: string;
  readonly description: string;
  readonly statistics: readonly string[];
  readonly needs: StatisticsNeeds;
  readonly fit: (s: FeatureStats) => Record<string, number | null>;
  readonly center: (params: Readonly<Record<string, unknown>>) => number | null;
  readonly scale: (params: Readonly<Record<string, unknown>>) => number | null;
  /** A zero scale gives 0.0 ('zero') or only centres, x − center ('center', sklearn's choice). */
  readonly onZeroScale: 'zero' | 'center';
}

/** `(x − center) / scale`: center and scale are constants of the fitted params, the same literals in SQL and JavaScript. */
function affine(def: AffineDef): TransformationFunction {
  return numericFunction({
    name: def.name,
    description: def.description,
    statistics: def.statistics,
    outputType: 'DOUBLE',
    missing: 'null',
    inverseKind: 'exact',
    needs: () => def.needs,
    fit: def.fit,
    sqlOf: (d, p) => {
      const center = def.center(p);
      const scale = def.scale(p);
      if (center === null || scale === null) return NULL_DOUBLE;
      if (scale === 0) return def.onZeroScale === 'zero' ? `CASE WHEN ${d} IS NOT NULL THEN CAST(0 AS DOUBLE) END` : `(${d} - ${doubleLiteral(center)})`;
      return `(${d} - ${doubleLiteral(center)}) / ${doubleLiteral(scale)}`;
    },
    jsOf: (p) => {
      const center = def.center(p);
      const scale = def.scale(p);
      if (center === null || scale === null) return () => null;
      if (scale === 0) return def.onZeroScale === 'zero' ? (d) => (d === null ? null : 0) : (d) => (d === null ? null : d - center);
      return (d) => (d === null ? null : (d - center) / scale);
    },
    inverseOf: (p) => {
      const center = def.center(p);
      const scale = def.scale(p);
      if (center === null || scale === null) return () => null;
      if (scale === 0) return def.onZeroScale === 'zero' ? () => center : (y) => y + center;
      return (y) => y * scale + center;
    },
  });
}

const difference = (p: Readonly<Record<string, unknown>>, high: string, low: string): number | null => {
  const h = num(p, high);
  const l = num(p, low);
  return h === null || l === null ? null : h - l;
};

export const minMaxScaler = affine({
  name: 'min_max_scaler',
  description: 'Scales to [0, 1] with the training minimum and maximum: (x − min) / (max − min). When max = min every present value becomes 0.0.',
  statistics: ['min', 'max'],
  needs: { moments: ['min', 'max'] },
  fit: (s) => ({ min: s.min, max: s.max }),
  center: (p) => num(p, 'min'),
  scale: (p) => difference(p, 'max', 'min'),
  onZeroScale: 'zero',
});

export const standardScaler = affine({
  name: 'standard_scaler',
  description:
    'Standardizes with the training mean and population standard deviation (ddof = 0, as sklearn StandardScaler): (x − mean) / std. When std = 0 values are only centred (x − mean), as sklearn does.',
  statistics: ['mean', 'stddev (population)'],
  needs: { moments: ['mean', 'std'] },
  fit: (s) => ({ mean: s.mean, std: s.std }),
  center: (p) => num(p, 'mean'),
  scale: (p) => num(p, 'std'),
  onZeroScale: 'center',
});

export const robustScaler = affine({
  name: 'robust_scaler',
  description:
    'Scales with the training median and interquartile range: (x − median) / (p75 − p25), exact quantiles with linear interpolation. When the IQR is 0 values are only centred (x − median), as sklearn and Hopsworks do.',
  statistics: ['median', 'p25', 'p75'],
  needs: { quantiles: [0.25, 0.5, 0.75] },
  fit: (s) => ({ median: s.quantile(0.5), p25: s.quantile(0.25), p75: s.quantile(0.75) }),
  center: (p) => num(p, 'median'),
  scale: (p) => difference(p, 'p75', 'p25'),
  onZeroScale: 'center',
});

export const maxAbsScaler = numericFunction({
  name: 'max_abs_scaler',
  description: 'Scales to [−1, 1] by the training maximum absolute value: x / max|x| (sklearn MaxAbsScaler). When max|x| = 0 values pass unchanged.',
  statistics: ['max |x|'],
  outputType: 'DOUBLE',
  missing: 'null',
  inverseKind: 'exact',
  needs: () => ({ moments: ['maxAbs'] }),
  fit: (s) => ({ maxAbs: s.maxAbs }),
  sqlOf: (d, p) => {
    const m = num(p, 'maxAbs');
    return m === null ? NULL_DOUBLE : m === 0 ? d : `${d} / ${doubleLiteral(m)}`;
  },
  jsOf: (p) => {
    const m = num(p, 'maxAbs');
    if (m === null) return () => null;
    return m === 0 ? (d) => d : (d) => (d === null ? null : d / m);
  },
  inverseOf: (p) => {
    const m = num(p, 'maxAbs');
    return m === null ? () => null : m === 0 ? (y) => y : (y) => y * m;
  },
});

export const logTransform = numericFunction({
  name: 'log_transform',
  description:
    'Natural logarithm ln(x). Computed from basic floating-point operations (fdlibm algorithm, within 1 ulp of the true value) so SQL and online serving agree bit for bit.',
  statistics: [],
  outputType: 'DOUBLE',
  missing: 'null; values ≤ 0 also give null (Hopsworks gives NaN)',
  inverseKind: 'exact',
  needs: () => ({}),
  fit: () => ({}),
  sqlOf: (d) => portableLnSql(d),
  jsOf: () => (d) => (d !== null && d > 0 ? portableLn(d) : null),
  inverseOf: () => (y) => Math.exp(y),
});

interface BinnerDef {
  name: string;
  description: string;
  statistics: string[];
  args: TransformationArgument[];
  resolveArgs: (args: Readonly<Record<string, unknown>>, fail: Fail) => Record<string, unknown>;
  quantiles: (args: Readonly<Record<string, unknown>>) => number[] | null;
  edges: (s: FeatureStats, args: Readonly<Record<string, unknown>>) => number[];
}

/** Bins into INT indexes 0…n−1 by inner edges (value v goes to the number of edges ≤ v). */
function binner(def: BinnerDef): TransformationFunction {
  return numericFunction({
    name: def.name,
    description: `${def.description} Values below the first edge go to bin 0 and above the last to the last bin; equal edges merge (fewer bins).`,
    statistics: def.statistics,
    args: def.args,
    outputType: 'INT',
    missing: 'null',
    inverseKind: 'approximate',
    resolveArgs: def.resolveArgs,
    needs: (args) => ({ moments: ['min', 'max'], quantiles: def.quantiles(args) ?? [] }),
    fit: (s, args) => (s.min === null || s.max === null ? { min: null, max: null, edges: [] } : { min: s.min, max: s.max, edges: def.edges(s, args) }),
    sqlOf: (d, p) => {
      if (num(p, 'min') === null) return NULL_INT;
      return `CASE WHEN ${d} IS NULL THEN NULL ELSE ${binSql(d, p.edges as number[])} END`;
    },
    jsOf: (p) => {
      if (num(p, 'min') === null) return () => null;
      const edges = Float64Array.from(p.edges as number[]);
      return (d) => (d === null ? null : binJs(d, edges));
    },
    // The centre of the bin, with the training min and max as the outer edges.
    inverseOf: (p) => {
      const min = num(p, 'min');
      const max = num(p, 'max');
      if (min === null || max === null) return () => null;
      const full = [min, ...(p.edges as number[]), max];
      return (y) => (Number.isInteger(y) && y >= 0 && y < full.length - 1 ? full[y]! / 2 + full[y + 1]! / 2 : null);
    },
  });
}

export const equalWidthBinner = binner({
  name: 'equal_width_binner',
  description: 'Discretizes into `bins` equal-width bins between the training min and max (edges min + i·(max − min)/bins, as numpy linspace).',
  statistics: ['min', 'max'],
  args: [{ name: 'bins', description: 'Number of bins (1–1000).', default: 10 }],
  resolveArgs: (args, fail) => {
    checkKnown(args, ['bins'], fail);
    return { bins: integerArg(args, 'bins', 10, 1, 1000, fail) };
  },
  quantiles: () => null,
  edges: (s, args) => {
    const min = s.min!;
    const max = s.max!;
    if (max === min) return [];
    const bins = args.bins as number;
    const step = (max - min) / bins;
    const full = [min];
    for (let i = 1; i < bins; i++) full.push(Math.min(min + i * step, max));
    full.push(max);
    return innerEdges(full);
  },
});

const probabilityGrid = (bins: number) => Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);

export const equalFrequencyBinner = binner({
  name: 'equal_frequency_binner',
  description: 'Discretizes into `bins` bins of about equal counts, cut at the training quantiles i/bins (4 bins by default: the quartiles, as Hopsworks).',
  statistics: ['min', 'max', 'quantiles i/bins'],
  args: [{ name: 'bins', description: 'Number of bins (1–1000).', default: 4 }],
  resolveArgs: (args, fail) => {
    checkKnown(args, ['bins'], fail);
    return { bins: integerArg(args, 'bins', 4, 1, 1000, fail) };
  },
  quantiles: (args) => probabilityGrid(args.bins as number),
  edges: (s, args) => innerEdges([s.min!, ...probabilityGrid(args.bins as number).map((p) => s.quantile(p)!), s.max!]),
});

const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export const quantileBinner = binner({
  name: 'quantile_binner',
  description: 'Discretizes at the training quantiles of the given probabilities (deciles by default): n probabilities make n + 1 bins.',
  statistics: ['min', 'max', 'quantiles'],
  args: [{ name: 'quantiles', description: 'Strictly increasing probabilities in (0, 1), at most 999.', default: DECILES }],
  resolveArgs: (args, fail) => {
    checkKnown(args, ['quantiles'], fail);
    const q = args.quantiles ?? DECILES;
    const ok =
      Array.isArray(q) &&
      q.length >= 1 &&
      q.length <= 999 &&
      q.every((p, i) => typeof p === 'number' && p > 0 && p < 1 && (i === 0 || p > (q[i - 1] as number)));
    if (!ok) fail('quantiles', '"quantiles" must be a non-empty list of strictly increasing numbers between 0 and 1 (exclusive)');
    return { quantiles: [...(q as number[])] };
  },
  quantiles: (args) => args.quantiles as number[],
  edges: (s, args) => innerEdges([s.min!, ...(args.quantiles as number[]).map((p) => s.quantile(p)!), s.max!]),
});

export const winsorize = numericFunction({
  name: 'winsorize',
  description:
    'Clips to the training quantiles of probabilities `lower` and `upper` (default 0.05 and 0.95): values below the low quantile become it, above the high one become it.',
  statistics: ['quantiles lower, upper'],
  args: [
    { name: 'lower', description: 'Probability of the low clip (0 ≤ lower < upper).', default: 0.05 },
    { name: 'upper', description: 'Probability of the high clip (lower < upper ≤ 1).', default: 0.95 },
  ],
  outputType: 'DOUBLE',
  missing: 'null',
  inverseKind: 'approximate',
  resolveArgs: (args, fail) => {
    checkKnown(args, ['lower', 'upper'], fail);
    const lower = probabilityArg(args, 'lower', 0.05, fail);
    const upper = probabilityArg(args, 'upper', 0.95, fail);
    if (!(lower < upper)) fail('lower', '"lower" must be less than "upper"');
    return { lower, upper };
  },
  needs: (args) => ({ quantiles: [args.lower as number, args.upper as number] }),
  fit: (s, args) => ({ low: s.quantile(args.lower as number), high: s.quantile(args.upper as number) }),
  sqlOf: (d, p) => {
    const low = num(p, 'low');
    const high = num(p, 'high');
    if (low === null || high === null) return NULL_DOUBLE;
    return `CASE WHEN ${d} < ${doubleLiteral(low)} THEN ${doubleLiteral(low)} WHEN ${d} > ${doubleLiteral(high)} THEN ${doubleLiteral(high)} ELSE ${d} END`;
  },
  jsOf: (p) => {
    const low = num(p, 'low');
    const high = num(p, 'high');
    if (low === null || high === null) return () => null;
    // biome-ignore lint/complexity/useMathMinMax: comparisons keep -0 as given, where Math.max(-0, 0) gives 0
    return (d) => (d === null ? null : d < low ? low : d > high ? high : d);
  },
  inverseOf: () => (y) => y,
});

export const binarizer = numericFunction({
  name: 'binarizer',
  description: 'Thresholds: 1 when x > `threshold` (default 0), else 0 (sklearn Binarizer). Needs no statistics.',
  statistics: [],
  args: [{ name: 'threshold', description: 'The threshold (a finite number).', default: 0 }],
  outputType: 'INT',
  missing: 'null',
  inverseKind: 'none',
  resolveArgs: (args, fail) => {
    checkKnown(args, ['threshold'], fail);
    const t = args.threshold ?? 0;
    if (typeof t !== 'number' || !Number.isFinite(t)) fail('threshold', '"threshold" must be a finite number');
    return { threshold: t };
  },
  needs: () => ({}),
  fit: () => ({}),
  sqlOf: (d, _p, args) => `CASE WHEN ${d} IS NULL THEN NULL WHEN ${d} > ${doubleLiteral(args.threshold as number)} THEN 1 ELSE 0 END`,
  jsOf: (_p, args) => {
    const t = args.threshold as number;
    return (d) => (d === null ? null : d > t ? 1 : 0);
  },
  inverseOf: () => () => null,
});

/** impute_mean / impute_median: DOUBLE output, missing values replaced by the statistic. */
function numericImputer(name: string, statistic: string, needs: StatisticsNeeds, value: (s: FeatureStats) => number | null): TransformationFunction {
  return numericFunction({
    name,
    description: `Replaces missing values (null; NaN and ±Infinity for DOUBLE and FLOAT) with the training ${statistic}; other values pass as DOUBLE.`,
    statistics: [statistic],
    outputType: 'DOUBLE',
    missing: `the training ${statistic} (null when the training split had no values)`,
    inverseKind: 'approximate',
    needs: () => needs,
    fit: (s) => ({ value: value(s) }),
    sqlOf: (d, p) => {
      const v = num(p, 'value');
      return v === null ? d : `coalesce(${d}, ${doubleLiteral(v)})`;
    },
    jsOf: (p) => {
      const v = num(p, 'value');
      return (d) => d ?? v;
    },
    inverseOf: () => (y) => y,
  });
}

export const imputeMean = numericImputer('impute_mean', 'mean', { moments: ['mean'] }, (s) => s.mean);
export const imputeMedian = numericImputer('impute_median', 'median', { quantiles: [0.5] }, (s) => s.quantile(0.5));
