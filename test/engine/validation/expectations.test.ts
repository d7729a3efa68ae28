import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { evaluateSuite, type ExpectationResult, type QueryRunner } from '../../../src/engine/validation/evaluate.ts';
import { parseExpectations } from '../../../src/engine/validation/expectations.ts';
import { ValidationError } from '../../../src/errors.ts';

// Ten crafted rows; each column is built to pass or break particular expectations.
const schema: GroupSchema = {
  primaryKey: ['id'],
  eventTime: 'ts',
  features: [
    { name: 'id', type: 'BIGINT', description: '' },
    { name: 'ts', type: 'TIMESTAMP', description: '' },
    { name: 'age', type: 'INT', description: '' }, // one null; 15 and 70 outside 18–65
    { name: 'score', type: 'DOUBLE', description: '' }, // 0.5 … 5.0, mean 2.75
    { name: 'code', type: 'STRING', description: '' }, // one Z outside {A, B, C}
    { name: 'dup', type: 'BIGINT', description: '' }, // 3 twice, 5 three times
    { name: 'email', type: 'STRING', description: '' }, // one "bad", one null
    { name: 'day', type: 'DATE', description: '' },
    { name: 'tags', type: 'ARRAY<STRING>', description: '' },
  ],
};
const ROWS = `SELECT * FROM (VALUES
  (1, TIMESTAMP '2026-01-01 00:00:00', 20,   0.5, 'A', 1, 'a@x.com', DATE '2026-01-01', ['x']),
  (2, TIMESTAMP '2026-01-02 00:00:00', 25,   1.0, 'B', 2, 'b@x.com', DATE '2026-01-02', ['x']),
  (3, TIMESTAMP '2026-01-03 00:00:00', 30,   1.5, 'A', 3, 'bad',     DATE '2026-01-03', ['x']),
  (4, TIMESTAMP '2026-01-04 00:00:00', NULL, 2.0, 'C', 3, 'c@x.com', DATE '2026-01-04', ['x']),
  (5, TIMESTAMP '2026-01-05 00:00:00', 45,   2.5, 'B', 4, NULL,      DATE '2026-01-05', ['x']),
  (6, TIMESTAMP '2026-01-06 00:00:00', 50,   3.0, 'A', 5, 'd@x.com', DATE '2026-01-06', ['x']),
  (7, TIMESTAMP '2026-01-07 00:00:00', 15,   3.5, 'Z', 5, 'e@x.com', DATE '2026-01-07', ['x']),
  (8, TIMESTAMP '2026-01-08 00:00:00', 70,   4.0, 'A', 5, 'f@x.com', DATE '2026-01-08', ['x']),
  (9, TIMESTAMP '2026-01-09 00:00:00', 35,   4.5, 'B', 6, 'g@x.com', DATE '2026-01-09', ['x']),
  (10, TIMESTAMP '2026-01-10 00:00:00', 40,  5.0, 'C', 7, 'h@x.com', DATE '2026-01-10', ['x'])
) AS t(id, ts, age, score, code, dup, email, day, tags)`;
const TYPED = `SELECT CAST(id AS BIGINT) AS id, ts, CAST(age AS INTEGER) AS age, CAST(score AS DOUBLE) AS score, code,
  CAST(dup AS BIGINT) AS dup, email, day, tags FROM (${ROWS})`;

let instance: DuckDBInstance;
let connection: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
});
afterAll(() => {
  connection?.closeSync();
});

/** Runs the engine's statements over `rows`, counting statements. */
function runner(rows: string = TYPED): QueryRunner & { statements: number } {
  const run = (async (build) => {
    const out: unknown[][][] = [];
    for (const sql of build(rows)) {
      run.statements++;
      out.push((await connection.runAndReadAll(sql)).getRowsJson());
    }
    return out;
  }) as QueryRunner & { statements: number };
  run.statements = 0;
  return run;
}

