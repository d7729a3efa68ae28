import { viewColumns, type ViewQuery } from '../../engine/feature-view/query.ts';
import type { FittedTransformation } from '../../engine/transformations/types.ts';
import type { Column } from './definition.ts';

/** What the derivation reads of a feature view and one of its training datasets (JSON columns as stored). */
export interface SchemaSources {
  /** FeatureView.query: the normalized ViewQuery. */
  readonly query: unknown;
  /** FeatureView.labels: label names. */
  readonly labels: unknown;
  /** FeatureView.transformations: `[{ function, feature, args }]`. */
  readonly transformations: unknown;
  /** TrainingDataset.transformationParams: the fitted transformations, with their output columns. */
  readonly transformationParams: unknown;
}

/**
 * The model schema of a model trained on a training dataset: the view's output features as the
 * training data has them, each transformed feature replaced by its fitted output columns
 * (`min_max_scaler_tenure_`, one-hot `…_0`, `…_1`), in view order; labels form the output
 * schema, the rest the input schema. Null when the metadata does not say enough (a query that is
 * not a normalized view query, or a transformation the training dataset has not fitted, as while
 * it is materializing): the model then simply has no derived schema.
 */
export function deriveModelSchema(sources: SchemaSources): Record<string, unknown> | null {
  let columns: Column[];
  try {
    columns = viewColumns(sources.query as ViewQuery).map((c) => ({ name: c.name, type: c.type }));
  } catch {
    return null;
  }
  if (columns.length === 0) return null;
  const labels = new Set(Array.isArray(sources.labels) ? sources.labels.filter((l): l is string => typeof l === 'string') : []);
  const wanted = Array.isArray(sources.transformations) ? (sources.transformations as { function?: unknown; feature?: unknown }[]) : [];
  const fitted = (Array.isArray(sources.transformationParams) ? sources.transformationParams : []).filter(isFitted);
  for (const w of wanted) {
    if (!fitted.some((f) => f.function === w.function && f.feature === w.feature)) return null;
  }

  const input: Column[] = [];
  const output: Column[] = [];
  for (const column of columns) {
    const applied = fitted.filter((f) => f.feature === column.name);
    const outputs = applied.length === 0 ? [column] : applied.flatMap((f) => f.outputs.map((o) => ({ name: o.name, type: o.type })));
    (labels.has(column.name) ? output : input).push(...outputs);
  }
  const schema: Record<string, unknown> = {};
  if (input.length > 0) schema.inputSchema = { columnarSchema: input };
  if (output.length > 0) schema.outputSchema = { columnarSchema: output };
  return schema;
}

function isFitted(value: unknown): value is FittedTransformation {
  const f = value as FittedTransformation | null;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.function === 'string' &&
    typeof f.feature === 'string' &&
    Array.isArray(f.outputs) &&
    f.outputs.every((o) => typeof o?.name === 'string' && typeof o?.type === 'string')
  );
}
