import { formatFeatureType, parseFeatureType, type ParsedType } from '../../domain/feature-types.ts';
import { normalizeValue, type ValueCheck } from './values.ts';

/**
 * Passed features (values a client computes at request time and sends with `featureVector`) are
 * checked against the feature's type once per value on the serving path: a checker per feature is
 * built with the serving plan, so a request does no parsing of types.
 */
export type PassedValueCheck = (value: unknown) => ValueCheck;

const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** How DataFrame writes the DOUBLE values JSON has no number for. */
const NON_FINITE_TEXT = new Set(['NaN', 'Infinity', '-Infinity']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const NULL_OK: ValueCheck = { ok: true, value: null };

/**
 * The checker of values passed for a feature of `type` (canonical type text): null is accepted
 * (the feature is then null); anything else must be a value of the type, and comes back in the
 * JSON-safe form the online store serves (numbers as numbers, timestamps as ISO UTC text, …).
 * Numeric text is accepted for DOUBLE and FLOAT, as DataFrame writes NaN and ±Infinity as text.
 */
export function passedValueChecker(type: string): PassedValueCheck {
  const check = checkerOf(parseFeatureType(type));
  return (value) => (value === null ? NULL_OK : check(value));
}

function checkerOf(type: ParsedType): PassedValueCheck {
  const text = formatFeatureType(type);
  const expected = (value: unknown, what: string): ValueCheck => ({
    ok: false,
    message: `${preview(value)} is not ${what} (the feature is ${text})`,
  });
  if (type.kind === 'array') {
    const element = checkerOf(type.element);
    return (value) => {
      if (!Array.isArray(value)) return expected(value, 'an array');
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        if (value[i] === null) {
          out[i] = null;
          continue;
        }
        const checked = element(value[i]);
        if (!checked.ok) return { ok: false, message: `element ${i}: ${checked.message}` };
        out[i] = checked.value;
      }
      return { ok: true, value: out };
    };
  }
  if (type.kind === 'scalar' && (type.name === 'DOUBLE' || type.name === 'FLOAT')) {
    return (value) => {
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
      if (typeof value === 'string') {
        if (NON_FINITE_TEXT.has(value)) return { ok: true, value };
        const trimmed = value.trim();
        if (NUMERIC_TEXT.test(trimmed)) return { ok: true, value: Number(trimmed) };
      }
      return expected(value, 'a number');
    };
  }
  if (type.kind === 'scalar' && type.name === 'BINARY') {
    return (value) => (typeof value === 'string' && value.length % 4 === 0 && BASE64.test(value) ? { ok: true, value } : expected(value, 'base64 text'));
  }
  return (value) => {
    const checked = normalizeValue(type, value);
    return checked.ok ? checked : { ok: false, message: checked.message.replace(/^.*? is not /, `${preview(value)} is not `) };
  };
}

/** A short JSON rendering of a user's value for a message (never more than 40 characters). */
function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The name among `names` closest to `name` by edit distance (at most 2 edits, or a third of its length), or null. */
export function closestName(name: string, names: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Math.min(2, Math.max(1, Math.floor(name.length / 3)));
  for (const candidate of names) {
    if (Math.abs(candidate.length - name.length) > bestDistance) continue;
    const d = editDistance(name, candidate, bestDistance);
    if (d <= bestDistance && (best === null || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, stopping early past `limit`. Inputs are short names (at most 63 characters here). */
function editDistance(a: string, b: string, limit: number): number {
  if (a.length > 200 || b.length > 200) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      rowMin = Math.min(rowMin, current[j]!);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length]!;
}
