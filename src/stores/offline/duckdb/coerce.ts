import { duckdbType, type ParsedType } from '../../../domain/feature-types.ts';
import { EPOCH_MILLIS_THRESHOLD } from '../../../domain/timestamps.ts';
import { FLOAT_TYPES, INTEGER_TYPES, isNumeric, isStringFeature, isTemporal, isText, JSON_VALUE, listElementType, type Feature } from './features.ts';

/** Coercion of raw input columns to feature types, in SQL, and why a value does not coerce. */

/**
 * Why a value (as text, at most 200 characters) does not fit feature `f`, read from a column of
 * type `src`: a JSON value other than a string for a STRING, a number out of range (infinite,
 * NaN, beyond FLOAT), or else not a valid value of the type.
 */
export function badValueReason(value: unknown, f: Feature, src: string): string {
  const text = typeof value === 'string' ? value : String(value);
  if (src === JSON_VALUE && isStringFeature(f)) return `expects a string, got ${jsonKind(text)}`;
  if (f.parsed.kind === 'scalar' && ['DOUBLE', 'FLOAT', 'INT', 'BIGINT'].includes(f.parsed.name)) {
    const t = text.trim();
    const number = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : null;
    if (/^[+-]?(inf|infinity|nan)$/i.test(t) || (number !== null && !Number.isFinite(number))) {
      return `${JSON.stringify(text)} is not a finite number (${f.type} refuses infinity, NaN and overflow)`;
    }
    if (f.parsed.name === 'FLOAT' && number !== null && Math.abs(number) > FLOAT_MAX) return `${JSON.stringify(text)} is out of range for FLOAT`;
  }
  return `${JSON.stringify(value)} is not a valid ${f.type}`;
}

/** The largest finite FLOAT (float32). */
export const FLOAT_MAX = 3.4028234663852886e38;

/** `a number`, `a boolean`, `an object`, `an array`: the kind of a JSON text. */
export function jsonKind(text: string): string {
  const head = text.trimStart()[0];
  if (head === '{') return 'an object';
  if (head === '[') return 'an array';
  if (head === 't' || head === 'f') return 'a boolean';
  return 'a number';
}

