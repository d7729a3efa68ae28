import { describe, expect, it } from 'vitest';
import { type CodedColumn, columnLength, columnValue } from '../../../src/domain/insert-source.ts';
import { featureStatusText, LOG_FEATURES, LogBuffer, type LoggedPrediction, logColumnClash } from '../../../src/services/deployment/prediction-log-rows.ts';

const RAW = ['tenure', 'plan', 'charges'];
const VECTOR = ['min_max_scaler_tenure_', 'plan', 'charges'];

function row(i: number, overrides: Partial<LoggedPrediction> = {}): LoggedPrediction {
  return {
    requestId: `r-${i}`,
    entryIndex: i % 3,
    modelVersion: 2,
    modelName: 'churn',
    loggedAt: Date.UTC(2026, 11, 4, 12) + i,
    trainingDatasetVersion: 1,
    shadow: false,
    entry: { customerid: `c${i}` },
    raw: { features: RAW, values: [i, 'gold', i * 1.5] },
    vector: { features: VECTOR, values: [i / 100, 'gold', i * 1.5] },
    passed: null,
    prediction: i % 2,
    probabilities: [0.25, 0.75],
    ...overrides,
  };
}

/** The buffer's columns as records, nulls for NaN and code -1, for comparing. */
function records(buffer: LogBuffer): Record<string, unknown>[] {
  const { rowCount, names, values } = buffer.columns();
  for (const column of values) expect(columnLength(column)).toBe(rowCount);
  return Array.from({ length: rowCount }, (_, r) => Object.fromEntries(names.map((name, c) => [name, columnValue(values[c]!, r)])));
}

