import { basename } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import { COMMIT_COLUMN, identityColumns, schemaFeatures, type Feature } from './features.ts';

/**
 * Commit visibility in SQL: which rows of a group's committed files a read sees (the latest
 * commit's row per identity), and the order of committed files.
 */

// ---------------------------------------------------------------------------------------------
// Reads

/** Options of committedRowsSql. */
export interface CommittedRowsOptions {
  /** Features to select, in this order; default every feature of the schema. */
  readonly columns?: readonly string[];
  /** Only the visible rows: for each identity (primary key + event time), the row of the latest commit. */
  readonly latest?: boolean;
  /**
   * Adds a BIGINT column of this name: the file's position in commit order (0 for the oldest), so
   * a row of a later commit has a larger rank than a row it supersedes.
   */
  readonly commitRank?: string;
  /**
   * With `latest`: the files (among `paths`) of the commits that superseded rows of earlier ones
   * (`rowsUpdated` > 0). A row is hidden only by a row of a later commit with its identity, and
   * such a commit has `rowsUpdated` > 0, so the deduplication becomes a hash anti-join of the
   * earlier files against these files' identities (small for corrections) instead of a window over
   * every row; files of the last superseding commit and after are read as they are. An empty list:
   * nothing is hidden. Default: any commit may have superseded rows (the window).
   */
  readonly superseding?: readonly string[];
}

/** Column of a file's position in commit order, inside the anti-join of `superseding`. */
export const FILE_RANK = '#file';

export const COMMIT_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(\d+)\.parquet$/i;

/**
 * Committed file paths in commit order: by the commit id (uuid v7) that starts each file name,
 * then the file number; paths not named by this store keep their given order, after the others.
 */
export function commitOrder(paths: readonly string[]): string[] {
  const keyed = paths.map((path, i) => {
    const m = COMMIT_FILE.exec(basename(path));
    return { path, i, commit: m ? m[1]!.toLowerCase() : null, n: m ? Number(m[2]) : 0 };
  });
  keyed.sort((a, b) => {
    if (a.commit === null || b.commit === null) return a.commit === b.commit ? a.i - b.i : a.commit === null ? 1 : -1;
    return a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : a.n - b.n || a.i - b.i;
  });
  return keyed.map((k) => k.path);
}

/**
 * SQL selecting the rows of a group's committed files (as `filePaths` lists them), for SQL built
 * elsewhere (feature views); it needs no connection. Each column is cast to its feature's type and
 * is NULL in files written before the feature was appended. With `latest`, only the visible rows
 * (the latest commit's row per identity, as `read` returns them); otherwise every row of every
 * file, superseded ones included. No files: a query with no rows.
 */