async function check(type: string, kwargs: Record<string, unknown>, rows?: string): Promise<ExpectationResult> {
  const expectations = parseExpectations([{ type, kwargs }], schema);
  const report = await evaluateSuite({ name: 's', ingestionPolicy: 'STRICT', expectations }, schema, runner(rows));
  expect(report.results).toHaveLength(1);
  expect(report.success).toBe(report.results[0]!.success);
  return report.results[0]!;
}

describe('column-map expectations', () => {
  it('not_null counts nulls over all rows and honours mostly', async () => {
    expect(await check('expect_column_values_to_not_be_null', { column: 'id' })).toMatchObject({ success: true, unexpectedCount: 0 });
    const failed = await check('expect_column_values_to_not_be_null', { column: 'age' });
    expect(failed).toMatchObject({
      success: false,
      unexpectedCount: 1,
      unexpectedPercent: 10,
      elementCount: 10,
      missingCount: 1,
      partialUnexpectedList: [null],
    });
    expect((await check('expect_column_values_to_not_be_null', { column: 'age', mostly: 0.9 })).success).toBe(true);
    expect((await check('expect_column_values_to_not_be_null', { column: 'age', mostly: 0.95 })).success).toBe(false);
  });

  it('between checks non-null values, with mostly and strict bounds', async () => {
    const failed = await check('expect_column_values_to_be_between', { column: 'age', min_value: 18, max_value: 65 });
    expect(failed.success).toBe(false);
    expect(failed.unexpectedCount).toBe(2);
    expect(failed.unexpectedPercent).toBeCloseTo((2 / 9) * 100, 6);
    expect([...failed.partialUnexpectedList!].sort()).toEqual([15, 70]);
    // 7 of 9 non-null values pass: 0.78.
    expect((await check('expect_column_values_to_be_between', { column: 'age', min_value: 18, max_value: 65, mostly: 0.75 })).success).toBe(true);
    expect((await check('expect_column_values_to_be_between', { column: 'age', min_value: 18, max_value: 65, mostly: 0.8 })).success).toBe(false);
    expect((await check('expect_column_values_to_be_between', { column: 'score', min_value: 0.5, max_value: 5 })).success).toBe(true);
    const strictMin = await check('expect_column_values_to_be_between', { column: 'score', min_value: 0.5, strict_min: true });
    expect(strictMin).toMatchObject({ success: false, unexpectedCount: 1, partialUnexpectedList: [0.5] });
    const strictMax = await check('expect_column_values_to_be_between', { column: 'score', max_value: 5, strict_max: true });
    expect(strictMax).toMatchObject({ success: false, unexpectedCount: 1, partialUnexpectedList: [5] });
  });

  it('between compares timestamps and dates with ISO bounds', async () => {
    const ts = await check('expect_column_values_to_be_between', { column: 'ts', min_value: '2026-01-03T00:00:00Z' });
    expect(ts).toMatchObject({ success: false, unexpectedCount: 2 });
    expect([...ts.partialUnexpectedList!].sort()).toEqual(['2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z']);
    expect((await check('expect_column_values_to_be_between', { column: 'day', min_value: '2026-01-01', max_value: '2026-01-10' })).success).toBe(true);
    expect((await check('expect_column_values_to_be_between', { column: 'day', max_value: '2026-01-09' })).unexpectedCount).toBe(1);
  });

  it('in_set lists values outside the set', async () => {
    expect(await check('expect_column_values_to_be_in_set', { column: 'code', value_set: ['A', 'B', 'C'] })).toMatchObject({
      success: false,
      unexpectedCount: 1,
      unexpectedPercent: 10,
      partialUnexpectedList: ['Z'],
    });
    expect((await check('expect_column_values_to_be_in_set', { column: 'code', value_set: ['A', 'B', 'C', 'Z'] })).success).toBe(true);
    // Values are SQL literals, quotes and all.
    expect((await check('expect_column_values_to_be_in_set', { column: 'code', value_set: ["A'", 'B', 'C', "Z') OR (true"] })).unexpectedCount).toBe(5);
    expect((await check('expect_column_values_to_be_in_set', { column: 'age', value_set: [15, 20, 25, 30, 35, 40, 45, 50, 70] })).success).toBe(true);
  });

  it('unique counts every row of a duplicated value', async () => {
    expect((await check('expect_column_values_to_be_unique', { column: 'id' })).success).toBe(true);
    const failed = await check('expect_column_values_to_be_unique', { column: 'dup' });
    expect(failed).toMatchObject({ success: false, unexpectedCount: 5, unexpectedPercent: 50 });
    expect([...new Set(failed.partialUnexpectedList)].sort()).toEqual([3, 5]);
    expect((await check('expect_column_values_to_be_unique', { column: 'dup', mostly: 0.5 })).success).toBe(true);
  });

  it('match_regex ignores nulls and lists non-matching values', async () => {
    const failed = await check('expect_column_values_to_match_regex', { column: 'email', regex: '^[^@]+@[^@]+\\.com$' });
    expect(failed).toMatchObject({ success: false, unexpectedCount: 1, missingCount: 1, partialUnexpectedList: ['bad'] });
    expect(failed.unexpectedPercent).toBeCloseTo((1 / 9) * 100, 6);
    // Matched anywhere in the value, as Great Expectations does (re.search).
    expect((await check('expect_column_values_to_match_regex', { column: 'email', regex: '@', mostly: 0.8 })).success).toBe(true);
  });
});

