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
   * numbers, NaN for null; a CodedColumn holds values by their codes. Both cross to the staging
   * thread as copies of their bytes, with no value-by-value serialization.
   */
  | {
      readonly kind: 'columns';
      readonly rowCount: number;
      readonly names: readonly string[];
      readonly values: readonly ColumnValues[];
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

/**
 * A column of repeated values (text of a few categories, the same JSON text in many rows): row r
 * holds `dictionary[codes[r]]`, or null where the code is -1. Kept this way, each distinct value is
 * held once while rows wait to be written, and the column crosses threads as its codes' bytes.
 */
export interface CodedColumn {
  readonly codes: Int32Array;
  readonly dictionary: readonly unknown[];
}

/** A `columns` source's column: numbers (NaN for null), coded values, or plain values. */
export type ColumnValues = Float64Array | CodedColumn | readonly unknown[];

/** The number of rows of a column. */
export function columnLength(column: ColumnValues): number {
  return isCoded(column) ? column.codes.length : column.length;
}

export function isCoded(column: ColumnValues): column is CodedColumn {
  return !(column instanceof Float64Array) && !Array.isArray(column);
}

/** Row `r` of a column as a value: null for NaN in numbers and for code -1. */
export function columnValue(column: ColumnValues, r: number): unknown {
  if (column instanceof Float64Array) {
    const v = column[r]!;
    return Number.isNaN(v) ? null : v;
  }
  if (isCoded(column)) {
    const code = column.codes[r]!;
    return code < 0 ? null : column.dictionary[code];
  }
  return (column as readonly unknown[])[r] ?? null;
}
