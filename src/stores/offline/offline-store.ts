import type { DataFrame } from '../../domain/data-frame.ts';
import type { FeatureDef, GroupSchema } from '../../domain/feature-types.ts';
import type { InsertSource } from '../../domain/insert-source.ts';
import { ident } from '../../domain/sql.ts';
import type { OnlineColumns, OnlineRow } from '../online/online-store.ts';
import type { SweepGuard } from '../process-owner.ts';

/** Where a feature group version's files live: `<root>/<project>/<name>_<version>/`. */
export interface GroupLocation {
  readonly project: string;
  readonly name: string;
  readonly version: number;
}

/** A committed data file of a group, as the metadata commit row lists it (path relative to the group's folder). */
export interface CommitFile {
  readonly path: string;
  readonly bytes: number;
  readonly rows: number;
}

/** A commit of a group, oldest first when handed to reads. */
export interface CommitRef {
  /** uuid v7: sorts in commit order; every row of the commit's files carries it. */
  readonly id: string;
  readonly files: readonly CommitFile[];
  /**
   * Rows of earlier commits this commit superseded (the metadata's `rowsUpdated`), when known.
   * Only a commit with `rowsUpdated` > 0 hides rows, so `rows` removes superseded rows cheaply
   * when every commit states it.
   */
  readonly rowsUpdated?: number;
}

/** What a caller asks of `GroupRows.sql`. */
export interface RowsSqlOptions {
  /** Features to select, in this order; default every feature of the schema. */
  readonly columns?: readonly string[];
  /**
   * Only the visible rows (for each identity, the row of the latest commit); default true. When
   * `GroupRows.superseded` is false the rows are the visible ones whatever this says.
   */
  readonly latest?: boolean;
  /**
   * Adds a BIGINT column of this name ranking rows by commit (a row of a later commit has a larger
   * rank than a row it supersedes), so a caller's as-of join can pick the newest itself.
   */
  readonly commitRank?: string;
}

/**
 * A group's rows as SQL that the caller composes (statistics, validation, feature views): one
 * column per feature asked for, cast to its type (NULL where a commit predates the feature).
 * The store owns commit visibility: callers never build it.
 */
export interface GroupRows {
  /**
   * Whether `sql` may hold superseded rows unless asked for `latest` (commits whose superseding
   * ones are unknown). False: `sql` holds only visible rows (an external relation, or commits
   * that all state `rowsUpdated`), and `commitRank` is not needed.
   */
  readonly superseded: boolean;
  /** A SELECT of the rows; it needs no connection and stays valid while the commits' files do. */
  sql(options?: RowsSqlOptions): string;
}

/**
 * The rows of a relation built elsewhere (an external group read from its source: one column per
 * feature, one row per identity), as GroupRows: nothing superseded, `columns` projected.
 */
export function relationRows(relation: string): GroupRows {
  return {
    superseded: false,
    sql: (options = {}) => (options.columns === undefined ? relation : `SELECT ${options.columns.map(ident).join(', ')} FROM (${relation})`),
  };
}

export interface StageOptions {
  /** UPSERT: a row whose identity exists supersedes it; duplicates within the insert keep the last. INSERT: duplicates within the insert are rejected. */
  readonly operation: 'UPSERT' | 'INSERT';
  /**
   * Absent features are null: a file without the column, a JSON row without the key. Otherwise
   * (default) such an input is rejected, naming the columns (and the first JSON row lacking each).
   * Primary key and event time are required either way.
   */
  readonly fillMissing?: boolean;
  /** The group's commits so far, to count `rowsUpdated` (identities that already exist); `recount` counts again. */
  readonly existing: readonly CommitRef[];
  /**
   * The caller writes this commit's rows online: JSON rows keep them column-wise in memory (one
   * request's worth) for `onlineColumns`, instead of reading the staged file back.
   */
  readonly online?: boolean;
}

/**
 * An insert validated, coerced and written to temporary files, not yet visible.
 * The caller publishes it (renames files into place) and then writes the commit row;
 * or discards it. Nothing of a staged commit is ever read before `publish`.
 */
