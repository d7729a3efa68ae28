import { closeSync, openSync, writevSync } from 'node:fs';
import duckdb from '@duckdb/node-bindings';
import { type DuckDBConnection, DuckDBTypeId, type DuckDBVarCharVector } from '@duckdb/node-api';
import { ident, sqlString } from '../../../domain/sql.ts';
import type { ExportTarget } from '../offline-store.ts';

/**
 * The columns file: a query's rows column by column, numbers as their bytes, for clients that
 * build arrays from a buffer (numpy's `frombuffer`) instead of parsing text. A CSV of doubles costs
 * more to print (DuckDB) and to parse (the client) than the rows cost to read; here a DOUBLE column
 * is DuckDB's own memory, copied.
 *
 * Layout (all integers little-endian; every section starts at a multiple of 8 bytes):
 *   "GRCOLS01"                                   magic, 8 bytes
 *   u32 header length, u32 0, header (UTF-8 JSON), zero padding
 *     header: { "columns": [{ "name": string, "encoding": "f8"|"f4"|"i8"|"i4"|"b1"|"ts_us"|"text" }] }
 *   blocks, each: u32 rows, u32 0; then per column, in header order:
 *     u32 validity bytes (0: no nulls in the block), u32 data bytes,
 *     validity: bit i of the block's bitmask (least significant bit first) set when row i has a value,
 *     data: `rows` values of the encoding's width (f8/f4 IEEE doubles/floats, i8/i4 signed integers,
 *           b1 one byte 0 or 1, ts_us microseconds since 1970-01-01 UTC as i8; a null's bytes are
 *           undefined), or for `text` a JSON array of `rows` strings and nulls
 *   u32 0, u32 0: the end (a block of no rows)
 * Numeric, boolean and timestamp columns keep their bytes; any other column is DuckDB's text of
 * the value (what a CSV export prints), in `text`.
 */

const COLUMNS_MAGIC = 'GRCOLS01';

/** Writes the rows of `sql` to a file in one of the download formats: Parquet, CSV (with a header) or the columns file. */
export async function exportRows(connection: DuckDBConnection, sql: string, target: ExportTarget): Promise<void> {
  if (target.format === 'COLUMNS') {
    await writeColumnsFile(connection, sql, target.path);
    return;
  }
  const options = target.format === 'PARQUET' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
  await connection.run(`COPY (${sql}) TO ${sqlString(target.path)} (${options})`);
}

type Encoding = 'f8' | 'f4' | 'i8' | 'i4' | 'b1' | 'ts_us' | 'text';

/** Fixed-width encodings by DuckDB type, with their bytes per value. */
const FIXED: ReadonlyMap<DuckDBTypeId, { encoding: Encoding; width: number }> = new Map([
  [DuckDBTypeId.DOUBLE, { encoding: 'f8', width: 8 }],
  [DuckDBTypeId.FLOAT, { encoding: 'f4', width: 4 }],
  [DuckDBTypeId.BIGINT, { encoding: 'i8', width: 8 }],
  [DuckDBTypeId.INTEGER, { encoding: 'i4', width: 4 }],
  [DuckDBTypeId.BOOLEAN, { encoding: 'b1', width: 1 }],
  [DuckDBTypeId.TIMESTAMP, { encoding: 'ts_us', width: 8 }],
  [DuckDBTypeId.TIMESTAMP_TZ, { encoding: 'ts_us', width: 8 }],
]);

const ZEROS = Buffer.alloc(8);
const padding = (bytes: number) => (bytes % 8 === 0 ? 0 : 8 - (bytes % 8));

/** Writes the rows of `sql` to `path` as a columns file; returns the number of rows. */
export async function writeColumnsFile(connection: DuckDBConnection, sql: string, path: string): Promise<number> {
  const probe = await connection.stream(`SELECT * FROM (${sql}) LIMIT 0`);
  const types = probe.columnTypes().map((t) => t.typeId);
  const columns = probe.columnNames().map((name, i) => {
    const fixed = FIXED.get(types[i]!);
    return { name, encoding: fixed?.encoding ?? ('text' as Encoding), width: fixed?.width ?? 0 };
  });
  // Everything without a fixed width goes as DuckDB's text of it, which is what a CSV export prints.
  const select = columns.map((c) => (c.encoding === 'text' ? `CAST(${ident(c.name)} AS VARCHAR) AS ${ident(c.name)}` : ident(c.name))).join(', ');
  const result = await connection.stream(`SELECT ${select} FROM (${sql})`);

  const fd = openSync(path, 'w');
  let rows = 0;
  try {
    const header = Buffer.from(JSON.stringify({ columns: columns.map(({ name, encoding }) => ({ name, encoding })) }));
    writevSync(fd, [Buffer.from(COLUMNS_MAGIC), u32Pair(header.length, 0), header, ZEROS.subarray(0, padding(header.length))]);
    while (true) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const count = chunk.rowCount;
      const parts: Uint8Array[] = [u32Pair(count, 0)];
      for (let k = 0; k < columns.length; k++) {
        const column = columns[k]!;
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
        const validity = validityOf(vector, count);
        let data: Uint8Array;
        if (column.encoding === 'text') {
          const values = chunk.getColumnVector(k) as DuckDBVarCharVector;
          const texts: (string | null)[] = new Array(count);
          for (let r = 0; r < count; r++) texts[r] = values.getItem(r);
          data = Buffer.from(JSON.stringify(texts));
        } else {
          // DuckDB's memory for this chunk: copied now, as the next fetch reuses it.
          data = Buffer.from(duckdb.vector_get_data(vector, count * column.width));
        }
        parts.push(u32Pair(validity?.length ?? 0, data.length));
        if (validity) parts.push(validity, ZEROS.subarray(0, padding(validity.length)));
        parts.push(data, ZEROS.subarray(0, padding(data.length)));
      }
      writevSync(fd, parts);
      rows += count;
    }
    writevSync(fd, [u32Pair(0, 0)]);
  } finally {
    closeSync(fd);
  }
  return rows;
}

/** The vector's validity bitmask for `count` rows (copied), or null when every row has a value. */
function validityOf(vector: duckdb.Vector, count: number): Uint8Array | null {
  const bytes = Math.ceil(count / 8);
  const mask = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8) as Uint8Array | null;
  if (!mask || mask.length === 0) return null;
  // Bits past `count` in the last byte are not rows: only the rows' bits must all be set.
  for (let i = 0; i < bytes; i++) {
    const rows = i === bytes - 1 && count % 8 !== 0 ? (1 << (count % 8)) - 1 : 0xff;
    if ((mask[i]! & rows) !== rows) return Buffer.from(mask.subarray(0, bytes));
  }
  return null;
}

function u32Pair(a: number, b: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  return out;
}