export function committedRowsSql(paths: readonly string[], schema: GroupSchema, options: CommittedRowsOptions = {}): string {
  const features = schemaFeatures(schema);
  const byName = new Map(features.map((f) => [f.name, f]));
  const selected = (options.columns ?? features.map((f) => f.name)).map((name) => {
    const f = byName.get(name);
    if (!f) throw new Error(`committedRowsSql: no feature "${name}" in the schema`);
    return f;
  });
  const rank = options.commitRank;
  if (rank !== undefined && byName.has(rank)) throw new Error(`committedRowsSql: rank column "${rank}" is a feature`);
  const identity = options.latest ? identityColumns(schema).map((name) => byName.get(name)!) : [];
  const read = [...new Set([...selected, ...identity])];
  const outer = [
    ...selected.map((f) => `CAST(${ident(f.name)} AS ${f.sqlType}) AS ${ident(f.name)}`),
    ...(rank === undefined ? [] : [`CAST(${ident(rank)} AS BIGINT) AS ${ident(rank)}`]),
  ];
  // An empty relation with every column typed, unioned by name with the files: a column that no
  // file has (a feature appended after them) is NULL instead of a binder error.
  const typed = [
    ...read.map((f) => `CAST(NULL AS ${f.sqlType}) AS ${ident(f.name)}`),
    ...(options.latest ? [`CAST(NULL AS VARCHAR) AS ${COMMIT_COLUMN}`] : []),
    ...(rank === undefined ? [] : [`CAST(NULL AS BIGINT) AS ${ident(rank)}`]),
  ];
  const empty = `SELECT ${typed.join(', ')} WHERE false`;
  if (paths.length === 0) return `SELECT ${outer.join(', ')} FROM (${empty})`;
  const ordered = commitOrder(paths);
  const commitOf = (p: string) => COMMIT_FILE.exec(basename(p))?.[1]?.toLowerCase() ?? p;
  /**
   * The rows of the files at `indexes` (positions in commit order), unioned by name after the
   * typed empty relation; with `rankAs`, a column of that name holding the file's position.
   */
  const scan = (indexes: readonly number[], rankAs: string | undefined, head = empty) => {
    const files = indexes.map((i) => ordered[i]!);
    if (rankAs !== undefined && byName.has('file_index')) {
      // A feature shadows the virtual column file_index: one scan per file with its rank as a constant.
      return [head, ...indexes.map((i) => `SELECT *, ${i} AS ${ident(rankAs)} FROM read_parquet(${sqlString(ordered[i]!)})`)].join(' UNION ALL BY NAME ');
    }
    const contiguous = indexes.every((i, n) => i === indexes[0]! + n);
    const rankSql = contiguous ? `file_index + ${indexes[0] ?? 0}` : `[${indexes.join(', ')}][CAST(file_index AS BIGINT) + 1]`;
    const list = `[${files.map(sqlString).join(', ')}]`;
    return `${head} UNION ALL BY NAME SELECT *${rankAs === undefined ? '' : `, CAST(${rankSql} AS BIGINT) AS ${ident(rankAs)}`} FROM read_parquet(${list}, union_by_name = true)`;
  };
  const all = ordered.map((_, i) => i);
  if (options.latest && options.superseding !== undefined) {
    const wanted = new Set(options.superseding);
    const updating = all.filter((i) => wanted.has(ordered[i]!));
    // Files from the first of the last superseding commit on cannot be superseded; earlier ones
    // lose the rows whose identity a later superseding file has (later: by file position, needed
    // only when several commits superseded; identities are unique within a commit).
    const lastCommit = updating.length === 0 ? null : commitOf(ordered[updating.at(-1)!]!);
    const split = lastCommit === null ? 0 : ordered.findIndex((p) => commitOf(p) === lastCommit);
    if (split === 0) return `SELECT ${outer.join(', ')} FROM (${scan(all, rank)})`;
    const ranked = updating[0]! < split;
    const fileRank = ranked ? (rank ?? FILE_RANK) : rank;
    const headWith = (column: string | undefined) =>
      column === undefined || column === rank ? empty : `SELECT ${[...typed, `CAST(NULL AS BIGINT) AS ${ident(column)}`].join(', ')} WHERE false`;
    const earlier = all.slice(0, split);
    const later = all.slice(split);
    const keys = identity.map((f) => `CAST(${ident(f.name)} AS ${f.sqlType}) AS ${ident(f.name)}`);
    const updates = `SELECT ${[...keys, ...(ranked ? [ident(FILE_RANK)] : [])].join(', ')} FROM (${scan(updating, ranked ? FILE_RANK : undefined, headWith(ranked ? FILE_RANK : undefined))})`;
    const on = [
      ...identity.map((f) => `u.${ident(f.name)} IS NOT DISTINCT FROM CAST(r.${ident(f.name)} AS ${f.sqlType})`),
      ...(ranked ? [`u.${ident(FILE_RANK)} > r.${ident(fileRank!)}`] : []),
    ];
    const kept = `SELECT r.* FROM (${scan(earlier, fileRank, headWith(fileRank))}) AS r ANTI JOIN (${updates}) AS u ON ${on.join(' AND ')}`;
    return `SELECT ${outer.join(', ')} FROM (${kept} UNION ALL BY NAME (${scan(later, rank)}))`;
  }
  const union = scan(all, rank);
  // Identities are unique within a commit: files of one commit need no deduplication.
  const commits = new Set(ordered.map(commitOf));
  const latest =
    options.latest && commits.size > 1
      ? ` QUALIFY row_number() OVER (PARTITION BY ${identity.map((f) => ident(f.name)).join(', ')} ORDER BY ${COMMIT_COLUMN} DESC) = 1`
      : '';
  return `SELECT ${outer.join(', ')} FROM (${union})${latest}`;
}

/** The scan of committed files, one column per feature (NULL for features that no file has: appended later). */
export async function scanSql(connection: DuckDBConnection, files: readonly string[], features: readonly Feature[]): Promise<string> {
  const list = `[${files.map(sqlString).join(', ')}]`;
  const reader = `read_parquet(${list}, union_by_name = true)`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`);
  const present = new Set(described.getRows().map((r) => String(r[0])));
  const columns = features.map((f) => `CAST(${present.has(f.name) ? ident(f.name) : 'NULL'} AS ${f.sqlType}) AS ${ident(f.name)}`);
  return `SELECT ${columns.join(', ')}, ${COMMIT_COLUMN} FROM ${reader}`;
}
