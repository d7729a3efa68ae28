import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildOnnxModel, logisticRegressionOnnx, type DataFrame } from 'granary/client';
import { ChurnModel, type ChurnModelJSON } from '../../examples/churn/model.ts';
import { churnModelOnnx } from '../../examples/churn/onnx.ts';
import { perColumnOnnx, regressionOnnx, zipmapClassifierOnnx } from '../fixtures/onnx-models.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes);
}

function matrix(rows: readonly (readonly number[])[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

/** Pairs of rows of a [N, 2] tensor. */
function pairs(tensor: ort.Tensor): [number, number][] {
  const data = Array.from(tensor.data as Float32Array);
  return Array.from({ length: data.length / 2 }, (_, r) => [data[2 * r]!, data[2 * r + 1]!]);
}

describe('buildOnnxModel', () => {
  it('writes initializers of every element type, negative and 64-bit ints included', async () => {
    const s = await session(
      buildOnnxModel({
        inputs: [],
        outputs: [
          { name: 'doubles', type: 'double', shape: [3] },
          { name: 'int32s', type: 'int32', shape: [2] },
          { name: 'int64s', type: 'int64', shape: [4] },
          { name: 'bools', type: 'bool', shape: [3] },
          { name: 'strings', type: 'string', shape: [2, 1] },
        ],
        nodes: ['doubles', 'int32s', 'int64s', 'bools', 'strings'].map((name) => ({ opType: 'Identity', inputs: [`${name}_init`], outputs: [name] })),
        initializers: [
          { name: 'doubles_init', type: 'double', dims: [3], values: [0.1, -1e300, 2 ** 53] },
          { name: 'int32s_init', type: 'int32', dims: [2], values: [-7, 2 ** 31 - 1] },
          { name: 'int64s_init', type: 'int64', dims: [4], values: [-1, 300, 2n ** 62n, -(2n ** 63n)] },
          { name: 'bools_init', type: 'bool', dims: [3], values: [true, false, 1] },
          { name: 'strings_init', type: 'string', dims: [2, 1], values: ['churn', 'ünïcødé'] },
        ],
      }),
    );
    const out = await s.run({});
    expect(Array.from(out.doubles!.data as Float64Array)).toEqual([0.1, -1e300, 2 ** 53]);
    expect(Array.from(out.int32s!.data as Int32Array)).toEqual([-7, 2 ** 31 - 1]);
    expect(Array.from(out.int64s!.data as BigInt64Array)).toEqual([-1n, 300n, 2n ** 62n, -(2n ** 63n)]);
    expect(Array.from(out.bools!.data as Uint8Array, Boolean)).toEqual([true, false, true]);
    expect(out.strings!.data).toEqual(['churn', 'ünïcødé']);
    expect(out.strings!.dims).toEqual([2, 1]);
  });

  it('writes float, tensor and string-list attributes, and nodes of other domains', async () => {
    const ml = 'ai.onnx.ml';
    const s = await session(
      buildOnnxModel({
        inputs: [
          { name: 'x', type: 'float', shape: ['N', 2] },
          { name: 'plan', type: 'string', shape: ['N'] },
        ],
        outputs: [
          { name: 'y', type: 'float', shape: ['N', 2] },
          { name: 'code', type: 'int64', shape: ['N'] },
        ],
        nodes: [
          { opType: 'Constant', inputs: [], outputs: ['offset'], attributes: { value: { tensor: { type: 'float', dims: [2], values: [10, 20] } } } },
          { opType: 'LeakyRelu', inputs: ['x'], outputs: ['leaky'], attributes: { alpha: { float: 0.25 } } },
          { opType: 'Add', inputs: ['leaky', 'offset'], outputs: ['y'] },
          {
            opType: 'LabelEncoder',
            domain: ml,
            inputs: ['plan'],
            outputs: ['code'],
            attributes: { keys_strings: ['basic', 'premium'], values_int64s: { ints: [0, 1] }, default_int64: { int: -1 } },
          },
        ],
        opsets: { '': 17, [ml]: 2 },
      }),
    );
    const out = await s.run({ x: matrix([[-4, 4]]), plan: new ort.Tensor('string', ['premium'], [1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([9, 24]);
    expect(Array.from(out.code!.data as BigInt64Array)).toEqual([1n]);
  });

  it('refuses a tensor whose values do not fill its dims', () => {
    expect(() => buildOnnxModel({ inputs: [], outputs: [], nodes: [], initializers: [{ name: 'w', type: 'float', dims: [2, 2], values: [1, 2, 3] }] })).toThrow(
      'tensor w of dims [2, 2] needs 4 values, not 3',
    );
  });
});

describe('logisticRegressionOnnx', () => {
  it('gives label int64 [N] and probabilities float [N, 2] of a float input [N, features]', async () => {
    const s = await session(logisticRegressionOnnx({ features: 3, weights: [0.5, -1, 2], intercept: -0.25 }));
    expect(s.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['N', 3] }]);
    expect(s.outputMetadata).toEqual([
      { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
      { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 2] },
    ]);
    const rows = [
      [1, 2, 0.5],
      [0, 0, 0],
      [4, -1, 1],
    ];
    const out = await s.run({ input: matrix(rows) });
    const p1 = rows.map(([a, b, c]) => sigmoid(0.5 * a! - b! + 2 * c! - 0.25));
    pairs(out.probabilities!).forEach(([q, p], r) => {
      expect(p).toBeCloseTo(p1[r]!, 6);
      expect(q).toBeCloseTo(1 - p1[r]!, 6);
    });
    expect(Array.from(out.label!.data as BigInt64Array)).toEqual(p1.map((p) => (p >= 0.5 ? 1n : 0n)));
  });

  it('takes another input name and threshold, and checks the weights against the features', async () => {
    const s = await session(logisticRegressionOnnx({ features: 1, weights: [1], intercept: 0, inputName: 'features', threshold: 0.9 }));
    expect(s.inputNames).toEqual(['features']);
    const out = await s.run({ features: matrix([[1], [3]]) });
    expect(Array.from(out.label!.data as BigInt64Array)).toEqual([0n, 1n]);
    expect(() => logisticRegressionOnnx({ features: 2, weights: [1], intercept: 0 })).toThrow('2 features need 2 weights, not 1');
  });
});

describe('test ONNX fixtures', () => {
  it('regressionOnnx: input [N, features] → variable float [N, 1]', async () => {
    const s = await session(regressionOnnx(2, [2, -1], 0.5));
    expect(s.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['N', 2] }]);
    expect(s.outputMetadata).toEqual([{ name: 'variable', isTensor: true, type: 'float32', shape: ['N', 1] }]);
    const out = await s.run({
      input: matrix([
        [1, 1],
        [3, -2],
      ]),
    });
    expect(Array.from(out.variable!.data as Float32Array)).toEqual([1.5, 8.5]);
    expect(out.variable!.dims).toEqual([2, 1]);
  });

  it('zipmapClassifierOnnx: output_label int64 [N] and output_probability a sequence of maps, as skl2onnx', async () => {
    const s = await session(zipmapClassifierOnnx(2, [1, -2], 0.5));
    expect(s.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['N', 2] }]);
    expect(s.outputMetadata).toEqual([
      { name: 'output_label', isTensor: true, type: 'int64', shape: ['N'] },
      { name: 'output_probability', isTensor: false },
    ]);
    // onnxruntime-node fetches tensors only: the labels say the classifier scores as intended.
    const out = await s.run(
      {
        input: matrix([
          [1, 1],
          [3, 0],
          [0, 0.5],
        ]),
      },
      ['output_label'],
    );
    expect(Array.from(out.output_label!.data as BigInt64Array)).toEqual([0n, 1n, 0n]);
  });

  it('perColumnOnnx: one [N, 1] input per column, variable = the float sum of the numeric ones', async () => {
    const s = await session(
      perColumnOnnx([
        { name: 'tenure', type: 'int64' },
        { name: 'plan', type: 'string' },
        { name: 'charges', type: 'float' },
      ]),
    );
    expect(s.inputMetadata).toEqual([
      { name: 'tenure', isTensor: true, type: 'int64', shape: ['N', 1] },
      { name: 'plan', isTensor: true, type: 'string', shape: ['N', 1] },
      { name: 'charges', isTensor: true, type: 'float32', shape: ['N', 1] },
    ]);
    expect(s.outputMetadata).toEqual([{ name: 'variable', isTensor: true, type: 'float32', shape: ['N', 1] }]);
    const out = await s.run({
      tenure: new ort.Tensor('int64', new BigInt64Array([3n, -4n]), [2, 1]),
      plan: new ort.Tensor('string', ['basic', 'premium'], [2, 1]),
      charges: new ort.Tensor('float32', new Float32Array([1.5, 2]), [2, 1]),
    });
    expect(Array.from(out.variable!.data as Float32Array)).toEqual([4.5, -2]);
  });
});

