// What an insert writes: JSON rows, or a file on disk in one of the accepted formats.

/** Input of one insert: JSON rows (small batches) or a file already on local disk (bulk). */
export type InsertSource =
  | { readonly kind: 'rows'; readonly rows: readonly Record<string, unknown>[] }
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly format: 'CSV' | 'PARQUET' | 'NDJSON';
      /** The user's name for the file (the multipart filename), used in error messages instead of the path. */
      readonly name?: string | null;
    };
