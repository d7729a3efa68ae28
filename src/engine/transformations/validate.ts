import { ValidationError, type InputIssue } from '../../errors.ts';
import { describeType, typeNames, type Kind } from './kinds.ts';
import { TRANSFORMATION_FUNCTIONS, type TransformationFunction } from './functions.ts';
import type { TransformationSpec } from './types.ts';

type Path = readonly (string | number)[];

/** A spec checked against its feature's type, with the arguments' defaults filled in. */
export interface ResolvedSpec {
  readonly function: string;
  readonly feature: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** Canonical feature type of the input. */
  readonly inputType: string;
  readonly kind: Kind;
  readonly definition: TransformationFunction;
}

/** `<function>_<feature>_`: the output column name (one_hot_encoder appends the category index). */
export function transformationOutputPrefix(functionName: string, feature: string): string {
  return `${functionName}_${feature}_`;
}

function label(spec: TransformationSpec): string {
  return `transformation ${JSON.stringify(spec.function)} on feature ${JSON.stringify(spec.feature)}`;
}

/**
 * Checks one spec against the type of its feature: the function exists, accepts the type, and the
 * arguments are valid. Throws a ValidationError naming the function and the feature, with the
 * issue at `[...path, 'function' | 'feature' | 'args', …]`.
 */
export function validateTransformationSpec(spec: TransformationSpec, featureType: string, path: Path = []): ResolvedSpec {
  if (spec === null || typeof spec !== 'object') throw ValidationError.at([...path], 'a transformation must be an object { function, feature, args? }');
  if (typeof spec.feature !== 'string' || spec.feature === '') {
    throw ValidationError.at([...path, 'feature'], `transformation ${JSON.stringify(spec.function)}: "feature" must be a non-empty string`);
  }
  const definition =
    typeof spec.function === 'string' && Object.hasOwn(TRANSFORMATION_FUNCTIONS, spec.function) ? TRANSFORMATION_FUNCTIONS[spec.function] : undefined;
  if (definition === undefined) {
    throw ValidationError.at([...path, 'function'], `unknown ${label(spec)}: expected one of ${Object.keys(TRANSFORMATION_FUNCTIONS).join(', ')}`);
  }
  const { canonical, kind } = describeType(featureType, [...path, 'feature']);
  if (kind === null || !definition.kinds.includes(kind)) {
    throw ValidationError.at(
      [...path, 'feature'],
      `${label(spec)}: type ${canonical} is not accepted (${definition.name} accepts ${typeNames(definition.kinds).join(', ')})`,
    );
  }
  const raw = spec.args ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw ValidationError.at([...path, 'args'], `${label(spec)}: "args" must be an object`);
  const fail = (arg: string, message: string): never => {
    throw ValidationError.at([...path, 'args', arg], `${label(spec)}: ${message}`);
  };
  const args = definition.resolveArgs(raw, fail, kind);
  return { function: definition.name, feature: spec.feature, args, inputType: canonical, kind, definition };
}

/**
 * Checks a list of specs (a feature view's transformations) against the features' types; every
 * problem becomes one issue at `[...path, index, …]`, including a feature that is not in
 * `featureTypes` and two specs with the same function and feature (their outputs would clash).
 */
export function validateTransformationSpecs(
  specs: readonly TransformationSpec[],
  featureTypes: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
  path: Path = ['transformations'],
): ResolvedSpec[] {
  const typeOf = (feature: string) =>
    featureTypes instanceof Map
      ? featureTypes.get(feature)
      : Object.hasOwn(featureTypes, feature)
        ? (featureTypes as Record<string, string>)[feature]
        : undefined;
  const issues: InputIssue[] = [];
  const resolved: ResolvedSpec[] = [];
  const seen = new Map<string, number>();
  specs.forEach((spec, i) => {
    try {
      const type = typeof spec?.feature === 'string' ? typeOf(spec.feature) : undefined;
      if (type === undefined && typeof spec?.feature === 'string' && spec.feature !== '') {
        throw ValidationError.at([...path, i, 'feature'], `${label(spec)}: no such feature`);
      }
      const r = validateTransformationSpec(spec, type ?? 'STRING', [...path, i]);
      const prefix = transformationOutputPrefix(r.function, r.feature);
      const first = seen.get(prefix);
      if (first !== undefined) {
        throw ValidationError.at([...path, i], `${label(spec)} is listed twice (also at ${first}): its output columns would clash`);
      }
      seen.set(prefix, i);
      resolved.push(r);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.issues);
    }
  });
  if (issues.length > 0) {
    throw new ValidationError(issues.length === 1 ? issues[0]!.message : `${issues.length} invalid transformations, first: ${issues[0]!.message}`, issues);
  }
  return resolved;
}
