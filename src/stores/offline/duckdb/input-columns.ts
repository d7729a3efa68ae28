import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { sqlString } from '../../../domain/sql.ts';
import { ValidationError, type InputIssue } from '../../../errors.ts';
import { fileReadError, type UserFile } from './input-files.ts';
import { jsonReplacer } from './json-rows.ts';
import type { Feature } from './features.ts';

/** At most this many issues in one ValidationError. */
export const MAX_ISSUES = 20;

/** A user's file on disk and what the user calls it. */
export interface InputFile {
  readonly path: string;
  readonly user: UserFile;
}

/**
 * Runs a statement that reads a user's file (none for JSON rows); DuckDB's complaints about the
 * file become a ValidationError through fileReadError, the one mapping of engine errors on input.
 */
export async function fileQuery(connection: DuckDBConnection, sql: string, file: InputFile | null): Promise<DuckDBValue[][]> {
  try {
    return (await connection.runAndReadAll(sql)).getRows();
  } catch (error) {
    if (file === null) throw error;
    throw await fileReadError(error, file.user, file.path);
  }
}

/**
 * read_csv of a file with `width` header fields, parsed strictly: RFC 4180 dialect (`,`, `"`
 * quotes doubled inside), every field as text in columns `#f0…`, no sniffing, a row with an
 * unterminated quote or another number of fields is an error naming its line (strict_mode, no
 * null_padding). An empty field is null, a quoted empty one (`""`) the empty string.
 */
export function strictCsv(path: string, width: number): string {
  const columns = Array.from({ length: width }, (_, i) => `'#f${i}': 'VARCHAR'`).join(', ');
  // A quoted empty field ("") is the empty string, an unquoted one null: as exports write them.
  return `read_csv(${sqlString(path)}, header = true, skip = 0, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false,
    strict_mode = true, null_padding = false, columns = {${columns}})`;
}

export function issuesError(issues: InputIssue[]): ValidationError {
  const capped = issues.slice(0, MAX_ISSUES);
  const more = issues.length > MAX_ISSUES ? ` (first ${MAX_ISSUES} shown)` : '';
  const head = capped[0]?.message ?? 'invalid input';
  return new ValidationError(`${capped.length === 1 ? head : `${capped.length} problems in the input, first: ${head}`}${more}`, capped);
}

/** Writes JSON rows as NDJSON (schema inference reads them with DuckDB's detection). */
export async function writeNdjson(path: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  const issues: InputIssue[] = [];
  rows.forEach((row, i) => {
    if ((row === null || typeof row !== 'object' || Array.isArray(row)) && issues.length < MAX_ISSUES) {
      issues.push({ path: ['rows', i + 1], message: `row ${i + 1}: not an object` });
    }
  });
  if (issues.length > 0) throw issuesError(issues);
  const out = createWriteStream(path);
  const closed = once(out, 'close');
  try {
    for (let start = 0; start < rows.length; start += 10_000) {
      const lines = rows.slice(start, start + 10_000).map((row) => JSON.stringify(row, jsonReplacer));
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await closed;
  }
}

/** Issues for primary-key and event-time features that no input column gives. */
/**
 * Throws a ValidationError naming the features (other than primary key and event time, which the
 * value checks require always) that the input lacks: `firstLacking` gives the 0-based first row
 * lacking one (JSON rows; any value ≥ 0 for a file lacking the column), or -1.
 */
export function missingColumns(features: readonly Feature[], firstLacking: (f: Feature, c: number) => number, root: 'rows' | 'file'): void {
  const absent = features.flatMap((f, c) => {
    const row = f.key || f.eventTime ? -1 : firstLacking(f, c);
    return row < 0 ? [] : [{ f, row: row + 1 }];
  });
  if (absent.length === 0) return;
  absent.sort((a, b) => a.row - b.row);
  const issues: InputIssue[] = absent.map(({ f, row }) =>
    root === 'file'
      ? { path: ['file', f.name], message: `missing column "${f.name}"` }
      : { path: ['rows', row, f.name], message: `row ${row}: missing column "${f.name}"` },
  );
  const names = absent.map(({ f, row }) => (root === 'file' ? `"${f.name}"` : `"${f.name}" (first in row ${row})`));
  throw new ValidationError(
    `${root === 'file' ? 'the file lacks' : 'rows lack'} ${absent.length === 1 ? 'column' : 'columns'} ${names.join(', ')} of the group's features; ` +
      'give them, or pass fillMissing: true to insert them as null',
    issues.slice(0, MAX_ISSUES),
  );
}

/** For missingColumns: -1 for a feature that a file column names, else 0. */
export function presentIn(names: ReadonlyMap<string, string>): (f: Feature) => number {
  const present = new Set(names.values());
  return (f) => (present.has(f.name) ? -1 : 0);
}

export function missingRequired(names: ReadonlyMap<string, string>, features: readonly Feature[]): InputIssue[] {
  const present = new Set(names.values());
  return features
    .filter((f) => (f.key || f.eventTime) && !present.has(f.name))
    .map((f) => ({ path: ['file', f.name], message: `missing column "${f.name}" (${f.key ? 'primary key' : 'event time'})` }));
}

/**
 * Matches input column names to features case-insensitively: `names` maps each matched input
 * name to its feature; issues name unknown columns and features given under two spellings.
 */
export function matchColumns(
  columns: readonly { name: string; row: number | null }[],
  features: readonly Feature[],
): { names: Map<string, string>; issues: InputIssue[] } {
  const byLower = new Map(features.map((f) => [f.name.toLowerCase(), f.name]));
  const names = new Map<string, string>();
  const seen = new Map<string, string>();
  const issues: InputIssue[] = [];
  for (const { name, row } of columns) {
    const feature = byLower.get(name.toLowerCase());
    const where = row === null ? '' : `row ${row}: `;
    const path = row === null ? ['file', name] : ['file', row, name];
    if (feature === undefined) {
      issues.push({ path, message: `${where}unknown column "${name}"` });
    } else if (seen.has(feature)) {
      issues.push({ path, message: `${where}column "${name}" and "${seen.get(feature)}" both name feature "${feature}"` });
    } else {
      seen.set(feature, name);
      names.set(name, feature);
    }
  }
  return { names, issues };
}
