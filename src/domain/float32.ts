/**
 * A float32 value (a double that Math.fround leaves unchanged) as the shortest decimal that reads
 * back to it: 0.1, not 0.10000000149011612. Other numbers are taken as float32 first; −0 is 0 (as
 * in JSON).
 */
export function shortestFloat32(value: number): number {
  const x = Math.fround(value);
  if (x === 0) return 0;
  if (!Number.isFinite(x)) return x;
  for (let p = 6; p < 9; p++) {
    const candidate = Number(x.toPrecision(p));
    if (Math.fround(candidate) === x) return candidate;
  }
  return Number(x.toPrecision(9));
}
