import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TRANSFORMATION_FUNCTIONS,
  compileJs,
  fitTransformations,
  transformationSelectList,
  type FittedTransformation,
  type TransformationSpec,
} from '../../../src/engine/transformations/index.ts';
import { readDataFrame } from '../../../src/stores/offline/duckdb/index.ts';
import { daysToIsoDate } from '../../../src/domain/timestamps.ts';
import { COLUMNS, compareCodePoints, createTable, decimalText, quantileCont, readRecords, same, type ColumnName, type Row } from './helpers.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
let tables = 0;
/** Fits whose label encoder had more categories than a CASE handles (the hash-lookup SQL path). */
let manyCategories = 0;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  connection = await instance.connect();
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

// --- Data -----------------------------------------------------------------------------------

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: arb, weight: 6 });

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const rowArb: fc.Arbitrary<Row> = fc.record({
  train: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  d: nullable(
    fc.oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer({ min: -20, max: 20 }).map((n) => n / 4),
      fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1e-300, 5e-324),
    ),
  ),
  f: nullable(fc.oneof(fc.float({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(NaN, Infinity, 0.1, 0.5, -2.5)).map(Math.fround)),
  i: nullable(fc.oneof({ arbitrary: fc.integer({ min: -30, max: 30 }), weight: 4 }, { arbitrary: fc.integer(), weight: 1 })),
  b: nullable(fc.oneof(fc.bigInt({ min: -20n, max: 20n }), fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.constantFrom(2n ** 53n + 1n, -(2n ** 53n) - 3n))),
  dec: nullable(fc.oneof(fc.bigInt({ min: -(10n ** 18n) + 1n, max: 10n ** 18n - 1n }), fc.bigInt({ min: -100000n, max: 100000n }))),
  dec38: nullable(fc.oneof(fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }))),
  s: nullable(
    fc.oneof(
      fc.constantFrom('a', 'b', 'B', 'é', 'e\u0301', '😀', '', 'a\0b', 'Z', '\uFFFF', '\uE000', 'zz', 'contract', 'month-to-month'),
      fc.string({ unit: 'binary', maxLength: 3 }),
    ),
  ),
  bo: nullable(fc.boolean()),
  dt: nullable(fc.oneof(fc.integer({ min: -25567, max: 47482 }), fc.integer({ min: 19000, max: 19010 }))),
});

/** Serving-time rows never seen in training: unknown categories, extremes, every kind of missing. */
const SERVING_ONLY: Row[] = [
  { train: false, d: null, f: null, i: null, b: null, dec: null, dec38: null, s: null, bo: null, dt: null },
  { train: false, d: NaN, f: NaN, i: 2147483647, b: INT64_MAX, dec: 10n ** 18n - 1n, dec38: 10n ** 38n - 1n, s: 'never seen ☃', bo: true, dt: 60000 },
  {
    train: false,
    d: Infinity,
    f: -Infinity,
    i: -2147483648,
    b: INT64_MIN,
    dec: -(10n ** 18n) + 1n,
    dec38: -(10n ** 38n) + 1n,
    s: '\u{10FFFF}',
    bo: false,
    dt: -30000,
  },
  { train: false, d: 1e300, f: 3e38, i: 0, b: 0n, dec: 0n, dec38: 0n, s: 'a ', bo: null, dt: 0 },
  { train: false, d: -1e300, f: -1e-40, i: -1, b: -1n, dec: -1n, dec38: 1n, s: 'A', bo: true, dt: 19005 },
];

// --- Specs: every built-in on every column it accepts ----------------------------------------

const CONSTANTS: Record<ColumnName, unknown> = {
  d: 1.5,
  f: 0.1,
  i: 7,
  b: '9007199254740993',
  dec: 1,
  dec38: 1,
  s: 'zzz',
  bo: true,
  dt: '2020-02-29',
};

/** Non-default arguments for some (function, column) pairs, so they are exercised too. */
const ARGS: Record<string, Partial<Record<ColumnName, Record<string, unknown>>>> = {
  equal_width_binner: { d: { bins: 7 }, i: { bins: 1 }, dec38: { bins: 50 } },
  equal_frequency_binner: { d: { bins: 10 }, f: { bins: 3 } },
  quantile_binner: { d: { quantiles: [0.33, 0.5] }, b: { quantiles: [0.01, 0.02, 0.5, 0.99] } },
  winsorize: { d: { lower: 0.1, upper: 0.8 }, i: { lower: 0, upper: 1 } },
  binarizer: { d: { threshold: 0.5 }, dec: { threshold: -3.25 } },
};

