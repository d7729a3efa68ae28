// What an insert writes: JSON rows, a range of ingestion-log messages, or a file on disk in one of
// the accepted formats.

/**
 * Input of one insert: JSON rows (small batches), the bodies of a range of ingestion-log messages
 * (an offline commit of streamed rows: see stream-message.ts's `messagesToRows`, which turns them
 * into rows where the staging runs, so the thread that serves reads never parses them), or a file
 * already on local disk (bulk).
 */
export type InsertSource =
  | { readonly kind: 'rows'; readonly rows: readonly Record<string, unknown>[] }
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
      /**
       * TSV: tab-separated with a header line and no quoting (no field holds a tab or a line
       * break; an empty field is null), the cheapest text to parse: what the server writes itself
       * (the prediction log), not a format clients upload.
       */
      readonly format: 'CSV' | 'TSV' | 'PARQUET' | 'NDJSON';
      /** The user's name for the file (the multipart filename), used in error messages instead of the path. */
      readonly name?: string | null;
    };
