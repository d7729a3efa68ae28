import { parseFeatureType, type GroupSchema, type ParsedType } from './feature-types.ts';
import { shortestFloat32 } from './float32.ts';
import { daysToIsoDate, EPOCH_MILLIS_THRESHOLD, microsToIso } from './timestamps.ts';

/**
 * Rows as JSON objects checked and turned into the canonical JSON-safe values of their features in
 * JavaScript, without a database: the path of streamed rows, checked on the request before they are
 * appended to the log and applied online from it. The canonical forms are those the offline store
 * reads back (DataFrame's rules): BIGINT a number when safe else its decimal text, TIMESTAMP ISO UTC
 * with microseconds, DATE `YYYY-MM-DD`, DECIMAL its text with exactly `scale` decimals, BINARY
 * base64, FLOAT the float32's shortest decimal; so the offline materializer hands these same values
 * to the offline store and both stores hold equal rows. Accepted inputs: numbers (or their decimal
 * text) for numeric features, integral ones for BIGINT/INT; strings for STRING; booleans for BOOLEAN;
 * ISO 8601 text (a zone offset or none, meaning UTC) or epoch seconds/milliseconds for TIMESTAMP;
 * `YYYY-MM-DD` for DATE; base64 for BINARY; arrays for ARRAY. Anything else is refused, with why.
 */

/** A row turned into its features' values (schema order) and its comparable event time. */
export interface CoercedRow {
  readonly values: unknown[];
  /** Epoch microseconds for a TIMESTAMP or DATE event time, the value itself for a numeric one, null without event time. */
  readonly eventTime: number | null;
}

/** Why a row was refused: the path (`['rows', n, feature]`, n from 1) and a message naming the row and column. */
export interface RowIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export type RowCoercer = (row: unknown, index: number) => CoercedRow | RowIssue;

export type ValueCoercer = (value: unknown) => { ok: true; value: unknown } | { ok: false; why: string };

/** The coercer of single values of a feature type (a key typed in), to the canonical form `rowCoercer` gives. */
export function featureValueCoercer(type: string): ValueCoercer {
  return valueCoercer(parseFeatureType(type));
}

/** The coercer of rows of `schema` (features matched by name, case-insensitively; missing ones null). */
export function rowCoercer(schema: GroupSchema): RowCoercer {
  const features = schema.features.map((f, i) => ({
    name: f.name,
    index: i,
    coerce: valueCoercer(parseFeatureType(f.type)),
    key: schema.primaryKey.includes(f.name),
    eventTime: schema.eventTime === f.name,
    type: f.type,
  }));
  const byName = new Map(features.map((f) => [f.name, f]));
  const eventIndex = features.findIndex((f) => f.eventTime);
  const eventType = eventIndex >= 0 ? parseFeatureType(features[eventIndex]!.type) : null;
  return (row, index) => {
    const n = index + 1;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) return { path: ['rows', n], message: `row ${n}: not an object` };
    const values = new Array<unknown>(features.length).fill(null);
    const seen = new Set<number>();
    for (const key of Object.keys(row)) {
      const f = byName.get(key) ?? byName.get(key.toLowerCase());
      if (f === undefined) return { path: ['rows', n, key], message: `row ${n}: unknown column "${key}"` };
      if (seen.has(f.index)) return { path: ['rows', n, key], message: `row ${n}: column "${f.name}" given twice (names match case-insensitively)` };
      seen.add(f.index);
      const raw = (row as Record<string, unknown>)[key];
      if (raw === null || raw === undefined) continue;
      const result = f.coerce(raw);
      if (!result.ok) return { path: ['rows', n, f.name], message: `row ${n}, column "${f.name}": ${result.why}` };
      values[f.index] = result.value;
    }
    for (const f of features) {
      if (values[f.index] !== null) continue;
      if (f.key) return { path: ['rows', n, f.name], message: `row ${n}: primary key "${f.name}" is null or missing` };
      if (f.eventTime) return { path: ['rows', n, f.name], message: `row ${n}: event time "${f.name}" is null or missing` };
    }
    return { values, eventTime: eventIndex < 0 ? null : comparableEventTime(values[eventIndex], eventType!) };
  };
}

