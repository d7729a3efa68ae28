/**
 * Inference pipeline: fetches the best `churnmodel` version by ROC AUC, downloads and loads it
 * from its files, scores the feature view's batch data (transformed with the model's training
 * dataset, keys included), shows the first rows with their predictions next to the features
 * turned back into readable values, and scores one customer online through a feature vector.
 */
import { join } from 'node:path';
import { columnIndex, inverseTransform, inverseTransformRecord, type DataFrame, type FeatureVector, type Model } from 'granary/client';
import { BEST_MODEL_METRIC, MODEL_NAME } from './definitions.ts';
import type { PipelineContext } from './feature-pipeline.ts';
import { ChurnModel, type ChurnModelJSON } from './model.ts';

export interface InferencePipelineOptions {
  /** How many rows to print (default 5). */
  readonly show?: number;
}

export interface Prediction {
  readonly customerid: string;
  readonly datetime: string;
  readonly probability: number;
  readonly churn: number;
}

export interface InferencePipelineResult {
  readonly model: Model;
  /** The batch data scored: serving keys and event time, then the transformed features. */
  readonly batch: DataFrame;
  /** The same rows with the transformed features turned back into the features. */
  readonly readable: DataFrame;
  readonly predictions: readonly Prediction[];
  readonly online: { readonly customerid: string; readonly vector: FeatureVector; readonly probability: number };
}

/** The columns shown beside each prediction. */
const SHOWN = ['contract', 'tenure', 'monthlycharges', 'internetservice', 'paymentmethod', 'techsupport'];

export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string[] {
  const text = rows.map((row) => row.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)];
}

/** Runs the inference pipeline with the best registered churn model. */
export async function runInferencePipeline(ctx: PipelineContext, options: InferencePipelineOptions = {}): Promise<InferencePipelineResult> {
  const { client, log, workDir } = ctx;

  const best = await client.bestModel(MODEL_NAME, BEST_MODEL_METRIC);
  if (!best) throw new Error(`no ${MODEL_NAME} version has the metric ${BEST_MODEL_METRIC}: run the training pipeline first`);
  const { featureView, trainingDataset } = best;
  if (!featureView || !trainingDataset) throw new Error(`${MODEL_NAME} v${best.version} was registered without its feature view and training dataset`);
  log(
    `Best ${MODEL_NAME} by ${BEST_MODEL_METRIC}: v${best.version} (${JSON.stringify(best.metrics)}), trained on ${featureView.name} v${featureView.version}, training dataset v${trainingDataset.version}`,
  );

  const modelFile = best.files.find((f) => f.path === 'model.json');
  if (!modelFile) throw new Error(`${MODEL_NAME} v${best.version} has no model.json`);
  const model = ChurnModel.fromJSON(JSON.parse((await client.downloadModelFile(modelFile)).toString('utf8')) as ChurnModelJSON);
  const downloads = join(workDir, 'downloads', `${best.name}_${best.version}`);
  for (const file of best.files.filter((f) => f !== modelFile)) await client.downloadModelFile(file, join(downloads, file.path));
  log(`  downloaded model.json (${modelFile.size} bytes, SHA-256 checked) and loaded it: ${model.inputNames.length} inputs; other files in ${downloads}`);

  const batch = await client.batchData(featureView, { trainingDatasetVersion: trainingDataset.version, includeKeys: true });
  const probabilities = model.predictProba(batch);
  const classes = model.classify(probabilities);
  const idAt = columnIndex(batch, 'customerid');
  const timeAt = columnIndex(batch, 'datetime');
  const predictions = batch.rows.map((row, i) => ({
    customerid: String(row[idAt]),
    datetime: String(row[timeAt]),
    probability: probabilities[i]!,
    churn: classes[i]!,
  }));
  const churners = classes.reduce((s, c) => s + c, 0);
  log(
    `Scored the batch data of ${featureView.name} v${featureView.version}: ${batch.rowCount} rows, ${churners} predicted to churn (${((100 * churners) / Math.max(1, batch.rowCount)).toFixed(1)}%)`,
  );

  const dataset = await client.trainingDataset(featureView, trainingDataset.version);
  if (!dataset) throw new Error(`training dataset v${trainingDataset.version} of ${featureView.name} not found`);
  const readable = inverseTransform(batch, dataset.transformationStatistics);
  const shown = SHOWN.map((name) => columnIndex(readable, name));
  const show = options.show ?? 5;
  log(`  the first ${show}, features turned back from their transformed values (transformationStatistics of training dataset v${dataset.version}):`);
  const rows = predictions.slice(0, show).map((p, i) => [p.customerid, p.probability, p.churn, ...shown.map((at) => readable.rows[i]![at])]);
  for (const line of table(['customerid', 'p(churn)', 'churn', ...SHOWN], rows)) log(`    ${line}`);

  const customerid = predictions[0]?.customerid;
  if (!customerid) throw new Error('the batch data is empty');
  const vector = await client.featureVector(featureView, { customerid }, { trainingDatasetVersion: trainingDataset.version });
  const probability = model.predictVector(model.inputNames.map((name) => vector.record[name]));
  const readableVector = inverseTransformRecord(vector.record, dataset.transformationStatistics);
  log(
    `Online: featureVector(${JSON.stringify({ customerid })}) → ${vector.features.length} features${vector.missing.length ? `, missing ${vector.missing.join(', ')}` : ''}`,
  );
  log(`  ${SHOWN.map((n) => `${n}=${String(readableVector[n])}`).join(', ')}`);
  log(`  p(churn) = ${probability.toFixed(4)} (batch: ${predictions[0]!.probability.toFixed(4)})`);

  return { model: best, batch, readable, predictions, online: { customerid, vector, probability } };
}
