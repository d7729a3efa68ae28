import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import {
  TRANSFORMATION_FUNCTIONS,
  applyTransformationsJs,
  compileJs,
  fitTransformations,
  inverseTransform,
  listTransformationFunctions,
  parseFittedTransformations,
  transformationSelectList,
  transformationSql,
  type FittedTransformation,
} from '../../../src/engine/transformations/index.ts';
import { readDataFrame } from '../../../src/stores/offline/duckdb/index.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  connection = await instance.connect();
  await connection.run(`
    CREATE TABLE customers AS SELECT * FROM (VALUES
      (1, 1::BIGINT, 'Month-to-month', 29.85::DOUBLE, true, 7::INTEGER, TIMESTAMP '2024-01-01 00:00:00'),
      (2, 12, 'One year', 56.95, false, 7, TIMESTAMP '2024-01-02 00:00:00'),
      (3, 24, 'Two year', 'NaN'::DOUBLE, false, 7, TIMESTAMP '2024-01-03 00:00:00'),
      (4, 60, 'Month-to-month', 108.15, NULL, 7, TIMESTAMP '2024-01-04 00:00:00'),
      (5, NULL, NULL, 42.3, true, NULL, NULL)
    ) v(id, tenure, contract, charges, senior, constant, signup)`);
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

const fitSpecs = (specs: Parameters<typeof fitTransformations>[2]) => fitTransformations(connection, 'SELECT * FROM customers', specs);

async function sqlOutputs(fitted: readonly FittedTransformation[], valuesSql: string): Promise<unknown[][]> {
  const outputs = fitted.flatMap((f) => f.outputs);
  const frame = await readDataFrame(connection, `SELECT ${transformationSelectList(fitted).join(', ')} FROM (${valuesSql})`, outputs);
  return frame.rows.map((r) => [...r]);
}

