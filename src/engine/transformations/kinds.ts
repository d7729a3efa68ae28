import { duckdbType, formatFeatureType, parseFeatureType, type ParsedType } from '../../domain/feature-types.ts';
import { jsonSafeConverter } from '../../domain/json-safe.ts';
import { sqlString } from '../../domain/sql.ts';
import { doubleLiteral, finiteOrNull } from './numeric.ts';

/**
 * The feature types transformations read, as one kind each. Both sides of every function read
 * an input the same way:
 * - numeric kinds become a DOUBLE (SQL `CAST(x AS DOUBLE)`; DECIMAL through its text, so both sides
 *   round the exact decimal once); null, NaN and ±Infinity are all *missing*, as NaN is in sklearn;
 * - value kinds keep their type (categories, imputed values) in DataFrame's JSON-safe form.
 */
export type Kind = 'int' | 'bigint' | 'double' | 'float' | 'decimal' | 'string' | 'boolean' | 'date';
export type NumericKind = Extract<Kind, 'int' | 'bigint' | 'double' | 'float' | 'decimal'>;

export const NUMERIC_KINDS: readonly Kind[] = ['int', 'bigint', 'double', 'float', 'decimal'];
/** Kinds that make sensible categories (exact values; no floats). */
export const CATEGORY_KINDS: readonly Kind[] = ['string', 'int', 'bigint', 'boolean', 'date'];
/** Kinds whose values an imputer can return as they are. */
export const VALUE_KINDS: readonly Kind[] = ['string', 'int', 'bigint', 'double', 'float', 'boolean', 'date'];

const TYPE_NAMES: Record<Kind, string> = {
  int: 'INT',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  float: 'FLOAT',
  decimal: 'DECIMAL',
  string: 'STRING',
  boolean: 'BOOLEAN',
  date: 'DATE',
};

/** The feature type names of kinds, for messages and the function list. */
export function typeNames(kinds: readonly Kind[]): string[] {
  return kinds.map((k) => TYPE_NAMES[k]);
}

/** The kind of a parsed feature type, or null when no transformation reads it (TIMESTAMP, BINARY, ARRAY). */
export function kindOf(type: ParsedType): Kind | null {
  if (type.kind === 'decimal') return 'decimal';
  if (type.kind === 'array') return null;
  switch (type.name) {
    case 'INT':
      return 'int';
    case 'BIGINT':
      return 'bigint';
    case 'DOUBLE':
      return 'double';
    case 'FLOAT':
      return 'float';
    case 'STRING':
      return 'string';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE':
      return 'date';
    default:
      return null;
  }
}

export function isNumericKind(kind: Kind): kind is NumericKind {
  return NUMERIC_KINDS.includes(kind);
}

/**
 * The feature type of a DuckDB column type as DESCRIBE prints it, or null when it has none.
 * Narrow integer types read as INT and UINTEGER as BIGINT (their values fit).
 */
export function featureTypeOfDuckdb(duckType: string): string | null {
  const t = duckType.trim().toUpperCase();
  const simple: Record<string, string> = {
    BIGINT: 'BIGINT',
    INTEGER: 'INT',
    SMALLINT: 'INT',
    TINYINT: 'INT',
    UTINYINT: 'INT',
    USMALLINT: 'INT',
    UINTEGER: 'BIGINT',
    DOUBLE: 'DOUBLE',
    FLOAT: 'FLOAT',
    VARCHAR: 'STRING',
    BOOLEAN: 'BOOLEAN',
    DATE: 'DATE',
    TIMESTAMP: 'TIMESTAMP',
    'TIMESTAMP WITH TIME ZONE': 'TIMESTAMP',
    BLOB: 'BINARY',
  };
  if (simple[t] !== undefined) return simple[t]!;
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  if (t.endsWith('[]')) {
    const element = featureTypeOfDuckdb(t.slice(0, -2));
    return element === null ? null : `ARRAY<${element}>`;
  }
  return null;
}

/** Canonical type text and kind of a feature type text (throws ValidationError when it does not parse). */
export function describeType(type: string, path?: readonly (string | number)[]): { canonical: string; parsed: ParsedType; kind: Kind | null } {
  const parsed = parseFeatureType(type, path);
  return { canonical: formatFeatureType(parsed), parsed, kind: kindOf(parsed) };
}

// ---------------------------------------------------------------------------------------------
// SQL side

