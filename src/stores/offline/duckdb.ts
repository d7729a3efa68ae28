import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { once } from 'node:events';
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBTimestampValue,
  DuckDBDataChunk,
  BIGINT,
  BOOLEAN,
  DATE,
  TIMESTAMP,
  DOUBLE,
  FLOAT,
  INTEGER,
  VARCHAR,
  type DuckDBType,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { DataFrame, DataFrameColumn } from '../../domain/data-frame.ts';
import { duckdbType, parseFeatureType, type FeatureDef, type GroupSchema, type ParsedType } from '../../domain/feature-types.ts';
import { ValidationError, type InputIssue } from '../../errors.ts';
import type { OnlineColumns, OnlineRow } from '../online/online-store.ts';
import { columnTexts, jsonReplacer, rowColumns, valueIssues, type RowColumns } from './json-rows.ts';
import { fileReadError, MAX_FILE_COLUMNS, readCsvHeader, tooManyColumns, type UserFile } from './input-files.ts';
import { shortestFloat32 } from '../../domain/float32.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { daysToIsoDate, EPOCH_MILLIS_THRESHOLD, microsToIso } from '../../domain/timestamps.ts';
import { olderThan, PROCESS_ID, type SweepGuard } from '../process-owner.ts';
import type {
  CommitFile,
  CommitRef,
  EventTimeWindow,
  ExportTarget,
  GroupLocation,
  InsertSource,
  OfflineStore,
  ReadOptions,
  StageOptions,
  StagedCommit,
} from './offline-store.ts';

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
}

/** At most this many issues in one ValidationError. */
export const MAX_ISSUES = 20;


const COMMIT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ORD = '#ord';
/** The column of every committed file that holds its commit id. */
export const COMMIT_COLUMN = '_commit';
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

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
export class DuckDbOfflineStore implements OfflineStore {
  private instance: Promise<DuckDBInstance> | null = null;
  private insertInstance: Promise<DuckDBInstance> | null = null;
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

