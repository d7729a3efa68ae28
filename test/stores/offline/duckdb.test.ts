import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBDateValue, DuckDBDecimalValue, DuckDBListValue, DuckDBTimestampValue } from '@duckdb/node-api';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { ValidationError } from '../../../src/errors.ts';
import { DuckDbOfflineStore, toJsonSafe } from '../../../src/stores/offline/duckdb/index.ts';
import { sqlString } from '../../../src/domain/sql.ts';
import { type ColumnValues, columnLength } from '../../../src/domain/insert-source.ts';
import type { CommitRef, GroupLocation, InsertSource } from '../../../src/stores/offline/offline-store.ts';
import type { OnlineColumns, OnlineRow } from '../../../src/stores/online/online-store.ts';
import { SqliteOnlineStore } from '../../../src/stores/online/sqlite.ts';

let root: string;
let store: DuckDbOfflineStore;
let groups = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'granary-offline-'));
  store = await DuckDbOfflineStore.open(join(root, 'offline'), { memoryLimit: '1GB' });
});

afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

const features = (spec: Record<string, string>) => Object.entries(spec).map(([name, type]) => ({ name, type, description: '' }));

const customers: GroupSchema = {
  primaryKey: ['customer_id'],
  eventTime: 'event_time',
  features: features({ customer_id: 'BIGINT', event_time: 'TIMESTAMP', tenure: 'BIGINT', plan: 'STRING', spend: 'DOUBLE' }),
};

function newGroup(): GroupLocation {
  return { project: 'test', name: `group${++groups}`, version: 1 };
}

const rows = (list: Record<string, unknown>[]): InsertSource => ({ kind: 'rows', rows: list });

async function commit(
  location: GroupLocation,
  schema: GroupSchema,
  source: InsertSource,
  existing: readonly CommitRef[] = [],
  operation: 'UPSERT' | 'INSERT' = 'UPSERT',
): Promise<CommitRef & { rowsInserted: number; rowsUpdated: number; rowCount: number }> {
  const id = uuidv7();
  const staged = await store.stage(location, schema, id, source, { operation, existing, fillMissing: true });
  await staged.publish();
  return { id, files: staged.files, rowsInserted: staged.rowsInserted, rowsUpdated: staged.rowsUpdated, rowCount: staged.rowCount };
}

async function groupFiles(location: GroupLocation): Promise<string[]> {
  try {
    return (await readdir(store.groupDir(location))).sort();
  } catch {
    return [];
  }
}

