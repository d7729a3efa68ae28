import { z } from 'zod';
import type { DataFrame } from '../../domain/data-frame.ts';
import { duckdbType, FEATURE_NAME, parseFeatureType } from '../../domain/feature-types.ts';
import { DataSourceError, ValidationError } from '../../errors.ts';
import type { DataSource, FeatureGroup } from '../../generated/sqlite/client.ts';
import { readFailure, type FileFormat } from '../../stores/external/files.ts';
import type { PostgresRelation, SourceColumn } from '../../stores/external/postgres.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import type { OfflineStore } from '../../stores/offline/offline-store.ts';
import type { OnlineRow } from '../../stores/online/online-store.ts';
import type { DataSourceService, SourceConnector } from '../data-source/data-source.service.ts';
import { groupSchema } from '../feature-group/definition.ts';
import { readExternalSpec } from '../json-columns.ts';

/**
 * What an external group reads from its source, stored with the group: a PostgreSQL `table` or
 * `query`, or a `path` (file or directory) in a `format`; `columns` maps each feature to the
 * source column it reads (names as the source spells them).
 */
export type ExternalSpec = ({ readonly table: string } | { readonly query: string } | { readonly path: string; readonly format: FileFormat }) & {
  readonly columns: Readonly<Record<string, string>>;
};

export const externalInput = z.object({
  dataSource: z.string().min(1, 'name the data source'),
  table: z.string().min(1).max(1000).nullish(),
  query: z.string().min(1).max(100_000).nullish(),
  path: z.string().min(1).max(4096).nullish(),
  format: z.enum(['PARQUET', 'CSV']).nullish(),
});
export type ExternalInput = z.output<typeof externalInput>;

/** What a read needs from the source: features (keys and event time are always read), an event-time window, an order and a limit. */
export interface RelationOptions {
  readonly columns?: readonly string[] | null;
  /** Rows with an event time at or after this (TIMESTAMP and DATE event times; pushed into the source). */
  readonly from?: Date | null;
  /** Rows with an event time before this. */
  readonly to?: Date | null;
  /** At most this many rows, in primary-key order. */
  readonly limit?: number | null;
}

/**
 * An external group's rows as a DuckDB relation: `sql` selects one column per feature read, cast
 * to its feature type. `release` drops whatever was loaded for it; call it once the SQL has run.
 */
export interface ExternalRelation {
  readonly sql: string;
  /** The data source's name, for errors. */
  readonly source: string;
  release(): Promise<void>;
}

/**
 * External feature groups: rows read in place from a data source at query time. PostgreSQL is
 * read with the `pg` driver through a cursor, only the needed columns and the event-time window
 * pushed into its SELECT, and streamed into a table of the offline store's DuckDB through the
 * appender; Parquet and CSV files are read by DuckDB directly. Feature views, statistics,
 * validation and MATERIALIZE consume the resulting `sql` like a group's committed files.
 */
