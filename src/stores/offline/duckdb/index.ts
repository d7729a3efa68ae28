/**
 * The DuckDB backend of the offline store (Parquet commits read through DuckDB). Only the
 * composition root and tests import it; everything else goes through `OfflineStore`.
 */
export { DuckDbOfflineStore, type DuckDbOfflineStoreOptions } from './store.ts';
export { readDataFrame, toJsonSafe } from './values.ts';
export { commitOrder, committedRowsSql, type CommittedRowsOptions } from './sql.ts';
export { exportRows } from './columns-file.ts';