describe('fitted transformations', () => {
  it('name outputs as Hopsworks: <function>_<feature>_, one-hot _0, _1, … in category order', async () => {
    const fitted = await fitSpecs([
      { function: 'label_encoder', feature: 'contract' },
      { function: 'min_max_scaler', feature: 'tenure' },
      { function: 'one_hot_encoder', feature: 'contract' },
    ]);
    expect(fitted.map((f) => f.outputs)).toEqual([
      [{ name: 'label_encoder_contract_', type: 'INT' }],
      [{ name: 'min_max_scaler_tenure_', type: 'DOUBLE' }],
      [
        { name: 'one_hot_encoder_contract_0', type: 'INT' },
        { name: 'one_hot_encoder_contract_1', type: 'INT' },
        { name: 'one_hot_encoder_contract_2', type: 'INT' },
      ],
    ]);
    expect(fitted[0]).toEqual({
      function: 'label_encoder',
      feature: 'contract',
      inputType: 'STRING',
      args: {},
      outputs: [{ name: 'label_encoder_contract_', type: 'INT' }],
      params: { categories: ['Month-to-month', 'One year', 'Two year'] },
    });
    expect(fitted[1]!.params).toEqual({ min: 1, max: 60 });
    expect(transformationSql(fitted[2]!, '"contract"').map((o) => o.name)).toEqual(fitted[2]!.outputs.map((o) => o.name));
  });

  it('apply the documented null and unknown semantics, identically in SQL and JavaScript', async () => {
    const fitted = await fitSpecs([
      { function: 'min_max_scaler', feature: 'tenure' },
      { function: 'label_encoder', feature: 'contract' },
      { function: 'one_hot_encoder', feature: 'contract' },
      { function: 'standard_scaler', feature: 'charges' },
      { function: 'log_transform', feature: 'tenure' },
      { function: 'equal_width_binner', feature: 'tenure', args: { bins: 4 } },
      { function: 'impute_mean', feature: 'charges' },
      { function: 'impute_mode', feature: 'contract' },
      { function: 'impute_constant', feature: 'senior', args: { value: false } },
      { function: 'winsorize', feature: 'tenure', args: { lower: 0.25, upper: 0.75 } },
    ]);
    const records = [
      { tenure: 24, contract: 'One year', charges: 56.95, senior: true },
      { tenure: null, contract: null, charges: null, senior: null },
      { tenure: 0, contract: 'Three year', charges: 'NaN', senior: false },
      { tenure: 1000, contract: 'Two year', charges: 'Infinity', senior: true },
    ];
    const expected = [
      [23 / 59, 1, 0, 1, 0, (56.95 - 59.3125) / (fitted[3]!.params.std as number), 3.1780538303479458, 1, 56.95, 'One year', true, 24],
      [null, null, 0, 0, 0, null, null, null, 59.3125, 'Month-to-month', false, null],
      [-1 / 59, -1, 0, 0, 0, null, null, 0, 59.3125, 'Three year', false, 9.25],
      [999 / 59, 2, 0, 0, 1, null, 6.907755278982137, 3, 59.3125, 'Two year', true, 33],
    ];
    const names = fitted.flatMap((f) => f.outputs.map((o) => o.name));
    const apply = compileJs(fitted);
    records.forEach((record, i) => {
      const out = apply(record);
      expect(names.map((n) => out[n])).toEqual(expected[i]);
    });
    const values = `SELECT * FROM (VALUES (24::BIGINT, 'One year', 56.95::DOUBLE, true), (NULL, NULL, NULL, NULL), (0, 'Three year', 'NaN'::DOUBLE, false), (1000, 'Two year', 'Infinity'::DOUBLE, true)) v(tenure, contract, charges, senior)`;
    expect(await sqlOutputs(fitted, values)).toEqual(expected);
  });

  it('turn a zero spread into 0.0 (min_max_scaler) or centring only (standard and robust scalers)', async () => {
    const fitted = await fitSpecs([
      { function: 'min_max_scaler', feature: 'constant' },
      { function: 'standard_scaler', feature: 'constant' },
      { function: 'robust_scaler', feature: 'constant' },
      { function: 'equal_width_binner', feature: 'constant' },
      { function: 'max_abs_scaler', feature: 'constant' },
    ]);
    const apply = compileJs(fitted);
    expect(Object.values(apply({ constant: 9 }))).toEqual([0, 2, 2, 0, 9 / 7]);
    expect(Object.values(apply({ constant: 7 }))).toEqual([0, 0, 0, 0, 1]);
    expect(await sqlOutputs(fitted, 'SELECT 9 AS constant UNION ALL SELECT 7')).toEqual([
      [0, 2, 2, 0, 9 / 7],
      [0, 0, 0, 0, 1],
    ]);
  });

  it('fit to null statistics when the training split has no values', async () => {
    const fitted = await fitTransformations(connection, 'SELECT * FROM customers WHERE false', [
      { function: 'standard_scaler', feature: 'charges' },
      { function: 'one_hot_encoder', feature: 'contract' },
      { function: 'label_encoder', feature: 'contract' },
      { function: 'impute_median', feature: 'charges' },
      { function: 'quantile_binner', feature: 'tenure' },
    ]);
    expect(fitted.map((f) => f.params)).toEqual([
      { mean: null, std: null },
      { categories: [] },
      { categories: [] },
      { value: null },
      { min: null, max: null, edges: [] },
    ]);
    expect(fitted[1]!.outputs).toEqual([]);
    expect(applyTransformationsJs(fitted, { charges: 3, contract: 'x', tenure: 3 })).toEqual({
      standard_scaler_charges_: null,
      label_encoder_contract_: -1,
      impute_median_charges_: 3,
      quantile_binner_tenure_: null,
    });
  });

  it('inverse-transform scalers, encoders, log and binners back to feature values', async () => {
    const fitted = await fitSpecs([
      { function: 'min_max_scaler', feature: 'tenure' },
      { function: 'label_encoder', feature: 'contract' },
      { function: 'one_hot_encoder', feature: 'contract' },
      { function: 'standard_scaler', feature: 'charges' },
      { function: 'binarizer', feature: 'constant' },
    ]);
    const record = { tenure: 24, contract: 'One year', charges: 56.95, constant: 7 };
    const back = inverseTransform(fitted, applyTransformationsJs(fitted, record));
    expect(back.tenure).toBe(24);
    expect(back.contract).toBe('One year');
    expect(back.charges).toBeCloseTo(56.95, 10);
    expect('constant' in back).toBe(false);
    expect(inverseTransform(fitted, { label_encoder_contract_: -1, min_max_scaler_tenure_: null })).toEqual({ tenure: null, contract: null, charges: null });

    const oneHot = fitted.filter((f) => f.function === 'one_hot_encoder');
    expect(inverseTransform(oneHot, { one_hot_encoder_contract_0: 0, one_hot_encoder_contract_1: 0, one_hot_encoder_contract_2: 1 })).toEqual({
      contract: 'Two year',
    });
    expect(inverseTransform(oneHot, { one_hot_encoder_contract_0: 0, one_hot_encoder_contract_1: 0, one_hot_encoder_contract_2: 0 })).toEqual({
      contract: null,
    });

    const [log, bins] = await fitSpecs([
      { function: 'log_transform', feature: 'charges' },
      { function: 'equal_width_binner', feature: 'tenure', args: { bins: 59 } },
    ]);
    expect(inverseTransform([log!], { log_transform_charges_: Math.log(42.3) }).charges).toBeCloseTo(42.3, 12);
    expect(inverseTransform([bins!], { equal_width_binner_tenure_: 0 }).tenure).toBe(2); // centre 1.5, rounded for BIGINT
    expect(inverseTransform([bins!], { equal_width_binner_tenure_: 58 }).tenure).toBe(60); // centre 59.5
  });

  it('read qualified columns inside joins, with many categories (hash lookup) as with few', async () => {
    await connection.run(`CREATE TABLE orders AS SELECT i AS id, 'sku-' || (i % 40) AS sku, i % 3 AS k FROM range(200) r(i)`);
    await connection.run(`CREATE TABLE prices AS SELECT i AS id, i * 1.5 AS price FROM range(200) r(i)`);
    const fitted = await fitTransformations(connection, 'SELECT o.sku, o.k, p.price FROM orders o JOIN prices p USING (id) WHERE o.id < 150', [
      { function: 'label_encoder', feature: 'sku' },
      { function: 'label_encoder', feature: 'k' },
      { function: 'one_hot_encoder', feature: 'k' },
      { function: 'standard_scaler', feature: 'price' },
    ]);
    expect((fitted[0]!.params.categories as string[]).length).toBe(40);
    const columnOf = (feature: string) => (feature === 'price' ? `"p"."${feature}"` : `"o"."${feature}"`);
    const outputs = fitted.flatMap((f) => f.outputs);
    const frame = await readDataFrame(
      connection,
      `SELECT o.id, ${transformationSelectList(fitted, columnOf).join(', ')} FROM orders o JOIN prices p ON p.id = o.id ORDER BY o.id`,
      [{ name: 'id', type: 'BIGINT' }, ...outputs],
    );
    const apply = compileJs(fitted);
    for (const row of frame.rows) {
      const id = row[0] as number;
      const js = apply({ sku: `sku-${id % 40}`, k: id % 3, price: id * 1.5 });
      expect(row.slice(1)).toEqual(outputs.map((o) => js[o.name]));
    }
    expect(frame.rows.length).toBe(200);
  });

  it('compile once into a function returning a fresh record of every output, in output order', async () => {
    const fitted = await fitSpecs([
      { function: 'label_encoder', feature: 'contract' },
      { function: 'one_hot_encoder', feature: 'contract' },
    ]);
    const apply = compileJs(fitted);
    const first = apply({ contract: 'Two year' });
    expect(Object.entries(first)).toEqual([
      ['label_encoder_contract_', 2],
      ['one_hot_encoder_contract_0', 0],
      ['one_hot_encoder_contract_1', 0],
      ['one_hot_encoder_contract_2', 1],
    ]);
    expect(apply({ contract: 'One year' })).not.toBe(first);
    expect(first.one_hot_encoder_contract_2).toBe(1);
    expect(applyTransformationsJs(fitted, { contract: 'Month-to-month' }).label_encoder_contract_).toBe(0);
    expect(applyTransformationsJs(fitted, {})).toEqual({
      label_encoder_contract_: null,
      one_hot_encoder_contract_0: 0,
      one_hot_encoder_contract_1: 0,
      one_hot_encoder_contract_2: 0,
    });
  });

  it('read loose passed-feature values the way the columns hold them', async () => {
    const fitted = await fitSpecs([
      { function: 'label_encoder', feature: 'tenure' },
      { function: 'min_max_scaler', feature: 'tenure' },
      { function: 'impute_mode', feature: 'tenure' },
    ]);
    const apply = compileJs(fitted);
    expect(apply({ tenure: '12' })).toEqual(apply({ tenure: 12 }));
    expect(apply({ tenure: 12n })).toEqual(apply({ tenure: 12 }));
    expect(apply({ tenure: 'twelve' })).toEqual({ label_encoder_tenure_: null, min_max_scaler_tenure_: null, impute_mode_tenure_: 1 });
  });
});

