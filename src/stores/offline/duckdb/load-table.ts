import { randomUUID } from 'node:crypto';
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBTimestampValue,
  FLOAT,
  INTEGER,
  TIMESTAMP,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { duckdbType, parseFeatureType } from '../../../domain/feature-types.ts';
import { ident } from '../../../domain/sql.ts';

/**
 * Appends columns of values to a table, a data chunk at a time. A Float64Array column (of a DOUBLE
 * column, NaN for null) is copied into the chunk as its bytes, with a validity mask for its NaNs;
 * an Int32Array (of an INTEGER column, without nulls) as its bytes.
 */
export async function appendColumns(
  connection: DuckDBConnection,
  table: string,
  types: readonly DuckDBType[],
  columns: readonly (readonly unknown[] | Float64Array | Int32Array)[],
  rowCount: number,
): Promise<void> {
  const appender = await connection.createAppender(table);
  try {
    for (let start = 0; start < rowCount; start += CHUNK_ROWS) {
      const count = Math.min(CHUNK_ROWS, rowCount - start);
      const chunk = DuckDBDataChunk.create([...types], count);
      columns.forEach((values, c) => {
        if (values instanceof Float64Array) copyDoubles(chunk, c, values.subarray(start, start + count));
        else if (values instanceof Int32Array) copyBytes(chunk, c, values.subarray(start, start + count));
        else chunk.setColumnValues(c, (count === values.length ? values : values.slice(start, start + count)) as DuckDBValue[]);
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** An INTEGER column of a chunk from an Int32Array: its bytes, no nulls. */
function copyBytes(chunk: DuckDBDataChunk, column: number, values: Int32Array): void {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
}

/** A DOUBLE column of a chunk from a Float64Array: its bytes, and NaN as null. */
function copyDoubles(chunk: DuckDBDataChunk, column: number, values: Float64Array): void {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
  let mask: BigUint64Array | null = null;
  for (let r = 0; r < values.length; r++) {
    const v = values[r]!;
    if (!Number.isNaN(v)) continue;
    mask ??= new BigUint64Array(Math.ceil(values.length / 64)).fill(0xffff_ffff_ffff_ffffn);
    mask[r >> 6]! &= ~(1n << BigInt(r & 63));
  }
  if (mask) {
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer as ArrayBuffer, 0, mask.byteLength);
  }
}

/** Rows per data chunk appended: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;

export const PG_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:\+00(?::00)?)?$/;
export const PG_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;

/**
 * How a column of text values (PostgreSQL's text forms, in UTC) goes into a data chunk for a
 * feature type: `parse` turns a text into the value of `type`, or undefined when it cannot (then
 * the text goes as VARCHAR, cast by DuckDB); a null `parse` always sends text.
 */
export function chunkColumn(type: string): { type: DuckDBType; parse: ((text: string) => DuckDBValue | undefined) | null } {
  const parsed = parseFeatureType(type);
  if (parsed.kind === 'scalar') {
    switch (parsed.name) {
      case 'INT':
        return { type: INTEGER, parse: Number };
      case 'BIGINT':
        return { type: BIGINT, parse: (text) => BigInt(text) };
      case 'DOUBLE':
        return { type: DOUBLE, parse: Number };
      case 'FLOAT':
        return { type: FLOAT, parse: Number };
      case 'BOOLEAN':
        return { type: BOOLEAN, parse: (text) => text === 't' || text === 'true' };
      case 'TIMESTAMP':
        return {
          type: TIMESTAMP,
          parse: (text) => {
            const m = PG_TIMESTAMP.exec(text);
            if (!m) return undefined;
            const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
            if (+m[1]! < 100) return undefined; // Date.UTC maps years 0–99 to 1900–1999
            return new DuckDBTimestampValue(BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0'));
          },
        };
      case 'DATE':
        return {
          type: DATE,
          parse: (text) => {
            const m = PG_DATE.exec(text);
            if (!m || +m[1]! < 100) return undefined;
            return new DuckDBDateValue(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / 86_400_000);
          },
        };
    }
  }
  return { type: VARCHAR, parse: null };
}

/**
 * Loads rows that arrive as text (an external source's batches), on `connection`, into a new table of the
 * in-memory database, through the DuckDB appender: each value is cast to its column's DuckDB
 * type as it is appended (timestamps as UTC text). The table is visible to every connection of
 * the store; the caller drops it (`OfflineStore.dropTable`). Returns its quoted name.
 */
export async function loadTable(
  connection: DuckDBConnection,
  columns: readonly { name: string; type: string }[],
  batches: AsyncIterable<readonly (readonly (string | null)[])[]>,
): Promise<string> {
  const name = `ext_${randomUUID().replaceAll('-', '')}`;
  const table = ident(name);
  await connection.run(`CREATE TABLE ${table} (${columns.map((c) => `${ident(c.name)} ${duckdbType(c.type)}`).join(', ')})`);
  try {
    const appender = await connection.createAppender(name);
    try {
      const width = columns.length;
      const kinds = columns.map((c) => chunkColumn(c.type));
      // Whole vectors at a time: values parsed here go into typed vectors copied into DuckDB in
      // one call per vector; the rest go as text that DuckDB casts vector by vector (far
      // cheaper than a call per value). A column whose text this parser does not know (a BC
      // date, `infinity`) goes as text for that chunk.
      for await (const batch of batches) {
        for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, batch.length - start);
          const types: DuckDBType[] = [];
          const values: DuckDBValue[][] = [];
          for (let c = 0; c < width; c++) {
            const kind = kinds[c]!;
            const column = new Array<DuckDBValue>(count);
            let parsed = kind.parse !== null;
            for (let i = 0; i < count; i++) {
              const text = batch[start + i]![c];
              if (text === null || text === undefined) column[i] = null;
              else if (parsed) {
                const value = kind.parse!(text);
                if (value === undefined) {
                  parsed = false;
                  i = -1;
                } else column[i] = value;
              } else column[i] = text;
            }
            types.push(parsed ? kind.type : VARCHAR);
            values.push(column);
          }
          const chunk = DuckDBDataChunk.create(types, count);
          chunk.setColumns(values);
          appender.appendDataChunk(chunk);
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    return table;
  } catch (error) {
    await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    throw error;
  }
}
