import { DuckDBDateValue, DuckDBDecimalValue, type DuckDBConnection } from '@duckdb/node-api';
import type { DataFrameColumn } from '../../../src/domain/data-frame.ts';
import { readDataFrame } from '../../../src/stores/offline/duckdb/index.ts';

/** One generated row: raw values as the appender takes them (DECIMAL as unscaled bigints, DATE as days). */
export interface Row {
  readonly train: boolean;
  readonly d: number | null;
  readonly f: number | null;
  readonly i: number | null;
  readonly b: bigint | null;
  readonly dec: bigint | null;
  readonly dec38: bigint | null;
  readonly s: string | null;
  readonly bo: boolean | null;
  readonly dt: number | null;
}

/** The test table's feature columns: name, feature type, DuckDB type. */
export const COLUMNS = [
  { name: 'd', type: 'DOUBLE', duck: 'DOUBLE' },
  { name: 'f', type: 'FLOAT', duck: 'FLOAT' },
  { name: 'i', type: 'INT', duck: 'INTEGER' },
  { name: 'b', type: 'BIGINT', duck: 'BIGINT' },
  { name: 'dec', type: 'DECIMAL(18,4)', duck: 'DECIMAL(18,4)' },
  { name: 'dec38', type: 'DECIMAL(38,9)', duck: 'DECIMAL(38,9)' },
  { name: 's', type: 'STRING', duck: 'VARCHAR' },
  { name: 'bo', type: 'BOOLEAN', duck: 'BOOLEAN' },
  { name: 'dt', type: 'DATE', duck: 'DATE' },
] as const;

export type ColumnName = (typeof COLUMNS)[number]['name'];

/** Creates table `name` (id, train, every column) and appends the rows in order. */
export async function createTable(connection: DuckDBConnection, name: string, rows: readonly Row[]): Promise<void> {
  await connection.run(`CREATE OR REPLACE TABLE "${name}" (id INTEGER, train BOOLEAN, ${COLUMNS.map((c) => `"${c.name}" ${c.duck}`).join(', ')})`);
  const appender = await connection.createAppender(name);
  rows.forEach((row, id) => {
    appender.appendInteger(id);
    appender.appendBoolean(row.train);
    const put = <T>(v: T | null, fn: (v: T) => void) => (v === null ? appender.appendNull() : fn(v));
    put(row.d, (v) => appender.appendDouble(v));
    put(row.f, (v) => appender.appendFloat(v));
    put(row.i, (v) => appender.appendInteger(v));
    put(row.b, (v) => appender.appendBigInt(v));
    put(row.dec, (v) => appender.appendDecimal(new DuckDBDecimalValue(v, 18, 4)));
    put(row.dec38, (v) => appender.appendDecimal(new DuckDBDecimalValue(v, 38, 9)));
    put(row.s, (v) => appender.appendVarchar(v));
    put(row.bo, (v) => appender.appendBoolean(v));
    put(row.dt, (v) => appender.appendDate(new DuckDBDateValue(v)));
    appender.endRow();
  });
  appender.flushSync();
  appender.closeSync();
}

/** The table's rows as records of JSON-safe values (what the online store holds), in id order. */
export async function readRecords(connection: DuckDBConnection, table: string): Promise<Record<string, unknown>[]> {
  const columns: DataFrameColumn[] = COLUMNS.map((c) => ({ name: c.name, type: c.type }));
  const frame = await readDataFrame(connection, `SELECT ${COLUMNS.map((c) => `"${c.name}"`).join(', ')} FROM "${table}" ORDER BY id`, columns);
  return frame.rows.map((row) => Object.fromEntries(columns.map((c, j) => [c.name, row[j]])));
}

/** Same value for the purpose of SQL/JS agreement: ===, or both NaN. */
export function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/** Text of an unscaled decimal. */
export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

/** Compares strings by Unicode code point (as UTF-8 bytes and Python's str order). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k]!.codePointAt(0)! - y[k]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** quantile_cont as documented by DuckDB: linear interpolation between closest ranks, lo·(1 − d) + hi·d. */
export function quantileCont(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rn = (sorted.length - 1) * p;
  const lo = Math.floor(rn);
  const hi = Math.ceil(rn);
  if (lo === hi) return sorted[lo]!;
  const d = rn - lo;
  return sorted[lo]! * (1 - d) + sorted[hi]! * d;
}