export const WIDENING: Readonly<Record<string, readonly string[]>> = {
  BIGINT: ['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER'],
  INTEGER: ['TINYINT', 'SMALLINT', 'UTINYINT', 'USMALLINT'],
  DOUBLE: [...INTEGER_TYPES, 'FLOAT'],
  FLOAT: ['TINYINT', 'SMALLINT', 'UTINYINT', 'USMALLINT'],
  TIMESTAMP: ['DATE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
  DATE: ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
};

/** Whether every value of `src` casts to `target` (so the cast needs no check): widening numbers, temporal precision. */
export function widens(src: string, target: string): boolean {
  if (WIDENING[target]?.includes(src)) return true;
  if (target === 'DOUBLE' && src.startsWith('DECIMAL')) return true;
  const from = /^DECIMAL\((\d+),(\d+)\)$/.exec(src);
  const to = /^DECIMAL\((\d+),(\d+)\)$/.exec(target);
  if (from && to) return Number(from[2]) <= Number(to[2]) && Number(from[1]) - Number(from[2]) <= Number(to[1]) - Number(to[2]);
  return false;
}

/** Epoch seconds (or milliseconds above 1e11) as a DOUBLE expression → TIMESTAMP, NULL when out of range. */
export function epochToTimestamp(d: string): string {
  return `TRY(make_timestamp(CAST(round(CASE WHEN abs(${d}) > ${EPOCH_MILLIS_THRESHOLD} THEN (${d}) * 1e3 ELSE (${d}) * 1e6 END) AS BIGINT)))`;
}

/**
 * SQL that coerces `v` (of DuckDB type `src`) to feature type `t`: `value` is NULL when `v` is NULL
 * or does not coerce; `bad` is true exactly when `v` is not NULL and does not coerce (for arrays:
 * any element does not).
 */
export function coerce(v: string, src: string, t: ParsedType, depth = 0): { value: string; bad: string } {
  if (src === duckdbType(t) && FLOAT_TYPES.has(src))
    return { value: `CASE WHEN isfinite(${v}) THEN ${v} END`, bad: `(${v} IS NOT NULL AND NOT isfinite(${v}))` };
  if (src === duckdbType(t) && !isText(src)) return { value: v, bad: 'false' };
  if (src === JSON_VALUE) {
    // Only a JSON string is a STRING; JSON null is null.
    if (t.kind !== 'scalar' || t.name !== 'STRING') return coerce(v, 'JSON', t, depth);
    return {
      value: `CASE WHEN json_type(${v}) = 'VARCHAR' THEN ${v} ->> '$' END`,
      bad: `(${v} IS NOT NULL AND json_type(${v}) <> 'VARCHAR' AND json_type(${v}) <> 'NULL')`,
    };
  }
  if (t.kind === 'array') {
    const x = `x${depth}`;
    const srcElement = isText(src) ? 'VARCHAR' : listElementType(src);
    if (srcElement === null) {
      const value = `TRY_CAST(${v} AS ${duckdbType(t)})`;
      return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
    }
    const list = isText(src) ? `TRY(json_transform_strict(${v}, '["VARCHAR"]'))` : v;
    const element = coerce(x, srcElement, t.element, depth + 1);
    const value = element.value === x ? list : `list_transform(${list}, lambda ${x}: ${element.value})`;
    const bad =
      element.bad === 'false'
        ? `(${v} IS NOT NULL AND ${list} IS NULL)`
        : `(${v} IS NOT NULL AND (${list} IS NULL OR coalesce(list_bool_or(list_transform(${list}, lambda ${x}: ${element.bad})), false)))`;
    return { value, bad };
  }
  const target = duckdbType(t);
  if (FLOAT_TYPES.has(target) && (FLOAT_TYPES.has(src) || isText(src))) {
    // Text such as 'inf', 'nan' or '1e400' (and FLOAT overflow such as '3.5e38') casts to a
    // non-finite number, which no feature stores.
    const cast = `TRY_CAST(${v} AS ${target})`;
    const value = `CASE WHEN isfinite(${cast}) THEN ${cast} END`;
    return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
  }
  if (widens(src, target)) return { value: `CAST(${v} AS ${target})`, bad: 'false' };
  let value: string;
  if (t.kind === 'decimal') {
    value = `TRY_CAST(${v} AS ${target})`;
  } else {
    switch (t.name) {
      case 'STRING':
        return { value: isText(src) ? v : `CAST(${v} AS VARCHAR)`, bad: 'false' };
      case 'BIGINT':
      case 'INT':
        if (INTEGER_TYPES.has(src)) value = `TRY_CAST(${v} AS ${target})`;
        else if (FLOAT_TYPES.has(src) || src.startsWith('DECIMAL')) value = `CASE WHEN ${v} = trunc(${v}) THEN TRY_CAST(${v} AS ${target}) END`;
        else if (isText(src)) value = `CASE WHEN TRY_CAST(${v} AS ${target}) = TRY_CAST(${v} AS DOUBLE) THEN TRY_CAST(${v} AS ${target}) END`;
        else value = `TRY_CAST(${v} AS ${target})`;
        break;
      case 'TIMESTAMP':
        if (isText(src)) {
          // A digit then '-' at positions 4–5 (an ISO date) is never a number: skip the number parse.
          value = `CASE WHEN substr(${v}, 5, 1) <> '-' OR substr(${v}, 4, 1) NOT BETWEEN '0' AND '9' THEN ${epochToTimestamp(`TRY_CAST(${v} AS DOUBLE)`)} END`;
          value = `coalesce(${value}, TRY_CAST(TRY_CAST(${v} AS TIMESTAMPTZ) AS TIMESTAMP))`;
        } else if (isNumeric(src)) {
          value = epochToTimestamp(`CAST(${v} AS DOUBLE)`);
        } else if (isTemporal(src)) {
          value = `TRY_CAST(${v} AS TIMESTAMP)`;
        } else {
          value = `TRY_CAST(${v} AS TIMESTAMP)`;
        }
        break;
      case 'BINARY':
        value = isText(src) ? `TRY(from_base64(${v}))` : `TRY_CAST(${v} AS BLOB)`;
        break;
      default:
        value = `TRY_CAST(${v} AS ${target})`;
    }
  }
  return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
}
