import { CATEGORY_KINDS, duckType, literalSql, presentSql, typeNames, VALUE_KINDS, valueReader } from './kinds.ts';
import {
  castInt,
  checkKnown,
  noArgs,
  outputNumber,
  single,
  type FeatureStats,
  type Fitted,
  type StatisticsNeeds,
  type TransformationFunction,
} from './transformation-function.ts';
import type { TransformationArgument } from './types.ts';

/** Built-in transformation functions of any value type: mode and constant imputers, label and one-hot encoders. */

/** impute_mode / impute_constant: the input's own type, missing values replaced by params.value. */
function valueImputer(
  name: string,
  description: string,
  statistics: string[],
  args: TransformationArgument[],
  missing: string,
  resolveArgs: TransformationFunction['resolveArgs'],
  needs: StatisticsNeeds,
  fit: (s: FeatureStats, args: Readonly<Record<string, unknown>>) => Record<string, unknown>,
): TransformationFunction {
  return {
    name,
    description,
    inputTypes: typeNames(VALUE_KINDS),
    statistics,
    args,
    missing,
    inverse: 'approximate',
    kinds: VALUE_KINDS,
    resolveArgs,
    needs: () => needs,
    fit,
    outputs: `one column \`${name}_<feature>_\` of the input's type`,
    outputColumns: (prefix, _params, inputType) => single(prefix, inputType),
    sql: (x, f) => {
      const type = f.inputType;
      const value = f.params.value;
      const present = presentSql(x, f.kind);
      const fill = value === null || value === undefined ? 'NULL' : literalSql(value, f.kind, type);
      return [`CAST(CASE WHEN ${present} THEN ${x} ELSE ${fill} END AS ${duckType(type)})`];
    },
    js: (f) => {
      const read = valueReader(f.kind);
      const name = f.outputs[0]!.name;
      const fill = f.params.value ?? null;
      return (value, out) => {
        out[name] = read(value) ?? fill;
      };
    },
    invert: (f) => {
      const name = f.outputs[0]!.name;
      return (transformed) => transformed[name] ?? null;
    },
  };
}

export const imputeMode = valueImputer(
  'impute_mode',
  'Replaces missing values with the most frequent training value (ties: the smallest in the type order); other values pass unchanged, in the input type.',
  ['mode'],
  [],
  'the training mode (null when the training split had no values)',
  (args, fail) => noArgs(args, fail),
  { histogram: true },
  (s) => {
    let best: { value: unknown; count: number } | null = null;
    for (const e of s.entries) if (best === null || e.count > best.count) best = e;
    return { value: best === null ? null : best.value };
  },
);

export const imputeConstant = valueImputer(
  'impute_constant',
  'Replaces missing values with the constant `value` (of the input type); other values pass unchanged. Needs no statistics.',
  [],
  [{ name: 'value', description: 'The replacement, a value of the input type (required; DATE as YYYY-MM-DD).' }],
  'the constant `value`',
  (args, fail, kind) => {
    checkKnown(args, ['value'], fail);
    if (args.value === undefined || args.value === null) fail('value', '"value" is required');
    const canonical = valueReader(kind)(args.value);
    const wrongType =
      canonical === null ||
      (kind === 'string' && typeof args.value !== 'string') ||
      (kind === 'boolean' && typeof args.value !== 'boolean') ||
      (kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(String(args.value)));
    if (wrongType) fail('value', `"value" ${JSON.stringify(args.value)} is not a ${typeNames([kind])[0]}`);
    return { value: canonical };
  },
  {},
  (_s, args) => ({ value: args.value }),
);

/** label_encoder / one_hot_encoder: categories are the distinct training values, ascending. */
function categories(fitted: Fitted): unknown[] {
  return (fitted.params.categories as unknown[] | undefined) ?? [];
}

/** Up to this many categories a CASE compares them one by one; beyond, a hash lookup is faster. */
const CASE_LOOKUP_LIMIT = 16;

/**
 * SQL: the index of a present `x` among the categories (as literals), −1 when absent. Few
 * categories: a CASE of equalities. Many: a scalar subquery over a VALUES list of
 * (category, index), which DuckDB decorrelates into a hash join — per row O(1) instead of
 * O(categories) (1 M rows × 1 000 categories: ≈ 70 ms instead of ≈ 1 s). Categories are distinct,
 * so the subquery returns at most one row.
 */
