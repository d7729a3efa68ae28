import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { DataFrame, DataFrameColumn } from '../../../domain/data-frame.ts';
import { duckdbType, type FeatureDef, type GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import { messageRows, messagesToRows } from '../../../domain/stream-message.ts';
import { ValidationError } from '../../../errors.ts';
import type { OnlineColumns, OnlineRow } from '../../online/online-store.ts';
import { olderThan, PROCESS_ID, type SweepGuard } from '../../process-owner.ts';
import type {
  CommitFile,
  CommitRef,
  EventTimeWindow,
  ExportTarget,
  GroupLocation,
  GroupRows,
  InsertSource,
  OfflineStore,
  ReadOptions,
  StageOptions,
  StagedCommit,
} from '../offline-store.ts';
import { exportRows } from './columns-file.ts';
import { COMMIT_COLUMN, COMMIT_ID, featureTypeOf, identityColumns, schemaFeatures } from './features.ts';
import { countExisting, duplicateError, findDuplicates } from './identities.ts';
import { IdentityIndex } from './identity-index.ts';
import type { SourceSql, StagingHost } from './host.ts';
import { copyCoerced, copyRows, keepLastPerIdentity, loadColumns, loadRows, openSource, validateRows } from './ingest.ts';
import { givenRowColumns, givenRows, type RowColumns } from './json-rows.ts';

/** Feature types whose values a columns source may give as numbers (loaded as DOUBLE, then cast). */
const NUMERIC_TYPES: ReadonlySet<string> = new Set(['BIGINT', 'INT', 'DOUBLE', 'FLOAT', 'TIMESTAMP']);
import { fileQuery, MAX_ISSUES, strictCsv, writeNdjson, type InputFile } from './input-columns.ts';
import { MAX_FILE_COLUMNS, readCsvHeader, tooManyColumns } from './input-files.ts';
import { loadTable } from './load-table.ts';
import { relationOnlineRows, streamOnlineColumns } from './online-rows.ts';
import { commitOrder, committedRowsSql, scanSql } from './sql.ts';
import { DuckDbStagedCommit } from './staged-commit.ts';
import { StagingThread } from './staging-thread.ts';
import { plainValue, readDataFrame } from './values.ts';

/** Inserts of at most this many rows count the identities they supersede through the identity index. */
const INDEXED_INSERT_ROWS = 100_000;

/** Options of the DuckDB offline store. */
export interface DuckDbOfflineStoreOptions {
  /** DuckDB worker threads; default: the machine's core count. */
  readonly threads?: number;
  /** DuckDB `memory_limit` (e.g. `"2GB"`); default: a quarter of the machine's memory, at least 512 MB. Beyond it DuckDB spills to `<root>/.tmp`. */
  readonly memoryLimit?: string;
  /** Rows per Parquet row group of written files; default 122 880 (DuckDB's). */
  readonly rowGroupSize?: number;
  /**
   * zstd level of committed files (1–22); default 1. Measured on 5 M rows × 20 columns: level 1
   * writes ≈ 12 % faster than DuckDB's default (3) for files ≈ 7 % larger.
   */
  readonly compressionLevel?: number;
  /**
   * `memory_limit` of the DuckDB instance that stages inserts (default `"512MB"`). Inserts run on
   * their own instance so this bound holds for them alone: DuckDB sizes the buffers of an
   * order-preserving COPY by the memory limit, so under the store's limit a large upload would
   * hold memory in proportion to its size. Reads and feature views keep `memoryLimit`.
   */
  readonly insertMemoryLimit?: string;
  /** Rows per pass of the checks that hash every identity of an insert (duplicates); default 1 000 000, so memory does not grow with the upload. */
  readonly partitionRows?: number;
  /**
   * The id of the process this store writes for (its lease, see `ProcessLeases`): staging files
   * are named `.staging-<owner>-<commitId>-0.parquet` and DuckDB spills under `<root>/.tmp/<owner>`,
   * so that another process sharing the folder tells them apart. Default: a random id.
   */
  readonly owner?: string;
  /**
   * Stage inserts (`stage`, `infer`) on a worker thread with a store of its own (see
   * staging-thread.ts), so their DuckDB work, Parquet writes and checks never run on the caller's
   * thread. Default false: on the caller's thread.
   */
  readonly stagingThread?: boolean;
  /**
   * Identities the index of committed identities may hold, over all groups (20 to 40 bytes each;
   * see identity-index.ts); a group that does not fit is counted by scanning its files. Default 4 M.
   */
  readonly identityIndexRows?: number;
  /** @internal Names the spill folders `<root>/.tmp/<owner>/<spillPrefix>read|insert` (the staging thread's store: `staging-`). */
  readonly spillPrefix?: string;
}

/**
 * The offline store on DuckDB: each commit is one Parquet file (`<commitId>-0.parquet`) in the
 * group's folder `<root>/<project>/<name>_<version>/`, holding the coerced rows plus a `_commit`
 * column (the commit id). Two in-memory DuckDB instances per store: one stages inserts (and
 * reads commits for the online store) under its own memory limit, one does every other read;
 * bulk data flows file to file inside DuckDB and never through JavaScript objects. The duplicate
 * check and the online reads of an insert work in parts of at most `partitionRows` rows, so the
 * memory of a first insert without duplicates does not grow with its size (removing duplicates
 * under UPSERT, and counting superseded rows against earlier commits, still hash the whole input).
 *
 * Value rules on input (JSON rows, CSV, NDJSON, Parquet): TIMESTAMP accepts ISO 8601 text (with a
 * zone offset, converted to UTC; without one, taken as UTC) and epoch numbers (seconds, or
 * milliseconds when the magnitude exceeds 1e11); DATE accepts `YYYY-MM-DD`; BINARY accepts base64
 * text (or Parquet BLOB); ARRAY accepts a JSON array (text in CSV); DECIMAL rounds to its scale
 * (pass exact decimals as strings: JSON numbers are doubles); BIGINT/INT reject fractions;
 * DOUBLE, FLOAT, INT and BIGINT reject non-finite values (inf, NaN, overflow such as 1e400, or
 * 3.5e38 for FLOAT); STRING takes only strings from JSON rows and NDJSON (CSV fields are text).
 * CSV is parsed strictly (RFC 4180, the header read first: see readCsvHeader); a file that cannot
 * be read is refused through fileReadError, which names the file, never its path.
 * Input column names match features case-insensitively. An input lacking a feature (a file
 * without its column, a JSON row without its key) is rejected, unless `fillMissing`: then the
 * feature is null there; primary key and event time are required either way.
 *
 * Rejections are ValidationErrors with at most MAX_ISSUES issues, found in this order (a stage stops
 * at the first step that finds any): unknown columns and missing key or event-time columns
 * (`['file', column]`, or `['rows' | 'file', row, key]` for JSON keys), then other missing columns
 * without `fillMissing` (`['file', column]`, or `['rows', row, column]` at the first JSON row
 * lacking it), then bad values, null keys and null event times
 * (`[root, row, column]`), then duplicate identities under INSERT (`[root, row]`). `root` is
 * `rows` for JSON rows and `file` for files; `row` is the 1-based row number in input order (for
 * CSV, the data row, not counting the header line).
 */
export class DuckDbOfflineStore implements OfflineStore, StagingHost {
  private instance: Promise<DuckDBInstance> | null = null;
  private insertInstance: Promise<DuckDBInstance> | null = null;
  private columnsInstance: Promise<DuckDBInstance> | null = null;
  private closed = false;
  /** `<group dir>\0<commitId>` of commits staged and not yet published or discarded: sweep spares them. */
  private readonly inFlight = new Set<string>();
  private readonly rowGroupSize: number;
  private readonly compressionLevel: number;
  /** @internal rows per hash partition of the identity checks */
  readonly partitionRows: number;
  /** The process these files are written for (see `DuckDbOfflineStoreOptions.owner`). */
  readonly owner: string;
  /** @internal `.staging-<owner>-`: how this store's staging files begin, before `<commitId>-<n>.parquet`. */
  readonly stagingPrefix: string;
  /** Identities of committed files, so an insert's `rowsUpdated` reads only commits new since the last one. */
  private readonly identities: IdentityIndex;
  /** Where `stage` and `infer` run when `stagingThread` is set. */
  private readonly thread: StagingThread | null;

  /**
   * @param root the offline folder, `<dataDir>/offline` (created on first use).
   */
  constructor(
    readonly root: string,
    private readonly options: DuckDbOfflineStoreOptions = {},
  ) {
    this.rowGroupSize = options.rowGroupSize ?? 122_880;
    this.compressionLevel = Math.min(22, Math.max(1, Math.floor(options.compressionLevel ?? 1)));
    this.partitionRows = Math.max(1, options.partitionRows ?? 1_000_000);
    this.owner = options.owner ?? randomBytes(8).toString('hex');
    if (!PROCESS_ID.test(this.owner)) throw new Error(`offline store owner "${this.owner}" is not 16 hex characters`);
    this.stagingPrefix = `.staging-${this.owner}-`;
    this.identities = new IdentityIndex(options.identityIndexRows ?? 4_000_000);
    const { stagingThread, ...own } = options;
    this.thread = stagingThread
      ? new StagingThread({ root, options: { ...own, owner: this.owner, spillPrefix: 'staging-', memoryLimit: options.insertMemoryLimit ?? '512MB' } })
      : null;
  }

  /** A store with its DuckDB instance started (the constructor starts it lazily). */
  static async open(root: string, options: DuckDbOfflineStoreOptions = {}): Promise<DuckDbOfflineStore> {
    const store = new DuckDbOfflineStore(root, options);
    await store.db();
    return store;
  }

  /** A new connection to the store's DuckDB instance (UTC session); the caller closes it (`closeSync`). For SQL built elsewhere, e.g. feature views. */
  async connect(): Promise<DuckDBConnection> {
    return (await this.db()).connect();
  }

  /** A connection to the instance that stages inserts (its own memory limit); the caller closes it. */
  async connectInsert(): Promise<DuckDBConnection> {
    return (await this.insertDb()).connect();
  }

  private db(): Promise<DuckDBInstance> {
    if (this.closed) return Promise.reject(new Error('offline store is closed'));
    this.instance ??= this.createInstance(this.options.memoryLimit ?? `${Math.max(512, Math.floor(totalmem() / 4 / 2 ** 20))}MB`, 'read');
    return this.instance;
  }

  private insertDb(): Promise<DuckDBInstance> {
    if (this.closed) return Promise.reject(new Error('offline store is closed'));
    this.insertInstance ??= this.createInstance(this.options.insertMemoryLimit ?? '512MB', 'insert');
    return this.insertInstance;
  }

  /**
   * The instance that stages columns the server built (the prediction log's batches): one thread.
   * Such batches arrive every few seconds while the server answers at full load; a parallel plan's
   * threads would contend with request handling for the same cores, and on two cores its Parquet
   * copy took about twice the CPU it takes on one thread (4.8 against 2.5 µs a row, measured on
   * 20 000 rows × 77 columns).
   */
  private columnsDb(): Promise<DuckDBInstance> {
    if (this.closed) return Promise.reject(new Error('offline store is closed'));
    this.columnsInstance ??= this.createInstance(this.options.insertMemoryLimit ?? '512MB', 'columns', 1);
    return this.columnsInstance;
  }

  private async createInstance(memoryLimit: string, spill: string, threads?: number): Promise<DuckDBInstance> {
    const temp = join(this.root, '.tmp', this.owner, `${this.options.spillPrefix ?? ''}${spill}`);
    await mkdir(temp, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(threads ?? this.options.threads ?? availableParallelism()),
      memory_limit: memoryLimit,
      temp_directory: temp,
      autoinstall_known_extensions: 'false',
    });
    const connection = await instance.connect();
    try {
      // Strings without a zone are UTC, and TIMESTAMPTZ → TIMESTAMP converts to UTC.
      await connection.run(`SET GLOBAL TimeZone = 'UTC'; SET GLOBAL parquet_metadata_cache = true`);
    } finally {
      connection.closeSync();
    }
    return instance;
  }

  /** Runs `fn` on a new connection: to the read instance, the insert instance (`true`) or the one of server-built columns. */
  private async withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>, insert: boolean | 'columns' = false): Promise<T> {
    const connection = insert === 'columns' ? await (await this.columnsDb()).connect() : insert ? await this.connectInsert() : await this.connect();
    try {
      return await fn(connection);
    } finally {
      connection.closeSync();
    }
  }

  async aggregate(sql: string): Promise<unknown[][]> {
    return this.withConnection(async (connection) => {
      const result = await connection.runAndReadAll(sql);
      return result.getRows().map((row) => row.map(plainValue));
    });
  }

  /** See `loadTable` (load-table.ts): the table is visible to every connection of the store; drop it with `dropTable`. */
  async loadTable(columns: readonly { name: string; type: string }[], batches: AsyncIterable<readonly (readonly (string | null)[])[]>): Promise<string> {
    return this.withConnection((connection) => loadTable(connection, columns, batches));
  }

  async exportQuery(sql: string, target: ExportTarget): Promise<void> {
    await this.withConnection((connection) => exportRows(connection, sql, target));
  }

  /** Drops a table made by `loadTable`. */
  async dropTable(table: string): Promise<void> {
    await this.withConnection((connection) => connection.run(`DROP TABLE IF EXISTS ${table}`).then(() => undefined));
  }

  /** The columns of a relation (a file reader, say) with their feature types, as schema inference names them. */
  async describe(relation: string): Promise<{ name: string; type: string }[]> {
    return this.withConnection(async (connection) => {
      const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
      return described.getRows().map(([name, type]) => ({ name: String(name), type: featureTypeOf(String(type)) }));
    });
  }

  async queryRows(rows: string, build: (rows: string) => readonly string[]): Promise<unknown[][][]> {
    return this.withConnection(async (connection) => {
      const results: unknown[][][] = [];
      for (const sql of build(rows)) results.push((await connection.runAndReadAll(sql)).getRowsJson());
      return results;
    });
  }

  relationOnlineRows(relation: string, schema: GroupSchema, batchSize = 1000): AsyncIterable<OnlineRow[]> {
    return relationOnlineRows(this, relation, schema, batchSize);
  }

  /** Runs `sql` and returns it as a DataFrame whose columns are `columns`. */
  async query(sql: string, columns: readonly DataFrameColumn[]): Promise<DataFrame> {
    return this.withConnection((connection) => readDataFrame(connection, sql, columns));
  }

  /** The folder of a group version's files. */
  groupDir(location: GroupLocation): string {
    for (const [key, segment] of [
      ['project', location.project],
      ['name', location.name],
    ] as const) {
      if (!segment || segment.startsWith('.') || /[/\\\0]/.test(segment)) {
        throw ValidationError.at(['location', key], `invalid ${key} "${segment}" for a folder name`);
      }
    }
    if (!Number.isInteger(location.version)) throw ValidationError.at(['location', 'version'], 'version must be an integer');
    return join(this.root, location.project, `${location.name}_${location.version}`);
  }

  async stage(location: GroupLocation, schema: GroupSchema, commitId: string, given: InsertSource, options: StageOptions): Promise<StagedCommit> {
    if (this.thread) return this.thread.stage(location, schema, commitId, given, options);
    let source: Exclude<InsertSource, { kind: 'messages' }>;
    let columns: RowColumns | null = null;
    let sourceMessages: number | null = null;
    if (given.kind === 'messages') {
      const { rows, taken } = messagesToRows(schema, given.messages, given.maxRows);
      source = { kind: 'rows', rows };
      sourceMessages = taken;
    } else {
      source = given;
    }
    if (!COMMIT_ID.test(commitId)) throw ValidationError.at(['commitId'], `invalid commit id "${commitId}" (expected a uuid)`);
    const dir = this.groupDir(location);
    const features = schemaFeatures(schema);
    if (source.kind === 'columns')
      columns = givenRowColumns(
        source,
        features.map((f) => ({ name: f.name, numeric: NUMERIC_TYPES.has(f.type) })),
      );
    const flight = `${dir}\0${commitId}`;
    this.inFlight.add(flight);
    await mkdir(dir, { recursive: true });
    const staging = join(dir, `${this.stagingPrefix}${commitId}-0.parquet`);
    const staged = (files: CommitFile[], rowCount: number, rowsUpdated: number, online: OnlineColumns | null) =>
      new DuckDbStagedCommit(this, dir, commitId, files, rowCount, rowsUpdated, schema, features, flight, online, sourceMessages);
    try {
      return await this.withConnection(
        async (connection) => {
          const tables: string[] = [];
          try {
            let rowCount: number;
            let online: OnlineColumns | null = null;
            let root: SourceSql['root'];
            if (source.kind === 'columns') {
              // Columns the server built from values of the features' types: copied in one pass, a
              // value that does not fit failing the copy (as a server-written file's would).
              const loaded = await loadColumns(connection, columns!, () => givenRows(source), features, commitId, tables);
              root = loaded.input.root;
              rowCount = await copyCoerced(connection, loaded.input, features, commitId, staging, this.parquetOptions(), true).catch((error: unknown) => {
                // The copy's own error() texts name the feature; the engine's wording stays here.
                const own = /(a value of \S+ does not fit|\S+ is null)/.exec(error instanceof Error ? error.message : '')?.[1];
                throw new ValidationError(`columns built by the server do not fit the group: ${own ?? 'a value does not fit its feature'}`);
              });
            } else if (source.kind === 'rows') {
              const loaded = await loadRows(connection, source.rows, features, commitId, tables, false, options.fillMissing === true);
              root = loaded.input.root;
              ({ rowCount, online } = await copyRows(
                connection,
                loaded,
                features,
                schema,
                commitId,
                staging,
                this.parquetOptions(),
                options.online === true,
                tables,
              ));
            } else {
              const input = await openSource(connection, source, features, options.fillMissing === true);
              root = input.root;
              await validateRows(connection, input, features);
              rowCount = await copyCoerced(connection, input, features, commitId, staging, this.parquetOptions());
            }
            if (rowCount === 0) {
              await rm(staging, { force: true });
              this.inFlight.delete(flight);
              return staged([], 0, 0, null);
            }
            let written = rowCount;
            const duplicates = await findDuplicates(
              connection,
              staging,
              schema,
              features,
              rowCount,
              this.partitionRows,
              options.operation === 'INSERT' ? MAX_ISSUES : 1,
            );
            if (duplicates.length > 0) {
              if (options.operation === 'INSERT') throw duplicateError(duplicates, schema, root);
              written = await keepLastPerIdentity(
                connection,
                staging,
                join(dir, `${this.stagingPrefix}${commitId}-0.dedup.parquet`),
                schema,
                this.parquetOptions(),
              );
            }
            const rowsUpdated = await this.countExisting(connection, staging, schema, dir, options.existing, written);
            const bytes = (await stat(staging)).size;
            return staged([{ path: `${commitId}-0.parquet`, bytes, rows: written }], written, rowsUpdated, online);
          } finally {
            for (const table of tables) await connection.run(`DROP TABLE IF EXISTS ${table}`);
          }
        },
        source.kind === 'columns' ? 'columns' : true,
      );
    } catch (error) {
      await rm(staging, { force: true });
      this.inFlight.delete(flight);
      throw error;
    }
  }

  private parquetOptions(): string {
    return `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${this.compressionLevel}, ROW_GROUP_SIZE ${this.rowGroupSize}`;
  }

  async read(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], options: ReadOptions = {}): Promise<DataFrame> {
    return this.readFiles(location, schema, commits, options, commits.length > 1);
  }

  async readCommits(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], options: ReadOptions = {}): Promise<DataFrame> {
    return this.readFiles(location, schema, commits, options, false);
  }

  private async readFiles(
    location: GroupLocation,
    schema: GroupSchema,
    commits: readonly CommitRef[],
    options: ReadOptions,
    supersede: boolean,
  ): Promise<DataFrame> {
    const columns: DataFrameColumn[] = schema.features.map((f) => ({ name: f.name, type: f.type }));
    if (options.first !== undefined && options.first <= 0) return { columns, rows: [] };
    return this.withConnection(async (connection) => {
      const sql = await this.rowsSql(connection, location, schema, commits, supersede, options.first);
      return sql === null ? { columns, rows: [] } : readDataFrame(connection, sql, columns);
    });
  }

  /**
   * SQL selecting the rows of the given commits' files in key order: with `supersede`, for each
   * identity only the row of the latest commit. Null when the commits have no files.
   */
  private async rowsSql(
    connection: DuckDBConnection,
    location: GroupLocation,
    schema: GroupSchema,
    commits: readonly CommitRef[],
    supersede: boolean,
    first?: number,
  ): Promise<string | null> {
    const features = schemaFeatures(schema);
    const files = this.filePaths(location, commits);
    if (files.length === 0) return null;
    const scan = await scanSql(connection, files, features);
    const identity = identityColumns(schema).map(ident);
    const order = [...identity, ...(supersede ? [] : [COMMIT_COLUMN])].join(', ');
    return `SELECT ${features.map((f) => ident(f.name)).join(', ')} FROM (${scan})
        ${supersede ? `QUALIFY row_number() OVER (PARTITION BY ${identity.join(', ')} ORDER BY ${COMMIT_COLUMN} DESC) = 1` : ''}
        ORDER BY ${order}${first !== undefined ? ` LIMIT ${Math.floor(first)}` : ''}`;
  }

  async exportTo(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[], target: ExportTarget): Promise<void> {
    const features = schemaFeatures(schema);
    await this.withConnection(async (connection) => {
      const sql =
        (await this.rowsSql(connection, location, schema, commits, true)) ??
        `SELECT ${features.map((f) => `CAST(NULL AS ${duckdbType(f.parsed)}) AS ${ident(f.name)}`).join(', ')} LIMIT 0`;
      await exportRows(connection, sql, target);
    });
  }

  rows(location: GroupLocation, schema: GroupSchema, commits: readonly CommitRef[]): GroupRows {
    const paths = this.filePaths(location, commits);
    if (commits.every((c) => c.rowsUpdated !== undefined)) {
      // Only commits that updated an existing identity hide rows: an anti-join against their files alone.
      const superseding = this.filePaths(
        location,
        commits.filter((c) => c.rowsUpdated! > 0),
      );
      return { superseded: false, sql: (options = {}) => committedRowsSql(paths, schema, { columns: options.columns, latest: true, superseding }) };
    }
    return {
      superseded: true,
      sql: (options = {}) => committedRowsSql(paths, schema, { columns: options.columns, latest: options.latest ?? true, commitRank: options.commitRank }),
    };
  }

  onlineColumns(
    location: GroupLocation,
    schema: GroupSchema,
    commits: readonly CommitRef[],
    batchRows = 1000,
    window?: EventTimeWindow,
  ): AsyncIterable<OnlineColumns> {
    return streamOnlineColumns(this, commitOrder(this.filePaths(location, commits)), schema, schemaFeatures(schema), batchRows, window);
  }

  filePaths(location: GroupLocation, commits: readonly CommitRef[]): string[] {
    const dir = this.groupDir(location);
    return commits.flatMap((c) => c.files.map((f) => join(dir, f.path)));
  }

  /**
   * Deletes the files of the group folder that are provably abandoned, and returns their absolute
   * paths. Order: list the folder, then read the commits (`commits`) and the live processes
   * (`guard.live`), so that a commit recorded or a process started meanwhile is seen. A file is
   * kept when a commit lists it, when this store has its commit in flight, or when it is a staging
   * file (`.staging-<owner>-…`) of a live process. Else it goes when it is a staging file of a
   * process that is gone, or (a published file no commit lists yet, or a staging file of an older
   * version naming no owner) when untouched for longer than `guard.graceMs`: another process may
   * be between publishing and recording it, which takes far less.
   */
  async sweep(location: GroupLocation, commits: () => Promise<readonly CommitRef[]>, guard: SweepGuard): Promise<string[]> {
    const dir = this.groupDir(location);
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    if (entries.length === 0) return [];
    const listed = new Set((await commits()).flatMap((c) => c.files.map((f) => f.path)));
    const alive = await guard.live();
    const flying = [...this.inFlight].filter((k) => k.startsWith(`${dir}\0`)).map((k) => k.slice(dir.length + 1));
    const removed: string[] = [];
    for (const entry of entries) {
      if (listed.has(entry)) continue;
      if (flying.some((id) => entry.startsWith(`${id}-`) || entry.startsWith(`${this.stagingPrefix}${id}-`))) continue;
      const path = join(dir, entry);
      const owner = /^\.staging-([0-9a-f]{16})-/.exec(entry)?.[1];
      const abandoned = owner !== undefined ? !alive(owner) : await olderThan(path, guard.graceMs);
      if (!abandoned) continue;
      await rm(path, { force: true, recursive: true });
      removed.push(path);
    }
    return removed;
  }

  async drop(location: GroupLocation): Promise<void> {
    this.identities.forget(this.groupDir(location));
    await rm(this.groupDir(location), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread?.close();
    const instances = [this.instance, this.insertInstance, this.columnsInstance];
    this.instance = null;
    this.insertInstance = null;
    this.columnsInstance = null;
    for (const instance of instances) if (instance) (await instance).closeSync();
    // DuckDB removes its spill files on close; the process's folder goes with them (the staging
    // thread's store removes only its own folders: the caller's store is still open).
    const spill = join(this.root, '.tmp', this.owner);
    if (this.options.spillPrefix) {
      for (const name of ['read', 'insert', 'columns']) await rm(join(spill, `${this.options.spillPrefix}${name}`), { recursive: true, force: true });
    } else {
      await rm(spill, { recursive: true, force: true });
    }
  }

  /**
   * Infers features from an input, for a group created without features: names lower-cased,
   * types from the Parquet schema or DuckDB's detection (integers BIGINT, or INT for 32-bit and
   * smaller Parquet columns; floating numbers DOUBLE; ISO timestamps TIMESTAMP, dates DATE; lists
   * ARRAY<…>; text and anything else STRING). Descriptions are empty.
   */
  async infer(given: InsertSource): Promise<FeatureDef[]> {
    if (this.thread) return this.thread.infer(given);
    const source =
      given.kind === 'messages'
        ? { kind: 'rows' as const, rows: rawMessageRows(given.messages) }
        : given.kind === 'columns'
          ? { kind: 'rows' as const, rows: givenRows(given) }
          : given;
    return this.withConnection(async (connection) => {
      const temp: string[] = [];
      const file: InputFile | null = source.kind === 'rows' ? null : { path: source.path, user: { name: source.name ?? null, format: source.format } };
      try {
        let reader: string;
        if (source.kind === 'rows') {
          const path = join(this.root, '.tmp', this.owner, `infer-${randomUUID()}.ndjson`);
          temp.push(path);
          await writeNdjson(path, source.rows);
          reader = `read_json(${sqlString(path)}, format = 'newline_delimited', sample_size = -1)`;
        } else if (source.format === 'NDJSON') {
          reader = `read_json(${sqlString(source.path)}, format = 'newline_delimited')`;
        } else if (source.format === 'CSV') {
          // Parsed strictly first (a malformed row is named by its line), then sniffed for types.
          const header = await readCsvHeader(source.path, file!.user);
          await fileQuery(connection, `SELECT count(*) FROM ${strictCsv(source.path, header.length)}`, file);
          reader = `read_csv(${sqlString(source.path)}, header = true, skip = 0, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, strict_mode = true, null_padding = false)`;
        } else {
          reader = `read_parquet(${sqlString(source.path)})`;
        }
        const described = await fileQuery(connection, `DESCRIBE SELECT * FROM ${reader}`, file);
        if (file !== null && described.length > MAX_FILE_COLUMNS) throw tooManyColumns(file.user, described.length);
        return described.map(([name, type]) => ({ name: String(name).toLowerCase(), type: featureTypeOf(String(type)), description: '' }));
      } finally {
        await Promise.all(temp.map((path) => rm(path, { force: true })));
      }
    });
  }

  /** @internal for DuckDbStagedCommit */
  finish(flight: string): void {
    this.inFlight.delete(flight);
  }

  /** @internal for DuckDbStagedCommit: sweep spares this commit's files until `finish`. */
  track(flight: string): void {
    this.inFlight.add(flight);
  }

  /** @internal for DuckDbStagedCommit: identities of the file at `path` that the `existing` files hold. */
  countSuperseded(path: string, schema: GroupSchema, dir: string, existing: readonly CommitRef[], stagedRows: number): Promise<number> {
    return this.withConnection((connection) => this.countExisting(connection, path, schema, dir, existing, stagedRows), true);
  }

  /** Identities of the staged file at `path` that the group's `existing` commits hold: from the identity index, else by a scan. */
  private async countExisting(
    connection: DuckDBConnection,
    path: string,
    schema: GroupSchema,
    dir: string,
    existing: readonly CommitRef[],
    stagedRows: number,
  ): Promise<number> {
    // A large insert is counted by one scan: looking each of its rows up in JS would cost more.
    const indexed = stagedRows <= INDEXED_INSERT_ROWS ? await this.identities.count(connection, dir, schema, path, existing) : null;
    return (
      indexed ??
      countExisting(
        connection,
        path,
        schema,
        existing.flatMap((c) => c.files.map((f) => join(dir, f.path))),
      )
    );
  }

  /** @internal for DuckDbStagedCommit: copies a commit file to `to` with every row's commit column set to `commitId`; returns its bytes. */
  async rewriteCommitColumn(from: string, to: string, commitId: string): Promise<number> {
    await this.withConnection(
      (connection) =>
        connection.run(
          `COPY (SELECT * REPLACE (${sqlString(commitId)} AS ${COMMIT_COLUMN}) FROM read_parquet(${sqlString(from)})) TO ${sqlString(to)} (${this.parquetOptions()})`,
        ),
      true,
    );
    return (await stat(to)).size;
  }
}

/** The rows of messages as sent (for inferring a schema), messages that are not rows left out. */
function rawMessageRows(messages: readonly Uint8Array[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const data of messages) {
    try {
      for (const row of messageRows(data)) if (row !== null && typeof row === 'object' && !Array.isArray(row)) rows.push(row as Record<string, unknown>);
    } catch {}
  }
  return rows;
}