export class ExternalGroupService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly dataSources: DataSourceService,
    private readonly offline: OfflineStore,
  ) {}

  /**
   * Checks what a new external group reads and returns its features (read from the source when
   * `features` is null, else the given ones, each checked against a source column) with the spec to store.
   */
  async define(
    source: DataSource,
    input: ExternalInput,
    features: readonly { name: string; type: string; description?: string | null }[] | null,
  ): Promise<{ spec: ExternalSpec; features: { name: string; type: string; description: string }[] }> {
    const what = [input.table && 'table', input.query && 'query', input.path && 'path'].filter(Boolean);
    if (what.length !== 1) throw ValidationError.at(['input'], 'give exactly one of table, query (POSTGRES) or path (FILES)');
    let base: { table: string } | { query: string } | { path: string; format: FileFormat };
    if (source.type === 'POSTGRES') {
      if (input.path) throw ValidationError.at(['input', 'path'], `data source ${source.name} is POSTGRES: give table or query`);
      base = input.table ? { table: input.table } : { query: input.query! };
    } else {
      if (!input.path) throw ValidationError.at(['input', 'path'], `data source ${source.name} is FILES: give path`);
      const format = input.format ?? (/\.csv$/i.test(input.path) ? 'CSV' : 'PARQUET');
      base = { path: input.path, format };
    }
    const connector = this.dataSources.open(source);
    if (connector.type === 'FILES' && 'path' in base) connector.source.resolve(base.path, ['input', 'path']);
    const columns = await this.describe(connector, base);
    const byLower = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
    const mapping: Record<string, string> = {};
    let defs: { name: string; type: string; description: string }[];
    if (features === null) {
      defs = columns.map((c) => {
        const name = c.name.toLowerCase();
        if (!FEATURE_NAME.test(name)) {
          throw ValidationError.at(
            ['input', 'features'],
            `source column "${c.name}" is not a valid feature name: rename it (a query with AS), or give features`,
          );
        }
        mapping[name] = c.name;
        return { name, type: c.type, description: '' };
      });
    } else {
      const issues: { path: (string | number)[]; message: string }[] = [];
      defs = features.map((f, i) => {
        const column = byLower.get(f.name.toLowerCase());
        if (!column)
          issues.push({ path: ['input', 'features', i, 'name'], message: `${objectOf(base)} in data source ${source.name} has no column ${f.name}` });
        else mapping[f.name] = column.name;
        return { name: f.name, type: f.type, description: f.description ?? '' };
      });
      if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
    }
    return { spec: { ...base, columns: mapping }, features: defs };
  }

  /**
   * The group's rows now, as a DuckDB relation. The source is checked first: every feature read
   * must still have its column, of a compatible type; else a DataSourceError naming the source
   * and the column.
   */
  async relation(group: FeatureGroup, options: RelationOptions = {}): Promise<ExternalRelation> {
    const source = await this.prisma.dataSource.findUniqueOrThrow({ where: { id: group.dataSourceId! } });
    const connector = this.dataSources.open(source);
    const spec: ExternalSpec = readExternalSpec(group.external);
    const schema = groupSchema(group);
    const wanted = new Set([...(options.columns ?? schema.features.map((f) => f.name)), ...schema.primaryKey, ...(schema.eventTime ? [schema.eventTime] : [])]);
    const features = schema.features.filter((f) => wanted.has(f.name));
    const current = new Map((await this.describe(connector, spec)).map((c) => [c.name, c]));
    const object = objectOf(spec);
    for (const f of features) {
      const column = current.get(spec.columns[f.name] ?? f.name);
      if (!column) {
        throw new DataSourceError(
          `column ${spec.columns[f.name] ?? f.name} (feature ${f.name}) is missing from ${object} in data source ${source.name}`,
          source.name,
          `${object}.${f.name}`,
        );
      }
      if (!compatible(f.type, column.type)) {
        throw new DataSourceError(
          `column ${column.name} of ${object} in data source ${source.name} changed type: it is ${column.type} now, feature ${f.name} is ${f.type}`,
          source.name,
          `${object}.${f.name}`,
        );
      }
    }
    const etType = schema.eventTime ? features.find((f) => f.name === schema.eventTime)!.type : null;
    const window =
      schema.eventTime && (etType === 'TIMESTAMP' || etType === 'DATE') && (options.from || options.to)
        ? { column: spec.columns[schema.eventTime] ?? schema.eventTime, from: options.from ?? null, to: options.to ?? null }
        : null;
    const limit = options.limit ?? null;
    const orderBy = limit !== null ? schema.primaryKey.map((k) => spec.columns[k] ?? k) : [];
    if (connector.type === 'POSTGRES') {
      const relation: PostgresRelation = 'table' in spec ? { table: spec.table } : { query: (spec as { query: string }).query };
      const rows = connector.source.rows(relation, { columns: features.map((f) => spec.columns[f.name] ?? f.name), window, orderBy, limit });
      const table = await this.offline.loadTable(features, rows);
      return {
        sql: `SELECT ${features.map((f) => ident(f.name)).join(', ')} FROM ${table}`,
        source: source.name,
        release: () => this.offline.dropTable(table),
      };
    }
    const { path, format } = spec as { path: string; format: FileFormat };
    const reader = await connector.source.reader(path, format);
    const where: string[] = [];
    if (window) {
      const et = `CAST(${ident(window.column)} AS TIMESTAMP)`;
      if (window.from) where.push(`${et} >= TIMESTAMP ${sqlString(window.from.toISOString().replace('Z', ''))}`);
      if (window.to) where.push(`${et} < TIMESTAMP ${sqlString(window.to.toISOString().replace('Z', ''))}`);
    }
    const select = features.map((f) => `CAST(${ident(spec.columns[f.name] ?? f.name)} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`);
    let sql = `SELECT ${select.join(', ')} FROM ${reader}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    if (limit !== null) sql += ` ORDER BY ${orderBy.map(ident).join(', ')} LIMIT ${Math.max(0, Math.floor(limit))}`;
    return { sql, source: source.name, release: async () => {} };
  }

  /** The group's rows (at most `first`), ordered by primary key and event time. */
  async read(group: FeatureGroup, options: { first?: number } = {}): Promise<DataFrame> {
    const schema = groupSchema(group);
    const relation = await this.relation(group, { limit: options.first ?? null });
    try {
      const order = [...schema.primaryKey, ...(schema.eventTime ? [schema.eventTime] : [])].map(ident).join(', ');
      const limit = options.first !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.first))}` : '';
      return await this.offline.query(`SELECT * FROM (${relation.sql}) ORDER BY ${order}${limit}`, schema.features);
    } catch (error) {
      throw this.duckdbFailure(error, group, relation.source);
    } finally {
      await relation.release();
    }
  }

  /** The newest row per primary key (in an event-time window, when given), in batches, for the online store. */
  async *onlineRows(group: FeatureGroup, window: { from?: Date | null; to?: Date | null }, batchSize: number): AsyncIterable<OnlineRow[]> {
    const relation = await this.relation(group, window);
    try {
      yield* this.offline.relationOnlineRows(relation.sql, groupSchema(group), batchSize);
    } finally {
      await relation.release();
    }
  }

  /** Runs `work` over the group's relation and releases it after. */
  async withRelation<R>(group: FeatureGroup, options: RelationOptions, work: (sql: string) => Promise<R>): Promise<R> {
    const relation = await this.relation(group, options);
    try {
      return await work(relation.sql);
    } catch (error) {
      throw this.duckdbFailure(error, group, relation.source);
    } finally {
      await relation.release();
    }
  }

  private async describe(
    connector: SourceConnector,
    spec: { table: string } | { query: string } | { path: string; format: FileFormat },
  ): Promise<SourceColumn[]> {
    if (connector.type === 'POSTGRES') {
      if ('path' in spec)
        throw new DataSourceError(`data source ${connector.source.name} is POSTGRES; the group reads a path`, connector.source.name, spec.path);
      return connector.source.describe(spec);
    }
    if (!('path' in spec))
      throw new DataSourceError(`data source ${connector.source.name} is FILES; the group reads a table or query`, connector.source.name, objectOf(spec));
    const reader = await connector.source.reader(spec.path, spec.format);
    try {
      return await this.offline.describe(reader);
    } catch (error) {
      if (error instanceof DataSourceError) throw error;
      throw new DataSourceError(`data source ${connector.source.name}: ${readFailure(spec.path, spec.format, error)}`, connector.source.name, spec.path);
    }
  }

  /** A DuckDB failure while reading an external group's files is the source's failure. */
  private duckdbFailure(error: unknown, group: FeatureGroup, source: string): unknown {
    if (error instanceof DataSourceError || !(error instanceof Error) || !group.external) return error;
    const spec: ExternalSpec = readExternalSpec(group.external);
    if (!('path' in spec)) return error;
    return new DataSourceError(
      `reading feature group ${group.name} from data source ${source} failed: ${readFailure(spec.path, spec.format, error)}`,
      source,
      spec.path,
    );
  }
}

