import { ValidationError } from '../../errors.ts';
import { ident } from '../../domain/sql.ts';
import { TRANSFORMATION_FUNCTIONS, type Fitted, type JsApply, type JsInverse, type TransformationFunction } from './functions.ts';
import { describeType } from './kinds.ts';
import type { CompiledTransformations, FittedTransformation, TransformationFunctionInfo } from './types.ts';

/** The published description of every built-in, in registry order. */
export function listTransformationFunctions(): TransformationFunctionInfo[] {
  return Object.values(TRANSFORMATION_FUNCTIONS).map((f) => ({
    name: f.name,
    description: f.description,
    inputTypes: f.inputTypes,
    statistics: f.statistics,
    args: f.args,
    outputs: f.outputs,
    missing: f.missing,
    inverse: f.inverse,
  }));
}

const resolvedCache = new WeakMap<FittedTransformation, { definition: TransformationFunction; fitted: Fitted }>();

/** The definition and input kind of a fitted transformation (checked: it may come from stored JSON). */
function resolve(f: FittedTransformation): { definition: TransformationFunction; fitted: Fitted } {
  const cached = resolvedCache.get(f);
  if (cached) return cached;
  const definition = typeof f?.function === 'string' && Object.hasOwn(TRANSFORMATION_FUNCTIONS, f.function) ? TRANSFORMATION_FUNCTIONS[f.function] : undefined;
  if (definition === undefined) throw ValidationError.at(['function'], `unknown transformation function ${JSON.stringify(f?.function)}`);
  const { kind } = describeType(String(f.inputType), ['inputType']);
  if (kind === null || !definition.kinds.includes(kind)) {
    throw ValidationError.at(['inputType'], `transformation "${f.function}" on feature "${f.feature}": fitted input type ${f.inputType} is not accepted`);
  }
  if (!Array.isArray(f.outputs) || typeof f.params !== 'object' || f.params === null) {
    throw ValidationError.at([], `transformation "${f.function}" on feature "${f.feature}": not a fitted transformation (outputs and params expected)`);
  }
  const result = {
    definition,
    fitted: { function: f.function, feature: f.feature, kind, inputType: f.inputType, args: f.args ?? {}, params: f.params, outputs: f.outputs },
  };
  resolvedCache.set(f, result);
  return result;
}

/**
 * Checks that a JSON value (e.g. a training dataset's stored `transformationParams`) is a list of
 * fitted transformations this version can apply; returns it typed.
 */
export function parseFittedTransformations(value: unknown): FittedTransformation[] {
  if (!Array.isArray(value)) throw ValidationError.at([], 'fitted transformations must be a list');
  value.forEach((f, i) => {
    try {
      if (f === null || typeof f !== 'object') throw ValidationError.at([], 'not an object');
      resolve(f as FittedTransformation);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw ValidationError.at([i, ...(error.issues[0]?.path ?? [])], error.message);
    }
  });
  return value as FittedTransformation[];
}

/**
 * SQL expressions of a fitted transformation's outputs, in output order, reading the input
 * column through `inputExpr` (a column reference, e.g. `"t"."tenure"`; it may be repeated, so keep
 * it cheap). Every expression yields the output's type (DOUBLE or INTEGER, or the input type for
 * impute_mode / impute_constant) and equals, value for value, what compileJs computes.
 */
export function transformationSql(fitted: FittedTransformation, inputExpr: string): { name: string; sql: string }[] {
  const { definition, fitted: f } = resolve(fitted);
  const sql = definition.sql(inputExpr, f);
  return f.outputs.map((o, i) => ({ name: o.name, sql: sql[i]! }));
}

/**
 * Select-list items `<expr> AS "<output>"` for all fitted transformations, reading each feature
 * through `column(feature)` (default: the quoted feature name).
 */
export function transformationSelectList(fitted: readonly FittedTransformation[], column: (feature: string) => string = ident): string[] {
  return fitted.flatMap((f) => transformationSql(f, column(f.feature)).map((o) => `${o.sql} AS ${ident(o.name)}`));
}

/**
 * Compiles fitted transformations once (lookup maps, edges, constants) into a function that maps
 * one entity's record (feature → value, JSON-safe as DataFrame) to a new record of the outputs
 * (output name → value, in output order). Values equal the SQL path's as DataFrame converts them
 * (DOUBLE NaN/±Infinity as strings, BIGINT beyond 2^53 as text, FLOAT as the shortest decimal).
 * A missing key in the record is a missing value.
 */
export function compileJs(fitted: readonly FittedTransformation[]): CompiledTransformations {
  const features: string[] = [];
  const applies: JsApply[] = [];
  // Each call copies an object holding every output key at its default, so it fills an object
  // of one fixed shape (and one-hot columns start at 0: only the hot one is written).
  const template: Record<string, unknown> = {};
  for (const f of fitted) {
    const { definition, fitted: r } = resolve(f);
    features.push(r.feature);
    applies.push(definition.js(r));
    for (const o of r.outputs) template[o.name] = definition.outputDefault ?? null;
  }
  const n = applies.length;
  return (record) => {
    const out = { ...template };
    for (let i = 0; i < n; i++) applies[i]!(record[features[i]!], out);
    return out;
  };
}

const compiledCache = new WeakMap<readonly FittedTransformation[], CompiledTransformations>();

/** compileJs(fitted)(record), compiling once per fitted array (cached by identity). */
export function applyTransformationsJs(fitted: readonly FittedTransformation[], record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let compiled = compiledCache.get(fitted);
  if (!compiled) {
    compiled = compileJs(fitted);
    compiledCache.set(fitted, compiled);
  }
  return compiled(record);
}

const inverseCache = new WeakMap<readonly FittedTransformation[], (transformed: Readonly<Record<string, unknown>>) => Record<string, unknown>>();

/**
 * The input features reconstructed from transformed outputs (feature → value in the input's
 * JSON-safe form). Exact up to rounding for scalers and log_transform; label and one-hot
 * encoders give the category (null for −1, all zeros, or missing); binners the centre of the bin;
 * winsorize and imputers the value as it is. binarizer has no inverse and is skipped. When several
 * transformations read one feature, the first with an inverse provides it.
 */
export function inverseTransform(fitted: readonly FittedTransformation[], transformed: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let compiled = inverseCache.get(fitted);
  if (!compiled) {
    const steps: { feature: string; inverse: JsInverse }[] = [];
    const covered = new Set<string>();
    for (const f of fitted) {
      const { definition, fitted: r } = resolve(f);
      if (definition.inverse === 'none' || covered.has(r.feature)) continue;
      covered.add(r.feature);
      steps.push({ feature: r.feature, inverse: definition.invert(r) });
    }
    compiled = (t) => {
      const out: Record<string, unknown> = {};
      for (const step of steps) out[step.feature] = step.inverse(t);
      return out;
    };
    inverseCache.set(fitted, compiled);
  }
  return compiled(transformed);
}
