import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DataFrame, DataFrameColumn } from '../../domain/data-frame.ts';
import { ValidationError } from '../../errors.ts';
import type { ExportTarget } from './offline-store.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { exportRows, readDataFrame, type DuckDbOfflineStore } from './duckdb/index.ts';

/** A time window [start, end) as ISO 8601 text; null ends are open. */
export interface TimeWindow {
  readonly start: string | null;
  readonly end: string | null;
}

/** How rows are assigned to splits. */
export type SplitSpec =
  | { readonly kind: 'NONE' }
  | { readonly kind: 'RANDOM'; readonly testSize: number; readonly validationSize: number; readonly seed: number }
  | { readonly kind: 'TIME_SERIES'; readonly train: TimeWindow; readonly validation: TimeWindow | null; readonly test: TimeWindow };

export interface SplitFile {
  readonly path: string;
  readonly bytes: number;
}

export interface MaterializedSplit {
  readonly name: string;
  readonly rowCount: number;
  /** Paths relative to the training dataset's folder. */
  readonly files: readonly SplitFile[];
}

export interface MaterializeRequest<T> {
  /** Folder of the training dataset version (created; must not hold another version). */
  readonly dir: string;
  /** The view's rows: its output columns, then the left event time and key columns named below. */
  readonly sourceSql: string;
  readonly columns: readonly string[];
  /** Hidden column holding the left row's event time (TIMESTAMP), or null when the view has none. */
  readonly eventTimeColumn: string | null;
  /** Hidden columns holding the left primary key, for reproducible random splits and ordering. */
  readonly keyColumns: readonly string[];
  readonly split: SplitSpec;
  readonly format: 'PARQUET' | 'CSV';
  /** Called with the train split (as SQL over a temporary table) before any file is written. */
  readonly fit: (connection: DuckDBConnection, trainSql: string) => Promise<T>;
}

const SPLIT = '#split';

/**
 * Training dataset files: a feature view's rows assigned to splits and written per split under
 * `<data dir>/training-datasets/`, read back with or without transformations.
 */
export class TrainingDataFiles {
  constructor(
    private readonly offline: DuckDbOfflineStore,
    readonly root: string,
  ) {}

  /** Folder of every training dataset of a view version. */
  viewDir(project: string, view: string, viewVersion: number): string {
    return join(this.root, project, `${view}_${viewVersion}`);
  }

  /** Folder of a training dataset version. */
  dir(project: string, view: string, viewVersion: number, version: number): string {
    return join(this.viewDir(project, view, viewVersion), String(version));
  }

  /**
   * Assigns the view's rows to splits, fits (through `fit`) on the train split, and writes one file
   * per split. Throws ValidationError when a requested split is empty; nothing is left behind then.
   */
  async materialize<T>(request: MaterializeRequest<T>): Promise<{ splits: MaterializedSplit[]; fitted: T }> {
    const connection = await this.offline.connect();
    const table = ident(`td_${Math.random().toString(36).slice(2)}`);
    try {
      await connection.run(`CREATE TEMP TABLE ${table} AS SELECT *, ${splitSql(request)} AS ${ident(SPLIT)} FROM (${request.sourceSql})`);
      const counts = new Map<string, number>();
      const reader = await connection.runAndReadAll(`SELECT ${ident(SPLIT)}, count(*) FROM ${table} GROUP BY ALL`);
      for (const [name, count] of reader.getRows()) if (name !== null) counts.set(String(name), Number(count));
      const names = splitNames(request.split);
      names.forEach((name) => {
        if (!counts.get(name)) {
          throw ValidationError.at(['input', 'split'], `the ${name} split is empty: ${emptyHint(request.split, name)}`);
        }
      });
      const fitted = await request.fit(connection, `SELECT * FROM ${table} WHERE ${ident(SPLIT)} = 'train'`);
      await mkdir(request.dir, { recursive: true });
      const order = [...request.keyColumns, ...(request.eventTimeColumn ? [request.eventTimeColumn] : [])].map(ident).join(', ');
      const select = request.columns.map(ident).join(', ');
      const ext = request.format === 'PARQUET' ? 'parquet' : 'csv';
      const options = request.format === 'PARQUET' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
      const splits: MaterializedSplit[] = [];
      for (const name of names) {
        const file = `${name}.${ext}`;
        await connection.run(
          `COPY (SELECT ${select} FROM ${table} WHERE ${ident(SPLIT)} = ${sqlString(name)}${order ? ` ORDER BY ${order}` : ''}) TO ${sqlString(join(request.dir, file))} (${options})`,
        );
        const { size } = await stat(join(request.dir, file));
        splits.push({ name, rowCount: counts.get(name)!, files: [{ path: file, bytes: size }] });
      }
      return { splits, fitted };
    } catch (error) {
      await rm(request.dir, { recursive: true, force: true });
      throw error;
    } finally {
      await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      connection.closeSync();
    }
  }

