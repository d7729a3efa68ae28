// What an insert writes: JSON rows, columns the server built, a range of ingestion-log messages,
// or a file on disk in one of the accepted formats.

/**
 * Input of one insert: JSON rows (small batches), the bodies of a range of ingestion-log messages
 * (an offline commit of streamed rows: see stream-message.ts's `messagesToRows`, which turns them
 * into rows where the staging runs, so the thread that serves reads never parses them), or a file
 * already on local disk (bulk).
 */
export type InsertSource =
  | { readonly kind: 'rows'; readonly rows: readonly Record<string, unknown>[] }
  /**
   * Rows the server built itself column by column (the prediction log): a column per named
   * feature, each of `rowCount` values; features not named are null. A Float64Array column holds
   * numbers, NaN for null; it crosses to the staging thread as a copy of its bytes, with no
   * value-by-value serialization.
   */
  | {
      readonly kind: 'columns';
      readonly rowCount: number;
      readonly names: readonly string[];
      readonly values: readonly (Float64Array | readonly unknown[])[];
    }
  | {
      readonly kind: 'messages';
      /** Message bodies in log order. */
      readonly messages: readonly Uint8Array[];
      /** Messages are taken whole until at least this many rows are; the staged commit's `sourceMessages` says how many were. */
      readonly maxRows: number;
    }
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly format: 'CSV' | 'PARQUET' | 'NDJSON';
      /** The user's name for the file (the multipart filename), used in error messages instead of the path. */
      readonly name?: string | null;
    };