/** A canonical event-time value as the online store compares it. */
function comparableEventTime(value: unknown, type: ParsedType): number {
  if (type.kind === 'scalar' && type.name === 'TIMESTAMP') return isoToMicros(value as string);
  if (type.kind === 'scalar' && type.name === 'DATE') return Date.parse(`${value as string}T00:00:00Z`) * 1000;
  return Number(value);
}

const INT_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INT64_MAX = 9223372036854775807n;
const FLOAT_MAX = 3.4028234663852886e38;

const ok = (value: unknown) => ({ ok: true as const, value });
const bad = (why: string) => ({ ok: false as const, why });
const shown = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

function valueCoercer(t: ParsedType): ValueCoercer {
  if (t.kind === 'array') {
    const element = valueCoercer(t.element);
    return (v) => {
      if (!Array.isArray(v)) return bad(`${shown(v)} is not a valid ${typeText(t)} (expects an array)`);
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (item === null || item === undefined) {
          out[i] = null;
          continue;
        }
        const r = element(item);
        if (!r.ok) return bad(`element ${i + 1}: ${r.why}`);
        out[i] = r.value;
      }
      return ok(out);
    };
  }
  if (t.kind === 'decimal') return (v) => decimal(v, t.precision, t.scale);
  switch (t.name) {
    case 'BIGINT':
      return (v) => integer(v, 'BIGINT', -INT64_MAX - 1n, INT64_MAX);
    case 'INT':
      return (v) => integer(v, 'INT', -2147483648n, 2147483647n);
    case 'DOUBLE':
      return (v) => double(v, 'DOUBLE');
    case 'FLOAT':
      return (v) => {
        const r = double(v, 'FLOAT');
        if (!r.ok) return r;
        if (Math.abs(r.value as number) > FLOAT_MAX) return bad(`${shown(v)} is out of range for FLOAT`);
        return ok(shortestFloat32(r.value as number));
      };
    case 'STRING':
      return (v) => (typeof v === 'string' ? ok(v) : bad(`expects a string, got ${jsonKindOf(v)}`));
    case 'BOOLEAN':
      return (v) => (typeof v === 'boolean' ? ok(v) : bad(`${shown(v)} is not a valid BOOLEAN (expects true or false)`));
    case 'TIMESTAMP':
      return timestamp;
    case 'DATE':
      return (v) => {
        if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return bad(`${shown(v)} is not a valid DATE (expects YYYY-MM-DD)`);
        const ms = Date.parse(`${v}T00:00:00Z`);
        if (Number.isNaN(ms) || daysToIsoDate(ms / 86_400_000) !== v) return bad(`${shown(v)} is not a valid DATE`);
        return ok(v);
      };
    case 'BINARY':
      return (v) => {
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) return bad(`${shown(v)} is not a valid BINARY (expects base64)`);
        return ok(Buffer.from(v, 'base64').toString('base64'));
      };
  }
}

function typeText(t: ParsedType): string {
  return t.kind === 'array' ? `ARRAY<${typeText(t.element)}>` : t.kind === 'decimal' ? `DECIMAL(${t.precision},${t.scale})` : t.name;
}

function jsonKindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'boolean' ? 'a boolean' : 'a number';
}

function integer(v: unknown, type: string, min: bigint, max: bigint) {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return bad(`${shown(v)} is not a finite number (${type} refuses infinity, NaN and overflow)`);
    if (!Number.isInteger(v)) return bad(`${shown(v)} is not a valid ${type}`);
    n = BigInt(v);
  } else if (typeof v === 'string' && INT_TEXT.test(v.trim())) {
    n = BigInt(v.trim());
  } else if (typeof v === 'string' && NUMBER_TEXT.test(v.trim()) && Number.isInteger(Number(v.trim()))) {
    const x = Number(v.trim());
    if (!Number.isSafeInteger(x)) return bad(`${shown(v)} is not a valid ${type}`);
    n = BigInt(x);
  } else {
    return bad(`${shown(v)} is not a valid ${type}`);
  }
  if (n < min || n > max) return bad(`${shown(v)} is out of range for ${type}`);
  const asNumber = Number(n);
  return ok(Number.isSafeInteger(asNumber) ? asNumber : n.toString());
}

