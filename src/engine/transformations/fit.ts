import { DuckDBListValue, DuckDBStructValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { ValidationError } from '../../errors.ts';
import { jsonSafeConverter } from '../../domain/json-safe.ts';
import { ident } from '../../domain/sql.ts';
import { doubleSql, featureTypeOfDuckdb, isNumericKind, presentSql, type Kind } from './kinds.ts';
import { doubleLiteral } from './numeric.ts';
import type { FeatureStats, Moment } from './functions.ts';
import { transformationOutputPrefix, validateTransformationSpec, type ResolvedSpec } from './validate.ts';
import type { FittedTransformation, TransformationSpec } from './types.ts';

/** What one pass must compute for one feature, and where its results land in the row. */
interface FeaturePlan {
  readonly feature: string;
  readonly kind: Kind;
  readonly inputType: string;
  readonly moments: Set<Moment>;
  readonly quantiles: Set<number>;
  histogram: boolean;
  /** Result column index of each statistic. */
  readonly at: Map<string, number>;
  /** Quantile probabilities in the order of the quantile_cont list. */
  probabilities: number[];
}

const MOMENT_SQL: Record<Moment, (d: string) => string> = {
  min: (d) => `min(${d})`,
  max: (d) => `max(${d})`,
  // fsum: compensated (Kahan–Babuška) summation, so the mean does not drift with row count.
  mean: (d) => `fsum(${d}) / count(${d})`,
  std: (d) => `stddev_pop(${d})`,
  maxAbs: (d) => `max(abs(${d}))`,
};

const SOURCE = '"#source"';

/**
 * Fits transformations on the rows of `sourceSql` (the training split): one DESCRIBE (types,
 * no scan) and at most one aggregate pass over the source computing every statistic of every
 * feature at once — count, min, max, mean (compensated sum / count), population std, max |x|,
 * exact quantiles (`quantile_cont`, one call per feature with all its probabilities), and the
 * distinct values with counts (`histogram`, sorted by DuckDB in the type's order) for encoders
 * and the mode. Missing values (null; NaN and ±Infinity in DOUBLE and FLOAT) are left out of
 * every statistic. A feature without any present value fits to null statistics: its scaled,
 * binned or clipped outputs are then null, encoders have no categories, imputers fill null.
 *
 * Throws ValidationError (path `['transformations', index, …]`) for an unknown function, a
 * feature that is not a column of the source, an incompatible type, bad arguments, two specs with
 * the same function and feature, and statistics that overflow DOUBLE.
 */
export async function fitTransformations(
  connection: DuckDBConnection,
  sourceSql: string,
  specs: readonly TransformationSpec[],
): Promise<FittedTransformation[]> {
  if (specs.length === 0) return [];
  const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM (${sourceSql}) AS ${SOURCE}`)).getRows();
  const columnTypes = new Map(described.map((row) => [String(row[0]), String(row[1])]));

  const resolved: ResolvedSpec[] = [];
  const seen = new Map<string, number>();
  specs.forEach((spec, i) => {
    const path = ['transformations', i];
    const duckType = typeof spec.feature === 'string' ? columnTypes.get(spec.feature) : undefined;
    if (duckType === undefined) {
      throw ValidationError.at(
        [...path, 'feature'],
        `transformation ${JSON.stringify(spec.function)} on feature ${JSON.stringify(spec.feature)}: no such column in the training data (columns: ${[...columnTypes.keys()].join(', ')})`,
      );
    }
    const type = featureTypeOfDuckdb(duckType);
    if (type === null) {
      throw ValidationError.at(
        [...path, 'feature'],
        `transformation ${JSON.stringify(spec.function)} on feature ${JSON.stringify(spec.feature)}: column type ${duckType} is not a feature type`,
      );
    }
    const r = validateTransformationSpec(spec, type, path);
    const prefix = transformationOutputPrefix(r.function, r.feature);
    if (seen.has(prefix)) {
      throw ValidationError.at(path, `transformation "${r.function}" on feature "${r.feature}" is listed twice: its output columns would clash`);
    }
    seen.set(prefix, i);
    resolved.push(r);
  });

  const plans = new Map<string, FeaturePlan>();
  for (const r of resolved) {
    const needs = r.definition.needs(r.args);
    let plan = plans.get(r.feature);
    if (!plan) {
      plan = {
        feature: r.feature,
        kind: r.kind,
        inputType: r.inputType,
        moments: new Set(),
        quantiles: new Set(),
        histogram: false,
        at: new Map(),
        probabilities: [],
      };
      plans.set(r.feature, plan);
    }
    for (const m of needs.moments ?? []) plan.moments.add(m);
    for (const q of needs.quantiles ?? []) plan.quantiles.add(q);
    if (needs.histogram) plan.histogram = true;
  }

  const select: string[] = [];
  const add = (plan: FeaturePlan, key: string, sql: string) => {
    plan.at.set(key, select.length);
    select.push(`${sql} AS "#${select.length}"`);
  };
  for (const plan of plans.values()) {
    const x = `${SOURCE}.${ident(plan.feature)}`;
    if (isNumericKind(plan.kind) && (plan.moments.size > 0 || plan.quantiles.size > 0)) {
      const d = doubleSql(x, plan.kind);
      add(plan, 'count', `count(${d})`);
      for (const m of plan.moments) add(plan, m, MOMENT_SQL[m](d));
      if (plan.quantiles.size > 0) {
        plan.probabilities = [...plan.quantiles].sort((a, b) => a - b);
        add(plan, 'quantiles', `quantile_cont(${d}, [${plan.probabilities.map(doubleLiteral).join(', ')}])`);
      }
    }
    if (plan.histogram) {
      add(plan, 'histogram', `list_sort(map_entries(histogram(${x}) FILTER (WHERE ${presentSql(x, plan.kind)})))`);
    }
  }

  let row: DuckDBValue[] = [];
  if (select.length > 0) {
    row = (await connection.runAndReadAll(`SELECT ${select.join(', ')} FROM (${sourceSql}) AS ${SOURCE}`)).getRows()[0] ?? [];
  }

  const stats = new Map<string, FeatureStats>();
  for (const plan of plans.values()) stats.set(plan.feature, readStats(plan, row));

  return resolved.map((r, i) => {
    const params = jsonNumbers(r.definition.fit(stats.get(r.feature)!, r.args, r.kind));
    if (params === null) {
      throw ValidationError.at(
        ['transformations', i],
        `transformation "${r.function}" on feature "${r.feature}": the training statistics overflow DOUBLE (values too large)`,
      );
    }
    const outputs = r.definition.outputColumns(transformationOutputPrefix(r.function, r.feature), params, r.inputType);
    return { function: r.function, feature: r.feature, inputType: r.inputType, args: r.args, outputs, params };
  });
}

function readStats(plan: FeaturePlan, row: readonly DuckDBValue[]): FeatureStats {
  const value = (key: string): DuckDBValue => {
    const i = plan.at.get(key);
    return i === undefined ? null : (row[i] ?? null);
  };
  const number = (key: string): number | null => {
    const v = value(key);
    return v === null ? null : Number(v);
  };
  const quantiles = new Map<number, number | null>();
  const list = value('quantiles');
  if (list instanceof DuckDBListValue) {
    plan.probabilities.forEach((p, i) => {
      const q = list.items[i];
      quantiles.set(p, q === null || q === undefined ? null : Number(q));
    });
  }
  const entries: { value: unknown; count: number }[] = [];
  const histogram = value('histogram');
  if (histogram instanceof DuckDBListValue) {
    const convert = jsonSafeConverter(plan.inputType);
    for (const item of histogram.items) {
      if (!(item instanceof DuckDBStructValue)) continue;
      entries.push({ value: convert(item.entries.key ?? null), count: Number(item.entries.value) });
    }
  }
  return {
    count: number('count') ?? entries.reduce((n, e) => n + e.count, 0),
    min: number('min'),
    max: number('max'),
    mean: number('mean'),
    std: number('std'),
    maxAbs: number('maxAbs'),
    quantile: (p) => quantiles.get(p) ?? null,
    entries,
  };
}

/**
 * The params with −0 made 0 (JSON writes −0 as 0: what is stored must be what was fitted), or null
 * when a number inside is not finite (JSON has no NaN or Infinity).
 */
function jsonNumbers<T>(value: T): T | null {
  let finite = true;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) finite = false;
      return v + 0;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const result = walk(value) as T;
  return finite ? result : null;
}
