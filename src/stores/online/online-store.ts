import type { GroupSchema } from '../../domain/feature-types.ts';

/** A feature group version as the online store knows it. */
export interface OnlineTable {
  /** Unique, stable name of the group version in the store, e.g. `<projectId>/<name>_<version>`. */
  readonly id: string;
  readonly schema: GroupSchema;
}

/**
 * One row to serve. `key` holds the primary-key values in key order; `eventTime` is comparable
 * (epoch microseconds for TIMESTAMP and DATE, the value itself for a BIGINT event time, null
 * when the group has none); `values` holds every feature, JSON-safe as in DataFrame.
 */
export interface OnlineRow {
  readonly key: readonly unknown[];
  readonly eventTime: number | null;
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * Rows column-wise, the bulk form of a write (no object per row): `columns[i]` holds the values of
 * feature i of the table's schema (schema order, JSON-safe as in OnlineRow.values, primary-key
 * features included), `eventTimes` the comparable event time of each row (as OnlineRow.eventTime).
 * Every array has `rowCount` entries. A FLOAT value may be any double: the store keeps the float
 * it rounds to and reads it back as the float's shortest decimal (shortestFloat32), so writers
 * hand over floats as DuckDB returns them, without formatting each one.
 */
export interface OnlineColumns {
  readonly rowCount: number;
  readonly columns: readonly (readonly unknown[])[];
  readonly eventTimes: readonly (number | null)[];
}

/**
 * The online store: per primary key, the row with the newest event time. A write never lets an
 * older event overwrite a newer one; for equal event times the later commit (greater commit id,
 * uuid v7) wins. Implementations: SQLite (embedded) and Redis (scale), passing one contract suite.
 */
export interface OnlineStore {
  /** Creates (or widens, when features were appended) the storage of a group version. Idempotent. */
  ensure(table: OnlineTable): Promise<void>;
  /** Upserts rows under the newest-event-wins rule. Batched: one round trip per call where the backend allows. */
  write(table: OnlineTable, rows: readonly OnlineRow[], commitId: string): Promise<void>;
  /**
   * Upserts rows given column-wise (the bulk path of inserts and replays) under the same rule as
   * `write`; a key may appear several times, in any order: the newest event wins, for equal event
   * times the row written last. One transaction (SQLite) or one pipeline (Redis) per call.
   */
  writeColumns(table: OnlineTable, rows: OnlineColumns, commitId: string): Promise<void>;
  /** Rows for the given keys, in the same order; null for a key with no row. */
  read(table: OnlineTable, keys: readonly (readonly unknown[])[]): Promise<(Record<string, unknown> | null)[]>;
  /** Removes every row of a group version. */
  drop(table: OnlineTable): Promise<void>;
  /** Resolves when the store answers a trivial request (readiness); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Rows in the column-wise form of `writeColumns`, for `schema` (a key feature's value comes from `key`, others from `values`; absent ones are null). */
export function rowsToColumns(schema: GroupSchema, rows: readonly OnlineRow[]): OnlineColumns {
  const columns = schema.features.map((f) => {
    const k = schema.primaryKey.indexOf(f.name);
    const column = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      column[i] = (k >= 0 ? row.key[k] : row.values[f.name]) ?? null;
    }
    return column;
  });
  return { rowCount: rows.length, columns, eventTimes: rows.map((r) => r.eventTime ?? null) };
}
