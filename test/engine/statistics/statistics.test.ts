import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStatistics } from '../../../src/engine/statistics/compute.ts';
import { DEFAULT_STATISTICS_CONFIG, parseStatisticsConfig } from '../../../src/engine/statistics/config.ts';
import { ValidationError } from '../../../src/errors.ts';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';

let dir: string;
let store: DuckDbOfflineStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'granary-stats-'));
  store = await DuckDbOfflineStore.open(join(dir, 'offline'), { threads: 1 });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const query = (sql: string) => store.aggregate(sql);

describe('statistics engine', () => {
  it('describes DATE, DECIMAL, FLOAT, BINARY and ARRAY features by their kind', async () => {
    const relation = `SELECT * FROM (VALUES
      (DATE '2024-01-01', 1.25::DECIMAL(10,2), 0.5::FLOAT, 'ab'::BLOB, [1, 2]),
      (DATE '2024-01-03', 2.75::DECIMAL(10,2), NULL::FLOAT, NULL::BLOB, NULL::INTEGER[]),
      (NULL::DATE, NULL::DECIMAL(10,2), 1.5::FLOAT, 'cd'::BLOB, [3])
    ) t(d, m, f, b, a)`;
    const stats = await computeStatistics(
      query,
      relation,
      [
        { name: 'd', type: 'DATE' },
        { name: 'm', type: 'DECIMAL(10,2)' },
        { name: 'f', type: 'FLOAT' },
        { name: 'b', type: 'BINARY' },
        { name: 'a', type: 'ARRAY<INT>' },
      ],
      { ...DEFAULT_STATISTICS_CONFIG, histogramBins: 2, correlations: true, exactUniqueness: true },
    );
    const [d, m, f, b, a] = stats.features;
    // Dates as epoch milliseconds of their midnight (UTC).
    expect(d).toMatchObject({ count: 2, min: Date.UTC(2024, 0, 1), max: Date.UTC(2024, 0, 3), mean: Date.UTC(2024, 0, 2), distinctCount: 2 });
    expect(d!.histogram!.map((x) => x.count)).toEqual([1, 1]);
    expect(m).toMatchObject({ count: 2, sum: 4, mean: 2, min: 1.25, max: 2.75 });
    expect(f).toMatchObject({ count: 2, sum: 2, nullCount: 1 });
    // Binary and arrays: counts and distinct values only.
    expect(b).toMatchObject({
      count: 2,
      nullCount: 1,
      distinctCount: 2,
      approximateDistinctCount: 2,
      uniqueness: 1,
      min: null,
      histogram: null,
      percentiles: null,
    });
    expect(a).toMatchObject({ count: 2, nullCount: 1, distinctCount: 2, approximateDistinctCount: 2, uniqueness: 1, min: null, histogram: null });
    expect(stats.correlations!.features).toEqual(['d', 'm', 'f']);
  });

  it('puts a constant column in one bin and leaves its correlations undefined', async () => {
    const stats = await computeStatistics(
      query,
      `SELECT 7 AS k, i AS x FROM range(10) t(i)`,
      [
        { name: 'k', type: 'INT' },
        { name: 'x', type: 'BIGINT' },
      ],
      { ...DEFAULT_STATISTICS_CONFIG, correlations: true },
    );
    expect(stats.features[0]!.histogram).toEqual([{ value: null, lower: 7, upper: 7, count: 10, other: false }]);
    expect(stats.features[0]!.stddev).toBe(0);
    expect(stats.correlations!.matrix).toEqual([
      [null, null],
      [null, 1],
    ]);
  });
});

describe('statistics settings', () => {
  it('fills defaults, keeps a base for omitted keys and de-duplicates columns', () => {
    expect(parseStatisticsConfig(undefined)).toEqual(DEFAULT_STATISTICS_CONFIG);
    expect(parseStatisticsConfig({ columns: ['a', 'a', 'b'] }, { base: { ...DEFAULT_STATISTICS_CONFIG, histogramBins: 5 } })).toEqual({
      ...DEFAULT_STATISTICS_CONFIG,
      histogramBins: 5,
      columns: ['a', 'b'],
    });
    expect(parseStatisticsConfig({ columns: null }, { base: { ...DEFAULT_STATISTICS_CONFIG, columns: ['a'] } }).columns).toBeNull();
  });

  it.each([
    [{ bins: 3 }, ['statisticsConfig']],
    [{ histogramBins: 2.5 }, ['statisticsConfig', 'histogramBins']],
    [{ histogramBins: 1001 }, ['statisticsConfig', 'histogramBins']],
    [{ columns: 'a' }, ['statisticsConfig', 'columns']],
  ])('rejects %j at %j', (raw, path) => {
    try {
      parseStatisticsConfig(raw);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]!.path).toEqual(path);
    }
  });
});