/** Stages `source`, expects a ValidationError, and checks the group folder did not change. */
async function rejected(location: GroupLocation, schema: GroupSchema, source: InsertSource, operation: 'UPSERT' | 'INSERT' = 'UPSERT') {
  const before = await groupFiles(location);
  const error = await store.stage(location, schema, uuidv7(), source, { operation, existing: [], fillMissing: true }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect(await groupFiles(location)).toEqual(before);
  return error as ValidationError;
}

async function sqlToFile(path: string, sql: string, options: string): Promise<void> {
  const connection = await store.connect();
  try {
    await connection.run(`COPY (${sql}) TO ${sqlString(path)} (${options})`);
  } finally {
    connection.closeSync();
  }
}

/** The batches of onlineColumns as rows (`values` keyed by feature, `key` in key order), to compare. */
async function collect(iterable: AsyncIterable<OnlineColumns>, schema: GroupSchema): Promise<OnlineRow[][]> {
  const batches: OnlineRow[][] = [];
  for await (const batch of iterable) {
    expect(batch.columns).toHaveLength(schema.features.length);
    for (const column of [...batch.columns, batch.eventTimes]) expect(column).toHaveLength(batch.rowCount);
    batches.push(
      Array.from({ length: batch.rowCount }, (_, i) => ({
        key: schema.primaryKey.map((k) => batch.columns[schema.features.findIndex((f) => f.name === k)]![i]),
        eventTime: batch.eventTimes[i]!,
        values: Object.fromEntries(schema.features.map((f, c) => [f.name, batch.columns[c]![i]])),
      })),
    );
  }
  return batches;
}

describe('DuckDbOfflineStore: commits and reads', () => {
  it('supersedes a row by identity (key + event time) in a later commit, keeps history of other event times', async () => {
    const g = newGroup();
    const c1 = await commit(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 3, plan: 'basic', spend: 10 },
        { customer_id: 2, event_time: '2024-01-01T00:00:00Z', tenure: 5, plan: 'pro', spend: 20 },
      ]),
    );
    const c2 = await commit(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 4, plan: 'pro', spend: 11 },
        { customer_id: 1, event_time: '2024-02-01T00:00:00Z', tenure: 5, plan: 'pro', spend: 12 },
      ]),
      [c1],
    );
    const frame = await store.read(g, customers, [c1, c2]);
    expect(frame.columns.map((c) => c.name)).toEqual(['customer_id', 'event_time', 'tenure', 'plan', 'spend']);
    expect(frame.rows).toEqual([
      [1, '2024-01-01T00:00:00.000000Z', 4, 'pro', 11],
      [1, '2024-02-01T00:00:00.000000Z', 5, 'pro', 12],
      [2, '2024-01-01T00:00:00.000000Z', 5, 'pro', 20],
    ]);
    expect(c2.rowsUpdated).toBe(1);
    expect(c2.rowsInserted).toBe(1);

    // Time travel: only the commits up to then.
    expect((await store.read(g, customers, [c1])).rows).toEqual([
      [1, '2024-01-01T00:00:00.000000Z', 3, 'basic', 10],
      [2, '2024-01-01T00:00:00.000000Z', 5, 'pro', 20],
    ]);
    // `first` limits, in key then event-time order.
    expect((await store.read(g, customers, [c1, c2], { first: 2 })).rows.map((r) => r[2])).toEqual([4, 5]);
    // readCommits: the rows written by those commits, superseded ones included.
    expect((await store.readCommits(g, customers, [c1, c2])).rows).toHaveLength(4);
    expect((await store.readCommits(g, customers, [c2])).rows).toHaveLength(2);
    expect(store.filePaths(g, [c1, c2])).toEqual([join(store.groupDir(g), c1.files[0]!.path), join(store.groupDir(g), c2.files[0]!.path)]);
  });

  it('reads an empty commit list as an empty frame with the schema columns', async () => {
    const frame = await store.read(newGroup(), customers, []);
    expect(frame).toEqual({ columns: customers.features.map((f) => ({ name: f.name, type: f.type })), rows: [] });
  });

  it('stages an empty input as a commit without files', async () => {
    const g = newGroup();
    const staged = await store.stage(g, customers, uuidv7(), rows([]), { operation: 'INSERT', existing: [], fillMissing: true });
    expect([staged.rowCount, staged.files, staged.bytes]).toEqual([0, [], 0]);
    expect(await collect(staged.onlineColumns(), customers)).toEqual([]);
    await staged.publish();
    const csv = join(root, 'empty.csv');
    await writeFile(csv, 'customer_id,event_time\n');
    expect(
      (await store.stage(g, customers, uuidv7(), { kind: 'file', path: csv, format: 'CSV' }, { operation: 'UPSERT', existing: [], fillMissing: true }))
        .rowCount,
    ).toBe(0);
    expect(await groupFiles(g)).toEqual([]);
  });

  it('keys without event time: identity is the key alone', async () => {
    const g = newGroup();
    const schema: GroupSchema = { primaryKey: ['region', 'store'], eventTime: null, features: features({ region: 'STRING', store: 'INT', size: 'DOUBLE' }) };
    const c1 = await commit(
      g,
      schema,
      rows([
        { region: 'eu', store: 1, size: 10 },
        { region: 'eu', store: 2, size: 20 },
      ]),
    );
    const c2 = await commit(g, schema, rows([{ region: 'eu', store: 1, size: 11 }]), [c1]);
    expect(c2.rowsUpdated).toBe(1);
    expect((await store.read(g, schema, [c1, c2])).rows).toEqual([
      ['eu', 1, 11],
      ['eu', 2, 20],
    ]);
    const online = (
      await collect(
        (await store.stage(g, schema, uuidv7(), rows([{ region: 'us', store: 3 }]), { operation: 'UPSERT', existing: [], fillMissing: true })).onlineColumns(),
        schema,
      )
    ).flat();
    expect(online).toEqual([{ key: ['us', 3], eventTime: null, values: { region: 'us', store: 3, size: null } }]);
  });

  it('round-trips every type to the JSON-safe forms', async () => {
    const g = newGroup();
    const schema: GroupSchema = {
      primaryKey: ['id'],
      eventTime: 'ts',
      features: features({
        id: 'BIGINT',
        ts: 'TIMESTAMP',
        big: 'BIGINT',
        small: 'INT',
        ratio: 'DOUBLE',
        score: 'FLOAT',
        name: 'STRING',
        flag: 'BOOLEAN',
        day: 'DATE',
        price: 'DECIMAL(10,2)',
        blob: 'BINARY',
        vec: 'ARRAY<DOUBLE>',
        tags: 'ARRAY<STRING>',
        stamps: 'ARRAY<TIMESTAMP>',
      }),
    };
    const full = {
      big: '9007199254740993',
      small: 42,
      ratio: 0.1,
      score: 0.1,
      name: 'héllo "x"',
      flag: true,
      day: '2024-02-29',
      price: '12.345',
      blob: Buffer.from([0, 1, 2, 255]).toString('base64'),
      vec: [1, 2.5, -3e-7],
      tags: ['a', 'b c', ''],
      stamps: ['2024-01-01T00:00:00Z', 1_700_000_000],
    };
    const c = await commit(
      g,
      schema,
      rows([
        { id: 1, ts: '2024-03-10T12:30:45.123456+02:00', ...full },
        { id: 2, ts: '2024-03-10T12:30:45' },
        { id: 3, ts: 1_700_000_000 },
        { id: 4, ts: 1_700_000_000_123 },
        { id: 5, ts: '2024-03-10', big: 7, small: '8', ratio: '1e3', score: 2, flag: 'false', price: 3, vec: [], tags: null },
      ]),
    );
    const frame = await store.read(g, schema, [c]);
    expect(frame.columns.map((col) => col.type)).toEqual(schema.features.map((f) => f.type));
    expect(frame.rows[0]).toEqual([
      1,
      '2024-03-10T10:30:45.123456Z',
      '9007199254740993',
      42,
      0.1,
      0.1,
      'héllo "x"',
      true,
      '2024-02-29',
      '12.35',
      'AAEC/w==',
      [1, 2.5, -3e-7],
      ['a', 'b c', ''],
      ['2024-01-01T00:00:00.000000Z', '2023-11-14T22:13:20.000000Z'],
    ]);
    expect(frame.rows.slice(1, 4).map((r) => r[1])).toEqual(['2024-03-10T12:30:45.000000Z', '2023-11-14T22:13:20.000000Z', '2023-11-14T22:13:20.123000Z']);
    expect(frame.rows[1]!.slice(2)).toEqual(Array(12).fill(null));
    expect(frame.rows[4]).toEqual([5, '2024-03-10T00:00:00.000000Z', 7, 8, 1000, 2, null, false, null, '3.00', null, [], null, null]);
    // Online rows use the same conversion, except FLOAT: the float itself, which the online store
    // keeps and prints as its shortest decimal when read.
    const staged = await store.stage(g, schema, uuidv7(), rows([{ id: 9, ts: '2024-01-01T00:00:00Z', ...full }]), {
      operation: 'UPSERT',
      existing: [],
      fillMissing: true,
    });
    const [[online]] = (await collect(staged.onlineColumns(), schema)) as [[OnlineRow]];
    expect(online.eventTime).toBe(Date.UTC(2024, 0, 1) * 1000);
    expect(online.values).toEqual({
      id: 9,
      ts: '2024-01-01T00:00:00.000000Z',
      ...full,
      score: Math.fround(full.score),
      price: '12.35',
      big: '9007199254740993',
      stamps: frame.rows[0]![13],
    });
    const sqlite = new SqliteOnlineStore({ file: ':memory:' });
    const table = { id: 'types', schema };
    await sqlite.write(table, [online], staged.commitId);
    expect((await sqlite.read(table, [[9]]))[0]).toMatchObject({ score: full.score });
    await sqlite.close();
    await staged.discard();
  });

  it('converts DuckDB values to JSON-safe values (toJsonSafe)', () => {
    expect(toJsonSafe(123n, 'BIGINT')).toBe(123);
    expect(toJsonSafe(2n ** 60n, 'BIGINT')).toBe('1152921504606846976');
    expect(toJsonSafe(new DuckDBTimestampValue(-1n), 'TIMESTAMP')).toBe('1969-12-31T23:59:59.999999Z');
    expect(toJsonSafe(new DuckDBDateValue(19_782), 'DATE')).toBe('2024-02-29');
    expect(toJsonSafe(new DuckDBDecimalValue(-5n, 10, 2), 'DECIMAL(10,2)')).toBe('-0.05');
    expect(toJsonSafe(new DuckDBListValue([1n, null]), 'ARRAY<BIGINT>')).toEqual([1, null]);
    expect(toJsonSafe(Number.NaN, 'DOUBLE')).toBe('NaN');
    expect(toJsonSafe(null, 'STRING')).toBeNull();
  });

  it('keeps the last row of a duplicated identity under UPSERT', async () => {
    const g = newGroup();
    const c = await commit(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 1 },
        { customer_id: 2, event_time: '2024-01-01T00:00:00Z', tenure: 2 },
        { customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 3 },
        { customer_id: 1, event_time: '2024-01-01T00:00:00+00:00', tenure: 4 },
      ]),
    );
    expect(c.rowCount).toBe(2);
    expect(c.files[0]!.rows).toBe(2);
    expect((await store.readCommits(g, customers, [c])).rows.map((r) => [r[0], r[2]])).toEqual([
      [1, 4],
      [2, 2],
    ]);
  });

  it('counts rowsInserted and rowsUpdated against existing commits', async () => {
    const g = newGroup();
    const t = '2024-01-01T00:00:00Z';
    const c1 = await commit(g, customers, rows([1, 2, 3].map((id) => ({ customer_id: id, event_time: t }))));
    expect([c1.rowCount, c1.rowsInserted, c1.rowsUpdated]).toEqual([3, 3, 0]);
    const c2 = await commit(g, customers, rows([2, 3, 4].map((id) => ({ customer_id: id, event_time: t }))), [c1]);
    expect([c2.rowCount, c2.rowsInserted, c2.rowsUpdated]).toEqual([3, 1, 2]);
    // An identity present in two earlier commits counts once.
    const c3 = await commit(g, customers, rows([3, 5].map((id) => ({ customer_id: id, event_time: t }))), [c1, c2]);
    expect([c3.rowCount, c3.rowsInserted, c3.rowsUpdated]).toEqual([2, 1, 1]);
    // Same key, new event time: an insert.
    const c4 = await commit(g, customers, rows([{ customer_id: 1, event_time: '2025-01-01T00:00:00Z' }]), [c1, c2, c3]);
    expect([c4.rowsInserted, c4.rowsUpdated]).toEqual([1, 0]);
  });

  it('reads old files after a nullable feature was appended (union_by_name)', async () => {
    const g = newGroup();
    const c1 = await commit(g, customers, rows([{ customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 1 }]));
    const widened: GroupSchema = { ...customers, features: [...customers.features, ...features({ churn: 'BOOLEAN' })] };
    expect((await store.read(g, widened, [c1])).rows).toEqual([[1, '2024-01-01T00:00:00.000000Z', 1, null, null, null]]);
    const c2 = await commit(g, widened, rows([{ customer_id: 2, event_time: '2024-01-01T00:00:00Z', tenure: 2, churn: true }]), [c1]);
    const frame = await store.read(g, widened, [c1, c2]);
    expect(frame.columns.at(-1)).toEqual({ name: 'churn', type: 'BOOLEAN' });
    expect(frame.rows.map((r) => r.at(-1))).toEqual([null, true]);
  });
});

