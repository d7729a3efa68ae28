import pg from 'pg';
import { DataSourceError } from '../../errors.ts';

/** A column of a source relation: its name as the source spells it and the feature type it maps to. */
export interface SourceColumn {
  readonly name: string;
  readonly type: string;
}

/** What an external group reads from PostgreSQL: a table (`schema.table` or `table`) or a SELECT. */
export type PostgresRelation = { readonly table: string } | { readonly query: string };

/** A selection pushed down into PostgreSQL: only these columns, an event-time window, an order and a limit. */
export interface PostgresSelect {
  /** Source column names, in output order. */
  readonly columns: readonly string[];
  /** Event-time window on a TIMESTAMP, TIMESTAMPTZ or DATE source column: [from, to). */
  readonly window?: { readonly column: string; readonly from: Date | null; readonly to: Date | null } | null;
  readonly orderBy?: readonly string[];
  readonly limit?: number | null;
}

/** Rows per FETCH from the cursor: one round trip each. */
export const FETCH_ROWS = 10_000;

// Every value arrives as PostgreSQL's text form; DuckDB casts it to the feature type on append.
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * A PostgreSQL database read in place by external feature groups, with the `pg` driver: the
 * session runs in UTC and read-only; rows stream from a server-side cursor in batches of text
 * values, with the needed columns and the event-time window pushed into the SELECT. Failures
 * become DataSourceErrors naming the source and the object, never carrying the password.
 */
export class PostgresSource {
  constructor(
    /** The data source's name, for errors. */
    readonly name: string,
    private readonly url: string,
    private readonly password: string | null,
  ) {}