function indexSql(x: string, literals: readonly string[]): string {
  if (literals.length <= CASE_LOOKUP_LIMIT) {
    if (literals.length === 0) return '-1';
    return `CASE ${literals.map((l, i) => `WHEN ${x} = ${l} THEN ${i}`).join(' ')} ELSE -1 END`;
  }
  const rows = literals.map((l, i) => `(${l}, ${i})`).join(', ');
  return `coalesce((SELECT "#categories"."#index" FROM (VALUES ${rows}) AS "#categories"("#category", "#index") WHERE "#categories"."#category" = ${x}), -1)`;
}

function categoryIndex(fitted: Fitted): (value: unknown) => number | null {
  const read = valueReader(fitted.kind);
  // Keyed by the JSON-safe value itself: the reader yields exactly the categories' form (one
  // JavaScript type per kind; BIGINT beyond 2^53 as text on both sides).
  const index = new Map<unknown, number>();
  for (const [i, c] of categories(fitted).entries()) index.set(c, i);
  return (value) => {
    const v = read(value);
    return v === null ? null : (index.get(v) ?? -1);
  };
}

const CATEGORY_ORDER =
  'Categories are the distinct training values sorted ascending in the type order: numbers numerically, STRING by Unicode code point (UTF-8 bytes, as Python sorts str), false before true, DATE chronologically.';

export const labelEncoder: TransformationFunction = {
  name: 'label_encoder',
  description: `Encodes each category as its index 0…n−1; unseen categories become −1. ${CATEGORY_ORDER}`,
  inputTypes: typeNames(CATEGORY_KINDS),
  statistics: ['distinct values'],
  args: [],
  missing: 'null (as Hopsworks; unseen categories are −1)',
  inverse: 'exact',
  kinds: CATEGORY_KINDS,
  resolveArgs: (args, fail) => noArgs(args, fail),
  needs: () => ({ histogram: true }),
  fit: (s) => ({ categories: s.entries.map((e) => e.value) }),
  outputs: 'one INT column `label_encoder_<feature>_`',
  outputColumns: (prefix) => single(prefix, 'INT'),
  sql: (x, f) => {
    const literals = categories(f).map((c) => literalSql(c, f.kind, f.inputType));
    return [castInt(`CASE WHEN ${x} IS NULL THEN NULL ELSE ${indexSql(x, literals)} END`)];
  },
  js: (f) => {
    const index = categoryIndex(f);
    const name = f.outputs[0]!.name;
    return (value, out) => {
      out[name] = index(value);
    };
  },
  invert: (f) => {
    const name = f.outputs[0]!.name;
    const list = categories(f);
    return (transformed) => {
      const y = outputNumber(transformed[name]);
      return y !== null && Number.isInteger(y) && y >= 0 && y < list.length ? list[y] : null;
    };
  },
};

export const oneHotEncoder: TransformationFunction = {
  name: 'one_hot_encoder',
  description: `One INT column per training category, 1 for the row's category and 0 elsewhere; unseen categories give all zeros. ${CATEGORY_ORDER}`,
  inputTypes: typeNames(CATEGORY_KINDS),
  statistics: ['distinct values'],
  args: [],
  missing: 'all zeros (as pandas get_dummies and Hopsworks)',
  inverse: 'exact',
  kinds: CATEGORY_KINDS,
  resolveArgs: (args, fail) => noArgs(args, fail),
  needs: () => ({ histogram: true }),
  fit: (s) => ({ categories: s.entries.map((e) => e.value) }),
  outputs: 'one INT column per training category, `one_hot_encoder_<feature>_0`, `_1`, … in category order',
  outputColumns: (prefix, params) => ((params.categories as unknown[] | undefined) ?? []).map((_, i) => ({ name: `${prefix}${i}`, type: 'INT' })),
  sql: (x, f) => categories(f).map((c) => castInt(`CASE WHEN ${x} = ${literalSql(c, f.kind, f.inputType)} THEN 1 ELSE 0 END`)),
  outputDefault: 0,
  // Every output starts at 0: only the row's category is written.
  js: (f) => {
    const index = categoryIndex(f);
    const names = f.outputs.map((o) => o.name);
    return (value, out) => {
      const i = index(value);
      if (i !== null && i >= 0) out[names[i]!] = 1;
    };
  },
  invert: (f) => {
    const names = f.outputs.map((o) => o.name);
    const list = categories(f);
    return (transformed) => {
      for (let i = 0; i < names.length; i++) if (outputNumber(transformed[names[i]!]) === 1 || transformed[names[i]!] === true) return list[i];
      return null;
    };
  },
};
