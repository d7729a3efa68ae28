// Timestamps as users write and read them: epoch numbers, ISO 8601 UTC with microseconds.

/** Epoch numbers above this magnitude are milliseconds, below it seconds (1e11 s is the year 5138; 1e11 ms is 1973-03-03). */
export const EPOCH_MILLIS_THRESHOLD = 1e11;

const MICROS_PER_DAY = 86_400_000_000;
const TIMESTAMP_INFINITY = 9223372036854775807n;
const dayStrings = new Map<number, string>();

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD` of a day number since the epoch (proleptic Gregorian; years outside 0–9999 as ±YYYYYY, as Date#toISOString). */
export function daysToIsoDate(days: number): string {
  const cached = dayStrings.get(days);
  if (cached !== undefined) return cached;
  // Howard Hinnant's civil_from_days.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const y = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  const text = `${y}-${pad2(month)}-${pad2(day)}`;
  if (dayStrings.size >= 50_000) dayStrings.clear();
  dayStrings.set(days, text);
  return text;
}

/** ISO 8601 UTC with microseconds, `2026-01-31T12:00:00.000000Z`, from epoch microseconds. */
export function microsToIso(micros: bigint): string {
  if (micros >= TIMESTAMP_INFINITY) return 'infinity';
  if (micros <= -TIMESTAMP_INFINITY) return '-infinity';
  let days: number;
  let rest: number;
  const n = Number(micros);
  if (Number.isSafeInteger(n)) {
    days = Math.floor(n / MICROS_PER_DAY);
    rest = n - days * MICROS_PER_DAY;
  } else {
    const perDay = BigInt(MICROS_PER_DAY);
    let d = micros / perDay;
    if (micros % perDay < 0n) d -= 1n;
    days = Number(d);
    rest = Number(micros - d * perDay);
  }
  const hours = Math.floor(rest / 3_600_000_000);
  rest -= hours * 3_600_000_000;
  const minutes = Math.floor(rest / 60_000_000);
  rest -= minutes * 60_000_000;
  const seconds = Math.floor(rest / 1_000_000);
  rest -= seconds * 1_000_000;
  return `${daysToIsoDate(days)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${String(rest).padStart(6, '0')}Z`;
}
