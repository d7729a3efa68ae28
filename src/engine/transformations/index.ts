/**
 * Model-dependent transformation functions: fitted once on a training split (every statistic in
 * one DuckDB pass), stored as JSON with the training dataset version, and applied identically in
 * SQL (training and batch data) and in JavaScript (online feature vectors).
 *
 * Usage:
 * ```ts
 * const fitted = await fitTransformations(connection, trainSplitSql, view.transformations);
 * // store `fitted` (plain JSON) with the training dataset version; later:
 * const select = transformationSelectList(fitted, (feature) => `"v"."${feature}"`); // SQL
 * const apply = compileJs(fitted);            // once per training dataset version
 * const outputs = apply(vectorRecord);        // per entity: { min_max_scaler_tenure_: 0.39, … }
 * ```
 *
 * Semantics (also in each function's `description` and `missing`):
 * - Output columns `<function>_<feature>_`; one_hot_encoder `one_hot_encoder_<feature>_<i>` per
 *   category in category order. Outputs are DOUBLE (scalers, log, winsorize, impute_mean/median),
 *   INT (encoders, binners, binarizer), or the input type (impute_mode, impute_constant).
 * - Missing = null, and for DOUBLE/FLOAT also NaN and ±Infinity (sklearn treats NaN as missing).
 *   Missing inputs give null, except: label_encoder null (unknown categories −1), one_hot_encoder
 *   all zeros (unknown categories too), imputers the fitted/constant value. Statistics ignore them.
 * - Categories: distinct training values ascending in the type's natural order (numbers
 *   numerically, STRING by code point = UTF-8 bytes = Python str order, false < true, dates
 *   chronologically) — what Hopsworks' `sorted(unique_values)` gives.
 * - Zero spread: min_max_scaler gives 0.0; standard/robust scalers only centre (sklearn);
 *   max_abs_scaler passes values. Statistics of an empty split are null and outputs null.
 * - SQL and JavaScript evaluate the same IEEE operations in the same order on the same literals
 *   (numbers are written as exact DOUBLE literals; DECIMAL converts through its text; ln is computed
 *   from basic operations, since C's log and V8's differ in the last bit), so the values are
 *   identical, not merely close.
 */
export type {
  CompiledTransformations,
  FittedTransformation,
  InverseKind,
  TransformationArgument,
  TransformationFunctionInfo,
  TransformationOutput,
  TransformationSpec,
} from './types.ts';
export { TRANSFORMATION_FUNCTIONS, type TransformationFunction } from './functions.ts';
export { fitTransformations } from './fit.ts';
export {
  applyTransformationsJs,
  compileJs,
  inverseTransform,
  listTransformationFunctions,
  parseFittedTransformations,
  transformationSelectList,
  transformationSql,
} from './apply.ts';
export { transformationOutputPrefix, validateTransformationSpec, validateTransformationSpecs, type ResolvedSpec } from './validate.ts';
export { portableLn } from './numeric.ts';
