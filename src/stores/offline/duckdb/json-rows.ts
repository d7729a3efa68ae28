import type { InputIssue } from '../../../errors.ts';
import { type CodedColumn, type ColumnValues, columnLength, columnValue, isCoded } from '../../../domain/insert-source.ts';

/**
 * What the given (non-null) values of a column are: all strings, all safe integers, all finite
 * numbers, all booleans, something else, or none at all.
 */
export type RowColumnKind = 'strings' | 'integers' | 'numbers' | 'booleans' | 'other' | 'none';

/** JSON rows column-wise, one column per feature in schema order. */
export interface RowColumns {
  readonly rowCount: number;
  readonly kinds: readonly RowColumnKind[];
  /** The values as given (null where a row lacks the key). */
  readonly values: readonly (readonly unknown[])[];
  /** Per feature, the first row (0-based) that lacks its key (a key given as null is not lacking), or -1. */
  readonly missing: readonly number[];
  /**
   * Per feature of a numeric type, its column when a columns source gave it as a Float64Array (NaN
   * for null): loaded into DuckDB as the array's bytes, its `values` entry then empty.
   */
  readonly numbers?: readonly (Float64Array | undefined)[];
  /**
   * Per feature, its column when a columns source gave it coded (its `values` entry then empty,
   * its kind that of the dictionary's values): see plainValues for the values row by row.
   */
  readonly coded?: readonly (CodedColumn | undefined)[];
}

/** Column c's values row by row (a coded column expanded). */
export function plainValues(columns: RowColumns, c: number): readonly unknown[] {
  const coded = columns.coded?.[c];
  if (!coded) return columns.values[c]!;
  const out = new Array<unknown>(columns.rowCount);
  for (let r = 0; r < out.length; r++) out[r] = columnValue(coded, r);
  return out;
}

interface RowFeature {
  readonly name: string;
}

/** At most this many issues are collected (the caller caps what it reports). */
const ISSUE_LIMIT = 20;

/**
 * JSON rows as columns for `features`. Keys match feature names exactly, else case-insensitively;
 * a key matching no feature, a feature given twice in a row (two spellings), and a row that is not
 * an object are issues (`['rows', row, key]` / `['rows', row]`, rows 1-based); with any issue the
 * columns are not usable. Rows may each have different keys: `missing` gives, per feature, the
 * first row lacking it (the caller decides whether that is an issue).
 */
export function rowColumns(rows: readonly unknown[], features: readonly RowFeature[]): { columns: RowColumns; issues: InputIssue[] } {
  const n = rows.length;
  const width = features.length;
  const exact = new Map<string, number>();
  const lower = new Map<string, number>();
  features.forEach((f, i) => {
    exact.set(f.name, i);
    if (!lower.has(f.name.toLowerCase())) lower.set(f.name.toLowerCase(), i);
  });
  const raw: unknown[][] = features.map(() => new Array<unknown>(n).fill(null));
  const issues: InputIssue[] = [];
  const seen = new Int32Array(width).fill(-1);
  const missing = new Array<number>(width).fill(-1);
  let renamed: Map<string, number> | null = null;
  // Rows keyed exactly by feature names take the generated extractor; the others come here.
  const { slow, partial } = extractor(features.map((f) => f.name))(rows, n, raw);
  firstMissing(rows, partial, features, missing);
  for (const r of slow) {
    for (let c = 0; c < width; c++) raw[c]![r] = null;
    const row = rows[r];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      if (issues.length < ISSUE_LIMIT) issues.push({ path: ['rows', r + 1], message: `row ${r + 1}: not an object` });
      continue;
    }
    for (const key in row) {
      let c = exact.get(key);
      if (c === undefined) {
        renamed ??= new Map();
        c = renamed.get(key);
        if (c === undefined) {
          c = lower.get(key.toLowerCase()) ?? -1;
          renamed.set(key, c);
        }
        if (c < 0) {
          if (issues.length < ISSUE_LIMIT) issues.push({ path: ['rows', r + 1, key], message: `row ${r + 1}: unknown column "${key}"` });
          continue;
        }
      }
      if (seen[c] === r) {
        if (issues.length < ISSUE_LIMIT) {
          issues.push({
            path: ['rows', r + 1, key],
            message: `row ${r + 1}: column "${features[c]!.name}" given twice (names match case-insensitively)`,
          });
        }
        continue;
      }
      seen[c] = r;
      raw[c]![r] = (row as Record<string, unknown>)[key];
    }
    for (let c = 0; c < width; c++) if (seen[c] !== r && (missing[c]! < 0 || r < missing[c]!)) missing[c] = r;
  }
  return { columns: { rowCount: n, kinds: raw.map((column) => columnKind(column, n)), values: raw, missing }, issues };
}

