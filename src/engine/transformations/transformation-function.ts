import { jsonSafeConverter } from '../../domain/json-safe.ts';
import type { Kind } from './kinds.ts';
import type { TransformationFunctionInfo, TransformationOutput } from './types.ts';

/**
 * The shape every built-in transformation function has (how it resolves its arguments, the
 * statistics it needs, how it fits and applies in SQL and JavaScript), and the pieces the
 * built-ins share: argument checks, SQL casts, output columns and number conversions.
 */

/** Statistics of one feature over the training split (missing values excluded). */
export interface FeatureStats {
  /** Non-missing values. */
  readonly count: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Population standard deviation (ddof = 0, as sklearn's StandardScaler). */
  readonly std: number | null;
  readonly maxAbs: number | null;
  /** Exact `quantile_cont` (linear interpolation between closest ranks) of a requested probability. */
  quantile(p: number): number | null;
  /** Distinct values (JSON-safe) with their counts, ascending in the type's order. */
  readonly entries: readonly { readonly value: unknown; readonly count: number }[];
}

export type Moment = 'min' | 'max' | 'mean' | 'std' | 'maxAbs';

/** The statistics a function needs, given its arguments. */
export interface StatisticsNeeds {
  readonly moments?: readonly Moment[];
  readonly quantiles?: readonly number[];
  readonly histogram?: boolean;
}

/** A fitted transformation with its input kind resolved. */
export interface Fitted {
  readonly function: string;
  readonly feature: string;
  readonly kind: Kind;
  readonly inputType: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly outputs: readonly TransformationOutput[];
}

/**
 * Writes the outputs of one input value into `out`, which starts with every output at its
 * function's `outputDefault` (null unless stated): a function may leave an output at its default.
 */
export type JsApply = (value: unknown, out: Record<string, unknown>) => void;
/** Reconstructs the input value from a record holding the outputs. */
export type JsInverse = (transformed: Readonly<Record<string, unknown>>) => unknown;

export type Fail = (arg: string, message: string) => never;

/** A built-in: what users read about it, and how to fit and apply it in SQL and in JavaScript. */
export interface TransformationFunction extends TransformationFunctionInfo {
  readonly kinds: readonly Kind[];
  /** Validates the arguments and fills in defaults; calls `fail` on the first bad one. */
  resolveArgs(args: Readonly<Record<string, unknown>>, fail: Fail, kind: Kind): Record<string, unknown>;
  needs(args: Readonly<Record<string, unknown>>): StatisticsNeeds;
  fit(stats: FeatureStats, args: Readonly<Record<string, unknown>>, kind: Kind): Record<string, unknown>;
  /** Output columns: `prefix` is `<function>_<feature>_`. */
  outputColumns(prefix: string, params: Readonly<Record<string, unknown>>, inputType: string): TransformationOutput[];
  /** One SQL expression per output, reading the input expression `x`. */
  sql(x: string, fitted: Fitted): string[];
  js(fitted: Fitted): JsApply;
  /** The value every output starts from before `js` writes (default null). */
  readonly outputDefault?: unknown;
  invert(fitted: Fitted): JsInverse;
}
// ---------------------------------------------------------------------------------------------
// Arguments

export function noArgs(args: Readonly<Record<string, unknown>>, fail: Fail): Record<string, unknown> {
  for (const name of Object.keys(args)) fail(name, `unknown argument "${name}" (this function takes none)`);
  return {};
}

export function checkKnown(args: Readonly<Record<string, unknown>>, known: readonly string[], fail: Fail): void {
  for (const name of Object.keys(args)) {
    if (!known.includes(name)) fail(name, `unknown argument "${name}" (expected ${known.join(', ')})`);
  }
}

export function integerArg(args: Readonly<Record<string, unknown>>, name: string, fallback: number, min: number, max: number, fail: Fail): number {
  const v = args[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(name, `"${name}" must be an integer from ${min} to ${max}`);
  return v as number;
}

export function probabilityArg(args: Readonly<Record<string, unknown>>, name: string, fallback: number, fail: Fail): number {
  const v = args[name] ?? fallback;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(name, `"${name}" must be a number from 0 to 1`);
  return v as number;
}
// ---------------------------------------------------------------------------------------------
// Shared pieces

export const num = (params: Readonly<Record<string, unknown>>, key: string): number | null => {
  const v = params[key];
  return typeof v === 'number' ? v : null;
};

export const castDouble = (expr: string) => `CAST(${expr} AS DOUBLE)`;
export const castInt = (expr: string) => `CAST(${expr} AS INTEGER)`;
export const NULL_DOUBLE = 'CAST(NULL AS DOUBLE)';
export const NULL_INT = 'CAST(NULL AS INTEGER)';

export function single(prefix: string, type: string): TransformationOutput[] {
  return [{ name: prefix, type }];
}

/** Converts a DOUBLE back to the input's JSON-safe form (integers rounded, FLOAT to float32). */
export function fromDouble(kind: Kind): (x: number) => unknown {
  switch (kind) {
    case 'int':
    case 'bigint':
      return (x) => Math.round(x) + 0;
    case 'float': {
      const shortest = jsonSafeConverter('FLOAT');
      return (x) => shortest(Math.fround(x));
    }
    default:
      return (x) => x;
  }
}

/** The output value of a record as a number, or null. */
export function outputNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const x = Number(v);
    return Number.isNaN(x) && v !== 'NaN' ? null : x;
  }
  return null;
}