const SPECS: TransformationSpec[] = [];
for (const fn of Object.values(TRANSFORMATION_FUNCTIONS)) {
  for (const column of COLUMNS) {
    const typeName = column.type.startsWith('DECIMAL') ? 'DECIMAL' : column.type;
    if (!fn.inputTypes.includes(typeName)) continue;
    const args = fn.name === 'impute_constant' ? { value: CONSTANTS[column.name] } : ARGS[fn.name]?.[column.name];
    SPECS.push({ function: fn.name, feature: column.name, ...(args ? { args } : {}) });
  }
}

// --- Independent statistics -------------------------------------------------------------------

/** Present training values of a numeric column as doubles, as the functions read them. */
function presentDoubles(rows: readonly Row[], column: ColumnName): number[] {
  const out: number[] = [];
  for (const row of rows) {
    if (!row.train) continue;
    const v = row[column];
    if (v === null) continue;
    let x: number;
    if (column === 'dec') x = Number(decimalText(v as bigint, 4));
    else if (column === 'dec38') x = Number(decimalText(v as bigint, 9));
    else x = Number(v);
    if (Number.isFinite(x)) out.push(x);
  }
  return out;
}

/** Distinct present training values (JSON-safe) in the documented order, with counts. */
function distinctValues(rows: readonly Row[], column: ColumnName): { value: unknown; count: number }[] {
  const counts = new Map<string, { raw: unknown; count: number }>();
  for (const row of rows) {
    if (!row.train) continue;
    const v = row[column];
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) continue;
    const key = typeof v === 'bigint' ? `${v}n` : typeof v === 'number' ? String(v + 0) : String(v);
    const entry = counts.get(key) ?? { raw: v, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const compare = (a: unknown, b: unknown): number => {
    if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
    if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
    return Number(a) - Number(b);
  };
  const toJson = (v: unknown): unknown => {
    if (column === 'dt') return daysToIsoDate(v as number);
    if (typeof v === 'bigint') return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v.toString();
    if (column === 'f') return shortestFloat(v as number);
    return v;
  };
  return [...counts.values()].sort((x, y) => compare(x.raw, y.raw)).map((e) => ({ value: toJson(e.raw), count: e.count }));
}

function shortestFloat(x: number): number {
  if (x === 0) return x;
  for (let p = 6; p < 9; p++) {
    const c = Number(x.toPrecision(p));
    if (Math.fround(c) === x) return c;
  }
  return Number(x.toPrecision(9));
}

function close(actual: unknown, expected: number, scale: number): boolean {
  return typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, scale);
}

