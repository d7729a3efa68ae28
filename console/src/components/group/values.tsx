// How the group pages show values the API returns as JSON (row cells, tag values, kwargs).

/** A JSON value as one line of text: strings as they are, everything else as JSON. */
export function jsonText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** One value of a row or a report: null set apart from the string "null". */
export function CellValue({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="null-value">null</span>;
  return <>{jsonText(value)}</>;
}

/** The key and event-time badges of a feature (or a column of the group's rows). */
export function FeatureBadges({ primary, eventTime }: { primary: boolean; eventTime: boolean }) {
  return (
    <>
      {primary && <span className="badge key">primary key</span>}
      {eventTime && <span className="badge time">event time</span>}
    </>
  );
}

/** A size in bytes for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Yes / no for a setting. */
export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