describe('aggregate and table expectations', () => {
  it('min, max and mean report the observed value', async () => {
    expect(await check('expect_column_min_to_be_between', { column: 'score', min_value: 0, max_value: 1 })).toMatchObject({
      success: true,
      observedValue: 0.5,
    });
    expect((await check('expect_column_min_to_be_between', { column: 'score', min_value: 0.5, strict_min: true })).success).toBe(false);
    expect(await check('expect_column_max_to_be_between', { column: 'age', max_value: 65 })).toMatchObject({ success: false, observedValue: 70 });
    expect(await check('expect_column_mean_to_be_between', { column: 'score', min_value: 2.7, max_value: 2.8 })).toMatchObject({
      success: true,
      observedValue: 2.75,
    });
    expect((await check('expect_column_mean_to_be_between', { column: 'score', min_value: 3 })).success).toBe(false);
    expect(await check('expect_column_max_to_be_between', { column: 'ts', max_value: '2026-01-10T00:00:00Z' })).toMatchObject({
      success: true,
      observedValue: '2026-01-10T00:00:00.000000Z',
    });
  });

  it('row count checks the table', async () => {
    expect(await check('expect_table_row_count_to_be_between', { min_value: 1, max_value: 10 })).toMatchObject({ success: true, observedValue: 10 });
    expect(await check('expect_table_row_count_to_be_between', { max_value: 9 })).toMatchObject({ success: false, observedValue: 10 });
  });

  it('no rows: per-value expectations pass vacuously, statistics have nothing to observe', async () => {
    const empty = `${TYPED} WHERE false`;
    expect((await check('expect_column_values_to_be_between', { column: 'age', min_value: 18 }, empty)).success).toBe(true);
    expect(await check('expect_column_min_to_be_between', { column: 'score', min_value: 0 }, empty)).toMatchObject({ success: false, observedValue: null });
    expect((await check('expect_table_row_count_to_be_between', { min_value: 1 }, empty)).success).toBe(false);
  });
});