/** SQL: the DOUBLE value of a numeric input, NULL when missing (null, NaN, ±Infinity). */
export function doubleSql(x: string, kind: NumericKind): string {
  switch (kind) {
    case 'int':
    case 'bigint':
      return `CAST(${x} AS DOUBLE)`;
    case 'decimal':
      // CAST(DECIMAL AS DOUBLE) divides a rounded integer by 10^scale (rounding twice for wide
      // decimals); the text round trip rounds the exact value once, as JavaScript's Number(text).
      return `CAST(CAST(${x} AS VARCHAR) AS DOUBLE)`;
    case 'double':
    case 'float':
      return `CASE WHEN isfinite(${x}) THEN CAST(${x} AS DOUBLE) END`;
  }
}

/** SQL: true when a value-kind input is present (not null; for DOUBLE and FLOAT also finite), NULL or false when missing. */
export function presentSql(x: string, kind: Kind): string {
  return kind === 'double' || kind === 'float' ? `isfinite(${x})` : `${x} IS NOT NULL`;
}

/** The DuckDB type of a feature type text. */
export function duckType(type: string): string {
  return duckdbType(type);
}

/** SQL literal of a JSON-safe value of a kind (as DataFrame carries it), typed as `type`. */
export function literalSql(value: unknown, kind: Kind, type: string): string {
  switch (kind) {
    case 'string': {
      const text = String(value);
      // A NUL cannot appear inside a SQL string literal: splice it in with chr(0).
      return text.includes('\0') ? `(${text.split('\0').map(sqlString).join(' || chr(0) || ')})` : sqlString(text);
    }
    case 'int':
    case 'bigint':
      return `CAST(${String(value)} AS ${duckType(type)})`;
    case 'double':
    case 'decimal':
      return doubleLiteral(Number(value));
    case 'float':
      return `CAST(${doubleLiteral(Number(value))} AS FLOAT)`;
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    case 'date': {
      const text = String(value);
      if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `CAST(${sqlString(text)} AS DATE)`;
      // Years outside 0000–9999 print as ±YYYYYY-MM-DD (DataFrame's form), which DuckDB does not parse: count days instead.
      const days = Math.round(Date.parse(`${text}T00:00:00Z`) / 86_400_000);
      if (!Number.isFinite(days)) throw new Error(`not a DATE: ${text}`);
      return `CAST(DATE '1970-01-01' + ${days} AS DATE)`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JavaScript side: records hold DataFrame's JSON-safe values (BIGINT beyond 2^53 and DECIMAL as
// text; DOUBLE NaN and ±Infinity as "NaN", "Infinity", "-Infinity"); passed features may be looser.

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? NaN : Number(v);
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

/** JS: the DOUBLE value of a numeric input, or null when missing or not a number. Mirrors doubleSql. */
export function doubleReader(kind: NumericKind): (v: unknown) => number | null {
  if (kind === 'float') return (v) => (v === null || v === undefined ? null : finiteOrNull(Math.fround(toNumber(v))));
  return (v) => (v === null || v === undefined ? null : finiteOrNull(toNumber(v)));
}

const MAX_INT64 = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d+$/;

/**
 * JS: the JSON-safe value of a value-kind input as the SQL path would return it (null when missing
 * or not a value of the kind).
 */
export function valueReader(kind: Kind): (v: unknown) => unknown {
  switch (kind) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : null);
    case 'int':
    case 'bigint': {
      const limit = kind === 'int' ? 2n ** 31n - 1n : MAX_INT64;
      const convert = jsonSafeConverter('BIGINT');
      return (v) => {
        if (typeof v === 'number' && Number.isSafeInteger(v)) return kind === 'int' && (v > 2 ** 31 - 1 || v < -(2 ** 31)) ? null : v + 0;
        let big: bigint;
        if (typeof v === 'bigint') big = v;
        else if (typeof v === 'number' && Number.isInteger(v)) big = BigInt(v);
        else if (typeof v === 'string' && INTEGER_TEXT.test(v)) big = BigInt(v);
        else return null;
        return big > limit || big < -limit - 1n ? null : convert(big);
      };
    }
    case 'double':
      return (v) => (v === null || v === undefined ? null : finiteOrNull(toNumber(v)));
    case 'float': {
      const shortest = jsonSafeConverter('FLOAT');
      return (v) => {
        if (v === null || v === undefined) return null;
        const x = finiteOrNull(Math.fround(toNumber(v)));
        return x === null ? null : shortest(x);
      };
    }
    case 'decimal':
      return (v) => (v === null || v === undefined ? null : finiteOrNull(toNumber(v)));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : null);
    case 'date':
      return (v) => (typeof v === 'string' ? v : null);
  }
}
