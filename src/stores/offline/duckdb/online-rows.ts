import type { DuckDBConnection } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import type { OnlineColumns, OnlineRow } from '../../online/online-store.ts';
import type { EventTimeWindow } from '../offline-store.ts';
import { eventTimeMicrosSql, schemaFeatures, type Feature } from './features.ts';
import type { LoadedRows } from './host.ts';
import type { DuckDbConnections } from './host.ts';
import { convertVector, onlineConverter } from './values.ts';

/**
 * The rows of the given files for the online store, column-wise in batches of `batchRows`: each
 * file in parts of at most `store.partitionRows` rows (a range of row numbers, which the Parquet
 * reader skips to by row group), each part sorted by key and event time, of which the last row per
 * key (the newest) is kept. Memory is bounded by a part, not by the files: the same key in two
 * parts or files is written twice, and the online store keeps the newest (files in commit order,
 * so on equal event times the later commit's row is written last).
 */
export async function* streamOnlineColumns(
  store: DuckDbConnections,
  paths: readonly string[],
  schema: GroupSchema,
  features: readonly Feature[],
  batchRows: number,
  window?: EventTimeWindow,
): AsyncIterable<OnlineColumns> {
  if (paths.length === 0) return;
  const size = Math.max(1, Math.floor(batchRows));
  const keys = schema.primaryKey.map(ident);
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const etMicros = et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed);
  // DECIMAL as text in DuckDB: its JSON-safe form, without a value object per item.
  const select = features.map((f) => (f.parsed.kind === 'decimal' ? `CAST(${ident(f.name)} AS VARCHAR)` : ident(f.name)));
  const order = [...keys, ...(et === null ? [] : [`${ident(et.name)} NULLS FIRST`])].join(', ');
  const converters = features.map((f) => onlineConverter(f.parsed));
  const keyIndexes = schema.primaryKey.map((k) => features.findIndex((f) => f.name === k));
  const width = features.length;
  const connection = await store.connectInsert();
  try {
    for (const path of paths) {
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(path)})`);
      const total = Number(counted.getRows()[0]?.[0] ?? 0);
      for (let start = 0; start < total; start += store.partitionRows) {
        const partitioned = total > store.partitionRows;
        const conditions = [
          ...(partitioned ? [`file_row_number >= ${start}`, `file_row_number < ${start + store.partitionRows}`] : []),
          // The window before the newest row per key is taken: a key's newest row in the window wins.
          ...(window?.fromMicros != null ? [`${etMicros} >= ${window.fromMicros}`] : []),
          ...(window?.toMicros != null ? [`${etMicros} < ${window.toMicros}`] : []),
          ...(window ? [`${etMicros} IS NOT NULL`] : []),
        ];
        const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
        const result = await connection.stream(
          `SELECT ${select.join(', ')}, ${etMicros} AS "#et" FROM read_parquet(${sqlString(path)}${partitioned ? ', file_row_number = true' : ''})${where} ORDER BY ${order}`,
        );
        let columns: unknown[][] = features.map(() => []);
        let eventTimes: (number | null)[] = [];
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const count = chunk.rowCount;
          const base = eventTimes.length;
          for (let c = 0; c < width; c++) {
            const vector = chunk.getColumnVector(c);
            const convert = converters[c]!;
            const column = columns[c]!;
            for (let i = 0; i < count; i++) column.push(convert(vector.getItem(i)));
          }
          const etVector = chunk.getColumnVector(width);
          for (let i = 0; i < count; i++) {
            const micros = etVector.getItem(i);
            eventTimes.push(micros === null ? null : Number(micros as bigint));
          }
          // Sorted by key, then event time: of a run of one key, the last row is the newest.
          let w = base === 0 ? 1 : base;
          for (let r = w; r < eventTimes.length; r++) {
            let same = true;
            for (const k of keyIndexes) {
              const a = columns[k]![w - 1];
              const b = columns[k]![r];
              if (a !== b && !(typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b))) {
                same = false;
                break;
              }
            }
            const to = same ? w - 1 : w++;
            if (to === r) continue;
            for (let c = 0; c < width; c++) columns[c]![to] = columns[c]![r];
            eventTimes[to] = eventTimes[r]!;
          }
          if (w < eventTimes.length) {
            for (const column of columns) column.length = w;
            eventTimes.length = w;
          }
          while (eventTimes.length >= size) {
            yield { rowCount: size, columns: columns.map((column) => column.slice(0, size)), eventTimes: eventTimes.slice(0, size) };
            columns = columns.map((column) => column.slice(size));
            eventTimes = eventTimes.slice(size);
          }
        }
        if (eventTimes.length > 0) yield { rowCount: eventTimes.length, columns, eventTimes };
      }
    }
  } finally {
    connection.closeSync();
  }
}

/**
 * The newest row per primary key (by event time) of a relation built elsewhere (an external
 * group's rows), in batches of OnlineRow: the relation has one column per feature of `schema`.
 */
export function relationOnlineRows(store: DuckDbConnections, relation: string, schema: GroupSchema, batchSize = 1000): AsyncIterable<OnlineRow[]> {
  const features = schemaFeatures(schema);
  const keys = schema.primaryKey.map(ident).join(', ');
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const etMicros = et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed);
  const sql = `SELECT ${features.map((f) => ident(f.name)).join(', ')}, ${etMicros} AS "#et" FROM (${relation})
    QUALIFY row_number() OVER (PARTITION BY ${keys}${et === null ? '' : ` ORDER BY ${ident(et.name)} DESC NULLS LAST`}) = 1
    ORDER BY ${keys}`;
  return streamOnlineRowsSql(store, sql, schema, features, batchSize);
}

/** Streams `sql` (one column per feature, then `"#et"` as comparable event time) as OnlineRow batches, converted chunk by chunk. */
export async function* streamOnlineRowsSql(
  store: DuckDbConnections,
  sql: string,
  schema: GroupSchema,
  features: readonly Feature[],
  batchSize: number,
): AsyncIterable<OnlineRow[]> {
  const size = Math.max(1, Math.floor(batchSize));
  const connection = await store.connect();
  try {
    const result = await connection.stream(sql);
    const converters = features.map((f) => onlineConverter(f.parsed));
    const keyIndexes = schema.primaryKey.map((k) => features.findIndex((f) => f.name === k));
    let batch: OnlineRow[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const columns = features.map((_, c) => convertVector(chunk, c, converters[c]!));
      const eventTimes = chunk.getColumnVector(features.length);
      for (let i = 0; i < chunk.rowCount; i++) {
        const values: Record<string, unknown> = Object.create(null);
        for (let c = 0; c < features.length; c++) values[features[c]!.name] = columns[c]![i];
        const micros = eventTimes.getItem(i);
        batch.push({
          key: keyIndexes.map((k) => columns[k]![i]),
          eventTime: micros === null ? null : Number(micros as bigint),
          values,
        });
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    connection.closeSync();
  }
}

export async function* sliceColumns(rows: OnlineColumns, batchRows: number): AsyncIterable<OnlineColumns> {
  const size = Math.max(1, Math.floor(batchRows));
  if (rows.rowCount <= size) {
    yield rows;
    return;
  }
  for (let start = 0; start < rows.rowCount; start += size) {
    const end = Math.min(rows.rowCount, start + size);
    yield { rowCount: end - start, columns: rows.columns.map((c) => c.slice(start, end)), eventTimes: rows.eventTimes.slice(start, end) };
  }
}

/**
 * A feature's online values straight from the loaded JSON rows, where the coercion is the identity
 * or what JavaScript computes exactly: STRING from text (without lone surrogates, which UTF-8
 * stores as U+FFFD), BOOLEAN from booleans, DOUBLE from numbers, BIGINT and INT from safe
 * integers, FLOAT from numbers (the double rounded to float, as Math.fround), TIMESTAMP and DATE
 * from text in the printed form. Null: read them back.
 */
export function givenOnline(f: Feature, loaded: LoadedRows, c: number): readonly unknown[] | null {
  const t = f.parsed;
  if (t.kind !== 'scalar') return null;
  const type = loaded.types[c];
  // A columns source's numbers (a Float64Array) are read back instead: never written online.
  const given = loaded.appended[c];
  const appended = given instanceof Float64Array ? null : given;
  const texts = loaded.texts[c];
  switch (t.name) {
    case 'STRING':
      return texts?.every((v) => v === null || (v as unknown as { isWellFormed(): boolean }).isWellFormed()) ? texts : null;
    case 'BOOLEAN':
      return type === 'BOOLEAN' ? (appended ?? null) : null;
    case 'DOUBLE':
      return type === 'DOUBLE' ? (appended ?? null) : null;
    case 'BIGINT':
    case 'INT':
      return type === 'DOUBLE' && loaded.columns.kinds[c] === 'integers' ? (appended ?? null) : null;
    case 'FLOAT':
      // The online store keeps the float the double rounds to, as DuckDB's cast does.
      return type === 'DOUBLE' ? (appended ?? null) : null;
    case 'TIMESTAMP':
    case 'DATE': {
      // Text already in the form the store prints (UTC ISO with a `Z`; a date) is that value.
      if (!texts || loaded.columns.kinds[c] !== 'strings') return null;
      const timestamp = t.name === 'TIMESTAMP';
      const out = new Array<string | null>(texts.length);
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i]!;
        if (text === null) {
          out[i] = null;
          continue;
        }
        const m = (timestamp ? ISO_TIMESTAMP_Z : ISO_DATE).exec(text);
        if (m === null) return null;
        out[i] = timestamp ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z` : text;
      }
      return out;
    }
    default:
      return null;
  }
}

