import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';

let root: string;
let store: DuckDbOfflineStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'granary-load-'));
  store = await DuckDbOfflineStore.open(join(root, 'offline'), { threads: 1 });
});
afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

async function* batches<T>(...items: T[][]): AsyncIterable<T[]> {
  for (const item of items) yield item;
}

describe('DuckDbOfflineStore.loadTable', () => {
  it('casts PostgreSQL text values to each feature type, nulls and unusual values included, across chunks', async () => {
    const columns = [
      { name: 'id', type: 'BIGINT' },
      { name: 'n', type: 'INT' },
      { name: 'd', type: 'DOUBLE' },
      { name: 'f', type: 'FLOAT' },
      { name: 'b', type: 'BOOLEAN' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'day', type: 'DATE' },
      { name: 'amount', type: 'DECIMAL(10,2)' },
      { name: 's', type: 'STRING' },
    ];
    const rows = [
      ['9007199254740993', '-5', '1.25', '0.5', 't', '2026-01-02 03:04:05.123456+00', '2026-01-02', '12.34', 'x'],
      [null, null, null, null, null, null, null, null, null],
      ['1', '2', 'NaN', '-Infinity', 'f', '2026-01-02 03:04:05+00', '1999-12-31', '-0.01', ''],
      // Texts the fast path does not parse go through DuckDB's cast for their chunk.
      ['2', '3', '4', '5', 't', 'infinity', '0050-06-01', '1', 'y'],
      ['3', '4', '5', '6', 'f', '0050-06-01 10:00:00', '2000-02-29', '2', 'z'],
    ];
    // More than a chunk (2048 rows) in one batch, then the odd rows in a batch of their own.
    const many = Array.from({ length: 5000 }, (_, i) => [
      String(100 + i),
      String(i),
      String(i / 4),
      '1',
      i % 2 ? 't' : 'f',
      '2026-03-01 00:00:00',
      '2026-03-01',
      '0.10',
      `v${i}`,
    ]);
    const table = await store.loadTable(columns, batches(many, rows));
    try {
      const result = await store.aggregate(
        `SELECT id::VARCHAR, n, d::VARCHAR, f::VARCHAR, b, ts::VARCHAR, day::VARCHAR, amount::VARCHAR, s FROM ${table} WHERE id IS NULL OR id < 100 OR id > 1000000 ORDER BY id NULLS FIRST`,
      );
      expect(result).toEqual([
        [null, null, null, null, null, null, null, null, null],
        ['1', 2, 'nan', '-inf', false, '2026-01-02 03:04:05', '1999-12-31', '-0.01', ''],
        ['2', 3, '4.0', '5.0', true, 'infinity', '0050-06-01', '1.00', 'y'],
        ['3', 4, '5.0', '6.0', false, '0050-06-01 10:00:00', '2000-02-29', '2.00', 'z'],
        ['9007199254740993', -5, '1.25', '0.5', true, '2026-01-02 03:04:05.123456', '2026-01-02', '12.34', 'x'],
      ]);
      const [[count, sum]] = (await store.aggregate(`SELECT count(*), sum(n) FROM ${table} WHERE id BETWEEN 100 AND 1000000`)) as [[number, number]];
      expect(count).toBe(5000);
      expect(sum).toBe((4999 * 5000) / 2);
    } finally {
      await store.dropTable(table);
    }
    await expect(store.aggregate(`SELECT count(*) FROM ${table}`)).rejects.toThrow();
  });
});
