import { describe, expect, it } from 'vitest';
import { jsonObjectText, LOG_FEATURES, tsvLine, type WireRow } from '../../../src/services/deployment/prediction-log-rows.ts';

/** What a log field must hold: the JSON of the object, as JSON.stringify prints it. */
function expected(names: readonly string[], values: readonly unknown[]): string {
  const object: Record<string, unknown> = {};
  names.forEach((name, i) => {
    object[name] = values[i] === undefined ? null : values[i];
  });
  return JSON.stringify(object);
}

/** The fields of a log line (TSV: tab-separated, no quoting; an empty field is null). */
const fields = (line: string) => line.split('\t').map((f) => (f === '' ? null : f));

describe('prediction log rows', () => {
  it('writes a vector field as JSON.stringify of the object would, whatever its values', () => {
    const cases: [string[], unknown[]][] = [
      [
        ['a', 'b', 'c', 'd'],
        [1, Number.NaN, undefined, true],
      ],
      [
        ['a', 'b', 'c'],
        [1, null],
      ],
      [
        ['a', 'b'],
        [1, 'x,"y'],
      ],
      [
        ['a', 'b', 'c'],
        ['cat_1', 2.5, 'tab\there\\x'],
      ],
      [['a'], [[1, 2]]],
      [
        ['a', 'b'],
        [{ x: 1 }, 'q'],
      ],
      [
        ['a"b', 'c'],
        ['v', -0],
      ],
      [
        ['a', 'b'],
        [1e21, 5e-324],
      ],
      [
        ['a', 'b'],
        [Number.POSITIVE_INFINITY, 'line\nbreak'],
      ],
      [['a'], []],
    ];
    for (const [names, values] of cases) expect(jsonObjectText(names, values), JSON.stringify(values)).toBe(expected(names, values));
    expect(jsonObjectText([], [])).toBe('{}');
  });

  it('agrees with JSON.stringify on many random vectors', () => {
    const names = Array.from({ length: 30 }, (_, i) => `f_${i}`);
    const pick = (r: number): unknown => {
      const k = Math.floor(r * 8);
      if (k === 0) return Math.random() * 1e6 - 5e5;
      if (k === 1) return Math.floor(Math.random() * 1000);
      if (k === 2) return null;
      if (k === 3) return `category_${Math.floor(Math.random() * 12)}`;
      if (k === 4) return Math.random() < 0.5 ? 'a,b' : 'say "hi"';
      if (k === 5) return Math.random() < 0.5;
      if (k === 6) return Math.random() * 1e-300;
      return Math.random();
    };
    for (let n = 0; n < 500; n++) {
      const values = names.map(() => pick(Math.random()));
      expect(jsonObjectText(names, values)).toBe(expected(names, values));
    }
  });

  it('makes a line of the log group’s columns in order, one field each, that reads back to the values', () => {
    const raw = ['tenure', 'plan', 'charges'];
    const vector = ['tenure', 'charges'];
    const lists = new Map([
      [1, raw],
      [2, vector],
    ]);
    const at = Date.UTC(2026, 11, 4, 12, 30, 5, 123);
    const row: WireRow = ['r-1', 3, 2, 'churn', at, 1, true, { customerid: 'c,"1\t' }, 1, [5, 'gold\ttab', null], 2, [0.25, 0.75], ['tenure'], 1, [0.2, 0.8]];
    const line = tsvLine(row, (id) => lists.get(id)!);
    expect(line).not.toContain('\n');
    const got = fields(line);
    expect(got).toHaveLength(LOG_FEATURES.length);
    const byName = Object.fromEntries(LOG_FEATURES.map((f, i) => [f.name, got[i]]));
    expect(byName).toEqual({
      request_id: 'r-1',
      entry_index: '3',
      model_version: '2',
      logged_at: '2026-12-04T12:30:05.123Z',
      model_name: 'churn',
      training_dataset_version: '1',
      shadow: 'true',
      entity_keys: JSON.stringify({ customerid: 'c,"1\t' }),
      raw_vector: JSON.stringify({ tenure: 5, plan: 'gold\ttab', charges: null }),
      transformed_vector: JSON.stringify({ tenure: 0.25, charges: 0.75 }),
      feature_status: JSON.stringify({ tenure: 'passed', charges: 'missing' }),
      prediction: '1',
      probabilities: JSON.stringify([0.2, 0.8]),
    });
    // No probabilities and no training dataset: empty (null) fields.
    const bare = fields(tsvLine(['r-2\tx\ny', 0, 1, 'churn', at, null, false, {}, 1, [1, 'x', 2], 2, [1, 2], null, null, null], (id) => lists.get(id)!));
    // A tab or line break in a text field would break the line: they become spaces.
    expect(bare).toHaveLength(LOG_FEATURES.length);
    expect(bare[0]).toBe('r-2 x y');
    expect(bare[5]).toBeNull();
    expect(bare[10]).toBe('{}');
    expect(bare[11]).toBe('null');
    expect(bare[12]).toBeNull();
  });
});
