import type { DuckDBConnection, DuckDBListValue } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import type { InputIssue, ValidationError } from '../../../errors.ts';
import { identityColumns, type Feature } from './features.ts';
import { issuesError } from './input-columns.ts';
import { jsonSafeConverter } from '../../../domain/json-safe.ts';

/** Identity checks of a staged file: duplicates within it, and identities that earlier commits hold. */

export async function findDuplicates(
  connection: DuckDBConnection,
  staging: string,
  schema: GroupSchema,
  features: readonly Feature[],
  rowCount: number,
  partitionRows: number,
  limit: number,
): Promise<{ identity: unknown[]; rows: number[] }[]> {
  const columns = identityColumns(schema);
  const identity = columns.map(ident).join(', ');
  // Cheap existence check first: an ordered list aggregate over every identity costs 20× more.
  // It groups the 64-bit hash of each identity (one integer, cheaper to group than the columns);
  // a repeated hash is then confirmed on the identities themselves (hashes of distinct identities
  // collide with a chance of about n²/2⁶⁵). One pass per hash partition, each grouping at most
  // ~partitionRows hashes, so the memory of the check does not grow with the size of the insert.
  const parts = Math.max(1, Math.ceil(rowCount / partitionRows));
  let found = false;
  for (let p = 0; p < parts && !found; p++) {
    const where = parts === 1 ? '' : ` WHERE h % ${parts} = ${p}`;
    const any = await connection.runAndReadAll(
      `SELECT 1 FROM (SELECT hash(${identity}) AS h FROM read_parquet(${sqlString(staging)}))${where} GROUP BY h HAVING count(*) > 1 LIMIT 1`,
    );
    found = any.currentRowCount > 0;
  }
  if (found) {
    const exact = await connection.runAndReadAll(
      `SELECT 1 FROM (SELECT ${identity} FROM read_parquet(${sqlString(staging)}) GROUP BY ${identity} HAVING count(*) > 1) LIMIT 1`,
    );
    found = exact.currentRowCount > 0;
  }
  if (!found) return [];
  const result = await connection.runAndReadAll(
    `SELECT ${identity}, list(file_row_number + 1 ORDER BY file_row_number) AS "#rows"
     FROM read_parquet(${sqlString(staging)}, file_row_number = true)
     GROUP BY ${identity} HAVING count(*) > 1 ORDER BY min(file_row_number) LIMIT ${limit}`,
  );
  const converters = columns.map((c) => jsonSafeConverter(features.find((f) => f.name === c)!.parsed));
  return result.getRows().map((row) => ({
    identity: columns.map((_, i) => converters[i]!(row[i] ?? null)),
    rows: (row[columns.length] as DuckDBListValue).items.map((n) => Number(n as bigint)),
  }));
}

export function duplicateError(duplicates: { identity: unknown[]; rows: number[] }[], schema: GroupSchema, root: 'rows' | 'file'): ValidationError {
  const names = identityColumns(schema);
  const issues: InputIssue[] = [];
  for (const d of duplicates) {
    const label = names.map((n, i) => `${n}=${JSON.stringify(d.identity[i])}`).join(', ');
    for (const row of d.rows.slice(1)) {
      issues.push({ path: [root, row], message: `row ${row}: duplicate identity (${label}) of row ${d.rows[0]} under INSERT` });
    }
  }
  return issuesError(issues);
}

/**
 * The staged file's identities that the `existing` files hold, by scanning them. Identity columns
 * are in every commit file with the same types (features added later are not read), so the files
 * are read by the first one's schema rather than unified by name, which would open each file first.
 */
export async function countExisting(connection: DuckDBConnection, staging: string, schema: GroupSchema, existing: readonly string[]): Promise<number> {
  if (existing.length === 0) return 0;
  const columns = identityColumns(schema);
  const list = columns.map(ident).join(', ');
  const on = columns.map((c) => `s.${ident(c)} = e.${ident(c)}`).join(' AND ');
  const result = await connection.runAndReadAll(
    `SELECT count(*) FROM (SELECT ${list} FROM read_parquet(${sqlString(staging)})) s
     SEMI JOIN (SELECT ${list} FROM read_parquet([${existing.map(sqlString).join(', ')}])) e ON ${on}`,
  );
  return Number(result.getRows()[0]?.[0] ?? 0);
}
