/** Tables as the API returns them (`DataFrame { columns rows rowCount }`), with small helpers. */

/** A column of a table: its name and feature type (BIGINT, DOUBLE, STRING, TIMESTAMP, …). */
export interface Column {
  readonly name: string;
  readonly type: string;
}

/** A table: columns in order and rows as arrays of JSON values in column order. */
export interface DataFrame {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly unknown[])[];
  readonly rowCount: number;
}

/** Column names in order. */
export function columnNames(frame: DataFrame): string[] {
  return frame.columns.map((c) => c.name);
}

/** Index of a column; throws naming the columns when it is absent. */
export function columnIndex(frame: DataFrame, name: string): number {
  const index = frame.columns.findIndex((c) => c.name === name);
  if (index < 0) throw new Error(`no column ${name} (columns: ${columnNames(frame).join(', ')})`);
  return index;
}

/** The values of one column, in row order. */
export function column(frame: DataFrame, name: string): unknown[] {
  const index = columnIndex(frame, name);
  return frame.rows.map((row) => row[index]);
}

/** Rows as objects keyed by column name. */
export function toRecords(frame: DataFrame): Record<string, unknown>[] {
  const names = columnNames(frame);
  return frame.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

/** The same rows without some columns (labels, keys…). */
export function dropColumns(frame: DataFrame, names: readonly string[]): DataFrame {
  const drop = new Set(names);
  const keep = frame.columns.map((c, i) => [c, i] as const).filter(([c]) => !drop.has(c.name));
  return {
    columns: keep.map(([c]) => c),
    rows: frame.rows.map((row) => keep.map(([, i]) => row[i])),
    rowCount: frame.rowCount,
  };
}

/** A frame from the API's `{ columns, rows, rowCount }` with `rows` typed as JSON. */
export function asDataFrame(raw: { columns: readonly Column[]; rows: unknown; rowCount: number }): DataFrame {
  if (!Array.isArray(raw.rows)) throw new Error('a DataFrame’s rows must be an array');
  return { columns: raw.columns, rows: raw.rows as unknown[][], rowCount: raw.rowCount };
}