/** What the first `n` values of a column are (see RowColumnKind). */
function columnKind(column: readonly unknown[], n: number): RowColumnKind {
  let kind: RowColumnKind = 'none';
  for (let r = 0; r < n && kind !== 'other'; r++) {
    const v = column[r];
    let k: RowColumnKind;
    switch (typeof v) {
      case 'string':
        k = 'strings';
        break;
      case 'number':
        k = Number.isSafeInteger(v) ? 'integers' : Number.isFinite(v) ? 'numbers' : 'other';
        break;
      case 'boolean':
        k = 'booleans';
        break;
      default:
        k = v === null || v === undefined ? kind : 'other';
    }
    if (k !== kind) kind = kind === 'none' ? k : (kind === 'integers' && k === 'numbers') || (kind === 'numbers' && k === 'integers') ? 'numbers' : 'other';
  }
  return kind;
}

/** A columns source's values, as given. */
export interface GivenColumns {
  readonly rowCount: number;
  readonly names: readonly string[];
  readonly values: readonly ColumnValues[];
}

/**
 * A columns source as RowColumns for `features`: a Float64Array's NaN is null, a feature the
 * source does not name is null in every row, and a named column that is no feature, or of another
 * length, is an error (the server built it wrong).
 */
export function givenRowColumns(given: GivenColumns, features: readonly (RowFeature & { readonly numeric: boolean })[]): RowColumns {
  const n = given.rowCount;
  const at = new Map(given.names.map((name, i) => [name, i]));
  const known = new Set(features.map((f) => f.name));
  for (const [i, name] of given.names.entries()) {
    if (!known.has(name)) throw new Error(`columns source: ${name} is not a feature of the group`);
    const length = columnLength(given.values[i]!);
    if (length !== n) throw new Error(`columns source: column ${name} has ${length} values, not ${n}`);
  }
  const numbers: (Float64Array | undefined)[] = features.map(() => undefined);
  const coded: (CodedColumn | undefined)[] = features.map(() => undefined);
  const values = features.map((f, c) => {
    const i = at.get(f.name);
    if (i === undefined) return new Array<unknown>(n).fill(null);
    const column = given.values[i]!;
    if (isCoded(column)) {
      coded[c] = column;
      return [];
    }
    if (!(column instanceof Float64Array)) return column;
    if (f.numeric && column.some((v) => !Number.isNaN(v))) {
      numbers[c] = column;
      return [];
    }
    const out = new Array<number | null>(n);
    for (let r = 0; r < n; r++) {
      const v = column[r]!;
      out[r] = Number.isNaN(v) ? null : v;
    }
    return out;
  });
  return {
    rowCount: n,
    kinds: values.map((column, c) => {
      const dictionary = coded[c]?.dictionary;
      return numbers[c] ? 'numbers' : dictionary ? columnKind(dictionary, dictionary.length) : columnKind(column, n);
    }),
    values,
    missing: features.map(() => -1),
    numbers,
    coded,
  };
}

/** A columns source's rows as objects (naming a rejected value, inferring a schema). */
export function givenRows(given: GivenColumns): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < given.rowCount; r++) {
    const row: Record<string, unknown> = {};
    given.names.forEach((name, i) => {
      row[name] = columnValue(given.values[i]!, r);
    });
    rows.push(row);
  }
  return rows;
}

/**
 * Values JSON rows give that no coercion may silently change, as issues (`['rows', row, feature]`,
 * rows 1-based, at most `limit`): a number that is not finite (JSON's `1e400` parses to Infinity)
 * anywhere in a value, and for a STRING feature (`string: true`) anything but a string or null.
 * Looks only at columns whose kind is not plain strings or finite numbers, so clean input costs
 * nothing.
 */
export function valueIssues(columns: RowColumns, features: readonly { name: string; string: boolean }[], limit: number): InputIssue[] {
  const found: { row: number; column: number; message: string }[] = [];
  features.forEach((f, c) => {
    const kind = columns.kinds[c]!;
    if (kind === 'none' || kind === 'strings' || (!f.string && kind !== 'other')) return;
    const values = plainValues(columns, c);
    let n = 0;
    for (let r = 0; r < values.length && n < limit; r++) {
      const v = values[r];
      if (v === null || v === undefined || typeof v === 'string') continue;
      let message: string | null = null;
      if (hasNonFinite(v, 0))
        message = `${typeof v === 'number' ? String(v) : 'a value holding Infinity or NaN'} is not a finite number (a JSON number beyond ±1.8e308 overflows to Infinity)`;
      else if (f.string) message = `expects a string, got ${kindOf(v)}`;
      if (message === null) continue;
      found.push({ row: r, column: c, message: `row ${r + 1}, column "${f.name}": ${message}` });
      n++;
    }
  });
  found.sort((a, b) => a.row - b.row || a.column - b.column);
  return found.slice(0, limit).map(({ row, column, message }) => ({ path: ['rows', row + 1, features[column]!.name], message }));
}

