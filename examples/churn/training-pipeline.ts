/**
 * Training pipeline: creates the churn feature view (get-or-create), a new training dataset
 * version with a seeded random train/test split, trains a logistic regression on the train split
 * in TypeScript, evaluates it on the test split and registers it as `churnmodel` with its metrics,
 * a schema listing the model's inputs, an input example and its files: the model as JSON, the
 * same model exported to ONNX (`model.onnx`, the file deployments run) and the confusion matrix
 * as a PNG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { column, columnIndex, columnNames, dropColumns, toRecords, type DataFrame, type FeatureView, type Model, type TrainingData } from 'granary/client';
import { confusionMatrixPng } from './confusion-matrix-png.ts';
import { CHURN_FEATURE_VIEW, LABEL, MODEL_NAME } from './definitions.ts';
import type { PipelineContext } from './feature-pipeline.ts';
import { ChurnModel, evaluate, type Evaluation, type TrainOptions } from './model.ts';
import { churnModelOnnx } from './onnx.ts';

export interface TrainingPipelineOptions extends TrainOptions {
  /** Share of rows in the test split (default 0.2). */
  readonly testSize?: number;
  /** Split seed (default 42). */
  readonly seed?: number;
}

export interface TrainingPipelineResult {
  readonly featureView: FeatureView;
  readonly trainingData: TrainingData;
  readonly evaluation: Evaluation;
  readonly model: Model;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/**
 * The model schema: the model's inputs in the order its ONNX input takes them, and the label,
 * each with its type in the training data. Registration checks `model.onnx` against it.
 */
function modelSchema(model: ChurnModel, train: DataFrame): Record<string, unknown> {
  const typed = (name: string) => ({ name, type: train.columns[columnIndex(train, name)]!.type });
  return {
    inputSchema: { columnarSchema: model.inputNames.map(typed) },
    outputSchema: { columnarSchema: [typed(model.json.label)] },
  };
}

/** Runs the training pipeline against the feature groups the feature pipeline filled. */
export async function runTrainingPipeline(ctx: PipelineContext, options: TrainingPipelineOptions = {}): Promise<TrainingPipelineResult> {
  const { client, log, workDir } = ctx;

  const featureView = await client.ensureFeatureView(CHURN_FEATURE_VIEW);
  const joined = featureView.featureGroups.map((g) => `${g.name} v${g.version}`).join(' ⋈ ');
  log(`Feature view ${featureView.name} v${featureView.version}: ${joined}; label ${featureView.labels.join(', ')}`);
  log(`  ${featureView.features.length} features (label included); transformations: ${featureView.transformations.map((t) => t.outputColumn).join(', ')}`);

  const testSize = options.testSize ?? 0.2;
  const created = await client.createTrainingDataset(featureView, {
    split: 'RANDOM',
    testSize,
    seed: options.seed ?? 42,
    description: `random ${Math.round((1 - testSize) * 100)}/${Math.round(testSize * 100)} split for ${MODEL_NAME}`,
  });
  const sizes = created.splits.map((s) => `${s.name} ${s.rowCount}`).join(', ');
  log(`Training dataset v${created.version}: ${sizes} rows (point-in-time joined; transformations fitted on train)`);

  const trainingData = await client.trainingData(featureView, created.version);
  const train = trainingData.splits.train;
  const test = trainingData.splits.test;
  if (!train || !test) throw new Error(`training dataset v${created.version} lacks a train or test split`);
  log(`  columns: ${columnNames(train).join(', ')}`);

  const started = Date.now();
  const model = ChurnModel.train(train, LABEL, trainingData.transformationStatistics, options);
  log(`Trained a logistic regression (ml-logistic-regression) on ${train.rowCount} rows in ${Date.now() - started} ms`);

  const labels = column(test, LABEL).map(Number);
  const evaluation = evaluate(labels, model.predictProba(test), model.json.threshold);
  const [[tn, fp], [fn, tp]] = evaluation.confusionMatrix;
  log(
    `Test split (${test.rowCount} rows): accuracy ${evaluation.accuracy.toFixed(4)}, ROC AUC ${evaluation.roc_auc.toFixed(4)}, precision ${evaluation.precision.toFixed(4)}, recall ${evaluation.recall.toFixed(4)}, F1 ${evaluation.f1.toFixed(4)}`,
  );
  log(`  confusion matrix (rows actual, columns predicted): [[${tn}, ${fp}], [${fn}, ${tp}]]`);

  const modelDir = join(workDir, 'model');
  await mkdir(join(modelDir, 'images'), { recursive: true });
  const modelJson = join(modelDir, 'model.json');
  const modelOnnx = join(modelDir, 'model.onnx');
  const matrixPng = join(modelDir, 'images', 'confusion_matrix.png');
  await writeFile(modelJson, JSON.stringify(model.json));
  await writeFile(modelOnnx, churnModelOnnx(model.json));
  await writeFile(matrixPng, confusionMatrixPng(evaluation.confusionMatrix));

  const inputExample = toRecords(dropColumns(test, [LABEL]))[0];
  const registered = await client.createModel(
    {
      name: MODEL_NAME,
      framework: 'OTHER',
      description: 'Churn classifier: logistic regression (ml-logistic-regression) over churn_feature_view',
      metrics: {
        accuracy: round(evaluation.accuracy),
        roc_auc: round(evaluation.roc_auc),
        precision: round(evaluation.precision),
        recall: round(evaluation.recall),
        f1: round(evaluation.f1),
      },
      inputExample,
      modelSchema: modelSchema(model, train),
      featureView: { name: featureView.name, version: featureView.version },
      trainingDatasetVersion: created.version,
      servingArtifact: 'model.onnx',
    },
    [
      { path: 'model.json', file: modelJson },
      { path: 'model.onnx', file: modelOnnx },
      { path: 'images/confusion_matrix.png', file: matrixPng },
    ],
  );
  log(`Registered ${registered.name} v${registered.version}: metrics ${JSON.stringify(registered.metrics)}`);
  log(`  files: ${registered.files.map((f) => `${f.path} (${f.size} bytes)`).join(', ')}`);
  const schema = registered.modelSchema as {
    inputSchema?: { columnarSchema?: { name: string }[] };
    outputSchema?: { columnarSchema?: { name: string }[] };
  } | null;
  const inputs = schema?.inputSchema?.columnarSchema?.map((c) => c.name) ?? [];
  const outputs = schema?.outputSchema?.columnarSchema?.map((c) => c.name) ?? [];
  log(`  model schema: ${inputs.length} inputs → ${outputs.join(', ')}; serving artifact ${registered.servingArtifact} (loaded and checked by the server)`);

  return { featureView, trainingData, evaluation, model: registered };
}
