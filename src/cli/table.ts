/**
 * Aligned plain-text output of the CLI: tables with a header row, and label/value lists.
 * No dependency: columns are padded with spaces, numbers aligned right, long cells cut.
 */

export type Cell = string | number | boolean | null | undefined;

/** Cells longer than this are cut with `…`, so one long description does not widen a whole table. */
const MAX_CELL = 60;

function text(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no';
  const value = String(cell).replace(/\s+/g, ' ');
  return value.length > MAX_CELL ? `${value.slice(0, MAX_CELL - 1)}…` : value;
}

/**
 * Rows under a header, each column as wide as its widest cell, two spaces apart; numeric columns
 * aligned right. Ends with a newline; trailing spaces are trimmed.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((row) => headers.map((_, i) => text(row[i])));
  const numeric = headers.map((_, i) => rows.some((row) => typeof row[i] === 'number') && rows.every((row) => row[i] == null || typeof row[i] === 'number'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** `label  value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return `${fields
    .map(([label, value]) => `${label.padEnd(width)}  ${value === null || value === undefined || value === '' ? '-' : String(value)}`.trimEnd())
    .join('\n')}\n`;
}