  private async createInstance(memoryLimit: string, spill: string): Promise<DuckDBInstance> {
    const temp = join(this.root, '.tmp', this.owner, spill);
    await mkdir(temp, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads ?? availableParallelism()),
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

  private async withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>, insert = false): Promise<T> {
    const connection = insert ? await this.connectInsert() : await this.connect();
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

  /**
   * Loads rows that arrive as text (an external source's batches) into a new table of the
   * in-memory database, through the DuckDB appender: each value is cast to its column's DuckDB
   * type as it is appended (timestamps as UTC text). The table is visible to every connection of
   * the store; the caller drops it with `dropTable`. Returns its quoted name.
   */
  async loadTable(columns: readonly { name: string; type: string }[], batches: AsyncIterable<readonly (readonly (string | null)[])[]>): Promise<string> {
    const name = `ext_${randomUUID().replaceAll('-', '')}`;
    const table = ident(name);
    return this.withConnection(async (connection) => {
      await connection.run(`CREATE TABLE ${table} (${columns.map((c) => `${ident(c.name)} ${duckdbType(c.type)}`).join(', ')})`);
      try {
        const appender = await connection.createAppender(name);
        try {
          const width = columns.length;
          const kinds = columns.map((c) => chunkColumn(c.type));
          // Whole vectors at a time: values parsed here go into typed vectors copied into DuckDB in
          // one call per vector; the rest go as text that DuckDB casts vector by vector (far
          // cheaper than a call per value). A column whose text this parser does not know (a BC
          // date, `infinity`) goes as text for that chunk.
          for await (const batch of batches) {
            for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
              const count = Math.min(CHUNK_ROWS, batch.length - start);
              const types: DuckDBType[] = [];
              const values: DuckDBValue[][] = [];
              for (let c = 0; c < width; c++) {
                const kind = kinds[c]!;
                const column = new Array<DuckDBValue>(count);
                let parsed = kind.parse !== null;
                for (let i = 0; i < count; i++) {
                  const text = batch[start + i]![c];
                  if (text === null || text === undefined) column[i] = null;
                  else if (parsed) {
                    const value = kind.parse!(text);
                    if (value === undefined) {
                      parsed = false;
                      i = -1;
                    } else column[i] = value;
                  } else column[i] = text;
                }
                types.push(parsed ? kind.type : VARCHAR);
                values.push(column);
              }
              const chunk = DuckDBDataChunk.create(types, count);
              chunk.setColumns(values);
              appender.appendDataChunk(chunk);
            }
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        return table;
      } catch (error) {
        await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
        throw error;
      }
    });
  }

  async exportQuery(sql: string, target: ExportTarget): Promise<void> {
    const options = target.format === 'PARQUET' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
    await this.withConnection((connection) => connection.run(`COPY (${sql}) TO ${sqlString(target.path)} (${options})`).then(() => undefined));
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

  async stage(
    location: GroupLocation,
    schema: GroupSchema,
    commitId: string,
    source: InsertSource,
    options: StageOptions,
  ): Promise<StagedCommit> {
    if (!COMMIT_ID.test(commitId)) throw ValidationError.at(['commitId'], `invalid commit id "${commitId}" (expected a uuid)`);
    const dir = this.groupDir(location);
    const features = schemaFeatures(schema);
    const flight = `${dir}\0${commitId}`;
    this.inFlight.add(flight);
    await mkdir(dir, { recursive: true });
    const staging = join(dir, `${this.stagingPrefix}${commitId}-0.parquet`);
    const staged = (files: CommitFile[], rowCount: number, rowsUpdated: number, online: OnlineColumns | null) =>
      new DuckDbStagedCommit(this, dir, commitId, files, rowCount, rowsUpdated, schema, features, flight, online);
    try {
      return await this.withConnection(async (connection) => {
        const tables: string[] = [];
        try {
          let rowCount: number;
          let online: OnlineColumns | null = null;
          let root: SourceSql['root'];
          if (source.kind === 'rows') {
            const loaded = await this.loadRows(connection, source.rows, features, commitId, tables, false, options.fillMissing === true);
            root = loaded.input.root;
            ({ rowCount, online } = await this.copyRows(connection, loaded, features, schema, commitId, staging, options.online === true, tables));
          } else {
            const input = await this.openSource(connection, source, features, options.fillMissing === true);
            root = input.root;
            await this.validateRows(connection, input, features);
            rowCount = await this.copyCoerced(connection, input, features, commitId, staging);
          }
          if (rowCount === 0) {
            await rm(staging, { force: true });
            this.inFlight.delete(flight);
            return staged([], 0, 0, null);
          }
          let written = rowCount;
          const duplicates = await findDuplicates(connection, staging, schema, features, rowCount, this.partitionRows, options.operation === 'INSERT' ? MAX_ISSUES : 1);
          if (duplicates.length > 0) {
            if (options.operation === 'INSERT') throw duplicateError(duplicates, schema, root);
            written = await this.keepLastPerIdentity(connection, staging, schema, dir, commitId);
          }
          const rowsUpdated = await countExisting(connection, staging, schema, this.filePaths(location, options.existing));
          const bytes = (await stat(staging)).size;
          return staged([{ path: `${commitId}-0.parquet`, bytes, rows: written }], written, rowsUpdated, online);
        } finally {
          for (const table of tables) await connection.run(`DROP TABLE IF EXISTS ${table}`);
        }
      }, true);
    } catch (error) {
      await rm(staging, { force: true });
      this.inFlight.delete(flight);
      throw error;
    }
  }

  /**
   * Describes an input as a SQL source with one column per feature present, named as the feature
   * (input names match features case-insensitively, as `infer` lower-cases them), plus an ordinal.
   */
  private async openSource(
    connection: DuckDBConnection,
    source: InsertSource & { kind: 'file' },
    features: readonly Feature[],
    fillMissing: boolean,
  ): Promise<SourceSql> {
    const path = source.path;
    const file: InputFile = { path, user: { name: source.name ?? null, format: source.format } };
    const byFeature = new Map(features.map((f) => [f.name, f]));
    if (source.format === 'NDJSON') {
      // read_json matches keys case-sensitively and ignores unknown ones: list the keys first.
      const keys = await fileQuery(
        connection,
        `SELECT k, min(ord) AS first FROM (SELECT row_number() OVER () AS ord, json_keys(json) AS ks
           FROM read_json_objects(${sqlString(path)}, format = 'newline_delimited')), unnest(ks) AS u(k)
         GROUP BY k ORDER BY first`,
        file,
      );
      if (keys.length > MAX_FILE_COLUMNS) throw tooManyColumns(file.user, keys.length);
      const { names, issues } = matchColumns(keys.map(([key, first]) => ({ name: String(key), row: Number(first) })), features);
      issues.push(...missingRequired(names, features));
      if (issues.length > 0) throw issuesError(issues);
      // STRING features read the JSON value, so that a number, boolean, object or array given
      // for one is refused rather than turned into text (see coerce, JSON_VALUE).
      const jsonValue = (feature: string) => isStringFeature(byFeature.get(feature)!);
      if (!fillMissing) missingColumns(features, presentIn(names), 'file');
      const renames = [...names].map(([original, feature]) => `${ident(original)} AS ${ident(feature)}`);
      const columns = `{${[...names].map(([original, feature]) => `${sqlString(original)}: '${jsonValue(feature) ? 'JSON' : 'VARCHAR'}'`).join(', ')}}`;
      const reader = `(SELECT ${renames.join(', ')} FROM read_json(${sqlString(path)}, format = 'newline_delimited', columns = ${columns}))`;
      return {
        root: 'file',
        file,
        reader,
        ordered: `SELECT *, row_number() OVER () AS "${ORD}" FROM ${reader}`,
        columns: new Map([...names.values()].map((feature) => [feature, jsonValue(feature) ? JSON_VALUE : 'VARCHAR'])),
      };
    }
    if (source.format === 'CSV') {
      // The header is read here, not sniffed: the file is then parsed strictly with exactly its
      // columns, so a malformed row is refused with its line instead of being read some other way.
      const header = await readCsvHeader(path, file.user);
      const { names, issues } = matchColumns(header.map((name) => ({ name, row: null })), features);
      issues.push(...missingRequired(names, features));
      if (issues.length > 0) throw issuesError(issues);
      if (!fillMissing) missingColumns(features, presentIn(names), 'file');
      const position = new Map<string, number>();
      header.forEach((name, i) => {
        if (!position.has(name)) position.set(name, i);
      });
      const fn = strictCsv(path, header.length);
      const renames = [...names].map(([original, feature]) => `"#f${position.get(original)!}" AS ${ident(feature)}`);
      return {
        root: 'file',
        file,
        reader: `(SELECT ${renames.join(', ')} FROM ${fn})`,
        ordered: `SELECT ${renames.join(', ')}, row_number() OVER () AS "${ORD}" FROM ${fn}`,
        columns: new Map([...names.values()].map((feature) => [feature, 'VARCHAR'])),
      };
    }
    const fn = `read_parquet(${sqlString(path)}, file_row_number = true)`;
    const described = await fileQuery(connection, `DESCRIBE SELECT * FROM ${fn}`, file);
    const types = new Map(described.map(([name, type]) => [String(name), String(type)]));
    types.delete('file_row_number');
    if (types.size > MAX_FILE_COLUMNS) throw tooManyColumns(file.user, types.size);
    const { names, issues } = matchColumns([...types.keys()].map((name) => ({ name, row: null })), features);
    issues.push(...missingRequired(names, features));
    if (issues.length > 0) throw issuesError(issues);
    if (!fillMissing) missingColumns(features, presentIn(names), 'file');
    const renames = [...names].map(([original, feature]) => `${ident(original)} AS ${ident(feature)}`);
    return {
      root: 'file',
      file,
      reader: `(SELECT ${renames.join(', ')} FROM ${fn})`,
      ordered: `SELECT ${renames.join(', ')}, file_row_number + 1 AS "${ORD}" FROM ${fn}`,
      columns: new Map([...names].map(([original, feature]) => [feature, types.get(original)!])),
    };
  }

  /**
   * JSON rows (one request, in memory) into a table of the insert instance with a column per
   * feature: numbers for a BIGINT, INT, DOUBLE, FLOAT or TIMESTAMP feature as DOUBLE and booleans
   * for a BOOLEAN feature as BOOLEAN (typed vectors through the appender), everything else as its
   * JSON text (see jsonText), so the coercion SQL of files applies unchanged, as to a Parquet file's
   * typed columns and a text file's text. With `text`, every column is text: the form in which a
   * rejected value is quoted. Texts cross to DuckDB as one string per column, joined by U+001F
   * (null as U+001E) and split by DuckDB, one call per column instead of one per value; a column
   * holding either character goes through the appender.
   */
  private async loadRows(
    connection: DuckDBConnection,
    rows: readonly unknown[],
    features: readonly Feature[],
    commitId: string,
    tables: string[],
    text = false,
    fillMissing = true,
  ): Promise<LoadedRows> {
    const { columns, issues } = rowColumns(rows, features);
    if (issues.length > 0) throw issuesError(issues);
    if (!fillMissing) missingColumns(features, (_, c) => columns.missing[c]!, 'rows');
    if (!text) {
      const bad = valueIssues(columns, features.map((f) => ({ name: f.name, string: isStringFeature(f) })), MAX_ISSUES);
      if (bad.length > 0) throw issuesError(bad);
    }
    const n = columns.rowCount;
    const suffix = `${commitId}${text ? '-text' : ''}`;
    const types: ('DOUBLE' | 'BOOLEAN' | 'VARCHAR')[] = features.map((f, c) => {
      const kind = columns.kinds[c]!;
      if (text || f.parsed.kind !== 'scalar') return 'VARCHAR';
      if ((kind === 'integers' || kind === 'numbers') && ['BIGINT', 'INT', 'DOUBLE', 'FLOAT', 'TIMESTAMP'].includes(f.parsed.name)) return 'DOUBLE';
      return kind === 'booleans' && f.parsed.name === 'BOOLEAN' ? 'BOOLEAN' : 'VARCHAR';
    });
    const typed = features.flatMap((_, c) => (types[c] === 'VARCHAR' ? [] : [c]));
    const textual = features.flatMap((_, c) => (types[c] === 'VARCHAR' ? [c] : []));
    const appended: (readonly unknown[])[] = new Array(features.length);
    const texts: ((string | null)[] | null)[] = features.map(() => null);
    const sources: string[] = [];
    if (typed.length > 0) {
      for (const c of typed) {
        appended[c] = types[c] === 'DOUBLE' ? columns.values[c]!.map((v) => (v === 0 ? 0 : (v ?? null))) : columns.values[c]!.map((v) => v ?? null);
      }
      const table = ident(`#typed-${suffix}`);
      await connection.run(`CREATE TABLE ${table} (${typed.map((c) => `"#c${c}" ${types[c]}`).join(', ')})`);
      tables.push(table);
      await appendColumns(connection, `#typed-${suffix}`, typed.map((c) => (types[c] === 'DOUBLE' ? DOUBLE : BOOLEAN)), typed.map((c) => appended[c]!), n);
      sources.push(table);
    }
    if (textual.length > 0) {
      let joinable = true;
      for (const c of textual) {
        const column = columnTexts(columns.values[c]!, UNIT_SEPARATOR, RECORD_SEPARATOR);
        texts[c] = column.texts;
        joinable &&= column.joinable;
      }
      const name = `#text-${suffix}`;
      const table = ident(name);
      if (joinable && n > 0) {
        const split = textual.map((c, i) => `unnest(string_split($${i + 1}, chr(31))) AS "#c${c}"`);
        const statement = await connection.prepare(
          `CREATE TABLE ${table} AS SELECT ${textual.map((c) => `nullif("#c${c}", chr(30)) AS "#c${c}"`).join(', ')} FROM (SELECT ${split.join(', ')})`,
        );
        tables.push(table);
        textual.forEach((c, i) => statement.bindVarchar(i + 1, texts[c]!.map((t) => t ?? RECORD_SEPARATOR).join(UNIT_SEPARATOR)));
        await statement.run();
      } else {
        await connection.run(`CREATE TABLE ${table} (${textual.map((c) => `"#c${c}" VARCHAR`).join(', ')})`);
        tables.push(table);
        await appendColumns(connection, name, textual.map(() => VARCHAR), textual.map((c) => texts[c]!), n);
      }
      sources.push(table);
    }
    // One relation of the typed and text tables, zipped by position: no copy of the rows.
    const columnsSql = features.map((f, c) => `"#c${c}" AS ${ident(f.name)}`).join(', ');
    const from = sources.join(' POSITIONAL JOIN ');
    return {
      input: {
        root: 'rows',
        file: null,
        reader: `(SELECT ${columnsSql} FROM ${from})`,
        ordered:
          sources.length === 1
            ? `SELECT ${columnsSql}, rowid + 1 AS "${ORD}" FROM ${from}`
            : `SELECT *, row_number() OVER () AS "${ORD}" FROM (SELECT ${columnsSql} FROM ${from})`,
        columns: new Map(features.map((f, c) => [f.name, types[c]!])),
      },
      rows,
      columns,
      types,
      appended,
      texts,
    };
  }

  /**
   * Coerces loaded JSON rows once into a temporary table with a flag of any failed check, so
   * validating and writing share one pass of the casts; when a row is flagged, validateRows names
   * the problems. With `online`, also returns the rows column-wise for the online store, in key
   * order: columns whose stored value follows from the given one (see givenOnline) are taken from
   * the input; the others (and the event time) are read back from the coerced table.
   */
  private async copyRows(
    connection: DuckDBConnection,
    loaded: LoadedRows,
    features: readonly Feature[],
    schema: GroupSchema,
    commitId: string,
    path: string,
    online: boolean,
    tables: string[],
  ): Promise<{ rowCount: number; online: OnlineColumns | null }> {
    const { input } = loaded;
    const coerced = ident(`#coerced-${commitId}`);
    // Each cast once: the inner projection coerces, the outer one checks scalars against it.
    const inner: string[] = features.map((f) => ident(f.name));
    const projection: string[] = [];
    const checks: string[] = [];
    features.forEach((f, c) => {
      const { value, bad } = coerce(ident(f.name), input.columns.get(f.name)!, f.parsed);
      inner.push(`${value} AS "#v${c}"`);
      projection.push(`CAST("#v${c}" AS ${f.sqlType}) AS ${ident(f.name)}`);
      if (bad !== 'false') checks.push(f.parsed.kind === 'array' ? bad : `(${ident(f.name)} IS NOT NULL AND "#v${c}" IS NULL)`);
      if (f.key || f.eventTime) checks.push(`${ident(f.name)} IS NULL`);
    });
    await connection.run(
      `CREATE TEMP TABLE ${coerced} AS SELECT ${projection.join(', ')}, ${checks.length === 0 ? 'false' : checks.map((c) => `(${c})`).join(' OR ')} AS "#bad"
       FROM (SELECT ${inner.join(', ')} FROM ${input.reader})`,
    );
    tables.push(coerced);
    const flagged = await connection.runAndReadAll(`SELECT 1 FROM ${coerced} WHERE "#bad" LIMIT 1`);
    if (flagged.currentRowCount > 0) {
      const text = await this.loadRows(connection, loaded.rows, features, commitId, tables, true);
      await this.validateRows(connection, text.input, features);
      throw new Error('stage: a row failed a check that validateRows did not report');
    }
    const result = await connection.runAndReadAll(
      `COPY (SELECT ${features.map((f) => ident(f.name)).join(', ')}, ${sqlString(commitId)} AS ${COMMIT_COLUMN} FROM ${coerced})
       TO ${sqlString(path)} (${this.parquetOptions()})`,
    );
    const rowCount = Number(result.getRows()[0]?.[0] ?? 0);
    return { rowCount, online: online && rowCount > 0 ? await onlineFromLoaded(connection, coerced, loaded, schema, features) : null };
  }

  /** Finds the first rows (in input order) with a value that does not coerce, a null key or a null event time. */
  private async validateRows(connection: DuckDBConnection, input: SourceSql, features: readonly Feature[]): Promise<void> {
    const checks: { feature: Feature; kind: 'type' | 'null'; expr: string }[] = [];
    for (const f of features) {
      const srcType = input.columns.get(f.name);
      if (srcType === undefined) continue;
      const raw = ident(f.name);
      const { bad } = coerce(raw, srcType, f.parsed);
      if (bad !== 'false') checks.push({ feature: f, kind: 'type', expr: bad });
      if (f.key || f.eventTime) checks.push({ feature: f, kind: 'null', expr: `${raw} IS NULL` });
    }
    if (checks.length === 0) return;
    const rawColumns = features.filter((f) => input.columns.has(f.name));
    const sql = `SELECT * FROM (
        SELECT "${ORD}", ${checks.map((c, i) => `(${c.expr}) AS "#c${i}"`).join(', ')},
          ${rawColumns.map((f, i) => `left(CAST(${ident(f.name)} AS VARCHAR), 200) AS "#r${i}"`).join(', ')}
        FROM (${input.ordered})
      ) WHERE ${checks.map((_, i) => `"#c${i}"`).join(' OR ')}
      ORDER BY "${ORD}" LIMIT ${MAX_ISSUES}`;
    const rows = await fileQuery(connection, sql, input.file);
    if (rows.length === 0) return;
    const rawIndex = new Map(rawColumns.map((f, i) => [f.name, i]));
    const issues: InputIssue[] = [];
    for (const row of rows) {
      const ord = Number(row[0]);
      checks.forEach((check, i) => {
        if (row[1 + i] !== true) return;
        const f = check.feature;
        let message: string;
        if (check.kind === 'null') {
          message = f.key ? `row ${ord}: primary key "${f.name}" is null or missing` : `row ${ord}: event time "${f.name}" is null or missing`;
        } else {
          const value = row[1 + checks.length + rawIndex.get(f.name)!];
          message = `row ${ord}, column "${f.name}": ${badValueReason(value, f, input.columns.get(f.name)!)}`;
        }
        issues.push({ path: [input.root, ord, f.name], message });
      });
    }
    throw issuesError(issues);
  }

  /** Writes the coerced rows, in input order, with `_commit`, to one Parquet file; returns the row count. */
  private async copyCoerced(connection: DuckDBConnection, input: SourceSql, features: readonly Feature[], commitId: string, path: string): Promise<number> {
    const projection = features.map((f) => {
      const srcType = input.columns.get(f.name);
      const value = srcType === undefined ? 'NULL' : coerce(ident(f.name), srcType, f.parsed).value;
      return `CAST(${value} AS ${f.sqlType}) AS ${ident(f.name)}`;
    });
    const sql = `COPY (SELECT ${projection.join(', ')}, ${sqlString(commitId)} AS ${COMMIT_COLUMN} FROM ${input.reader})
      TO ${sqlString(path)} (${this.parquetOptions()})`;
    const result = await fileQuery(connection, sql, input.file);
    return Number(result[0]?.[0] ?? 0);
  }

  private parquetOptions(): string {
    return `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${this.compressionLevel}, ROW_GROUP_SIZE ${this.rowGroupSize}`;
  }

  /** UPSERT with duplicate identities in the input: rewrites the staging file keeping the last row of each. */
  private async keepLastPerIdentity(connection: DuckDBConnection, staging: string, schema: GroupSchema, dir: string, commitId: string): Promise<number> {
    const deduped = join(dir, `${this.stagingPrefix}${commitId}-0.dedup.parquet`);
    const identity = identityColumns(schema).map(ident).join(', ');
    try {
      const result = await connection.runAndReadAll(
        `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(staging)}, file_row_number = true)
          QUALIFY row_number() OVER (PARTITION BY ${identity} ORDER BY file_row_number DESC) = 1
          ORDER BY file_row_number) TO ${sqlString(deduped)} (${this.parquetOptions()})`,
      );
      await rename(deduped, staging);
      return Number(result.getRows()[0]?.[0] ?? 0);
    } finally {
      await rm(deduped, { force: true });
    }
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
      const options = target.format === 'PARQUET' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
      await connection.run(`COPY (${sql}) TO ${sqlString(target.path)} (${options})`);
    });
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
    await rm(this.groupDir(location), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const instances = [this.instance, this.insertInstance];
    this.instance = null;
    this.insertInstance = null;
    for (const instance of instances) if (instance) (await instance).closeSync();
    // DuckDB removes its spill files on close; the process's folder goes with them.
    await rm(join(this.root, '.tmp', this.owner), { recursive: true, force: true });
  }

  /**
   * Infers features from an input, for a group created without features: names lower-cased,
   * types from the Parquet schema or DuckDB's detection (integers BIGINT, or INT for 32-bit and
   * smaller Parquet columns; floating numbers DOUBLE; ISO timestamps TIMESTAMP, dates DATE; lists
   * ARRAY<…>; text and anything else STRING). Descriptions are empty.
   */
  async infer(source: InsertSource): Promise<FeatureDef[]> {
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
          reader = `read_csv(${sqlString(source.path)}, header = true, skip = 0, delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false)`;
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
  countSuperseded(path: string, schema: GroupSchema, existing: readonly string[]): Promise<number> {
    return this.withConnection((connection) => countExisting(connection, path, schema, existing), true);
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

/** A staged commit of the DuckDB store: one Parquet file, `.staging-<owner>-<id>-0.parquet` until published. */
class DuckDbStagedCommit implements StagedCommit {
  private published = false;

  constructor(
    private readonly store: DuckDbOfflineStore,
    private readonly dir: string,
    private id: string,
    private staged: readonly CommitFile[],
    readonly rowCount: number,
    private updated: number,
    private readonly schema: GroupSchema,
    private readonly features: readonly Feature[],
    private flight: string,
    /** The rows for the online store, prepared while staging (JSON rows), else read from the files. */
    private readonly online: OnlineColumns | null,
  ) {}

  get commitId(): string {
    return this.id;
  }

  get files(): readonly CommitFile[] {
    return this.staged;
  }

  get bytes(): number {
    return this.staged.reduce((sum, f) => sum + f.bytes, 0);
  }

  get rowsUpdated(): number {
    return this.updated;
  }

  get rowsInserted(): number {
    return this.rowCount - this.updated;
  }

  private paths(): string[] {
    return this.files.map((f) => join(this.dir, this.published ? f.path : `${this.store.stagingPrefix}${f.path}`));
  }

  async recount(existing: readonly CommitRef[]): Promise<void> {
    const [path] = this.paths();
    this.updated = path === undefined ? 0 : await this.store.countSuperseded(path, this.schema, existing.flatMap((c) => c.files.map((f) => join(this.dir, f.path))));
  }

  async renumber(commitId: string): Promise<void> {
    if (!COMMIT_ID.test(commitId)) throw new Error(`renumber: invalid commit id "${commitId}"`);
    const from = this.paths();
    const files: CommitFile[] = [];
    const flight = `${this.dir}\0${commitId}`;
    this.store.track(flight);
    try {
      for (const [i, f] of this.files.entries()) {
        const path = `${commitId}-${i}.parquet`;
        const bytes = await this.store.rewriteCommitColumn(from[i]!, join(this.dir, `${this.store.stagingPrefix}${path}`), commitId);
        files.push({ path, bytes, rows: f.rows });
      }
    } catch (error) {
      await Promise.all(files.map((f) => rm(join(this.dir, `${this.store.stagingPrefix}${f.path}`), { force: true })));
      this.store.finish(flight);
      throw error;
    }
    await Promise.all(from.map((path) => rm(path, { force: true })));
    this.store.finish(this.flight);
    this.id = commitId;
    this.staged = files;
    this.flight = flight;
    this.published = false;
  }

  onlineColumns(batchRows = 1000): AsyncIterable<OnlineColumns> {
    if (this.online !== null) return sliceColumns(this.online, batchRows);
    return streamOnlineColumns(this.store, this.paths(), this.schema, this.features, batchRows);
  }

  async query(build: (rows: string) => readonly string[]): Promise<unknown[][][]> {
    const statements = build(committedRowsSql(this.paths(), this.schema));
    const connection = await this.store.connect();
    try {
      const results: unknown[][][] = [];
      for (const sql of statements) results.push((await connection.runAndReadAll(sql)).getRowsJson());
      return results;
    } finally {
      connection.closeSync();
    }
  }

  async publish(): Promise<void> {
    if (this.published) return;
    for (const f of this.files) await rename(join(this.dir, `${this.store.stagingPrefix}${f.path}`), join(this.dir, f.path));
    this.published = true;
    this.store.finish(this.flight);
  }

  async discard(): Promise<void> {
    await Promise.all(
      this.files.flatMap((f) => [rm(join(this.dir, `${this.store.stagingPrefix}${f.path}`), { force: true }), rm(join(this.dir, f.path), { force: true })]),
    );
    this.store.finish(this.flight);
  }
}

/**
 * The rows of the given files for the online store, column-wise in batches of `batchRows`: each
 * file in parts of at most `store.partitionRows` rows (a range of row numbers, which the Parquet
 * reader skips to by row group), each part sorted by key and event time, of which the last row per
 * key (the newest) is kept. Memory is bounded by a part, not by the files: the same key in two
 * parts or files is written twice, and the online store keeps the newest (files in commit order,
 * so on equal event times the later commit's row is written last).
 */
async function* streamOnlineColumns(
  store: DuckDbOfflineStore,
  paths: readonly string[],
  schema: GroupSchema,
  features: readonly Feature[],
  batchRows: number,
  window?: EventTimeWindow,
): AsyncIterable<OnlineColumns> {
  if (paths.length === 0) return;
  const size = Math.max(1, Math.floor(batchRows));
  const keys = schema.primaryKey.map(ident);
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const etMicros = et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed);
  // DECIMAL as text in DuckDB: its JSON-safe form, without a value object per item.
  const select = features.map((f) => (f.parsed.kind === 'decimal' ? `CAST(${ident(f.name)} AS VARCHAR)` : ident(f.name)));
  const order = [...keys, ...(et === null ? [] : [`${ident(et.name)} NULLS FIRST`])].join(', ');
  const converters = features.map((f) => onlineConverter(f.parsed));
  const keyIndexes = schema.primaryKey.map((k) => features.findIndex((f) => f.name === k));
  const width = features.length;
  const connection = await store.connectInsert();
  try {
    for (const path of paths) {
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(path)})`);
      const total = Number(counted.getRows()[0]?.[0] ?? 0);
      for (let start = 0; start < total; start += store.partitionRows) {
        const partitioned = total > store.partitionRows;
        const conditions = [
          ...(partitioned ? [`file_row_number >= ${start}`, `file_row_number < ${start + store.partitionRows}`] : []),
          // The window before the newest row per key is taken: a key's newest row in the window wins.
          ...(window?.fromMicros != null ? [`${etMicros} >= ${window.fromMicros}`] : []),
          ...(window?.toMicros != null ? [`${etMicros} < ${window.toMicros}`] : []),
          ...(window ? [`${etMicros} IS NOT NULL`] : []),
        ];
        const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
        const result = await connection.stream(
          `SELECT ${select.join(', ')}, ${etMicros} AS "#et" FROM read_parquet(${sqlString(path)}${partitioned ? ', file_row_number = true' : ''})${where} ORDER BY ${order}`,
        );
        let columns: unknown[][] = features.map(() => []);
        let eventTimes: (number | null)[] = [];
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const count = chunk.rowCount;
          const base = eventTimes.length;
          for (let c = 0; c < width; c++) {
            const vector = chunk.getColumnVector(c);
            const convert = converters[c]!;
            const column = columns[c]!;
            for (let i = 0; i < count; i++) column.push(convert(vector.getItem(i)));
          }
          const etVector = chunk.getColumnVector(width);
          for (let i = 0; i < count; i++) {
            const micros = etVector.getItem(i);
            eventTimes.push(micros === null ? null : Number(micros as bigint));
          }
          // Sorted by key, then event time: of a run of one key, the last row is the newest.
          let w = base === 0 ? 1 : base;
          for (let r = w; r < eventTimes.length; r++) {
            let same = true;
            for (const k of keyIndexes) {
              const a = columns[k]![w - 1];
              const b = columns[k]![r];
              if (a !== b && !(typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b))) {
                same = false;
                break;
              }
            }
            const to = same ? w - 1 : w++;
            if (to === r) continue;
            for (let c = 0; c < width; c++) columns[c]![to] = columns[c]![r];
            eventTimes[to] = eventTimes[r]!;
          }
          if (w < eventTimes.length) {
            for (const column of columns) column.length = w;
            eventTimes.length = w;
          }
          while (eventTimes.length >= size) {
            yield { rowCount: size, columns: columns.map((column) => column.slice(0, size)), eventTimes: eventTimes.slice(0, size) };
            columns = columns.map((column) => column.slice(size));
            eventTimes = eventTimes.slice(size);
          }
        }
        if (eventTimes.length > 0) yield { rowCount: eventTimes.length, columns, eventTimes };
      }
    }
  } finally {
    connection.closeSync();
  }
}

/**
 * The newest row per primary key (by event time) of a relation built elsewhere (an external
 * group's rows), in batches of OnlineRow: the relation has one column per feature of `schema`.
 */
function relationOnlineRows(store: DuckDbOfflineStore, relation: string, schema: GroupSchema, batchSize = 1000): AsyncIterable<OnlineRow[]> {
  const features = schemaFeatures(schema);
  const keys = schema.primaryKey.map(ident).join(', ');
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const etMicros = et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed);
  const sql = `SELECT ${features.map((f) => ident(f.name)).join(', ')}, ${etMicros} AS "#et" FROM (${relation})
    QUALIFY row_number() OVER (PARTITION BY ${keys}${et === null ? '' : ` ORDER BY ${ident(et.name)} DESC NULLS LAST`}) = 1
    ORDER BY ${keys}`;
  return streamOnlineRowsSql(store, sql, schema, features, batchSize);
}

/** Streams `sql` (one column per feature, then `"#et"` as comparable event time) as OnlineRow batches, converted chunk by chunk. */
async function* streamOnlineRowsSql(
  store: DuckDbOfflineStore,
  sql: string,
  schema: GroupSchema,
  features: readonly Feature[],
  batchSize: number,
): AsyncIterable<OnlineRow[]> {
  const size = Math.max(1, Math.floor(batchSize));
  const connection = await store.connect();
  try {
    const result = await connection.stream(sql);
    const converters = features.map((f) => onlineConverter(f.parsed));
    const keyIndexes = schema.primaryKey.map((k) => features.findIndex((f) => f.name === k));
    let batch: OnlineRow[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const columns = features.map((_, c) => convertVector(chunk, c, converters[c]!));
      const eventTimes = chunk.getColumnVector(features.length);
      for (let i = 0; i < chunk.rowCount; i++) {
        const values: Record<string, unknown> = Object.create(null);
        for (let c = 0; c < features.length; c++) values[features[c]!.name] = columns[c]![i];
        const micros = eventTimes.getItem(i);
        batch.push({
          key: keyIndexes.map((k) => columns[k]![i]),
          eventTime: micros === null ? null : Number(micros as bigint),
          values,
        });
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    connection.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// Schema and SQL helpers

interface Feature {
  readonly name: string;
  readonly type: string;
  readonly parsed: ParsedType;
  readonly sqlType: string;
  readonly key: boolean;
  readonly eventTime: boolean;
}

interface SourceSql {
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
interface LoadedRows {
  readonly input: SourceSql;
  readonly rows: readonly unknown[];
  readonly columns: RowColumns;
  /** Per feature: the DuckDB type its values were loaded as. */
  readonly types: readonly ('DOUBLE' | 'BOOLEAN' | 'VARCHAR')[];
  /** Per typed (DOUBLE, BOOLEAN) feature: the values appended. */
  readonly appended: readonly (readonly unknown[] | undefined)[];
  /** Per VARCHAR feature: the texts loaded. */
  readonly texts: readonly (readonly (string | null)[] | null)[];
}

/** Appends columns of values to a table, a data chunk at a time. */
async function appendColumns(connection: DuckDBConnection, table: string, types: readonly DuckDBType[], columns: readonly (readonly unknown[])[], rowCount: number): Promise<void> {
  const appender = await connection.createAppender(table);
  try {
    for (let start = 0; start < rowCount; start += CHUNK_ROWS) {
      const count = Math.min(CHUNK_ROWS, rowCount - start);
      const chunk = DuckDBDataChunk.create([...types], count);
      chunk.setColumns(columns.map((values) => (count === values.length ? values : values.slice(start, start + count))) as DuckDBValue[][]);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Separators of the joined column texts of loadRows: between values, and a null value. */
const UNIT_SEPARATOR = '\u001f';
const RECORD_SEPARATOR = '\u001e';

async function* sliceColumns(rows: OnlineColumns, batchRows: number): AsyncIterable<OnlineColumns> {
  const size = Math.max(1, Math.floor(batchRows));
  if (rows.rowCount <= size) {
    yield rows;
    return;
  }
  for (let start = 0; start < rows.rowCount; start += size) {
    const end = Math.min(rows.rowCount, start + size);
    yield { rowCount: end - start, columns: rows.columns.map((c) => c.slice(start, end)), eventTimes: rows.eventTimes.slice(start, end) };
  }
}

/**
 * A feature's online values straight from the loaded JSON rows, where the coercion is the identity
 * or what JavaScript computes exactly: STRING from text (without lone surrogates, which UTF-8
 * stores as U+FFFD), BOOLEAN from booleans, DOUBLE from numbers, BIGINT and INT from safe
 * integers, FLOAT from numbers (the double rounded to float, as Math.fround), TIMESTAMP and DATE
 * from text in the printed form. Null: read them back.
 */
function givenOnline(f: Feature, loaded: LoadedRows, c: number): readonly unknown[] | null {
  const t = f.parsed;
  if (t.kind !== 'scalar') return null;
  const type = loaded.types[c];
  const appended = loaded.appended[c];
  const texts = loaded.texts[c];
  switch (t.name) {
    case 'STRING':
      return texts && texts.every((v) => v === null || (v as unknown as { isWellFormed(): boolean }).isWellFormed()) ? texts : null;
    case 'BOOLEAN':
      return type === 'BOOLEAN' ? appended! : null;
    case 'DOUBLE':
      return type === 'DOUBLE' ? appended! : null;
    case 'BIGINT':
    case 'INT':
      return type === 'DOUBLE' && loaded.columns.kinds[c] === 'integers' ? appended! : null;
    case 'FLOAT':
      // The online store keeps the float the double rounds to, as DuckDB's cast does.
      return type === 'DOUBLE' ? appended! : null;
    case 'TIMESTAMP':
    case 'DATE': {
      // Text already in the form the store prints (UTC ISO with a `Z`; a date) is that value.
      if (!texts || loaded.columns.kinds[c] !== 'strings') return null;
      const timestamp = t.name === 'TIMESTAMP';
      const out = new Array<string | null>(texts.length);
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i]!;
        if (text === null) {
          out[i] = null;
          continue;
        }
        const m = (timestamp ? ISO_TIMESTAMP_Z : ISO_DATE).exec(text);
        if (m === null) return null;
        out[i] = timestamp ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z` : text;
      }
      return out;
    }
    default:
      return null;
  }
}

/** A UTC ISO timestamp and a date in plain ranges (a date the calendar lacks is rejected by DuckDB before this is used). */
const ISO_TIMESTAMP_Z = /^([1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?Z$/;
const ISO_DATE = /^[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;

/** The online rows of loaded JSON rows, in key order: see copyRows. */
async function onlineFromLoaded(
  connection: DuckDBConnection,
  coerced: string,
  loaded: LoadedRows,
  schema: GroupSchema,
  features: readonly Feature[],
): Promise<OnlineColumns> {
  const n = loaded.columns.rowCount;
  const columns: unknown[][] = new Array(features.length);
  const readBack: number[] = [];
  features.forEach((f, c) => {
    const given = loaded.columns.kinds[c] === 'none' ? new Array<unknown>(n).fill(null) : givenOnline(f, loaded, c);
    if (given === null) readBack.push(c);
    else columns[c] = given as unknown[];
  });
  const eventTimes = new Array<number | null>(n).fill(null);
  const et = schema.eventTime === null ? null : features.find((f) => f.name === schema.eventTime)!;
  const converters = readBack.map((c) => onlineConverter(features[c]!.parsed));
  for (const c of readBack) columns[c] = new Array<unknown>(n);
  const select = ['rowid', ...readBack.map((c) => (features[c]!.parsed.kind === 'decimal' ? `CAST(${ident(features[c]!.name)} AS VARCHAR)` : ident(features[c]!.name)))];
  select.push(et === null ? 'NULL' : eventTimeMicrosSql(ident(et.name), et.parsed));
  // In key order (a batch of upserts that walks the online table's B-tree in order is ≈ 2× faster
  // than one in random order); rows of one identity stay in input order, so the last one wins.
  const order = [...schema.primaryKey.map(ident), ...(et === null ? [] : [`${ident(et.name)} NULLS FIRST`]), 'rowid'];
  const result = await connection.run(`SELECT ${select.join(', ')} FROM ${coerced} ORDER BY ${order.join(', ')}`);
  const rowids = new Int32Array(n);
  let sorted = true;
  let base = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    const ids = chunk.getColumnVector(0);
    for (let i = 0; i < count; i++) {
      const id = Number(ids.getItem(i) as bigint);
      rowids[base + i] = id;
      if (id !== base + i) sorted = false;
    }
    for (let j = 0; j < readBack.length; j++) {
      const vector = chunk.getColumnVector(1 + j);
      const convert = converters[j]!;
      const column = columns[readBack[j]!]!;
      for (let i = 0; i < count; i++) column[base + i] = convert(vector.getItem(i));
    }
    if (et !== null) {
      const vector = chunk.getColumnVector(1 + readBack.length);
      for (let i = 0; i < count; i++) {
        const micros = vector.getItem(i);
        eventTimes[base + i] = micros === null ? null : Number(micros as bigint);
      }
    }
    base += count;
  }
  if (base !== n) throw new Error(`stage: read back ${base} of ${n} coerced rows`);
  if (!sorted) {
    const read = new Set(readBack);
    for (let c = 0; c < columns.length; c++) {
      if (read.has(c)) continue;
      const given = columns[c]!;
      const permuted = new Array<unknown>(n);
      for (let i = 0; i < n; i++) permuted[i] = given[rowids[i]!];
      columns[c] = permuted;
    }
  }
  return { rowCount: n, columns, eventTimes };
}

function schemaFeatures(schema: GroupSchema): Feature[] {
  return schema.features.map((f) => {
    if (f.name === COMMIT_COLUMN) throw ValidationError.at(['features', f.name], `"${COMMIT_COLUMN}" is reserved by the offline store`);
    const parsed = parseFeatureType(f.type, ['features', f.name, 'type']);
    return {
      name: f.name,
      type: f.type,
      parsed,
      sqlType: duckdbType(parsed),
      key: schema.primaryKey.includes(f.name),
      eventTime: schema.eventTime === f.name,
    };
  });
}

function identityColumns(schema: GroupSchema): string[] {
  return schema.eventTime === null ? [...schema.primaryKey] : [...schema.primaryKey, schema.eventTime];
}

/** A user's file on disk and what the user calls it. */
interface InputFile {
  readonly path: string;
  readonly user: UserFile;
}

/**
 * Runs a statement that reads a user's file (none for JSON rows); DuckDB's complaints about the
 * file become a ValidationError through fileReadError, the one mapping of engine errors on input.
 */
async function fileQuery(connection: DuckDBConnection, sql: string, file: InputFile | null): Promise<DuckDBValue[][]> {
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
 * null_padding).
 */
function strictCsv(path: string, width: number): string {
  const columns = Array.from({ length: width }, (_, i) => `'#f${i}': 'VARCHAR'`).join(', ');
  return `read_csv(${sqlString(path)}, header = true, skip = 0, auto_detect = false, delim = ',', quote = '"', escape = '"',
    strict_mode = true, null_padding = false, columns = {${columns}})`;
}

/**
 * Why a value (as text, at most 200 characters) does not fit feature `f`, read from a column of
 * type `src`: a JSON value other than a string for a STRING, a number out of range (infinite,
 * NaN, beyond FLOAT), or else not a valid value of the type.
 */
function badValueReason(value: unknown, f: Feature, src: string): string {
  const text = typeof value === 'string' ? value : String(value);
  if (src === JSON_VALUE && isStringFeature(f)) return `expects a string, got ${jsonKind(text)}`;
  if (f.parsed.kind === 'scalar' && ['DOUBLE', 'FLOAT', 'INT', 'BIGINT'].includes(f.parsed.name)) {
    const t = text.trim();
    const number = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : null;
    if (/^[+-]?(inf|infinity|nan)$/i.test(t) || (number !== null && !Number.isFinite(number))) {
      return `${JSON.stringify(text)} is not a finite number (${f.type} refuses infinity, NaN and overflow)`;
    }
    if (f.parsed.name === 'FLOAT' && number !== null && Math.abs(number) > FLOAT_MAX) return `${JSON.stringify(text)} is out of range for FLOAT`;
  }
  return `${JSON.stringify(value)} is not a valid ${f.type}`;
}

/** The largest finite FLOAT (float32). */
const FLOAT_MAX = 3.4028234663852886e38;

/** `a number`, `a boolean`, `an object`, `an array`: the kind of a JSON text. */
function jsonKind(text: string): string {
  const head = text.trimStart()[0];
  if (head === '{') return 'an object';
  if (head === '[') return 'an array';
  if (head === 't' || head === 'f') return 'a boolean';
  return 'a number';
}

function issuesError(issues: InputIssue[]): ValidationError {
  const capped = issues.slice(0, MAX_ISSUES);
  const more = issues.length > MAX_ISSUES ? ` (first ${MAX_ISSUES} shown)` : '';
  const head = capped[0]?.message ?? 'invalid input';
  return new ValidationError(`${capped.length === 1 ? head : `${capped.length} problems in the input, first: ${head}`}${more}`, capped);
}

/** Writes JSON rows as NDJSON (schema inference reads them with DuckDB's detection). */
async function writeNdjson(path: string, rows: readonly Record<string, unknown>[]): Promise<void> {
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
function missingColumns(features: readonly Feature[], firstLacking: (f: Feature, c: number) => number, root: 'rows' | 'file'): void {
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
function presentIn(names: ReadonlyMap<string, string>): (f: Feature) => number {
  const present = new Set(names.values());
  return (f) => (present.has(f.name) ? -1 : 0);
}

function missingRequired(names: ReadonlyMap<string, string>, features: readonly Feature[]): InputIssue[] {
  const present = new Set(names.values());
  return features
    .filter((f) => (f.key || f.eventTime) && !present.has(f.name))
    .map((f) => ({ path: ['file', f.name], message: `missing column "${f.name}" (${f.key ? 'primary key' : 'event time'})` }));
}

/**
 * Matches input column names to features case-insensitively: `names` maps each matched input
 * name to its feature; issues name unknown columns and features given under two spellings.
 */
function matchColumns(
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

// ---------------------------------------------------------------------------------------------
// Coercion: raw input column → feature type, in SQL

/**
 * Source type of an NDJSON value read as JSON for a STRING feature: only a JSON string coerces
 * (not a number, boolean, object or array).
 */
const JSON_VALUE = 'JSON_VALUE';

function isStringFeature(f: Feature): boolean {
  return f.parsed.kind === 'scalar' && f.parsed.name === 'STRING';
}

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);
const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE']);

function isText(type: string): boolean {
  return type === 'VARCHAR' || type === 'JSON';
}
function isNumeric(type: string): boolean {
  return INTEGER_TYPES.has(type) || FLOAT_TYPES.has(type) || type.startsWith('DECIMAL');
}
function isTemporal(type: string): boolean {
  return type === 'DATE' || type.startsWith('TIMESTAMP');
}
function listElementType(type: string): string | null {
  const m = /^(.*)\[\d*\]$/s.exec(type);
  return m ? m[1]! : null;
}

const WIDENING: Readonly<Record<string, readonly string[]>> = {
  BIGINT: ['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER'],
  INTEGER: ['TINYINT', 'SMALLINT', 'UTINYINT', 'USMALLINT'],
  DOUBLE: [...INTEGER_TYPES, 'FLOAT'],
  FLOAT: ['TINYINT', 'SMALLINT', 'UTINYINT', 'USMALLINT'],
  TIMESTAMP: ['DATE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
  DATE: ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
};

/** Whether every value of `src` casts to `target` (so the cast needs no check): widening numbers, temporal precision. */
function widens(src: string, target: string): boolean {
  if (WIDENING[target]?.includes(src)) return true;
  if (target === 'DOUBLE' && src.startsWith('DECIMAL')) return true;
  const from = /^DECIMAL\((\d+),(\d+)\)$/.exec(src);
  const to = /^DECIMAL\((\d+),(\d+)\)$/.exec(target);
  if (from && to) return Number(from[2]) <= Number(to[2]) && Number(from[1]) - Number(from[2]) <= Number(to[1]) - Number(to[2]);
  return false;
}

/** Epoch seconds (or milliseconds above 1e11) as a DOUBLE expression → TIMESTAMP, NULL when out of range. */
function epochToTimestamp(d: string): string {
  return `TRY(make_timestamp(CAST(round(CASE WHEN abs(${d}) > ${EPOCH_MILLIS_THRESHOLD} THEN (${d}) * 1e3 ELSE (${d}) * 1e6 END) AS BIGINT)))`;
}

/**
 * SQL that coerces `v` (of DuckDB type `src`) to feature type `t`: `value` is NULL when `v` is NULL
 * or does not coerce; `bad` is true exactly when `v` is not NULL and does not coerce (for arrays:
 * any element does not).
 */
function coerce(v: string, src: string, t: ParsedType, depth = 0): { value: string; bad: string } {
  if (src === duckdbType(t) && FLOAT_TYPES.has(src)) return { value: `CASE WHEN isfinite(${v}) THEN ${v} END`, bad: `(${v} IS NOT NULL AND NOT isfinite(${v}))` };
  if (src === duckdbType(t) && !isText(src)) return { value: v, bad: 'false' };
  if (src === JSON_VALUE) {
    // Only a JSON string is a STRING; JSON null is null.
    if (t.kind !== 'scalar' || t.name !== 'STRING') return coerce(v, 'JSON', t, depth);
    return { value: `CASE WHEN json_type(${v}) = 'VARCHAR' THEN ${v} ->> '$' END`, bad: `(${v} IS NOT NULL AND json_type(${v}) <> 'VARCHAR' AND json_type(${v}) <> 'NULL')` };
  }
  if (t.kind === 'array') {
    const x = `x${depth}`;
    const srcElement = isText(src) ? 'VARCHAR' : listElementType(src);
    if (srcElement === null) {
      const value = `TRY_CAST(${v} AS ${duckdbType(t)})`;
      return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
    }
    const list = isText(src) ? `TRY(json_transform_strict(${v}, '["VARCHAR"]'))` : v;
    const element = coerce(x, srcElement, t.element, depth + 1);
    const value = element.value === x ? list : `list_transform(${list}, lambda ${x}: ${element.value})`;
    const bad =
      element.bad === 'false'
        ? `(${v} IS NOT NULL AND ${list} IS NULL)`
        : `(${v} IS NOT NULL AND (${list} IS NULL OR coalesce(list_bool_or(list_transform(${list}, lambda ${x}: ${element.bad})), false)))`;
    return { value, bad };
  }
  const target = duckdbType(t);
  if (FLOAT_TYPES.has(target) && (FLOAT_TYPES.has(src) || isText(src))) {
    // Text such as 'inf', 'nan' or '1e400' (and FLOAT overflow such as '3.5e38') casts to a
    // non-finite number, which no feature stores.
    const cast = `TRY_CAST(${v} AS ${target})`;
    const value = `CASE WHEN isfinite(${cast}) THEN ${cast} END`;
    return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
  }
  if (widens(src, target)) return { value: `CAST(${v} AS ${target})`, bad: 'false' };
  let value: string;
  if (t.kind === 'decimal') {
    value = `TRY_CAST(${v} AS ${target})`;
  } else {
    switch (t.name) {
      case 'STRING':
        return { value: isText(src) ? v : `CAST(${v} AS VARCHAR)`, bad: 'false' };
      case 'BIGINT':
      case 'INT':
        if (INTEGER_TYPES.has(src)) value = `TRY_CAST(${v} AS ${target})`;
        else if (FLOAT_TYPES.has(src) || src.startsWith('DECIMAL')) value = `CASE WHEN ${v} = trunc(${v}) THEN TRY_CAST(${v} AS ${target}) END`;
        else if (isText(src)) value = `CASE WHEN TRY_CAST(${v} AS ${target}) = TRY_CAST(${v} AS DOUBLE) THEN TRY_CAST(${v} AS ${target}) END`;
        else value = `TRY_CAST(${v} AS ${target})`;
        break;
      case 'TIMESTAMP':
        if (isText(src)) {
          // A digit then '-' at positions 4–5 (an ISO date) is never a number: skip the number parse.
          value = `CASE WHEN substr(${v}, 5, 1) <> '-' OR substr(${v}, 4, 1) NOT BETWEEN '0' AND '9' THEN ${epochToTimestamp(`TRY_CAST(${v} AS DOUBLE)`)} END`;
          value = `coalesce(${value}, TRY_CAST(TRY_CAST(${v} AS TIMESTAMPTZ) AS TIMESTAMP))`;
        } else if (isNumeric(src)) {
          value = epochToTimestamp(`CAST(${v} AS DOUBLE)`);
        } else if (isTemporal(src)) {
          value = `TRY_CAST(${v} AS TIMESTAMP)`;
        } else {
          value = `TRY_CAST(${v} AS TIMESTAMP)`;
        }
        break;
      case 'BINARY':
        value = isText(src) ? `TRY(from_base64(${v}))` : `TRY_CAST(${v} AS BLOB)`;
        break;
      default:
        value = `TRY_CAST(${v} AS ${target})`;
    }
  }
  return { value, bad: `(${v} IS NOT NULL AND ${value} IS NULL)` };
}

/** Rows per data chunk appended: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

const PG_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:\+00(?::00)?)?$/;
const PG_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;

/**
 * How a column of text values (PostgreSQL's text forms, in UTC) goes into a data chunk for a
 * feature type: `parse` turns a text into the value of `type`, or undefined when it cannot (then
 * the text goes as VARCHAR, cast by DuckDB); a null `parse` always sends text.
 */
function chunkColumn(type: string): { type: DuckDBType; parse: ((text: string) => DuckDBValue | undefined) | null } {
  const parsed = parseFeatureType(type);
  if (parsed.kind === 'scalar') {
    switch (parsed.name) {
      case 'INT':
        return { type: INTEGER, parse: Number };
      case 'BIGINT':
        return { type: BIGINT, parse: (text) => BigInt(text) };
      case 'DOUBLE':
        return { type: DOUBLE, parse: Number };
      case 'FLOAT':
        return { type: FLOAT, parse: Number };
      case 'BOOLEAN':
        return { type: BOOLEAN, parse: (text) => text === 't' || text === 'true' };
      case 'TIMESTAMP':
        return {
          type: TIMESTAMP,
          parse: (text) => {
            const m = PG_TIMESTAMP.exec(text);
            if (!m) return undefined;
            const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
            if (+m[1]! < 100) return undefined; // Date.UTC maps years 0–99 to 1900–1999
            return new DuckDBTimestampValue(BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0'));
          },
        };
      case 'DATE':
        return {
          type: DATE,
          parse: (text) => {
            const m = PG_DATE.exec(text);
            if (!m || +m[1]! < 100) return undefined;
            return new DuckDBDateValue(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / 86_400_000);
          },
        };
    }
  }
  return { type: VARCHAR, parse: null };
}

/** The event time as comparable epoch microseconds (TIMESTAMP, DATE) or the BIGINT itself. */
function eventTimeMicrosSql(column: string, type: ParsedType): string {
  if (type.kind === 'scalar' && type.name === 'TIMESTAMP') return `epoch_us(${column})`;
  if (type.kind === 'scalar' && type.name === 'DATE') return `epoch_us(CAST(${column} AS TIMESTAMP))`;
  return `CAST(${column} AS BIGINT)`;
}

/** The feature type of a DuckDB column type, for schema inference (files, external sources). */
export function featureTypeOf(type: string): string {
  const element = listElementType(type);
  if (element !== null) return `ARRAY<${featureTypeOf(element)}>`;
  if (type === 'INTEGER' || type === 'SMALLINT' || type === 'TINYINT' || type === 'USMALLINT' || type === 'UTINYINT') return 'INT';
  if (INTEGER_TYPES.has(type)) return 'BIGINT';
  if (type === 'DOUBLE') return 'DOUBLE';
  if (type === 'FLOAT') return 'FLOAT';
  if (type === 'BOOLEAN') return 'BOOLEAN';
  if (type === 'DATE') return 'DATE';
  if (type.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  if (type === 'BLOB') return 'BINARY';
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  return 'STRING';
}

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
const FILE_RANK = '#file';

const COMMIT_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(\d+)\.parquet$/i;

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
async function scanSql(connection: DuckDBConnection, files: readonly string[], features: readonly Feature[]): Promise<string> {
  const list = `[${files.map(sqlString).join(', ')}]`;
  const reader = `read_parquet(${list}, union_by_name = true)`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`);
  const present = new Set(described.getRows().map((r) => String(r[0])));
  const columns = features.map((f) => `CAST(${present.has(f.name) ? ident(f.name) : 'NULL'} AS ${f.sqlType}) AS ${ident(f.name)}`);
  return `SELECT ${columns.join(', ')}, ${COMMIT_COLUMN} FROM ${reader}`;
}

async function findDuplicates(
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

function duplicateError(duplicates: { identity: unknown[]; rows: number[] }[], schema: GroupSchema, root: 'rows' | 'file'): ValidationError {
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

async function countExisting(connection: DuckDBConnection, staging: string, schema: GroupSchema, existing: readonly string[]): Promise<number> {
  if (existing.length === 0) return 0;
  const columns = identityColumns(schema);
  const list = columns.map(ident).join(', ');
  const on = columns.map((c) => `s.${ident(c)} = e.${ident(c)}`).join(' AND ');
  const result = await connection.runAndReadAll(
    `SELECT count(*) FROM (SELECT ${list} FROM read_parquet(${sqlString(staging)})) s
     SEMI JOIN (SELECT ${list} FROM read_parquet([${existing.map(sqlString).join(', ')}], union_by_name = true)) e ON ${on}`,
  );
  return Number(result.getRows()[0]?.[0] ?? 0);
}

// ---------------------------------------------------------------------------------------------
// DuckDB values → JSON-safe values (the DataFrame rules)

type Converter = (value: DuckDBValue) => unknown;
const converterCache = new Map<string, Converter>();


function safeNumber(x: number): unknown {
  return Number.isFinite(x) ? x : String(x);
}

function bigintToJson(value: bigint): number | string {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
}

/**
 * The converter of values for the online store: jsonSafeConverter's, except that a FLOAT stays
 * the number DuckDB returns (the store keeps the float and formats it when read).
 */
function onlineConverter(type: ParsedType): Converter {
  if (type.kind === 'scalar' && type.name === 'FLOAT') return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(v) : v);
  return jsonSafeConverter(type);
}

/**
 * The converter of a feature type from values as `@duckdb/node-api` returns them (bigint,
 * DuckDBTimestampValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBBlobValue, DuckDBListValue, …)
 * to the JSON-safe form of DataFrame: BIGINT a number when safe else a string, TIMESTAMP ISO UTC
 * with microseconds, DATE `YYYY-MM-DD`, DECIMAL a string, BINARY base64, ARRAY an array; DOUBLE
 * and FLOAT numbers (NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"). Values
 * already JSON-safe pass through.
 */
export function jsonSafeConverter(type: ParsedType | string): Converter {
  const parsed = typeof type === 'string' ? parseFeatureType(type) : type;
  const key = typeof type === 'string' ? type : JSON.stringify(type);
  const cached = converterCache.get(key);
  if (cached) return cached;
  const converter = buildConverter(parsed);
  converterCache.set(key, converter);
  return converter;
}

function buildConverter(t: ParsedType): Converter {
  if (t.kind === 'array') {
    const element = buildConverter(t.element);
    return (v) => {
      if (v === null || v === undefined) return null;
      if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map((item) => element(item));
      if (Array.isArray(v)) return v.map((item) => element(item as DuckDBValue));
      return v;
    };
  }
  if (t.kind === 'decimal') {
    return (v) => (v === null || v === undefined ? null : v instanceof DuckDBDecimalValue ? v.toString() : String(v));
  }
  switch (t.name) {
    case 'BIGINT':
    case 'INT':
      return (v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? bigintToJson(v) : v);
    case 'DOUBLE':
      return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(v) : v);
    case 'FLOAT':
      return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? safeNumber(shortestFloat32(v)) : v);
    case 'TIMESTAMP':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof DuckDBTimestampValue) return microsToIso(v.micros);
        if (typeof v === 'object' && 'micros' in v && typeof v.micros === 'bigint') return microsToIso(v.micros);
        return v instanceof Date ? microsToIso(BigInt(v.getTime()) * 1000n) : v;
      };
    case 'DATE':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof DuckDBDateValue) return daysToIsoDate(v.days);
        return v instanceof Date ? v.toISOString().slice(0, 10) : v;
      };
    case 'BINARY':
      return (v) => {
        if (v === null || v === undefined) return null;
        const bytes = v instanceof DuckDBBlobValue ? v.bytes : v instanceof Uint8Array ? v : null;
        return bytes === null ? v : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      };
    default:
      return (v) => (v === undefined ? null : v);
  }
}

/** A DuckDB value of an aggregate result as a plain value: numbers for integers and decimals, arrays for lists, text otherwise. */
function plainValue(value: DuckDBValue): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(plainValue);
  return String(value);
}

/** One value from DuckDB, JSON-safe for a feature type (see jsonSafeConverter). */
export function toJsonSafe(value: DuckDBValue | undefined, type: ParsedType | string): unknown {
  return jsonSafeConverter(type)(value ?? null);
}

/** Column `column` of a chunk, converted (one array of JSON-safe values; no row objects). */
export function convertVector(chunk: DuckDBDataChunk, column: number, converter: Converter): unknown[] {
  const vector = chunk.getColumnVector(column);
  const count = chunk.rowCount;
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = converter(vector.getItem(i));
  return out;
}

/**
 * Runs `sql` and reads it, chunk by chunk and column by column, into a DataFrame whose columns
 * are `columns` (result column i is `columns[i]`; values converted by each column's type).
 */
export async function readDataFrame(connection: DuckDBConnection, sql: string, columns: readonly DataFrameColumn[]): Promise<DataFrame> {
  const converters = columns.map((c) => jsonSafeConverter(c.type));
  const result = await connection.stream(sql);
  const rows: unknown[][] = [];
  const width = columns.length;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    const base = rows.length;
    for (let i = 0; i < count; i++) rows.push(new Array<unknown>(width));
    for (let c = 0; c < width; c++) {
      const vector = chunk.getColumnVector(c);
      const convert = converters[c]!;
      for (let i = 0; i < count; i++) rows[base + i]![c] = convert(vector.getItem(i));
    }
  }
  return { columns, rows };
}