export interface StagedCommit {
  readonly commitId: string;
  readonly files: readonly CommitFile[];
  readonly bytes: number;
  /** Rows written (after de-duplication under UPSERT). */
  readonly rowCount: number;
  /** Identities new to the group. */
  readonly rowsInserted: number;
  /** Identities that existed and are superseded by this commit. */
  readonly rowsUpdated: number;
  /** For a `messages` source, how many of its messages (from the first) the commit holds; null for other sources. */
  readonly sourceMessages: number | null;
  /**
   * The rows of this commit for the online store, column-wise (features in schema order), in
   * batches of at most `batchRows`. The files are read in parts of a bounded number of rows, each
   * sorted by primary key with only its newest row per key kept, so memory does not grow with the
   * commit: a key may recur across parts (and batches), and the online store's newest-event-wins
   * rule keeps the newest. A commit of one part yields exactly the newest row per key.
   */
  onlineColumns(batchRows?: number): AsyncIterable<OnlineColumns>;
  /**
   * Runs read-only SQL over the staged rows, before `publish` (data validation): `build` receives
   * a SELECT of those rows (one column per feature, of its type) and returns the statements to
   * run; each statement's rows come back with JSON values (DOUBLE and BOOLEAN as JSON numbers and
   * booleans, VARCHAR as strings).
   */
  query(build: (rows: string) => readonly string[]): Promise<unknown[][][]>;
  /**
   * Counts `rowsUpdated` (and so `rowsInserted`) again, against these commits: the caller orders
   * its commit after the group's commits recorded meanwhile (see FeatureGroupService.insert).
   */
  recount(existing: readonly CommitRef[]): Promise<void>;
  /**
   * Gives the commit another id (uuid v7), so that it sorts after commits recorded while it was
   * staged: every row's commit column and the file names follow. Before or after `publish`; a
   * published commit is unpublished (publish it again).
   */
  renumber(commitId: string): Promise<void>;
  /** Moves the files into the group's folder (atomic rename). */
  publish(): Promise<void>;
  /** Removes the temporary files (and published ones, when the metadata commit failed). */
  discard(): Promise<void>;
}

export interface ExportTarget {
  /** COLUMNS: the columns file (duckdb/columns-file.ts), numbers as their bytes, for the Python client. */
  readonly format: 'PARQUET' | 'CSV' | 'COLUMNS';
  /** Absolute path of the file to write. */
  readonly path: string;
}

export interface ReadOptions {
  /** At most this many rows (ordered by primary key, then event time). */
  readonly first?: number;
}

/** An event-time window in the online store's unit (epoch microseconds for TIMESTAMP and DATE): from inclusive, to exclusive. */
export interface EventTimeWindow {
  readonly fromMicros: number | null;
  readonly toMicros: number | null;
}

/**
 * The offline store: every commit of every group, kept as files and read through SQL. Rules every
 * backend keeps (test/stores/offline/offline-store.contract.ts states them as tests):
 * - A group's visible rows, given its commits (oldest first), are the union of their rows where,
 *   for each identity (primary key + event time when the group has one), the row of the latest
 *   commit wins; identities are unique within a commit.
 * - Time travel is the caller's: reading as of a time is reading only the commits made up to then.
 *   Commits the caller leaves out (ONLINE-only ones, which keep no offline rows) are invisible.
 * - A staged commit is invisible until published; `discard` leaves no file behind; `renumber`
 *   makes the commit sort after the given id's, with its rows following it.
 * - `read` orders rows by identity and `first` limits them; `columns` projects in the order asked.
 * - `rows`, `read`, `exportTo` agree on which rows are visible.
 */