/** A UTC ISO timestamp and a date in plain ranges (a date the calendar lacks is rejected by DuckDB before this is used). */
export const ISO_TIMESTAMP_Z = /^([1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?Z$/;
export const ISO_DATE = /^[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;

/** The online rows of loaded JSON rows, in key order: see copyRows. */
export async function onlineFromLoaded(
  connection: DuckDBConnection,
  coerced: string,
  loaded: LoadedRows,
  schema: GroupSchema,
  features: readonly Feature[],
): Promise<OnlineColumns> {
  const n = loaded.columns.rowCount;
  const columns: unknown[][] = new Array(features.length);
  const readBack: number[] = [];
  features.forEach((f, c) => {
    const given = loaded.columns.kinds[c] === 'none' ? new Array<unknown>(n).fill(null) : givenOnline(f, loaded, c);
    if (given === null) readBack.push(c);
    else columns[c] = given as unknown[];
  });
  const eventTimes = new Array<number | null>(n).fill(null);
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const converters = readBack.map((c) => onlineConverter(features[c]!.parsed));
  for (const c of readBack) columns[c] = new Array<unknown>(n);
  const select = [
    'rowid',
    ...readBack.map((c) => (features[c]!.parsed.kind === 'decimal' ? `CAST(${ident(features[c]!.name)} AS VARCHAR)` : ident(features[c]!.name))),
  ];
  select.push(et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed));
  // In key order (a batch of upserts that walks the online table's B-tree in order is ≈ 2× faster
  // than one in random order); rows of one identity stay in input order, so the last one wins.
  const order = [...schema.primaryKey.map(ident), ...(et === null ? [] : [`${ident(et.name)} NULLS FIRST`]), 'rowid'];
  const result = await connection.run(`SELECT ${select.join(', ')} FROM ${coerced} ORDER BY ${order.join(', ')}`);
  const rowids = new Int32Array(n);
  let sorted = true;
  let base = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    const ids = chunk.getColumnVector(0);
    for (let i = 0; i < count; i++) {
      const id = Number(ids.getItem(i) as bigint);
      rowids[base + i] = id;
      if (id !== base + i) sorted = false;
    }
    for (let j = 0; j < readBack.length; j++) {
      const vector = chunk.getColumnVector(1 + j);
      const convert = converters[j]!;
      const column = columns[readBack[j]!]!;
      for (let i = 0; i < count; i++) column[base + i] = convert(vector.getItem(i));
    }
    if (et !== null) {
      const vector = chunk.getColumnVector(1 + readBack.length);
      for (let i = 0; i < count; i++) {
        const micros = vector.getItem(i);
        eventTimes[base + i] = micros === null ? null : Number(micros as bigint);
      }
    }
    base += count;
  }
  if (base !== n) throw new Error(`stage: read back ${base} of ${n} coerced rows`);
  if (!sorted) {
    const read = new Set(readBack);
    for (let c = 0; c < columns.length; c++) {
      if (read.has(c)) continue;
      const given = columns[c]!;
      const permuted = new Array<unknown>(n);
      for (let i = 0; i < n; i++) permuted[i] = given[rowids[i]!];
      columns[c] = permuted;
    }
  }
  return { rowCount: n, columns, eventTimes };
}
