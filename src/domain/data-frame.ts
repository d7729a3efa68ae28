/** A column of a result: its name and canonical feature type. */
export interface DataFrameColumn {
  readonly name: string;
  readonly type: string;
}

/**
 * A table as the API returns it: columns, and rows as arrays in column order. Values are
 * JSON-safe: BIGINT as a number when exactly representable and a string otherwise,
 * TIMESTAMP as ISO 8601 UTC (`2026-01-31T12:00:00.000000Z`), DATE as `YYYY-MM-DD`,
 * DECIMAL as a string, BINARY as base64, ARRAY as a JSON array.
 */
export interface DataFrame {
  readonly columns: readonly DataFrameColumn[];
  readonly rows: readonly (readonly unknown[])[];
}