function double(v: unknown, type: string) {
  const x = typeof v === 'number' ? v : typeof v === 'string' && NUMBER_TEXT.test(v.trim()) ? Number(v.trim()) : null;
  if (x === null) {
    if (typeof v === 'string' && /^[+-]?(inf|infinity|nan)$/i.test(v.trim()))
      return bad(`${shown(v)} is not a finite number (${type} refuses infinity, NaN and overflow)`);
    return bad(`${shown(v)} is not a valid ${type}`);
  }
  if (!Number.isFinite(x)) return bad(`${shown(v)} is not a finite number (${type} refuses infinity, NaN and overflow)`);
  return ok(x);
}

function decimal(v: unknown, precision: number, scale: number) {
  const type = `DECIMAL(${precision},${scale})`;
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return bad(`${shown(v)} is not a finite number (${type} refuses infinity, NaN and overflow)`);
    text = Math.abs(v) < 1e21 ? v.toFixed(Math.min(scale + 2, 100)) : String(v);
  } else if (typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v.trim())) {
    text = v.trim();
  } else {
    return bad(`${shown(v)} is not a valid ${type}`);
  }
  const negative = text.startsWith('-');
  const unsigned = text.replace(/^[+-]/, '');
  if (/e/i.test(unsigned)) return bad(`${shown(v)} is out of range for ${type}`);
  const [whole = '', fraction = ''] = unsigned.split('.');
  // Round half away from zero to `scale` digits, on the digits themselves.
  const digits = (whole.replace(/^0+/, '') || '0') + fraction.padEnd(scale + 1, '0').slice(0, scale);
  let units = BigInt(digits);
  if (Number(fraction[scale] ?? '0') >= 5) units += 1n;
  const textUnits = units.toString().padStart(scale + 1, '0');
  const intPart = textUnits.slice(0, textUnits.length - scale);
  if (intPart.replace(/^0+/, '').length > precision - scale) return bad(`${shown(v)} is out of range for ${type}`);
  const sign = negative && units !== 0n ? '-' : '';
  return ok(scale === 0 ? `${sign}${intPart}` : `${sign}${intPart}.${textUnits.slice(-scale)}`);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function timestamp(v: unknown) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return bad(`${shown(v)} is not a valid TIMESTAMP`);
    const micros = Math.round(Math.abs(v) > EPOCH_MILLIS_THRESHOLD ? v * 1e3 : v * 1e6);
    if (!Number.isSafeInteger(micros)) return bad(`${shown(v)} is out of range for TIMESTAMP`);
    return ok(microsToIso(BigInt(micros)));
  }
  if (typeof v !== 'string') return bad(`${shown(v)} is not a valid TIMESTAMP`);
  const text = v.trim();
  if (NUMBER_TEXT.test(text) && !/^\d{4}-/.test(text)) return timestamp(Number(text));
  const m = ISO.exec(text);
  if (!m) return bad(`${shown(v)} is not a valid TIMESTAMP (expects ISO 8601 or epoch seconds)`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return bad(`${shown(v)} is not a valid TIMESTAMP`);
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMinutes = (zm[1] === '-' ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? '0'));
  }
  const micros = (ms - offsetMinutes * 60_000) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
  return ok(microsToIso(BigInt(micros)));
}

/** Epoch microseconds of a canonical TIMESTAMP text (`microsToIso`'s form). */
export function isoToMicros(iso: string): number {
  const ms = Date.parse(`${iso.slice(0, 19)}Z`);
  return ms * 1000 + Number(iso.slice(20, 26));
}
