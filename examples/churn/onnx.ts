/**
 * The churn classifier as an ONNX model, for Granary deployments (which run ONNX): the same
 * design matrix and classifier as `ChurnModel.predictProba`, built with the client's ONNX builder.
 */
import { Matrix } from 'ml-matrix';
import { buildOnnxModel, logisticRegressionGraph, onnxDataType, type OnnxInitializer, type OnnxNode } from 'granary/client';
import type { ChurnModelJSON } from './model.ts';

/**
 * The model of `model.json` as ONNX bytes. One float input `input` of shape
 * `[N, inputs.length]`, columns in `json.inputs` order; outputs `label` (int64 [N], 1 when
 * P(churn) ≥ the model's threshold) and `probabilities` (float [N, 2]: P(no churn), P(churn)).
 *
 * Label-encoded inputs are one-hot expanded inside the graph, as in the JS model: a code that is
 * no category (−1, NaN) sets no indicator. Numeric inputs must be numbers: where the JS model
 * reads null or a non-finite value as 0, the ONNX model would propagate NaN (deployments leave
 * rows with missing values out, so they never feed it one).
 */
export function churnModelOnnx(json: ChurnModelJSON): Uint8Array {
  const classifier = json.classifier.classifiers[0];
  if (!classifier) throw new Error('the model has no trained classifier');
  // Classifier 0 scores class 0 against the rest: sigmoid(design · weights) is P(churn = 1).
  // Its weights are one row (a Matrix in memory, number[][] once through JSON): the intercept's, then the design columns'.
  const weights = Matrix.checkMatrix(classifier.weights).to1DArray();
  const { nodes, initializers, columns } = designGraph(json);
  if (weights.length !== columns + 1) throw new Error(`the classifier has ${weights.length} weights for ${columns} design columns and the intercept`);
  const head = logisticRegressionGraph({ from: 'design', weights: weights.slice(1), intercept: weights[0]!, threshold: json.threshold });
  return buildOnnxModel({
    inputs: [{ name: 'input', type: 'float', shape: ['N', json.inputs.length] }],
    outputs: head.outputs,
    nodes: [...nodes, ...head.nodes],
    initializers: [...initializers, ...head.initializers],
    producer: 'granary-example-churn',
  });
}

/**
 * Nodes turning `input` into `design` (float [N, columns]): each numeric input as it is, each
 * label-encoded input as `categories` indicators (code == 0, code == 1, …).
 */
function designGraph(json: ChurnModelJSON): { nodes: OnnxNode[]; initializers: OnnxInitializer[]; columns: number } {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [{ name: 'design_axis', type: 'int64', dims: [1], values: [1] }];
  const parts: string[] = [];
  let columns = 0;
  json.inputs.forEach((input, i) => {
    if (input.encoding === 'one-hot' && input.categories === 0) return;
    initializers.push({ name: `x${i}_start`, type: 'int64', dims: [1], values: [i] }, { name: `x${i}_end`, type: 'int64', dims: [1], values: [i + 1] });
    nodes.push({ opType: 'Slice', inputs: ['input', `x${i}_start`, `x${i}_end`, 'design_axis'], outputs: [`x${i}`], name: input.name });
    if (input.encoding === 'numeric') {
      parts.push(`x${i}`);
      columns += 1;
      return;
    }
    const codes = Array.from({ length: input.categories }, (_, c) => c);
    initializers.push({ name: `x${i}_codes`, type: 'float', dims: [1, input.categories], values: codes });
    nodes.push(
      { opType: 'Equal', inputs: [`x${i}`, `x${i}_codes`], outputs: [`x${i}_is`] },
      { opType: 'Cast', inputs: [`x${i}_is`], outputs: [`x${i}_onehot`], attributes: { to: { int: onnxDataType('float') } } },
    );
    parts.push(`x${i}_onehot`);
    columns += input.categories;
  });
  if (parts.length === 0) throw new Error('the model has no input columns');
  nodes.push({ opType: 'Concat', inputs: parts, outputs: ['design'], attributes: { axis: { int: 1 } } });
  return { nodes, initializers, columns };
}