function objectOf(spec: { table: string } | { query: string } | { path: string }): string {
  return 'table' in spec ? spec.table : 'query' in spec ? 'query' : spec.path;
}

const INTEGERS = new Set(['INT', 'BIGINT']);
const FLOATS = new Set(['FLOAT', 'DOUBLE']);

/**
 * Whether a source column of type `current` still reads as a feature of type `registered`: the
 * same type, a wider or narrower integer, floats and numbers as floats, integers and decimals as
 * decimals, dates as timestamps, anything as STRING.
 */
export function compatible(registered: string, current: string): boolean {
  if (registered === current) return true;
  const r = parseFeatureType(registered);
  const c = parseFeatureType(current);
  const name = (t: typeof r) => (t.kind === 'scalar' ? t.name : t.kind === 'decimal' ? 'DECIMAL' : 'ARRAY');
  const rn = name(r);
  const cn = name(c);
  if (rn === 'STRING') return true;
  if (INTEGERS.has(rn)) return INTEGERS.has(cn);
  if (FLOATS.has(rn)) return FLOATS.has(cn) || INTEGERS.has(cn) || cn === 'DECIMAL';
  if (rn === 'DECIMAL') return cn === 'DECIMAL' || INTEGERS.has(cn);
  if (rn === 'TIMESTAMP') return cn === 'TIMESTAMP' || cn === 'DATE';
  return rn === cn && rn !== 'ARRAY';
}
