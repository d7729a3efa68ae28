import { DuckDBArrayValue, DuckDBDecimalValue, DuckDBListValue, type DuckDBConnection, type DuckDBDataChunk, type DuckDBValue } from '@duckdb/node-api';
import type { DataFrame, DataFrameColumn } from '../../../domain/data-frame.ts';
import type { ParsedType } from '../../../domain/feature-types.ts';
import { jsonSafeConverter, safeNumber, type Converter } from '../../../domain/json-safe.ts';

/** DuckDB results → JSON-safe values: DataFrames read chunk by chunk, online values, aggregates. */

/**
 * The converter of values for the online store: jsonSafeConverter's, except that a FLOAT stays
 * the number DuckDB returns (the store keeps the float and formats it when read).
 */
export function onlineConverter(type: ParsedType): Converter {
  if (type.kind === 'scalar' && type.name === 'FLOAT') return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(v) : v);
  return jsonSafeConverter(type);
}

/** A DuckDB value of an aggregate result as a plain value: numbers for integers and decimals, arrays for lists, text otherwise. */
export function plainValue(value: DuckDBValue): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(plainValue);
  return String(value);
}

/** One value from DuckDB, JSON-safe for a feature type (see jsonSafeConverter). */
export function toJsonSafe(value: DuckDBValue | undefined, type: ParsedType | string): unknown {
  return jsonSafeConverter(type)(value ?? null);
}

/** Column `column` of a chunk, converted (one array of JSON-safe values; no row objects). */
export function convertVector(chunk: DuckDBDataChunk, column: number, converter: Converter): unknown[] {
  const vector = chunk.getColumnVector(column);
  const count = chunk.rowCount;
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = converter(vector.getItem(i));
  return out;
}

/**
 * Runs `sql` and reads it, chunk by chunk and column by column, into a DataFrame whose columns
 * are `columns` (result column i is `columns[i]`; values converted by each column's type).
 */
export async function readDataFrame(connection: DuckDBConnection, sql: string, columns: readonly DataFrameColumn[]): Promise<DataFrame> {
  const converters = columns.map((c) => jsonSafeConverter(c.type));
  const result = await connection.stream(sql);
  const rows: unknown[][] = [];
  const width = columns.length;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    const base = rows.length;
    for (let i = 0; i < count; i++) rows.push(new Array<unknown>(width));
    for (let c = 0; c < width; c++) {
      const vector = chunk.getColumnVector(c);
      const convert = converters[c]!;
      for (let i = 0; i < count; i++) rows[base + i]![c] = convert(vector.getItem(i));
    }
  }
  return { columns, rows };
}