describe('a suite', () => {
  const suite = [
    { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id' } },
    { type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 18, max_value: 65 } },
    { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'code', value_set: ['A', 'B', 'C'] } },
    { type: 'expect_column_values_to_be_unique', kwargs: { column: 'dup' } },
    { type: 'expect_column_mean_to_be_between', kwargs: { column: 'score', min_value: 2, max_value: 3 } },
    { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
  ];

  it('is one aggregate statement, plus one for the samples of failing expectations', async () => {
    const run = runner();
    const report = await evaluateSuite(
      { name: 'churn', ingestionPolicy: 'ALWAYS', expectations: parseExpectations(suite, schema) },
      schema,
      run,
      new Date('2026-02-01T00:00:00Z'),
    );
    expect(run.statements).toBe(2);
    expect(report).toMatchObject({
      suiteName: 'churn',
      ingestionPolicy: 'ALWAYS',
      success: false,
      evaluatedAt: '2026-02-01T00:00:00.000Z',
      statistics: { evaluated: 6, successful: 3, unsuccessful: 3, successPercent: 50 },
    });
    expect(report.results.map((r) => r.success)).toEqual([true, false, false, false, true, true]);
    expect(report.results[1]!.kwargs).toEqual({ column: 'age', min_value: 18, max_value: 65 });

    const passing = runner();
    const ok = await evaluateSuite(
      { name: 'ok', ingestionPolicy: 'STRICT', expectations: parseExpectations([suite[0]!, suite[4]!, suite[5]!], schema) },
      schema,
      passing,
    );
    expect(ok.success).toBe(true);
    expect(passing.statements).toBe(1);
  });

  it('an expectation whose column is missing from the rows fails with an exception, the others still run', async () => {
    const saved = parseExpectations([{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'gone' } }, suite[0]!], null);
    const report = await evaluateSuite({ name: 's', ingestionPolicy: 'STRICT', expectations: saved }, schema, runner());
    expect(report.results[0]).toMatchObject({ success: false, exceptionMessage: expect.stringContaining('no column "gone"') });
    expect(report.results[1]!.success).toBe(true);
    expect(report.success).toBe(false);
  });
});

describe('parseExpectations', () => {
  function issues(raw: { type: string; kwargs: unknown }[]): { path: (string | number)[]; message: string }[] {
    try {
      parseExpectations(raw, schema);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((i) => ({ path: [...i.path], message: i.message }));
    }
    throw new Error('expected a ValidationError');
  }

  it('names the expectation index and the kwarg of each problem', () => {
    const found = issues([
      { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id' } },
      { type: 'expect_column_values_to_be_blue', kwargs: { column: 'id' } },
      { type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 1, mostly: 2 } },
      { type: 'expect_column_values_to_be_unique', kwargs: { column: 'nope' } },
      { type: 'expect_column_values_to_match_regex', kwargs: { column: 'age', regex: 'a' } },
      { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'code', value_set: ['A', 1] } },
      { type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 9, max_value: 1 } },
      { type: 'expect_column_values_to_match_regex', kwargs: { column: 'email', regex: '(?=x)' } },
      { type: 'expect_column_mean_to_be_between', kwargs: { column: 'score' } },
      { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1, colour: 'red' } },
      { type: 'expect_column_values_to_be_between', kwargs: { column: 'ts', min_value: 'yesterday' } },
      { type: 'expect_column_values_to_not_be_null', kwargs: [] },
    ]);
    const at = (i: number) => found.filter((f) => f.path[2] === i).map((f) => f.path.slice(3).join('.'));
    expect(at(0)).toEqual([]);
    expect(at(1)).toEqual(['type']);
    expect(at(2)).toEqual(['kwargs.mostly']);
    expect(at(3)).toEqual(['kwargs.column']);
    expect(at(4)).toEqual(['kwargs.column']);
    expect(at(5)).toEqual(['kwargs.value_set']);
    expect(at(6)).toEqual(['kwargs.min_value']);
    expect(at(7)).toEqual(['kwargs.regex']);
    expect(at(8)).toEqual(['kwargs.min_value']);
    expect(at(9)).toEqual(['kwargs.colour']);
    expect(at(10)).toEqual(['kwargs.min_value']);
    expect(at(11)).toEqual(['kwargs']);
    for (const f of found) {
      expect(f.path.slice(0, 2)).toEqual(['input', 'expectations']);
      expect(f.message).toMatch(new RegExp(`^expectation ${f.path[2]}`));
    }
    expect(found.find((f) => f.path[2] === 3)!.message).toContain('no column "nope"');
  });

  it('without a known schema checks shapes only', () => {
    expect(parseExpectations([{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'later' } }], null)).toEqual([
      { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'later' } },
    ]);
  });
});
