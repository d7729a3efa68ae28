/**
 * Floating-point building blocks that give bit-identical results in DuckDB SQL and in JavaScript.
 *
 * +, −, ×, ÷ and comparisons on IEEE-754 doubles are exactly specified, so an expression that
 * uses only them, in the same order, on the same operands, agrees exactly in both. Library
 * functions (`ln`, `exp`, …) do not: DuckDB calls the C library's `log`, V8 its own port of
 * fdlibm, and they differ in the last bit on about 1 % of inputs. The natural logarithm here is
 * therefore computed from basic operations only (fdlibm's algorithm), once for each side.
 */

/** A DOUBLE literal that DuckDB reads back to exactly `x` (text → double is correctly rounded). */
export function doubleLiteral(x: number): string {
  if (Number.isNaN(x)) return `CAST('NaN' AS DOUBLE)`;
  if (x === Infinity) return `CAST('Infinity' AS DOUBLE)`;
  if (x === -Infinity) return `CAST('-Infinity' AS DOUBLE)`;
  return `CAST('${Object.is(x, -0) ? '-0.0' : String(x)}' AS DOUBLE)`;
}

/** `x` if it is a finite number, else null: the JavaScript side of "NaN and ±Infinity are missing". */
export function finiteOrNull(x: number): number | null {
  return x - x === 0 ? x : null;
}

/** A DOUBLE result as DataFrame carries it: NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity". */
export function jsonDouble(x: number): number | string {
  return x - x === 0 ? x : String(x);
}

// fdlibm e_log.c constants: ln 2 split in a high part with trailing zero bits (so k·LN2_HI is
// exact) and a low part, and the minimax coefficients of log((1+s)/(1-s)) on [0, 0.1716].
// biome-ignore-start lint/correctness/noPrecisionLoss: fdlibm's constants digit for digit as its source writes them; each parses to the intended double
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LG1 = 6.66666666666673513e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;
// biome-ignore-end lint/correctness/noPrecisionLoss: fdlibm's constants end here
/** The reduced argument m = x / 2^k lies in [SQRT2 / 2, SQRT2). */
const SQRT2 = Math.SQRT2;
const HALF_SQRT2 = SQRT2 / 2;

/** 2^k for k in [-1074, 1023], exact (built by doubling and halving, never by pow). */
const POW2 = (() => {
  const table = new Float64Array(1074 + 1024);
  let v = 1;
  for (let k = 0; k <= 1023; k++, v *= 2) table[k + 1074] = v;
  v = 1;
  for (let k = 0; k >= -1074; k--, v /= 2) table[k + 1074] = v;
  return table;
})();

/** x / 2^k, exact for finite positive x and k in [-1074, 1024] (2^1024 overflows, so halve first). */
function scaleDown(x: number, k: number): number {
  return k > 1023 ? (x * 0.5) / POW2[k - 1 + 1074]! : x / POW2[k + 1074]!;
}

function scaleDownSql(x: string, k: string): string {
  return `CASE WHEN ${k} > 1023 THEN ${x} * 0.5 / pow(2.0, ${k} - 1) ELSE ${x} / pow(2.0, ${k}) END`;
}

/**
 * The natural logarithm of a finite x > 0 from basic operations only; within 1 ulp of the true
 * value (it equals Math.log on all but ~0.01 % of inputs). Mirrors `portableLnSql` exactly.
 *
 * x = 2^k · m with m in [√2/2, √2): k is estimated with log2 and corrected, so it is exact whatever
 * log2's error, and the scaling by a power of two is exact. Then with f = m − 1, s = f / (2 + f),
 * ln m = 2s + s·R(s²) ≈ f − (f²/2 − s·(f²/2 + R)), and ln x = k·ln 2 + ln m.
 */
export function portableLn(x: number): number {
  const k0 = Math.round(Math.log2(x));
  const m0 = scaleDown(x, k0);
  const k = m0 >= SQRT2 ? k0 + 1 : m0 < HALF_SQRT2 ? k0 - 1 : k0;
  const f = scaleDown(x, k) - 1;
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
  const hfsq = 0.5 * f * f;
  return k * LN2_HI - (hfsq - (s * (hfsq + r) + k * LN2_LO) - f);
}

/**
 * SQL for `portableLn` of a DOUBLE expression: NULL unless the value is > 0 (NULL, NaN and ±Infinity
 * must be filtered out by the caller). Intermediate values are bound once each with single-element
 * `list_transform` lambdas (DuckDB has no LET), so `x` is evaluated once; costs ≈ 0.4 µs a row.
 */
export function portableLnSql(x: string): string {
  const d = doubleLiteral;
  const k0 = 'k0';
  const m0 = scaleDownSql('x', k0);
  const kExpr = `list_transform([round(log2(x))], lambda ${k0}: CASE WHEN ${m0} >= ${d(SQRT2)} THEN ${k0} + 1 WHEN ${m0} < ${d(HALF_SQRT2)} THEN ${k0} - 1 ELSE ${k0} END)[1]`;
  const w = '(z * z)';
  const r = `(z * (${d(LG1)} + ${w} * (${d(LG3)} + ${w} * (${d(LG5)} + ${w} * ${d(LG7)}))) + ${w} * (${d(LG2)} + ${w} * (${d(LG4)} + ${w} * ${d(LG6)})))`;
  const hfsq = '(0.5 * f * f)';
  const body = `k * ${d(LN2_HI)} - (${hfsq} - (s * (${hfsq} + ${r}) + k * ${d(LN2_LO)}) - f)`;
  const bind = (value: string, name: string, expr: string) => `list_transform([${value}], lambda ${name}: ${expr})[1]`;
  return bind(
    x,
    'x',
    `CASE WHEN x > 0 THEN ${bind(kExpr, 'k', bind(`${scaleDownSql('x', 'k')} - 1.0`, 'f', bind('f / (2.0 + f)', 's', bind('s * s', 'z', body))))} END`,
  );
}