describe('DuckDbOfflineStore: rejections write nothing', () => {
  it('rejects an unknown column', async () => {
    const g = newGroup();
    const error = await rejected(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: 1 },
        { customer_id: 2, event_time: 1, bogus: 1 },
      ]),
    );
    expect(error.issues).toEqual([{ path: ['rows', 2, 'bogus'], message: expect.stringContaining('unknown column "bogus"') }]);
  });

  it('rejects a value of the wrong type, naming row, column, value and type', async () => {
    const g = newGroup();
    const input: Record<string, unknown>[] = Array.from({ length: 30 }, (_, i) => ({ customer_id: i, event_time: '2024-01-01T00:00:00Z', tenure: i }));
    input[16] = { ...input[16], tenure: 'abc' };
    input[20] = { ...input[20], tenure: 1.5, spend: 'lots' };
    const error = await rejected(g, customers, rows(input));
    expect(error.issues).toEqual([
      { path: ['rows', 17, 'tenure'], message: 'row 17, column "tenure": "abc" is not a valid BIGINT' },
      { path: ['rows', 21, 'tenure'], message: 'row 21, column "tenure": "1.5" is not a valid BIGINT' },
      { path: ['rows', 21, 'spend'], message: 'row 21, column "spend": "lots" is not a valid DOUBLE' },
    ]);
    expect(error.message).toContain('row 17');
  });

  it('rejects a null primary key and a missing event time', async () => {
    const g = newGroup();
    const error = await rejected(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: '2024-01-01T00:00:00Z' },
        { customer_id: null, event_time: '2024-01-01T00:00:00Z' },
        { customer_id: 3 },
        { event_time: '2024-01-01T00:00:00Z', tenure: 2 },
      ]),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      ['rows', 2, 'customer_id'],
      ['rows', 3, 'event_time'],
      ['rows', 4, 'customer_id'],
    ]);
    expect(error.issues[0]!.message).toContain('primary key');
    expect(error.issues[1]!.message).toContain('event time');
  });

  it('rejects duplicate identities under INSERT', async () => {
    const g = newGroup();
    const t = '2024-01-01T00:00:00Z';
    const error = await rejected(
      g,
      customers,
      rows([
        { customer_id: 1, event_time: t },
        { customer_id: 2, event_time: t },
        { customer_id: 1, event_time: t },
        { customer_id: 2, event_time: '2024-01-02T00:00:00Z' },
      ]),
      'INSERT',
    );
    expect(error.issues).toEqual([{ path: ['rows', 3], message: expect.stringMatching(/duplicate identity .*customer_id=1.* of row 1/) }]);
  });

  it('caps the issues at 20', async () => {
    const g = newGroup();
    const input = Array.from({ length: 50 }, (_, i) => ({ customer_id: `k${i}`, event_time: 1 }));
    const error = await rejected(g, customers, rows(input));
    expect(error.issues).toHaveLength(20);
  });

  it('rejects files: unknown and missing columns (CSV), bad values (Parquet)', async () => {
    const g = newGroup();
    const csv = join(root, 'bad.csv');
    await writeFile(csv, 'customer_id,tenure,color\n1,2,red\n');
    const error = await rejected(g, customers, { kind: 'file', path: csv, format: 'CSV' });
    expect(error.issues).toEqual([
      { path: ['file', 'color'], message: 'unknown column "color"' },
      { path: ['file', 'event_time'], message: expect.stringContaining('missing column "event_time"') },
    ]);
    const parquet = join(root, 'bad.parquet');
    await sqlToFile(
      parquet,
      `SELECT i AS customer_id, TIMESTAMP '2024-01-01' AS event_time, CASE WHEN i = 6 THEN 'x' ELSE i::VARCHAR END AS tenure FROM range(10) t(i)`,
      'FORMAT parquet',
    );
    const bad = await rejected(g, customers, { kind: 'file', path: parquet, format: 'PARQUET' });
    expect(bad.issues).toEqual([{ path: ['file', 7, 'tenure'], message: 'row 7, column "tenure": "x" is not a valid BIGINT' }]);
    const ndjson = join(root, 'bad.ndjson');
    await writeFile(ndjson, '{"customer_id":1,"event_time":1}\n{"customer_id":2,"event_time":1,"extra":true}\n');
    const unknown = await rejected(g, customers, { kind: 'file', path: ndjson, format: 'NDJSON' });
    expect(unknown.issues).toEqual([{ path: ['file', 2, 'extra'], message: 'row 2: unknown column "extra"' }]);
  });
});

