import { sqlString } from '../../domain/sql.ts';
import { EPOCH_MILLIS_THRESHOLD, microsToIso } from '../../domain/timestamps.ts';
import { duckdbType, formatFeatureType, type ParsedType } from '../../domain/feature-types.ts';

/**
 * Values of filters and time bounds: checked against a feature type, normalized to a JSON-safe
 * canonical form (what a stored query holds), and rendered as DuckDB literals.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

function daysFromCivil(year: number, month: number, day: number): number | null {
  if (month < 1 || month > 12 || day < 1) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(0, 0, 0, 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date.getTime() / 86_400_000;
}

/**
 * A point in time as epoch microseconds, from ISO 8601 text (a zone offset converts to UTC; none
 * means UTC; a date alone is midnight), an epoch number (seconds, or milliseconds above 1e11 in
 * magnitude, the offline store's rule; also as numeric text), or a Date. Null when invalid.
 */
export function timestampMicros(value: unknown): bigint | null {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isFinite(ms) ? BigInt(ms) * 1000n : null;
  }
  if (typeof value === 'number' || (typeof value === 'string' && NUMBER.test(value.trim()))) {
    const x = Number(value);
    if (!Number.isFinite(x)) return null;
    const micros = Math.round(Math.abs(x) > EPOCH_MILLIS_THRESHOLD ? x * 1e3 : x * 1e6);
    return Number.isSafeInteger(micros) ? BigInt(micros) : null;
  }
  if (typeof value !== 'string') return null;
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const [hours, minutes, seconds] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (days === null || hours > 23 || minutes > 59 || seconds > 59) return null;
  const fraction = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const [h, mm] = [Number(z[2]), Number(z[3] ?? 0)];
    if (h > 23 || mm > 59) return null;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  const secondsOfDay = BigInt(hours * 3600 + minutes * 60 + seconds - offsetMinutes * 60);
  return (BigInt(days) * 86_400n + secondsOfDay) * 1_000_000n + fraction;
}

/** SQL TIMESTAMP literal of epoch microseconds. */
export function timestampSql(micros: bigint): string {
  return `make_timestamp(CAST(${micros} AS BIGINT))`;
}

/** The outcome of checking one value against a feature type. */
export type ValueCheck = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

const fail = (message: string): ValueCheck => ({ ok: false, message });

/** Whether filters may compare a feature of this type (arrays and binary cannot). */
export function filterable(type: ParsedType): boolean {
  return !(type.kind === 'array' || (type.kind === 'scalar' && type.name === 'BINARY'));
}

/** Whether values of this type are ordered for LT/LE/GT/GE. */
export function ordered(type: ParsedType): boolean {
  return filterable(type) && !(type.kind === 'scalar' && type.name === 'BOOLEAN');
}

/**
 * Checks one scalar filter value (not null) against a feature type and returns its canonical form:
 * integers as numbers (or decimal text beyond 2^53), decimals as text, timestamps as ISO UTC text
 * with microseconds, dates as `YYYY-MM-DD`.
 */
export function normalizeValue(type: ParsedType, value: unknown): ValueCheck {
  const typeText = formatFeatureType(type);
  const expected = (what: string) => fail(`${JSON.stringify(value)} is not ${what} (the feature is ${typeText})`);
  if (type.kind === 'decimal') {
    if (typeof value === 'number') {
      if (!Number.isFinite(value) || !DECIMAL.test(String(value))) return expected('a decimal number (give it as text, e.g. "12.50")');
      return { ok: true, value: String(value) };
    }
    if (typeof value === 'string' && DECIMAL.test(value.trim())) return { ok: true, value: value.trim() };
    return expected('a decimal number');
  }
  if (type.kind === 'array') return fail(`features of type ${typeText} cannot be filtered`);
  switch (type.name) {
    case 'BIGINT':
    case 'INT': {
      let n: bigint;
      if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else if (typeof value === 'string' && INTEGER.test(value.trim())) n = BigInt(value.trim());
      else return expected('an integer');
      const [min, max] = type.name === 'INT' ? [INT32_MIN, INT32_MAX] : [INT64_MIN, INT64_MAX];
      if (n < min || n > max) return expected(`an integer in the range of ${type.name}`);
      return { ok: true, value: n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n.toString() };
    }
    case 'DOUBLE':
    case 'FLOAT':
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
      return expected('a finite number');
    case 'STRING':
      return typeof value === 'string' ? { ok: true, value } : expected('a string');
    case 'BOOLEAN':
      return typeof value === 'boolean' ? { ok: true, value } : expected('true or false');
    case 'TIMESTAMP': {
      const micros = typeof value === 'string' || typeof value === 'number' ? timestampMicros(value) : null;
      return micros === null ? expected('an ISO 8601 timestamp or epoch number') : { ok: true, value: microsToIso(micros) };
    }
    case 'DATE': {
      const m = typeof value === 'string' ? DATE.exec(value.trim()) : null;
      if (!m || daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) === null) return expected('a date YYYY-MM-DD');
      return { ok: true, value: value as string };
    }
    case 'BINARY':
      return fail(`features of type ${typeText} cannot be filtered`);
  }
}

/** The DuckDB literal of a canonical value (from normalizeValue) of a feature type. */
export function literalSql(type: ParsedType, value: unknown): string {
  if (type.kind === 'decimal') return String(value); // a numeric literal: DuckDB reads it as an exact DECIMAL
  if (type.kind === 'scalar') {
    switch (type.name) {
      case 'BIGINT':
      case 'INT':
        return `CAST(${String(value)} AS ${duckdbType(type)})`;
      case 'DOUBLE':
      case 'FLOAT':
        return `CAST(${sqlString(String(value))} AS ${duckdbType(type)})`;
      case 'STRING':
        return sqlString(String(value));
      case 'BOOLEAN':
        return value ? 'TRUE' : 'FALSE';
      case 'TIMESTAMP':
        return timestampSql(timestampMicros(value)!);
      case 'DATE':
        return `CAST(${sqlString(String(value))} AS DATE)`;
    }
  }
  throw new Error(`no literal for ${formatFeatureType(type)}`);
}