describe('fitTransformations errors', () => {
  it('names an unknown column, listing the columns there are', async () => {
    const error = await fitSpecs([{ function: 'min_max_scaler', feature: 'income' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/min_max_scaler.*income.*no such column.*tenure/);
    expect((error as ValidationError).issues[0]!.path).toEqual(['transformations', 0, 'feature']);
  });

  it('rejects an incompatible column type and a spec listed twice', async () => {
    const typeError = (await fitSpecs([{ function: 'label_encoder', feature: 'signup' }]).catch((e: unknown) => e)) as ValidationError;
    expect(typeError.message).toMatch(/label_encoder.*signup.*TIMESTAMP is not accepted/);
    const twice = (await fitSpecs([
      { function: 'label_encoder', feature: 'contract' },
      { function: 'label_encoder', feature: 'contract' },
    ]).catch((e: unknown) => e)) as ValidationError;
    expect(twice.message).toContain('twice');
    expect(twice.issues[0]!.path).toEqual(['transformations', 1]);
  });

  it('rejects statistics that overflow DOUBLE', async () => {
    const error = await fitTransformations(connection, 'SELECT * FROM (VALUES (1.7e308::DOUBLE), (1.7e308::DOUBLE)) v(x)', [
      { function: 'standard_scaler', feature: 'x' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/standard_scaler.*"x".*overflow/);
  });

  it('returns nothing for no specs', async () => {
    expect(await fitSpecs([])).toEqual([]);
  });
});

describe('the registry', () => {
  it('describes every built-in: description, input types, statistics, outputs, missing values, inverse', () => {
    const list = listTransformationFunctions();
    expect(list.map((f) => f.name)).toEqual(Object.keys(TRANSFORMATION_FUNCTIONS));
    for (const name of [
      'min_max_scaler',
      'standard_scaler',
      'robust_scaler',
      'label_encoder',
      'one_hot_encoder',
      'log_transform',
      'equal_width_binner',
      'equal_frequency_binner',
      'quantile_binner',
      'winsorize',
      'impute_mean',
      'impute_median',
      'impute_mode',
      'impute_constant',
    ]) {
      expect(list.map((f) => f.name)).toContain(name);
    }
    for (const f of list) {
      expect(f.description.length).toBeGreaterThan(20);
      expect(f.inputTypes.length).toBeGreaterThan(0);
      expect(Array.isArray(f.statistics)).toBe(true);
      expect(f.outputs).toContain('column');
      expect(f.missing.length).toBeGreaterThan(0);
      expect(['exact', 'approximate', 'none']).toContain(f.inverse);
    }
    expect(TRANSFORMATION_FUNCTIONS.min_max_scaler!.statistics).toEqual(['min', 'max']);
    expect(TRANSFORMATION_FUNCTIONS.label_encoder!.inputTypes).not.toContain('DOUBLE');
  });

  it('parses stored fitted transformations and rejects what it cannot apply', async () => {
    const fitted = await fitSpecs([{ function: 'robust_scaler', feature: 'charges' }]);
    const parsed = parseFittedTransformations(JSON.parse(JSON.stringify(fitted)));
    expect(applyTransformationsJs(parsed, { charges: 50 })).toEqual(applyTransformationsJs(fitted, { charges: 50 }));
    expect(() => parseFittedTransformations({})).toThrow(ValidationError);
    expect(() => parseFittedTransformations([{ ...fitted[0], function: 'gone' }])).toThrow(/unknown transformation function "gone"/);
    expect(() => parseFittedTransformations([{ ...fitted[0], inputType: 'STRING' }])).toThrow(ValidationError);
    expect(() => parseFittedTransformations([{ ...fitted[0], params: null }])).toThrow(ValidationError);
  });
});