describe('DuckDbOfflineStore: file inputs', () => {
  it('stages CSV (numeric strings, any header case), Parquet and NDJSON files', async () => {
    const g = newGroup();
    const csv = join(root, 'in.csv');
    await writeFile(csv, 'Customer_ID,event_time,tenure,plan\n1,2024-01-01T00:00:00Z,3,basic\n2,1704067200,,"pro, yearly"\n');
    const c1 = await commit(g, customers, { kind: 'file', path: csv, format: 'CSV' });
    const parquet = join(root, 'in.parquet');
    await sqlToFile(
      parquet,
      `SELECT CAST(i AS INTEGER) AS customer_id, TIMESTAMPTZ '2024-01-02 02:00:00+02' AS event_time, i * 10 AS tenure, CAST(i AS DECIMAL(5,1)) AS spend FROM range(3, 5) t(i)`,
      'FORMAT parquet',
    );
    const c2 = await commit(g, customers, { kind: 'file', path: parquet, format: 'PARQUET' }, [c1]);
    const ndjson = join(root, 'in.ndjson');
    await writeFile(
      ndjson,
      '{"customer_id":5,"event_time":1704067200000,"plan":"free","spend":1.5}\n{"customer_id":"6","event_time":"2024-01-01T00:00:00Z"}\n',
    );
    const c3 = await commit(g, customers, { kind: 'file', path: ndjson, format: 'NDJSON' }, [c1, c2]);
    expect((await store.read(g, customers, [c1, c2, c3])).rows).toEqual([
      [1, '2024-01-01T00:00:00.000000Z', 3, 'basic', null],
      [2, '2024-01-01T00:00:00.000000Z', null, 'pro, yearly', null],
      [3, '2024-01-02T00:00:00.000000Z', 30, null, 3],
      [4, '2024-01-02T00:00:00.000000Z', 40, null, 4],
      [5, '2024-01-01T00:00:00.000000Z', null, 'free', 1.5],
      [6, '2024-01-01T00:00:00.000000Z', null, null, null],
    ]);
  });

  it('reads a quoted empty CSV field as the empty string for STRING features and as null for the others; an empty field is null', async () => {
    const g = newGroup();
    const csv = join(root, 'empty-strings.csv');
    await writeFile(csv, 'customer_id,event_time,tenure,plan,spend\n1,2024-01-01T00:00:00Z,"","",""\n2,2024-01-01T00:00:00Z,,,\n');
    const c1 = await commit(g, customers, { kind: 'file', path: csv, format: 'CSV' });
    expect((await store.read(g, customers, [c1])).rows).toEqual([
      [1, '2024-01-01T00:00:00.000000Z', null, '', null],
      [2, '2024-01-01T00:00:00.000000Z', null, null, null],
    ]);
  });

  it('stages columns the server built: Float64Array numbers (NaN null), coded and plain values, unnamed features null', async () => {
    const g = newGroup();
    const columns = (values: readonly ColumnValues[], names = ['customer_id', 'event_time', 'tenure', 'plan']): InsertSource => ({
      kind: 'columns',
      rowCount: columnLength(values[0]!),
      names,
      values,
    });
    const at = Date.UTC(2024, 0, 1);
    const c1 = await commit(
      g,
      customers,
      columns([Float64Array.of(1, 2, 3), Float64Array.of(at, at + 1000, at + 2000), Float64Array.of(3, Number.NaN, 2 ** 40), ['gold', null, '']]),
    );
    expect((await store.read(g, customers, [c1])).rows).toEqual([
      [1, '2024-01-01T00:00:00.000000Z', 3, 'gold', null],
      [2, '2024-01-01T00:00:01.000000Z', null, null, null],
      [3, '2024-01-01T00:00:02.000000Z', 2 ** 40, '', null],
    ]);
    // A column of nothing but nulls, and one of plain numbers, load as well.
    const c2 = await commit(g, customers, columns([[4], [at], Float64Array.of(Number.NaN), [7.5]], ['customer_id', 'event_time', 'tenure', 'spend']), [c1]);
    expect((await store.read(g, customers, [c1, c2])).rows.at(-1)).toEqual([4, '2024-01-01T00:00:00.000000Z', null, null, 7.5]);
    // Coded columns: each row's value by its code, -1 for null, numbers as well as text.
    const c3 = await commit(
      g,
      customers,
      columns([
        [5, 6, 7],
        Float64Array.of(at, at, at),
        { codes: Int32Array.of(1, 0, -1), dictionary: [12, 2 ** 40] },
        { codes: Int32Array.of(0, -1, 0), dictionary: ['gold'] },
      ]),
      [c1, c2],
    );
    expect((await store.read(g, customers, [c3])).rows).toEqual([
      [5, '2024-01-01T00:00:00.000000Z', 2 ** 40, 'gold', null],
      [6, '2024-01-01T00:00:00.000000Z', 12, null, null],
      [7, '2024-01-01T00:00:00.000000Z', null, 'gold', null],
    ]);
    // Many rows of a few values (the dictionary goes into the SQL, quotes and all), a dictionary too
    // large for that, and text holding a NUL (never put in SQL text): each row keeps its value.
    const many = 5000;
    let existing = [c1, c2, c3];
    for (const odd of [
      ["it's", '', 'x'.repeat(300), 'plain'],
      ['a\u0000b', 'c'],
    ]) {
      const c = await commit(
        g,
        customers,
        columns([
          Float64Array.from({ length: many }, (_, i) => 100 + i),
          Float64Array.from({ length: many }, () => at),
          { codes: Int32Array.from({ length: many }, (_, i) => i), dictionary: Array.from({ length: many }, (_, i) => i * 2) },
          { codes: Int32Array.from({ length: many }, (_, i) => (i % 5 === 4 ? -1 : i % odd.length)), dictionary: odd },
        ]),
        existing,
      );
      existing = [...existing, c];
      const read = (await store.read(g, customers, [c])).rows;
      expect(read).toHaveLength(many);
      expect(read.every((r, i) => r[0] === 100 + i && r[2] === i * 2 && r[3] === (i % 5 === 4 ? null : odd[i % odd.length]))).toBe(true);
    }
    // Built wrong, the insert fails and writes nothing: a value that does not fit never becomes null.
    const stage = (source: InsertSource) => store.stage(g, customers, uuidv7(), source, { operation: 'UPSERT', existing: [], fillMissing: true });
    await expect(stage(columns([[5], [at], ['many'], ['x']]))).rejects.toThrow(ValidationError);
    await expect(stage(columns([Float64Array.of(Number.NaN), [at], [1], ['x']]))).rejects.toThrow(ValidationError);
    await expect(stage(columns([[5], [at]], ['customer_id', 'nope']))).rejects.toThrow(/nope is not a feature/);
    await expect(stage(columns([[5, 6], [at, at], { codes: Int32Array.of(0), dictionary: [1] }, ['x', 'y']]))).rejects.toThrow(/has 1 values, not 2/);
    expect((await groupFiles(g)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('infers features from rows and files', async () => {
    expect(await store.infer(rows([{ Id: 1, ts: '2024-01-01T00:00:00Z', x: 1.5, tags: ['a'], ok: true }]))).toEqual(
      features({ id: 'BIGINT', ts: 'TIMESTAMP', x: 'DOUBLE', tags: 'ARRAY<STRING>', ok: 'BOOLEAN' }),
    );
    const parquet = join(root, 'infer.parquet');
    await sqlToFile(parquet, `SELECT 1::INTEGER AS a, 1.5::DECIMAL(10,2) AS b, DATE '2024-01-01' AS c, 'x'::BLOB AS d`, 'FORMAT parquet');
    expect(await store.infer({ kind: 'file', path: parquet, format: 'PARQUET' })).toEqual(features({ a: 'INT', b: 'DECIMAL(10,2)', c: 'DATE', d: 'BINARY' }));
  });

  it('stages a 1 M-row Parquet file with bounded JS heap', async () => {
    const g = newGroup();
    const parquet = join(root, 'million.parquet');
    await sqlToFile(
      parquet,
      `SELECT i AS customer_id, TIMESTAMP '2024-01-01' + to_seconds(i % 1000) AS event_time, i % 97 AS tenure,
         'plan_' || (i % 7) AS plan, i * 0.5 AS spend FROM range(1000000) t(i)`,
      'FORMAT parquet, COMPRESSION zstd',
    );
    global.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 5);
    try {
      const id = uuidv7();
      const staged = await store.stage(
        g,
        customers,
        id,
        { kind: 'file', path: parquet, format: 'PARQUET' },
        { operation: 'UPSERT', existing: [], fillMissing: true },
      );
      expect(staged.rowCount).toBe(1_000_000);
      await staged.publish();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      expect((await store.read(g, customers, [{ id, files: staged.files }], { first: 1 })).rows).toEqual([[0, '2024-01-01T00:00:00.000000Z', 0, 'plan_0', 0]]);
    } finally {
      clearInterval(sampler);
    }
    // 1 M rows × 5 columns as JS values would take well over 100 MB.
    expect(peak - baseline).toBeLessThan(24 * 2 ** 20);
  }, 20_000);
});

describe('DuckDbOfflineStore: online rows, publish, discard, sweep', () => {
  it('streams the newest row per key of the commit, in batches', async () => {
    const g = newGroup();
    const input = rows([
      { customer_id: 1, event_time: '2024-01-02T00:00:00Z', tenure: 2 },
      { customer_id: 1, event_time: '2024-01-03T00:00:00Z', tenure: 3 },
      { customer_id: 1, event_time: '2024-01-01T00:00:00Z', tenure: 1 },
      { customer_id: 2, event_time: '2024-01-01T00:00:00Z', tenure: 5 },
      { customer_id: 3, event_time: '2024-01-01T00:00:00Z', tenure: 6 },
    ]);
    const staged = await store.stage(g, customers, uuidv7(), input, { operation: 'UPSERT', existing: [], fillMissing: true });
    const batches = await collect(staged.onlineColumns(2), customers);
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    const online = batches.flat().sort((a, b) => (a.key[0] as number) - (b.key[0] as number));
    expect(online.map((r) => [r.key, r.eventTime, r.values.tenure])).toEqual([
      [[1], Date.UTC(2024, 0, 3) * 1000, 3],
      [[2], Date.UTC(2024, 0, 1) * 1000, 5],
      [[3], Date.UTC(2024, 0, 1) * 1000, 6],
    ]);
    // Works the same after publish (files moved).
    await staged.publish();
    expect((await collect(staged.onlineColumns(), customers)).flat()).toHaveLength(3);
  });

  it('in parts of a bounded size: finds duplicates across parts; streams each part by key with its newest row; the online store ends with the newest', async () => {
    const small = await DuckDbOfflineStore.open(join(root, 'offline-parts'), { partitionRows: 2 });
    const online = new SqliteOnlineStore({ file: ':memory:' });
    try {
      const g = newGroup();
      const day = (d: number) => `2024-01-0${d}T00:00:00Z`;
      // INSERT: the duplicate (rows 1 and 5) is found whichever hash part its identity falls in.
      const duplicate = rows([1, 2, 3, 4, 1].map((id) => ({ customer_id: id, event_time: day(1) })));
      const error = await small.stage(g, customers, uuidv7(), duplicate, { operation: 'INSERT', existing: [], fillMissing: true }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['rows', 5]]);
      // Parts of 2 rows in file (input) order: [2@2, 2@1], [1@1, 3@1], [2@3].
      const input = rows([
        { customer_id: 2, event_time: day(2), tenure: 22 },
        { customer_id: 2, event_time: day(1), tenure: 21 },
        { customer_id: 1, event_time: day(1), tenure: 11 },
        { customer_id: 3, event_time: day(1), tenure: 31 },
        { customer_id: 2, event_time: day(3), tenure: 23 },
      ]);
      const staged = await small.stage(g, customers, uuidv7(), input, { operation: 'INSERT', existing: [], fillMissing: true });
      const batches = await collect(staged.onlineColumns(10), customers);
      expect(batches.map((b) => b.map((r) => r.values.tenure))).toEqual([[22], [11, 31], [23]]);
      await staged.publish();
      const table = { id: 'parts', schema: customers };
      await online.ensure(table);
      for await (const batch of staged.onlineColumns(10)) await online.writeColumns(table, batch, staged.commitId);
      expect((await online.read(table, [[1], [2], [3]])).map((r) => r?.tenure)).toEqual([11, 23, 31]);
    } finally {
      await online.close();
      await small.close();
    }
  });

  it('names staging files apart until publish; discard removes them (staged or published)', async () => {
    const g = newGroup();
    const id = uuidv7();
    const staged = await store.stage(g, customers, id, rows([{ customer_id: 1, event_time: 1 }]), { operation: 'UPSERT', existing: [], fillMissing: true });
    expect(staged.files).toEqual([{ path: `${id}-0.parquet`, bytes: expect.any(Number), rows: 1 }]);
    expect(await groupFiles(g)).toEqual([`.staging-${store.owner}-${id}-0.parquet`]);
    await staged.publish();
    expect(await groupFiles(g)).toEqual([`${id}-0.parquet`]);
    await staged.discard();
    expect(await groupFiles(g)).toEqual([]);
  });

  it('sweeps files no commit lists (a crash between staging or publish and the metadata commit)', async () => {
    const g = newGroup();
    const kept = await commit(g, customers, rows([{ customer_id: 1, event_time: 1 }]));
    // Crash after publish, before the commit row: a published file no commit lists.
    const orphan = await store.stage(g, customers, uuidv7(), rows([{ customer_id: 2, event_time: 1 }]), {
      operation: 'UPSERT',
      existing: [],
      fillMissing: true,
    });
    await orphan.publish();
    // Crash after staging: a staging file.
    const stagedId = uuidv7();
    await store.stage(g, customers, stagedId, rows([{ customer_id: 3, event_time: 1 }]), { operation: 'UPSERT', existing: [], fillMissing: true });
    expect(await groupFiles(g)).toHaveLength(3);
    const dir = store.groupDir(g);
    const commits = async () => [kept];
    // While this store's process lives, nothing of it goes, nor a fresh published file.
    const live = { graceMs: 3600_000, live: async () => () => true };
    expect(await store.sweep(g, commits, live)).toEqual([]);
    // Once it is gone (its lease expired), a later process removes its staging file and, past the
    // grace, the published file no commit lists.
    const gone = { graceMs: 0, live: async () => () => false };
    const restarted = new DuckDbOfflineStore(store.root);
    try {
      expect((await restarted.sweep(g, commits, gone)).sort()).toEqual(
        [join(dir, orphan.files[0]!.path), join(dir, `.staging-${store.owner}-${stagedId}-0.parquet`)].sort(),
      );
    } finally {
      await restarted.close();
    }
    expect(await groupFiles(g)).toEqual([kept.files[0]!.path]);
    expect((await store.read(g, customers, [kept])).rows).toHaveLength(1);
    expect(await store.sweep(newGroup(), async () => [], gone)).toEqual([]);
  });

  it('drops a group version', async () => {
    const g = newGroup();
    await commit(g, customers, rows([{ customer_id: 1, event_time: 1 }]));
    await store.drop(g);
    expect(await groupFiles(g)).toEqual([]);
  });
});