const CONTRACTS = ['month-to-month', 'one-year', 'two-year'];
const STATISTICS = [
  {
    function: 'min_max_scaler',
    feature: 'tenure',
    inputType: 'INT',
    outputs: [{ name: 'min_max_scaler_tenure_', type: 'DOUBLE' }],
    params: { min: 0, max: 72 },
  },
  {
    function: 'label_encoder',
    feature: 'contract',
    inputType: 'STRING',
    outputs: [{ name: 'label_encoder_contract_', type: 'INT' }],
    params: { categories: CONTRACTS },
  },
];
const COLUMNS = [
  { name: 'min_max_scaler_tenure_', type: 'DOUBLE' },
  { name: 'churn', type: 'BIGINT' },
  { name: 'label_encoder_contract_', type: 'INT' },
  { name: 'monthly_charges', type: 'DOUBLE' },
];

/** Rows of the columns above from a fixed pseudo-random sequence: short tenures on monthly contracts churn more. */
function churnFrame(rowCount: number, seed: number): DataFrame {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const rows = Array.from({ length: rowCount }, () => {
    const tenure = next();
    const contract = Math.floor(next() * CONTRACTS.length);
    const charges = 20 + next() * 100;
    const risk = -1 + 2 * (contract === 0 ? 1 : 0) - 2 * tenure + charges / 100 + (next() - 0.5);
    return [tenure, risk > 0 ? 1 : 0, contract, charges / 100];
  });
  return { columns: COLUMNS, rows, rowCount };
}