function hasNonFinite(v: unknown, depth: number): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => hasNonFinite(x, depth + 1));
  if (v instanceof Uint8Array) return false;
  return Object.values(v).some((x) => hasNonFinite(x, depth + 1));
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return `a ${typeof v}`;
}

/**
 * Sets `missing[c]` to the first of the `partial` rows (ascending, every key a feature name) that
 * lacks feature c, where that is earlier than the row already there; stops once each feature has one.
 */
function firstMissing(rows: readonly unknown[], partial: readonly number[], features: readonly RowFeature[], missing: number[]): void {
  let open = missing.filter((m) => m < 0).length;
  for (let i = 0; i < partial.length && open > 0; i++) {
    const r = partial[i]!;
    const row = rows[r] as Record<string, unknown>;
    features.forEach((f, c) => {
      if (missing[c]! < 0 && !(f.name in row)) {
        missing[c] = r;
        open--;
      }
    });
  }
}

/** Rows the caller's loop must take (`slow`), and rows whose keys are all feature names but not every feature (`partial`), ascending. */
type Extractor = (rows: readonly unknown[], n: number, raw: unknown[][]) => { slow: number[]; partial: number[] };

const extractors = new Map<string, Extractor>();

/**
 * A function copying each row's feature values into `raw` (columns) by property name, generated
 * once per list of names: property loads at fixed sites are an order of magnitude faster than a
 * loop over each row's keys. It returns the rows it cannot take: not an object, or with a key
 * that is not exactly a feature name (counted with for…in); and the rows it took that lack some
 * feature (fewer keys than features), for the missing-column check. Names that Object.prototype has
 * (an absent one would read the inherited value) send every row to the caller's loop.
 */
function extractor(names: readonly string[]): Extractor {
  const id = names.join('\0');
  let fn = extractors.get(id);
  if (fn !== undefined) return fn;
  if (names.some((name) => name in Object.prototype)) {
    fn = (_rows, n) => ({ slow: Array.from({ length: n }, (_, r) => r), partial: [] });
  } else {
    const reads = names.map((name, c) => {
      const literal = JSON.stringify(name);
      return `v = row[${literal}]; if (v !== undefined) { raw[${c}][r] = v; k++; } else if (${literal} in row) k++;`;
    });
    fn = new Function(
      'rows',
      'n',
      'raw',
      `const slow = [], partial = [];
      for (let r = 0; r < n; r++) {
        const row = rows[r];
        if (row === null || typeof row !== 'object' || Array.isArray(row)) { slow.push(r); continue; }
        let k = 0, v;
        ${reads.join('\n        ')}
        let keys = 0;
        for (const key in row) keys++;
        if (keys !== k) slow.push(r);
        else if (k !== ${names.length}) partial.push(r);
      }
      return { slow, partial };`,
    ) as Extractor;
  }
  if (extractors.size > 1000) extractors.clear();
  extractors.set(id, fn);
  return fn;
}

/**
 * The JSON texts of a column (see jsonText), and whether the given separators occur in none of
 * them (a string equal to `nullMark` counts as one): then the texts can travel joined.
 */
export function columnTexts(values: readonly unknown[], separator: string, nullMark: string): { texts: (string | null)[]; joinable: boolean } {
  const texts = new Array<string | null>(values.length);
  let joinable = true;
  for (let r = 0; r < values.length; r++) {
    const v = values[r];
    if (typeof v === 'string') {
      texts[r] = v;
      if (joinable && (v.indexOf(separator) >= 0 || v === nullMark)) joinable = false;
    } else {
      // JSON escapes control characters, so no other text holds a separator.
      texts[r] = jsonText(v);
    }
  }
  return { texts, joinable };
}

/**
 * A value's JSON text as a VARCHAR column of read_json gives it: a string as itself, other values
 * as JSON (bigint as its digits, bytes as base64, a value with toJSON as what that returns); null
 * for null and for what JSON omits (undefined, functions, symbols) or writes as null (NaN, ±Infinity).
 */
export function jsonText(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? String(v) : null;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object': {
      if (v === null) return null;
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      const json = JSON.stringify(v, jsonReplacer);
      if (json === undefined || json === 'null') return null;
      // A value whose toJSON returns a string (a Date) is that string.
      return json.startsWith('"') ? (JSON.parse(json) as string) : json;
    }
    default:
      return null;
  }
}

/** JSON.stringify's replacer for values JSON lacks: bigint as its digits, bytes as base64. */
export function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    // Buffer#toJSON already ran
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}
