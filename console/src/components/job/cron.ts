// Cron patterns of job schedules in words. The server takes croner patterns in UTC: 5 fields
// (minute hour day-of-month month day-of-week) or 6 (seconds first). Only the common shapes are
// put in words; anything else is shown as the pattern itself, never guessed at.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Listed times of day at most (`0 2,14 * * *`: "at 02:00 and 14:00"); more read better as the pattern. */
const MAX_TIMES = 4;

/** A number of a field in [min, max], or with `names`, a name (MON, JAN); null for anything else. */
function value(text: string, min: number, max: number, names?: readonly string[], firstName = 0): number | null {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= min && n <= max ? n : null;
  }
  const i = names?.indexOf(text.toUpperCase()) ?? -1;
  return i < 0 ? null : i + firstName;
}

/** The values of a list field (`1,15`, `1-5`, `MON-FRI`, or one value), ascending; null for steps, `*` and the rest. */
function values(field: string, min: number, max: number, names?: readonly string[], firstName = 0): number[] | null {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const range = /^([^-]+)-([^-]+)$/.exec(part);
    if (range) {
      const from = value(range[1]!, min, max, names, firstName);
      const to = value(range[2]!, min, max, names, firstName);
      if (from === null || to === null || from > to) return null;
      for (let n = from; n <= to; n++) out.add(n);
    } else {
      const n = value(part, min, max, names, firstName);
      if (n === null) return null;
      out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** `*​/N` with N dividing `cycle` (every N minutes of an hour keeps an even pace), or `*` as 1; null otherwise. */
function step(field: string, cycle: number): number | null {
  if (field === '*') return 1;
  const m = /^\*\/(\d{1,2})$/.exec(field);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && cycle % n === 0 ? n : null;
}

const two = (n: number) => String(n).padStart(2, '0');

/** "a", "a and b", "a, b and c". */
function and(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

function every(n: number, unit: string): string {
  return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

/** The days part of a pattern with fixed times: "every day", "every Monday", "every month on the 1st"; null when uncommon. */
function days(dom: string, month: string, dow: string): string | null {
  if (dom === '*' && month === '*') {
    if (dow === '*') return 'every day';
    // 7 is Sunday as well as 0.
    const listed = values(dow, 0, 7, DAY_NAMES);
    if (!listed) return null;
    const week = [...new Set(listed.map((d) => d % 7))].sort((a, b) => a - b);
    if (week.length === 7) return 'every day';
    if (week.join() === '1,2,3,4,5') return 'every weekday (Monday to Friday)';
    return `every ${and(week.map((d) => DAYS[d]!))}`;
  }
  if (dow !== '*') return null;
  const dates = values(dom, 1, 31);
  if (!dates) return null;
  if (month === '*') return `every month on the ${and(dates.map(ordinal))}`;
  const months = values(month, 1, 12, MONTH_NAMES, 1);
  if (!months || dates.length !== 1) return null;
  return `every year on ${and(months.map((m) => `${dates[0]} ${MONTHS[m - 1]}`))}`;
}

/** A 5-field pattern with its seconds field (`0` for 5-field patterns) in words; null when uncommon. */
function describe(second: string, minute: string, hour: string, dom: string, month: string, dow: string): string | null {
  const anyDay = dom === '*' && month === '*' && dow === '*';
  // Sub-minute: every second, every N seconds.
  if (minute === '*' && hour === '*' && second !== '0') {
    const seconds = step(second, 60);
    return seconds !== null && anyDay ? every(seconds, 'second') : null;
  }
  const sec = values(second, 0, 59);
  if (sec?.length !== 1) return null;
  const s = sec[0]!;
  const secondsSuffix = s === 0 ? '' : `:${two(s)}`;
  // Every N minutes.
  if (hour === '*' && s === 0) {
    const minutes = step(minute, 60);
    if (minutes !== null) return anyDay ? every(minutes, 'minute') : null;
  }
  const mins = values(minute, 0, 59);
  if (!mins) return null;
  // Every N hours at some minutes past.
  const hours = step(hour, 24);
  if (hours !== null) {
    if (!anyDay || mins.length > MAX_TIMES) return null;
    return `${every(hours, 'hour')} at ${and(mins.map((m) => `:${two(m)}${secondsSuffix}`))}`;
  }
  // Fixed times of day.
  const hrs = values(hour, 0, 23);
  if (!hrs || hrs.length * mins.length > MAX_TIMES) return null;
  const times = hrs.flatMap((h) => mins.map((m) => `${two(h)}:${two(m)}${secondsSuffix}`));
  const when = days(dom, month, dow);
  return when === null ? null : `${when} at ${and(times)} UTC`;
}

/**
 * A cron pattern of a job's schedule in words ("every day at 02:00 UTC", "every 15 minutes",
 * "every Monday at 09:30 UTC"); null when its shape is not one of the common ones.
 */
export function cronInWords(pattern: string): string | null {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length === 5) return describe('0', ...(fields as [string, string, string, string, string]));
  if (fields.length === 6) return describe(...(fields as [string, string, string, string, string, string]));
  return null;
}

/** A cron pattern in words, or the pattern itself when it has no common shape. */
export function describeCron(pattern: string): string {
  return cronInWords(pattern) ?? pattern;
}