  /** Tables and views visible to the user, as `schema.table`, system schemas left out. */
  async listTables(): Promise<string[]> {
    return this.withClient(null, async (client) => {
      const result = await client.query<{ name: string }>(
        `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
      );
      return result.rows.map((r) => r.name);
    });
  }

  /** The columns of a relation with the feature types they map to (see `featureTypeOfPostgres`). */
  async describe(relation: PostgresRelation): Promise<SourceColumn[]> {
    return this.withClient(objectName(relation), async (client) => {
      const result = await client.query({ text: `SELECT * FROM ${relationSql(relation)} AS s LIMIT 0`, rowMode: 'array' });
      return result.fields.map((f) => ({ name: f.name, type: featureTypeOfPostgres(f.dataTypeID, f.dataTypeModifier) }));
    });
  }

  /**
   * The selected rows as batches of text values (null for SQL NULL), in column order, from a
   * cursor: the next batch is fetched while the consumer handles the current one.
   */
  async *rows(relation: PostgresRelation, select: PostgresSelect, batchSize = FETCH_ROWS): AsyncIterable<(string | null)[][]> {
    const object = objectName(relation);
    const client = await this.open(object);
    let pending: Promise<unknown> | null = null;
    try {
      await client.query('BEGIN READ ONLY').catch((error: unknown) => this.fail(error, object));
      await client.query(`DECLARE granary_rows NO SCROLL CURSOR FOR ${selectSql(relation, select)}`).catch((error: unknown) => this.fail(error, object));
      const fetch = () => client.query<(string | null)[]>({ text: `FETCH ${Math.max(1, Math.floor(batchSize))} FROM granary_rows`, rowMode: 'array' });
      let next: Promise<pg.QueryResult<(string | null)[]>> | null = fetch();
      while (next) {
        pending = next;
        const result: pg.QueryResult<(string | null)[]> = await next.catch((error: unknown) => this.fail(error, object));
        pending = null;
        if (result.rows.length === 0) break;
        next = result.rows.length < batchSize ? null : fetch();
        pending = next;
        yield result.rows;
      }
      await client.query('COMMIT').catch(() => {});
    } finally {
      // A consumer that stopped early leaves a FETCH in flight; ending the session discards it.
      pending?.catch(() => {});
      await client.end().catch(() => {});
    }
  }

  private async withClient<R>(object: string | null, work: (client: pg.Client) => Promise<R>): Promise<R> {
    const client = await this.open(object);
    try {
      return await work(client);
    } catch (error) {
      return this.fail(error, object);
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async open(object: string | null): Promise<pg.Client> {
    // The driver lets the URL's (empty) password override an explicit one, so it goes into the URL here, in memory only.
    const url = new URL(this.url);
    if (this.password !== null) url.password = encodeURIComponent(this.password);
    const client = new pg.Client({
      connectionString: url.toString(),
      types: TEXT_TYPES,
      connectionTimeoutMillis: 10_000,
      application_name: 'granary',
    });
    // A dropped connection emits 'error' on the client; the pending query rejects with it too.
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(`SET TIME ZONE 'UTC'`);
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      return this.fail(error, object, true);
    }
  }

  /** Throws the DataSourceError of a driver failure. */
  private fail(error: unknown, object: string | null, connecting = false): never {
    if (error instanceof DataSourceError) throw error;
    const e = error as { code?: string; message?: string; column?: string };
    const detail = this.redact(String(e.message ?? error));
    const where = `data source ${this.name}`;
    switch (e.code) {
      case '42P01':
        throw new DataSourceError(`${object ?? 'a table'} not found in ${where}: ${detail}`, this.name, object);
      case '42703':
        throw new DataSourceError(`a column of ${object ?? 'the relation'} is missing in ${where}: ${detail}`, this.name, object);
      case '42601':
        throw new DataSourceError(`the query of ${object ?? 'the group'} is not valid SQL for ${where}: ${detail}`, this.name, object);
      case '28P01':
      case '28000':
        throw new DataSourceError(`${where} refused the credentials: ${detail}`, this.name, null);
      case '3D000':
        throw new DataSourceError(`${where}: the database does not exist: ${detail}`, this.name, null);
    }
    if (connecting || ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(e.code ?? '')) {
      throw new DataSourceError(`${where} is unreachable: ${detail}`, this.name, object);
    }
    throw new DataSourceError(`reading ${object ?? 'from the source'} failed in ${where}: ${detail}`, this.name, object);
  }

  private redact(text: string): string {
    let out = text;
    if (this.password) out = out.replaceAll(this.password, '***').replaceAll(encodeURIComponent(this.password), '***');
    return out;
  }
}

/** How errors name what an external group reads. */
export function objectName(relation: PostgresRelation): string {
  return 'table' in relation ? relation.table : 'query';
}

/** A quoted PostgreSQL identifier. */
export function pgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function relationSql(relation: PostgresRelation): string {
  if ('query' in relation) return `(${relation.query})`;
  const parts = relation.table.split('.');
  return parts.map(pgIdent).join('.');
}

/** The pushed-down SELECT (time bounds are our own ISO text, safe to inline). */
export function selectSql(relation: PostgresRelation, select: PostgresSelect): string {
  const where: string[] = [];
  const w = select.window;
  if (w?.from) where.push(`s.${pgIdent(w.column)} >= '${w.from.toISOString()}'::timestamptz`);
  if (w?.to) where.push(`s.${pgIdent(w.column)} < '${w.to.toISOString()}'::timestamptz`);
  let sql = `SELECT ${select.columns.map((c) => `s.${pgIdent(c)}`).join(', ')} FROM ${relationSql(relation)} AS s`;
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
  if (select.orderBy && select.orderBy.length > 0) sql += ` ORDER BY ${select.orderBy.map((c) => `s.${pgIdent(c)}`).join(', ')}`;
  if (select.limit != null) sql += ` LIMIT ${Math.max(0, Math.floor(select.limit))}`;
  return sql;
}

/**
 * The feature type of a PostgreSQL column (type OID and modifier): integers INT or BIGINT,
 * real FLOAT, double DOUBLE, numeric DECIMAL(p,s) (DECIMAL(38,9) without a declared precision),
 * boolean BOOLEAN, date DATE, timestamp and timestamptz TIMESTAMP (UTC); everything else
 * (text, uuid, json, arrays, …) STRING, read as its text form.
 */
export function featureTypeOfPostgres(oid: number, modifier: number): string {
  switch (oid) {
    case 16:
      return 'BOOLEAN';
    case 20:
      return 'BIGINT';
    case 21:
    case 23:
      return 'INT';
    case 700:
      return 'FLOAT';
    case 701:
      return 'DOUBLE';
    case 1700: {
      if (modifier < 4) return 'DECIMAL(38,9)';
      const precision = ((modifier - 4) >> 16) & 0xffff;
      const scale = (modifier - 4) & 0xffff;
      return precision >= 1 && precision <= 38 && scale <= precision ? `DECIMAL(${precision},${scale})` : 'DECIMAL(38,9)';
    }
    case 1082:
      return 'DATE';
    case 1114:
    case 1184:
      return 'TIMESTAMP';
    default:
      return 'STRING';
  }
}
