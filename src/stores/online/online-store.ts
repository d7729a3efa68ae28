import type { GroupSchema } from '../../engine/feature-types.ts';

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
 * The online store: per primary key, the row with the newest event time. A write never lets an
 * older event overwrite a newer one; for equal event times the later commit (greater commit id,
 * uuid v7) wins. Implementations: SQLite (embedded) and Redis (scale), passing one contract suite.
 */
export interface OnlineStore {
  /** Creates (or widens, when features were appended) the storage of a group version. Idempotent. */
  ensure(table: OnlineTable): Promise<void>;
  /** Upserts rows under the newest-event-wins rule. Batched: one round trip per call where the backend allows. */
  write(table: OnlineTable, rows: readonly OnlineRow[], commitId: string): Promise<void>;
  /** Rows for the given keys, in the same order; null for a key with no row. */
  read(table: OnlineTable, keys: readonly (readonly unknown[])[]): Promise<(Record<string, unknown> | null)[]>;
  /** Removes every row of a group version. */
  drop(table: OnlineTable): Promise<void>;
  close(): Promise<void>;
}
