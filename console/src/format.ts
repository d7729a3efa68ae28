// Small formatting helpers shared by the pages.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A DateTime of the API for people; "—" when absent. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

// Formatters are made once: Intl constructors are slow enough to show on a page of 50 features.
const integers = new Intl.NumberFormat();
const fractions = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (Number.isInteger(value)) return integers.format(value);
  return fractions.format(Number(value.toPrecision(digits)));
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