export interface OfflineStore {
  /**
   * Validates and coerces `source` against `schema` and writes it to temporary Parquet files.
   * Throws ValidationError naming the row number (1-based, in input order), column and reason for
   * the first bad rows: wrong type, null primary key, missing event time, unknown column, missing
   * column (unless `fillMissing`), duplicate identity under INSERT. Nothing is written then.
   */
  stage(location: GroupLocation, schema: GroupSchema, commitId: string, source: InsertSource, options: StageOptions): Promise<StagedCommit>;
  /**
   * The features of an input, for a group created without features: names lower-cased as
   * given, types from the file's own schema (Parquet) or DuckDB's detection (CSV, NDJSON, rows).
   */
  infer(source: InsertSource): Promise<FeatureDef[]>;
  /**
   * The given commits' rows (oldest first) as SQL to compose; see GroupRows. When every commit
   * states `rowsUpdated`, superseded rows are removed inside (`superseded` false).
   */
  rows(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[]): GroupRows;
  /** The visible rows of the given commits (time travel = pass only commits up to then). */
  read(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], options?: ReadOptions): Promise<DataFrame>;
  /** The rows written by the given commits only (a window of the change log), superseded rows included. */
  readCommits(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], options?: ReadOptions): Promise<DataFrame>;
  /** Writes the visible rows of the given commits to a file (downloads of a whole group). */
  exportTo(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], target: ExportTarget): Promise<void>;
  /**
   * The given commits' rows for the online store (replaying commits), as StagedCommit.onlineColumns:
   * files in commit order, each in parts sorted by key with the newest row per key of a part; with
   * `window`, only rows whose event time is in it (before the newest row per key is taken).
   */
  onlineColumns(
    location: GroupLocation,
    schema: GroupSchema,
    commits: readonly CommitRef[],
    batchRows?: number,
    window?: EventTimeWindow,
  ): AsyncIterable<OnlineColumns>;
  /** Absolute paths of the given commits' files (tools and tests that read them directly; readers compose `rows`). */
  filePaths(location: GroupLocation, commits: readonly CommitRef[]): string[];
  /**
   * Runs one query built elsewhere (statistics) whose result is small, aggregates only, and returns
   * its rows as arrays of plain values: numbers (integers and decimals as numbers), strings,
   * booleans, null, and arrays of those for lists. Never for row data: use `read` for that.
   */
  aggregate(sql: string): Promise<unknown[][]>;
  /**
   * Loads rows arriving as text (an external source's batches, values in column order, null for
   * NULL) into a new table that every connection sees, each value cast to its column's feature
   * type; returns the table's quoted name for SQL built elsewhere. Drop it with `dropTable`.
   */
  loadTable(columns: readonly { name: string; type: string }[], batches: AsyncIterable<readonly (readonly (string | null)[])[]>): Promise<string>;
  /** Writes the rows of a query built elsewhere (an external group's relation) to a file. */
  exportQuery(sql: string, target: ExportTarget): Promise<void>;
  /** Drops a table made by `loadTable`. */
  dropTable(table: string): Promise<void>;
  /** The columns of a relation built elsewhere (a file reader) with the feature types schema inference gives them. */
  describe(relation: string): Promise<{ name: string; type: string }[]>;
  /** Runs a query built elsewhere (an external group's rows) and returns it as a DataFrame with these columns. */
  query(sql: string, columns: readonly { name: string; type: string }[]): Promise<DataFrame>;
  /**
   * Runs read-only statements built over `rows` (a SELECT built elsewhere: a group's visible rows,
   * an external group's relation) as `StagedCommit.query` does: `build` returns the statements,
   * each statement's rows come back with JSON values.
   */
  queryRows(rows: string, build: (rows: string) => readonly string[]): Promise<unknown[][][]>;
  /** The newest row per primary key of a relation built elsewhere (one column per feature of `schema`), in batches. */
  relationOnlineRows(relation: string, schema: GroupSchema, batchSize?: number): AsyncIterable<OnlineRow[]>;
  /**
   * Removes files of the group folder that no commit lists and that are provably abandoned (left
   * by an insert of a process that is gone: see the backend for the rule); returns them. Lists
   * the folder before it calls `commits` (the commits now) and `guard.live`, so that a commit
   * recorded or a process started meanwhile keeps its files. Safe while other processes insert.
   */
  sweep(location: GroupLocation, commits: () => Promise<readonly CommitRef[]>, guard: SweepGuard): Promise<string[]>;
  /** Removes every file of a group version. */
  drop(location: GroupLocation): Promise<void>;
  close(): Promise<void>;
}

export type { InsertSource };