describe('prediction log buffer', () => {
  it('keeps the metadata and a column per served feature: raw features by name, transformed outputs by theirs, once each', () => {
    const buffer = new LogBuffer();
    buffer.add(row(4, { passed: ['tenure'], raw: { features: RAW, values: [4, 'gold', null] }, vector: { features: VECTOR, values: [0.04, 'gold', null] } }));
    buffer.add(row(5, { trainingDatasetVersion: null, probabilities: null, prediction: null, shadow: true }));
    const { names, values } = buffer.columns();
    expect(names).toEqual([...LOG_FEATURES.map((f) => f.name), 'tenure', 'plan', 'charges', 'min_max_scaler_tenure_']);
    // Numbers stay numbers (Float64Array); text is kept by its codes, each distinct value once.
    expect(values[names.indexOf('tenure')]).toBeInstanceOf(Float64Array);
    expect(values[names.indexOf('min_max_scaler_tenure_')]).toBeInstanceOf(Float64Array);
    expect((values[names.indexOf('plan')] as CodedColumn).dictionary).toEqual(['gold']);
    expect(records(buffer)).toEqual([
      {
        request_id: 'r-4',
        entry_index: 1,
        model_version: 2,
        logged_at: Date.UTC(2026, 11, 4, 12) + 4,
        model_name: 'churn',
        training_dataset_version: 1,
        shadow: false,
        entity_keys: '{"customerid":"c4"}',
        feature_status: '{"tenure":"passed","charges":"missing"}',
        prediction: '0',
        probabilities: '[0.25,0.75]',
        tenure: 4,
        plan: 'gold',
        charges: null,
        min_max_scaler_tenure_: 0.04,
      },
      {
        request_id: 'r-5',
        entry_index: 2,
        model_version: 2,
        logged_at: Date.UTC(2026, 11, 4, 12) + 5,
        model_name: 'churn',
        training_dataset_version: null,
        shadow: true,
        entity_keys: '{"customerid":"c5"}',
        feature_status: '{}',
        prediction: 'null',
        probabilities: null,
        tenure: 5,
        plan: 'gold',
        charges: 7.5,
        min_max_scaler_tenure_: 0.05,
      },
    ]);
    expect([...buffer.models.values()]).toEqual([{ name: 'churn', version: 2 }]);
  });

  it('gives a feature first served in a later row nulls before it, and turns a numbers column into values at its first non-number', () => {
    const buffer = new LogBuffer();
    buffer.add(row(1));
    const other = ['tenure', 'segment'];
    buffer.add(row(2, { modelVersion: 3, raw: { features: other, values: [2, 'b'] }, vector: { features: other, values: [2, 'b'] } }));
    // `charges` had numbers; a version serving it as text makes the column plain values, earlier numbers kept.
    buffer.add(row(3, { raw: { features: RAW, values: [3, 'gold', 'n/a'] }, vector: { features: RAW, values: [3, 'gold', 'n/a'] } }));
    const got = records(buffer);
    expect(got.map((r) => r.segment)).toEqual([null, 'b', null]);
    expect(got.map((r) => r.charges)).toEqual([1.5, null, 'n/a']);
    expect(got.map((r) => r.min_max_scaler_tenure_)).toEqual([0.01, null, null]);
    expect([...buffer.models.keys()]).toEqual(['churn:2', 'churn:3']);
  });

  it('grows past its first capacity without losing a row', () => {
    const reused = new LogBuffer();
    for (let i = 0; i < 3000; i++) reused.add(row(i));
    reused.columns();
    reused.reset();
    for (const buffer of [new LogBuffer(), reused]) {
      for (let i = 0; i < 5000; i++)
        buffer.add(row(i, i === 4000 ? { raw: { features: RAW, values: [i, null, 1] }, vector: { features: VECTOR, values: [0, null, 1] } } : {}));
      const { rowCount, names, values } = buffer.columns();
      expect(rowCount).toBe(5000);
      const tenure = values[names.indexOf('tenure')] as Float64Array;
      expect(tenure.length).toBe(5000);
      expect([...tenure].every((v, i) => v === i)).toBe(true);
      expect((values[0] as string[])[4999]).toBe('r-4999');
      const plan = values[names.indexOf('plan')]!;
      expect(Array.from({ length: 5000 }, (_, r) => columnValue(plan, r)).filter((v) => v !== 'gold')).toEqual([null]);
      expect(columnValue(plan, 4000)).toBeNull();
      // Repeated text is held once; distinct text once per value.
      expect((plan as CodedColumn).dictionary).toEqual(['gold']);
      expect((values[names.indexOf('entity_keys')] as CodedColumn).dictionary).toHaveLength(5000);
      expect((values[names.indexOf('prediction')] as CodedColumn).dictionary).toEqual(['0', '1']);
    }
  });

  it('is emptied for the next interval: no value of the last one is left, and it shrinks back when rows slow down', () => {
    const buffer = new LogBuffer();
    for (let i = 0; i < 5000; i++) buffer.add(row(i));
    const first = buffer.columns();
    buffer.reset();
    expect(buffer.rows).toBe(0);
    expect(buffer.models.size).toBe(0);
    const other = ['tenure', 'segment'];
    buffer.add(row(7, { modelVersion: 3, raw: { features: other, values: [7, 'b'] }, vector: { features: other, values: [7, 'b'] }, probabilities: null }));
    const [only] = records(buffer);
    // The last interval's features stay columns, null in this row; its texts are gone from the dictionaries.
    expect(only).toMatchObject({ request_id: 'r-7', tenure: 7, segment: 'b', plan: null, charges: null, min_max_scaler_tenure_: null, probabilities: null });
    expect((buffer.columns().values[buffer.columns().names.indexOf('plan')] as CodedColumn).dictionary).toEqual([]);
    expect([...buffer.models.keys()]).toEqual(['churn:3']);
    // What columns() handed out before is not touched by the reset.
    expect(first.rowCount).toBe(5000);
    expect(columnValue(first.values[first.names.indexOf('plan')]!, 4999)).toBe('gold');
    expect((first.values[first.names.indexOf('tenure')] as Float64Array)[4999]).toBe(4999);
    // A quiet interval keeps the room (the next may be busy again); a run of them halves it until the
    // buffer is back at its first size, with only the metadata columns.
    buffer.reset();
    expect(buffer.idle).toBe(false);
    let resets = 1;
    while (!buffer.idle && resets < 30) {
      buffer.reset();
      resets++;
    }
    expect(resets).toBeGreaterThan(12);
    expect(buffer.idle).toBe(true);
    expect(buffer.columns().names).toEqual(LOG_FEATURES.map((f) => f.name));
  });

  it('leaves out a served feature named as a metadata column, and says why', () => {
    const buffer = new LogBuffer();
    const clashing = ['tenure', 'prediction'];
    buffer.add(row(1, { raw: { features: clashing, values: [1, 'x'] }, vector: { features: clashing, values: [1, 'x'] } }));
    expect(records(buffer)[0]!.prediction).toBe('1');
    expect(logColumnClash('prediction')).toMatch(/rename it in the feature view/);
    expect(logColumnClash('tenure')).toBeNull();
  });

  it('lists only passed and missing features in the status', () => {
    expect(featureStatusText(['a', 'b', 'c'], [1, null, undefined], null)).toBe('{"b":"missing","c":"missing"}');
    expect(featureStatusText(['a', 'b'], [1, 2], ['b'])).toBe('{"b":"passed"}');
    expect(featureStatusText(['a'], [1], [])).toBe('{}');
  });
});
