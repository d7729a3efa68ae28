/** What a feature view asks for: apply `function` to `feature`, with optional arguments. */
export interface TransformationSpec {
  readonly function: string;
  readonly feature: string;
  /** Function arguments (e.g. `{ bins: 5 }`); each function documents its own and their defaults. */
  readonly args?: Readonly<Record<string, unknown>> | null;
}

/** One output column of a transformation: its name and canonical feature type. */
export interface TransformationOutput {
  readonly name: string;
  readonly type: string;
}

/**
 * A transformation fitted on a training split: plain JSON (store it with the training dataset
 * version, read it back, and every path — SQL for training and batch data, JavaScript for online
 * vectors — applies exactly these parameters).
 */
export interface FittedTransformation {
  readonly function: string;
  readonly feature: string;
  /** Canonical feature type of the input column when fitted (e.g. `BIGINT`, `DECIMAL(10,2)`). */
  readonly inputType: string;
  /** The arguments with every default filled in. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Output columns in order. */
  readonly outputs: readonly TransformationOutput[];
  /** Fitted parameters (statistics), per function: numbers are finite doubles; categories JSON-safe values. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** How well a function's outputs map back to its input. */
export type InverseKind = 'exact' | 'approximate' | 'none';

/** An argument a function accepts. */
export interface TransformationArgument {
  readonly name: string;
  readonly description: string;
  /** The default when omitted; undefined when the argument is required. */
  readonly default?: unknown;
}

/** What users read about a built-in (the `transformationFunctions` query lists these). */
export interface TransformationFunctionInfo {
  readonly name: string;
  readonly description: string;
  /** Feature types accepted as input (`DECIMAL` stands for every precision and scale). */
  readonly inputTypes: readonly string[];
  /** Statistics of the training split the function is fitted with (empty when it needs none). */
  readonly statistics: readonly string[];
  readonly args: readonly TransformationArgument[];
  /** The output columns, in words (names and types). */
  readonly outputs: string;
  /** What missing values (null, and NaN or ±Infinity for DOUBLE and FLOAT) become. */
  readonly missing: string;
  readonly inverse: InverseKind;
}

/** Compiled JavaScript application of fitted transformations to one entity's record: a new record of the outputs. */
export type CompiledTransformations = (record: Readonly<Record<string, unknown>>) => Record<string, unknown>;
