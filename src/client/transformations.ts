/**
 * Client-side inverse of the model-dependent transformations a training dataset fitted
 * (`TrainingDataset.transformationStatistics`): turns transformed columns
 * (`min_max_scaler_tenure_`, `label_encoder_contract_`) back into the features they came from,
 * for showing predictions next to values a person reads.
 */
import type { Column, DataFrame } from './data-frame.ts';

/** One fitted transformation, as `transformationStatistics` lists them. */
export interface FittedTransformation {
  readonly function: string;
  readonly feature: string;
  /** Feature type of the input when fitted (`INT`, `DOUBLE`, `STRING`, …). */
  readonly inputType: string;
  readonly args?: Readonly<Record<string, unknown>>;
  readonly outputs: readonly Column[];
  readonly params: Readonly<Record<string, unknown>>;
}

/** Functions {@link inverseTransform} can invert. */
export const INVERTIBLE_FUNCTIONS = ['min_max_scaler', 'label_encoder'] as const;

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INT', 'INTEGER', 'BIGINT']);

/** Reads `transformationStatistics` (JSON) as fitted transformations; throws when it has another shape. */
export function fittedTransformations(statistics: unknown): FittedTransformation[] {
  if (!Array.isArray(statistics)) throw new Error('transformationStatistics must be a list');
  return statistics.map((entry, i) => {
    const t = entry as Partial<FittedTransformation> | null;
    if (!t || typeof t.function !== 'string' || typeof t.feature !== 'string' || !Array.isArray(t.outputs) || typeof t.params !== 'object') {
      throw new Error(`transformationStatistics[${i}] is not a fitted transformation`);
    }
    return t as FittedTransformation;
  });
}

type Invert = (value: unknown) => unknown;

function numberParam(t: FittedTransformation, name: string): number {
  const value = t.params[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${t.function} of ${t.feature}: parameter ${name} is not a number`);
  return value;
}

function inverter(t: FittedTransformation): Invert | undefined {
  switch (t.function) {
    case 'min_max_scaler': {
      const min = numberParam(t, 'min');
      const max = numberParam(t, 'max');
      const integer = INTEGER_TYPES.has(t.inputType.toUpperCase());
      return (value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return null;
        const x = value * (max - min) + min;
        // Undo the float noise of the round trip: integers exactly, doubles to 12 digits.
        return integer ? Math.round(x) : Number(x.toPrecision(12));
      };
    }
    case 'label_encoder': {
      const categories = t.params.categories;
      if (!Array.isArray(categories)) throw new Error(`label_encoder of ${t.feature}: no categories`);
      return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < categories.length ? categories[value] : null);
    }
    default:
      return undefined;
  }
}

/**
 * The frame with each transformed column of an invertible function (min_max_scaler,
 * label_encoder) replaced in place by the feature it came from, in the feature's input type.
 * Columns of other functions, and columns the frame does not have, are left as they are.
 */
export function inverseTransform(frame: DataFrame, statistics: unknown): DataFrame {
  const byOutput = new Map<string, { t: FittedTransformation; invert: Invert }>();
  for (const t of fittedTransformations(statistics)) {
    const invert = inverter(t);
    if (invert && t.outputs.length === 1) byOutput.set(t.outputs[0]!.name, { t, invert });
  }
  const plan = frame.columns.map((column) => byOutput.get(column.name));
  return {
    columns: frame.columns.map((column, i) => {
      const p = plan[i];
      return p ? { name: p.t.feature, type: p.t.inputType } : column;
    }),
    rows: frame.rows.map((row) => row.map((value, i) => (plan[i] ? plan[i].invert(value) : value))),
    rowCount: frame.rowCount,
  };
}

/** The inverse of one transformed record (`FeatureVector.record`): transformed keys replaced by their features. */
export function inverseTransformRecord(record: Readonly<Record<string, unknown>>, statistics: unknown): Record<string, unknown> {
  const names = Object.keys(record);
  const frame = inverseTransform({ columns: names.map((name) => ({ name, type: '' })), rows: [names.map((n) => record[n])], rowCount: 1 }, statistics);
  return Object.fromEntries(frame.columns.map((c, i) => [c.name, frame.rows[0]![i]]));
}
