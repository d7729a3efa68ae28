import type { DuckDBConnection } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import type { CommitRef } from '../offline-store.ts';
import type { InputFile } from './input-columns.ts';
import type { RowColumns } from './json-rows.ts';

// What the parts of the DuckDB backend share: the store's connections and staging bookkeeping as
// the commit and online-row code see them (the store implements both), and the shapes of a staged
// input. Declared here so the parts import this file rather than each other in a circle.

/** The store's connections, as the code that streams rows out of DuckDB uses them. */
export interface DuckDbConnections {
  /** Rows per part when a file is read in parts (row-number ranges). */
  readonly partitionRows: number;
  connect(): Promise<DuckDBConnection>;
  /** A connection of the insert instance. */
  connectInsert(): Promise<DuckDBConnection>;
}

/** The store as a staged commit uses it: connections plus the bookkeeping of files in flight. */
export interface StagingHost extends DuckDbConnections {
  /** How this process's staging file names begin. */
  readonly stagingPrefix: string;
  /** Marks a commit's files as in flight, so a sweep leaves them. */
  track(flight: string): void;
  finish(flight: string): void;
  /** Rows of the file at `path` that supersede rows of the `existing` commits of the group in `dir`. */
  countSuperseded(path: string, schema: GroupSchema, dir: string, existing: readonly CommitRef[], stagedRows: number): Promise<number>;
  /** Copies `from` to `to` with the commit column set to `commitId`; the bytes written. */
  rewriteCommitColumn(from: string, to: string, commitId: string): Promise<number>;
}

export interface SourceSql {
  /** Path root of issues: `rows` for JSON rows, `file` for a file. */
  readonly root: 'rows' | 'file';
  /** The user's file read, null for JSON rows. */
  readonly file: InputFile | null;
  /** The raw rows (for COPY: no ordinal, so DuckDB scans in parallel and keeps input order). */
  readonly reader: string;
  /** The raw rows with `"#ord"`, the 1-based row number in input order. */
  readonly ordered: string;
  /** Columns present in the input and their DuckDB types (`VARCHAR` for text inputs). */
  readonly columns: ReadonlyMap<string, string>;
}

/** JSON rows loaded into a table of the insert instance (see loadRows). */
export interface LoadedRows {
  readonly input: SourceSql;
  /** The rows as objects (built on demand for a columns source): loaded again as text to name a rejected value. */
  readonly rows: () => readonly unknown[];
  readonly columns: RowColumns;
  /** Per feature: the DuckDB type its values were loaded as (CODED: codes into a list of texts, read as VARCHAR). */
  readonly types: readonly ('DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'CODED')[];
  /** Per typed (DOUBLE, BOOLEAN) feature: the values appended. */
  readonly appended: readonly (readonly unknown[] | Float64Array | undefined)[];
  /** Per VARCHAR feature: the texts loaded. */
  readonly texts: readonly (readonly (string | null)[] | null)[];
}
