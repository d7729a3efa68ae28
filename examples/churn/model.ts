/**
 * The churn classifier: logistic regression (ml-logistic-regression) over the feature view's
 * transformed columns. Label-encoded columns are one-hot expanded inside the model (a code is a
 * category, not a quantity), scaled columns go in as they are; the fitted model is plain JSON.
 * Also the evaluation: accuracy, ROC AUC, precision, recall, F1 and the confusion matrix.
 */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { columnIndex, fittedTransformations, type DataFrame } from 'granary/client';

/** How the model reads one input column. */
export type ModelInputColumn =
  | { readonly name: string; readonly encoding: 'numeric' }
  /** A label_encoder code 0…categories−1, expanded to one indicator per category (−1 and null: none). */
  | { readonly name: string; readonly encoding: 'one-hot'; readonly categories: number };

/** What `model.json` holds: enough to score rows of the feature view's batch data or vectors. */
export interface ChurnModelJSON {
  readonly format: 'granary-example/logistic-regression@1';
  readonly library: 'ml-logistic-regression';
  /** The label the model predicts the probability of (value 1). */
  readonly label: string;
  /** Input columns in the order the model expects them (the feature view's, label left out). */
  readonly inputs: readonly ModelInputColumn[];
  /** Probability at or above which a row is predicted to churn. */
  readonly threshold: number;
  readonly classifier: ReturnType<LogisticRegression['toJSON']>;
}

export interface TrainOptions {
  /** Gradient descent steps (default 300). */
  readonly steps?: number;
  /** Step size times the number of training rows (default 2): the library sums gradients over rows. */
  readonly learningRate?: number;
}

/** A trained churn classifier. */
export class ChurnModel {
  private constructor(
    readonly json: ChurnModelJSON,
    private readonly regression: LogisticRegression,
  ) {}

  /**
   * Trains on a split of the training dataset: every column but the label is an input; the
   * training dataset's fitted label encoders say which columns are category codes and how many
   * categories each has.
   */
  static train(train: DataFrame, label: string, transformationStatistics: unknown, options: TrainOptions = {}): ChurnModel {
    const categories = new Map<string, number>();
    for (const t of fittedTransformations(transformationStatistics)) {
      const list = t.params.categories;
      if (t.function === 'label_encoder' && Array.isArray(list) && t.outputs[0]) categories.set(t.outputs[0].name, list.length);
    }
    const inputs: ModelInputColumn[] = train.columns
      .filter((c) => c.name !== label)
      .map((c) => {
        const n = categories.get(c.name);
        return n === undefined ? { name: c.name, encoding: 'numeric' } : { name: c.name, encoding: 'one-hot', categories: n };
      });
    const labelAt = columnIndex(train, label);
    const y = train.rows.map((row) => (Number(row[labelAt]) === 1 ? 1 : 0));
    const regression = new LogisticRegression({
      numSteps: options.steps ?? 300,
      learningRate: (options.learningRate ?? 2) / Math.max(1, train.rowCount),
    });
    const json = { format: 'granary-example/logistic-regression@1', library: 'ml-logistic-regression', label, inputs, threshold: 0.5 } as const;
    regression.train(design(inputs, train), Matrix.columnVector(y));
    return new ChurnModel({ ...json, classifier: regression.toJSON() }, regression);
  }

  /** Loads a model from its `model.json`. */
  static fromJSON(json: ChurnModelJSON): ChurnModel {
    if (json.format !== 'granary-example/logistic-regression@1') throw new Error(`unknown model format ${String(json.format)}`);
    return new ChurnModel(json, LogisticRegression.load(json.classifier));
  }

  /** Input column names in the order the model expects. */
  get inputNames(): string[] {
    return this.json.inputs.map((i) => i.name);
  }

  /** Probability of churn for each row of a frame that has (at least) the model's input columns, found by name. */
  predictProba(frame: DataFrame): number[] {
    if (frame.rowCount === 0) return [];
    // Classifier 0 separates class 0 from the rest: its score is the probability of churn = 1.
    return this.regression.classifiers[0]!.testScores(design(this.json.inputs, frame));
  }

  /** Probability of churn of one model input row, values in `inputNames` order (a feature vector's `values`). */
  predictVector(values: readonly unknown[]): number {
    const columns = this.json.inputs.map((i) => ({ name: i.name, type: '' }));
    return this.predictProba({ columns, rows: [values], rowCount: 1 })[0]!;
  }

  /** 1 (churn) or 0 per probability. */
  classify(probabilities: readonly number[]): number[] {
    return probabilities.map((p) => (p >= this.json.threshold ? 1 : 0));
  }
}

/** The design matrix: an intercept, then each input as a number or one-hot indicators. */
function design(inputs: readonly ModelInputColumn[], frame: DataFrame): Matrix {
  const at = inputs.map((input) => columnIndex(frame, input.name));
  const rows = frame.rows.map((row) => {
    const out = [1];
    inputs.forEach((input, i) => {
      const value = row[at[i]!];
      if (input.encoding === 'numeric') {
        out.push(typeof value === 'number' && Number.isFinite(value) ? value : 0);
      } else {
        for (let c = 0; c < input.categories; c++) out.push(value === c ? 1 : 0);
      }
    });
    return out;
  });
  return new Matrix(rows);
}

/** Metrics of a binary classifier on a labelled split. */
export interface Evaluation {
  readonly accuracy: number;
  readonly roc_auc: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** `[[true negatives, false positives], [false negatives, true positives]]` (rows: actual, columns: predicted). */
  readonly confusionMatrix: [[number, number], [number, number]];
}

/** Accuracy, ROC AUC, precision, recall, F1 and the confusion matrix of predictions against labels. */
export function evaluate(labels: readonly number[], probabilities: readonly number[], threshold = 0.5): Evaluation {
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let tp = 0;
  labels.forEach((y, i) => {
    const predicted = probabilities[i]! >= threshold;
    if (y === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    accuracy: (tp + tn) / Math.max(1, labels.length),
    roc_auc: rocAuc(labels, probabilities),
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    confusionMatrix: [
      [tn, fp],
      [fn, tp],
    ],
  };
}

/** Area under the ROC curve: the Mann–Whitney U statistic over ranks, ties counted half. */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = rank;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  labels.forEach((y, i) => {
    if (y === 1) {
      positives++;
      rankSum += ranks[i]!;
    }
  });
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
