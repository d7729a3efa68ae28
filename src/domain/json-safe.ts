import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { parseFeatureType, type ParsedType } from './feature-types.ts';
import { shortestFloat32 } from './float32.ts';
import { daysToIsoDate, microsToIso } from './timestamps.ts';

/**
 * The JSON-safe form of feature values (the DataFrame rules), from values as DuckDB's client
 * returns them. Backend-free: it depends on the DuckDB client's value classes only, which the
 * engine (transformations, statistics) receives from its queries too, never on a store.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** A converter of one DuckDB value to its JSON-safe form. */
export type Converter = (value: DuckDBValue) => unknown;
const converterCache = new Map<string, Converter>();

/** A double as JSON: itself when finite, else "NaN", "Infinity" or "-Infinity". */
export function safeNumber(x: number): unknown {
  return Number.isFinite(x) ? x : String(x);
}

/** A BIGINT as JSON: a number when safe, else its decimal text. */
export function bigintToJson(value: bigint): number | string {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
}

/**
 * The converter of a feature type from values as `@duckdb/node-api` returns them (bigint,
 * DuckDBTimestampValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBBlobValue, DuckDBListValue, …)
 * to the JSON-safe form of DataFrame: BIGINT a number when safe else a string, TIMESTAMP ISO UTC
 * with microseconds, DATE `YYYY-MM-DD`, DECIMAL a string, BINARY base64, ARRAY an array; DOUBLE
 * and FLOAT numbers (NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"). Values
 * already JSON-safe pass through.
 */
export function jsonSafeConverter(type: ParsedType | string): Converter {
  const parsed = typeof type === 'string' ? parseFeatureType(type) : type;
  const key = typeof type === 'string' ? type : JSON.stringify(type);
  const cached = converterCache.get(key);
  if (cached) return cached;
  const converter = buildConverter(parsed);
  converterCache.set(key, converter);
  return converter;
}

function buildConverter(t: ParsedType): Converter {
  if (t.kind === 'array') {
    const element = buildConverter(t.element);
    return (v) => {
      if (v === null || v === undefined) return null;
      if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map((item) => element(item));
      if (Array.isArray(v)) return v.map((item) => element(item as DuckDBValue));
      return v;
    };
  }
  if (t.kind === 'decimal') {
    return (v) => (v === null || v === undefined ? null : v instanceof DuckDBDecimalValue ? v.toString() : String(v));
  }
  switch (t.name) {
    case 'BIGINT':
    case 'INT':
      return (v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? bigintToJson(v) : v);
    case 'DOUBLE':
      return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(v) : v);
    case 'FLOAT':
      return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(shortestFloat32(v)) : v);
    case 'TIMESTAMP':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof DuckDBTimestampValue) return microsToIso(v.micros);
        if (typeof v === 'object' && 'micros' in v && typeof v.micros === 'bigint') return microsToIso(v.micros);
        return v instanceof Date ? microsToIso(BigInt(v.getTime()) * 1000n) : v;
      };
    case 'DATE':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof DuckDBDateValue) return daysToIsoDate(v.days);
        return v instanceof Date ? v.toISOString().slice(0, 10) : v;
      };
    case 'BINARY':
      return (v) => {
        if (v === null || v === undefined) return null;
        const bytes = v instanceof DuckDBBlobValue ? v.bytes : v instanceof Uint8Array ? v : null;
        return bytes === null ? v : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      };
    default:
      return (v) => (v === undefined ? null : v);
  }
}