function checkParams(fitted: readonly FittedTransformation[], rows: readonly Row[]): string[] {
  const problems: string[] = [];
  const fail = (f: FittedTransformation, what: string, actual: unknown, expected: unknown) =>
    problems.push(`${f.function}(${f.feature}).${what}: fitted ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  for (const f of fitted) {
    const column = f.feature as ColumnName;
    const p = f.params;
    const isNumeric = ['d', 'f', 'i', 'b', 'dec', 'dec38'].includes(column);
    const xs = isNumeric ? presentDoubles(rows, column).sort((a, b) => a - b) : [];
    const n = xs.length;
    const min = n ? xs[0]! : null;
    const max = n ? xs[n - 1]! : null;
    const scale = n ? Math.max(Math.abs(min!), Math.abs(max!)) : 1;
    const mean = n ? xs.reduce((s, x) => s + x, 0) / n : null;
    const std = n ? Math.sqrt(xs.reduce((s, x) => s + (x - mean!) ** 2, 0) / n) : null;
    const q = (prob: number) => quantileCont(xs, prob);
    const exact = (what: string, actual: unknown, expected: unknown) => {
      if (actual !== expected) fail(f, what, actual, expected);
    };
    const approx = (what: string, actual: unknown, expected: number | null) => {
      if (expected === null ? actual !== null : !close(actual, expected, scale)) fail(f, what, actual, expected);
    };
    switch (f.function) {
      case 'min_max_scaler':
        exact('min', p.min, min);
        exact('max', p.max, max);
        break;
      case 'standard_scaler':
        approx('mean', p.mean, mean);
        approx('std', p.std, std);
        break;
      case 'robust_scaler':
        exact('median', p.median, q(0.5));
        exact('p25', p.p25, q(0.25));
        exact('p75', p.p75, q(0.75));
        break;
      case 'max_abs_scaler':
        exact('maxAbs', p.maxAbs, n ? scale : null);
        break;
      case 'impute_mean':
        approx('value', p.value, mean);
        break;
      case 'impute_median':
        exact('value', p.value, q(0.5));
        break;
      case 'winsorize':
        exact('low', p.low, q(f.args.lower as number));
        exact('high', p.high, q(f.args.upper as number));
        break;
      case 'equal_frequency_binner':
      case 'quantile_binner': {
        exact('min', p.min, min);
        exact('max', p.max, max);
        const probs =
          f.function === 'quantile_binner'
            ? (f.args.quantiles as number[])
            : Array.from({ length: (f.args.bins as number) - 1 }, (_, k) => (k + 1) / (f.args.bins as number));
        if (n) {
          // equal neighbours merge, as documented
          const unique: number[] = [];
          for (const e of [min!, ...probs.map((prob) => q(prob)!), max!]) if (unique.length === 0 || e > unique[unique.length - 1]!) unique.push(e);
          if (JSON.stringify(p.edges) !== JSON.stringify(unique.slice(1, -1))) fail(f, 'edges', p.edges, unique.slice(1, -1));
        }
        break;
      }
      case 'label_encoder':
      case 'one_hot_encoder': {
        const expected = distinctValues(rows, column).map((e) => e.value);
        if (JSON.stringify(p.categories) !== JSON.stringify(expected)) fail(f, 'categories', p.categories, expected);
        if (f.function === 'one_hot_encoder' && f.outputs.length !== expected.length) fail(f, 'outputs', f.outputs.length, expected.length);
        break;
      }
      case 'impute_mode': {
        let best: { value: unknown; count: number } | null = null;
        for (const e of distinctValues(rows, column)) if (best === null || e.count > best.count) best = e;
        exact('value', p.value, best?.value ?? null);
        break;
      }
    }
  }
  return problems;
}

// --- The property -----------------------------------------------------------------------------

async function runCase(rows: readonly Row[]): Promise<void> {
  const table = `t${++tables}`;
  const all = [...rows, ...SERVING_ONLY];
  await createTable(connection, table, all);
  try {
    const fitted = await fitTransformations(connection, `SELECT * FROM "${table}" WHERE train`, SPECS);
    // Stored as JSON with the training dataset and read back before use.
    const stored: FittedTransformation[] = JSON.parse(JSON.stringify(fitted));
    expect(stored).toEqual(fitted);

    expect(checkParams(fitted, all)).toEqual([]);
    if (fitted.some((f) => f.function === 'label_encoder' && (f.params.categories as unknown[]).length > 16)) manyCategories++;

    const outputs = stored.flatMap((f) => f.outputs);
    const sqlFrame = await readDataFrame(connection, `SELECT ${transformationSelectList(stored).join(', ')} FROM "${table}" ORDER BY id`, outputs);
    const records = await readRecords(connection, table);
    const apply = compileJs(stored);
    const mismatches: string[] = [];
    records.forEach((record, r) => {
      const js = apply(record);
      outputs.forEach((o, c) => {
        const sqlValue = sqlFrame.rows[r]![c];
        if (!same(sqlValue, js[o.name]) && mismatches.length < 10) {
          mismatches.push(
            `${o.name} on ${JSON.stringify(record[stored.find((f) => f.outputs.includes(o))!.feature])}: SQL ${String(sqlValue)} (${typeof sqlValue}), JS ${String(js[o.name])} (${typeof js[o.name]})`,
          );
        }
      });
      expect(Object.keys(js).length).toBe(outputs.length);
    });
    expect(mismatches).toEqual([]);
  } finally {
    await connection.run(`DROP TABLE "${table}"`);
  }
}

describe('SQL and JavaScript agree on every built-in', () => {
  it('covers every built-in function', () => {
    const covered = new Set(SPECS.map((s) => s.function));
    expect([...covered].sort()).toEqual(Object.keys(TRANSFORMATION_FUNCTIONS).sort());
  });

  it('on random training data, for every row (including unknown categories, nulls, NaN and ±Infinity), output for output', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 0, maxLength: 150, size: 'max' }), async (rows) => {
        await runCase(rows);
      }),
      { numRuns: Number(process.env.TRANSFORMATIONS_RUNS ?? 40) },
    );
    expect(manyCategories).toBeGreaterThan(0);
  });

  it('when the training split is empty or all missing', async () => {
    await runCase([]);
    await runCase([{ train: true, d: NaN, f: Infinity, i: null, b: null, dec: null, dec38: null, s: null, bo: null, dt: null }]);
  });

  it('when every training value is equal (zero spread)', async () => {
    const row: Row = { train: true, d: 2.5, f: 0.5, i: 3, b: 4n, dec: 12345n, dec38: 1n, s: 'x', bo: true, dt: 19000 };
    await runCase([row, row, row]);
  });
});