  /**
   * Reads split files: `select` are SQL select-list items over the files' columns (plain columns
   * or transformation expressions) producing `columns`.
   */
  async read(
    paths: readonly string[],
    select: readonly string[],
    columns: readonly DataFrameColumn[],
    first?: number,
    format: 'PARQUET' | 'CSV' = 'PARQUET',
  ): Promise<DataFrame> {
    const connection = await this.offline.connect();
    try {
      const reader = format === 'PARQUET' ? 'read_parquet' : 'read_csv';
      const sql = `SELECT ${select.join(', ')} FROM ${reader}([${paths.map(sqlString).join(', ')}])${first !== undefined ? ` LIMIT ${Math.floor(first)}` : ''}`;
      return await readDataFrame(connection, sql, columns);
    } finally {
      connection.closeSync();
    }
  }

  /** Writes split files' rows, selected as `read` selects them, to a file (a download). */
  async exportTo(paths: readonly string[], select: readonly string[], source: 'PARQUET' | 'CSV', target: ExportTarget): Promise<void> {
    const connection = await this.offline.connect();
    try {
      const reader = source === 'PARQUET' ? 'read_parquet' : 'read_csv';
      await exportRows(connection, `SELECT ${select.join(', ')} FROM ${reader}([${paths.map(sqlString).join(', ')}])`, target);
    } finally {
      connection.closeSync();
    }
  }

  /** Writes the rows of `sql` (built over the view's rows) to a file (a download). */
  async exportQuery(sql: string, target: ExportTarget): Promise<void> {
    const connection = await this.offline.connect();
    try {
      await exportRows(connection, sql, target);
    } finally {
      connection.closeSync();
    }
  }

  /** Runs `sql` (built over the view's rows) and returns it as a DataFrame. */
  async query(sql: string, columns: readonly DataFrameColumn[]): Promise<DataFrame> {
    const connection = await this.offline.connect();
    try {
      return await readDataFrame(connection, sql, columns);
    } finally {
      connection.closeSync();
    }
  }

  /** Runs `work` with a connection of the offline store's DuckDB instance. */
  async withConnection<R>(work: (connection: DuckDBConnection) => Promise<R>): Promise<R> {
    const connection = await this.offline.connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  }

  async remove(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
}

function splitNames(split: SplitSpec): string[] {
  switch (split.kind) {
    case 'NONE':
      return ['train'];
    case 'RANDOM':
      return ['train', ...(split.validationSize > 0 ? ['validation'] : []), ...(split.testSize > 0 ? ['test'] : [])];
    case 'TIME_SERIES':
      return ['train', ...(split.validation ? ['validation'] : []), 'test'];
  }
}

function emptyHint(split: SplitSpec, name: string): string {
  if (split.kind === 'TIME_SERIES') return `no rows have an event time in the ${name} window`;
  if (split.kind === 'RANDOM') return 'too few rows for the sizes asked; add data or change testSize/validationSize';
  return 'the view has no rows in the time range';
}

/**
 * The split of a row. RANDOM: a uniform number from the MD5 of the seed, the left key and event
 * time, so the same seed and data give the same rows in each split, on any machine and in any
 * row order. TIME_SERIES: the window the left event time falls in (rows in none are dropped).
 */
function splitSql(request: MaterializeRequest<unknown>): string {
  const { split } = request;
  const et = request.eventTimeColumn ? ident(request.eventTimeColumn) : null;
  switch (split.kind) {
    case 'NONE':
      return `'train'`;
    case 'RANDOM': {
      const parts = [`'${split.seed}'`, ...request.keyColumns.map((k) => `CAST(${ident(k)} AS VARCHAR)`), ...(et ? [`CAST(${et} AS VARCHAR)`] : [])];
      const u = `(CAST(('0x' || substr(md5(concat_ws('|', ${parts.join(', ')})), 1, 12)) AS BIGINT) / 281474976710656.0)`;
      return `CASE WHEN ${u} < ${split.testSize} THEN 'test' WHEN ${u} < ${split.testSize + split.validationSize} THEN 'validation' ELSE 'train' END`;
    }
    case 'TIME_SERIES': {
      if (!et) throw ValidationError.at(['input', 'split'], 'a TIME_SERIES split needs a left feature group with an event time');
      const inWindow = (w: TimeWindow) =>
        [w.start ? `${et} >= TIMESTAMP ${sqlString(w.start)}` : null, w.end ? `${et} < TIMESTAMP ${sqlString(w.end)}` : null].filter(Boolean).join(' AND ') ||
        'TRUE';
      return `CASE WHEN ${inWindow(split.train)} THEN 'train'${split.validation ? ` WHEN ${inWindow(split.validation)} THEN 'validation'` : ''} WHEN ${inWindow(split.test)} THEN 'test' END`;
    }
  }
}