describe('churnModelOnnx', () => {
  const model = ChurnModel.train(churnFrame(200, 7), 'churn', STATISTICS, { steps: 200 });
  // Unknown (-1) and missing contract codes set no indicator in both models.
  const scored = churnFrame(40, 99);
  const rows = [...scored.rows, [0.1, 0, -1, 0.9], [0.8, 1, null, 0.3]];
  const frame: DataFrame = { columns: COLUMNS, rows, rowCount: rows.length };

  async function scoreOnnx(json: ChurnModelJSON) {
    const s = await session(churnModelOnnx(json));
    const input = frame.rows.map((row) => model.inputNames.map((name) => Number(row[COLUMNS.findIndex((c) => c.name === name)] ?? Number.NaN)));
    const out = await s.run({ input: matrix(input) });
    return { s, probabilities: pairs(out.probabilities!), labels: Array.from(out.label!.data as BigInt64Array, Number) };
  }

  it('has one float input [N, inputs] and the label and probabilities outputs', async () => {
    expect(model.inputNames).toEqual(['min_max_scaler_tenure_', 'label_encoder_contract_', 'monthly_charges']);
    const { s } = await scoreOnnx(model.json);
    expect(s.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['N', 3] }]);
    expect(s.outputMetadata).toEqual([
      { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
      { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 2] },
    ]);
  });

  it('scores as ChurnModel.predictProba and classify, from the trained model and from model.json', async () => {
    const expected = model.predictProba(frame);
    expect(new Set(model.classify(expected))).toEqual(new Set([0, 1]));
    for (const json of [model.json, JSON.parse(JSON.stringify(model.json)) as ChurnModelJSON]) {
      const { probabilities, labels } = await scoreOnnx(json);
      probabilities.forEach(([q, p], r) => {
        expect(Math.abs(p - expected[r]!)).toBeLessThan(1e-5);
        expect(Math.abs(q - (1 - expected[r]!))).toBeLessThan(1e-5);
      });
      expect(labels).toEqual(model.classify(expected));
    }
  });
});
