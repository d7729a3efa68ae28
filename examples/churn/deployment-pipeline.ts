/**
 * Deployment pipeline: deploys a registered `churnmodel` version as `churn_deployment` (the
 * server runs its `model.onnx` in process and logs every prediction), asks it to predict a few
 * customers by key (the server reads their features through the model's own feature view and
 * training dataset), and scores the same customers' feature vectors with the JS model of
 * `model.json` to show both give the same probabilities.
 */
import { column, toRecords, type DataFrame, type Deployment, type GranaryClient, type Model, type PredictResult } from 'granary/client';
import { DEPLOYMENT_NAME } from './definitions.ts';
import type { PipelineContext } from './feature-pipeline.ts';
import { table } from './inference-pipeline.ts';
import { ChurnModel, type ChurnModelJSON } from './model.ts';

export interface DeploymentPipelineResult {
  readonly deployment: Deployment;
  /** The deployment's answer, one prediction per customer in order. */
  readonly answer: PredictResult;
  /** P(churn) of each customer by the JS model, from the customer's feature vector. */
  readonly expected: readonly number[];
  /** This request's rows of the prediction log. */
  readonly logged: DataFrame;
}

/** How long to wait for the log rows, written after the answer is sent. */
const LOG_WAIT_MS = 5000;

/** Deploys the model version (or points an existing deployment at it), logging every prediction. */
async function deploy(client: GranaryClient, model: Model): Promise<Deployment> {
  const logging = { enabled: true, sampleRate: 1 };
  const existing = await client.deployment(DEPLOYMENT_NAME);
  if (!existing) {
    return client.createDeployment({
      name: DEPLOYMENT_NAME,
      description: `Churn predictions of ${model.name} by customer id`,
      model: { name: model.name, version: model.version },
      logging,
    });
  }
  // A rerun against the same server: serve this version, all traffic to it.
  const updated = await client.updateDeployment(DEPLOYMENT_NAME, { model: { version: model.version }, traffic: [], logging });
  return updated.state === 'RUNNING' ? updated : client.startDeployment(DEPLOYMENT_NAME);
}

/** This request's log rows, once all are written (an empty frame after LOG_WAIT_MS). */
async function loggedRows(client: GranaryClient, requestId: string, from: string, count: number): Promise<DataFrame> {
  const deadline = Date.now() + LOG_WAIT_MS;
  for (;;) {
    const log = await client.readLog(DEPLOYMENT_NAME, { from, shadow: false });
    const ids = column(log, 'request_id');
    const rows = log.rows.filter((_, i) => ids[i] === requestId);
    if (rows.length >= count || Date.now() > deadline) return { columns: log.columns, rows, rowCount: rows.length };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs the deployment pipeline for a registered model version and some customers. */
export async function runDeploymentPipeline(ctx: PipelineContext, model: Model, customerids: readonly string[]): Promise<DeploymentPipelineResult> {
  const { client, log } = ctx;
  if (!model.servingArtifact) throw new Error(`${model.name} v${model.version} has no serving artifact: register it with model.onnx`);
  const deployment = await deploy(client, model);
  log(
    `Deployment ${deployment.name}: ${model.name} v${model.version} (${model.servingArtifact}, run in process by the server), ${deployment.state}; every prediction logged to ${deployment.logging.featureGroup}`,
  );

  const entries = customerids.map((customerid) => ({ customerid }));
  const from = new Date().toISOString();
  const answer = await client.predict(DEPLOYMENT_NAME, entries);
  log(`predict(deployment: "${DEPLOYMENT_NAME}", entries: ${JSON.stringify(entries)}) → request ${answer.requestId}`);

  // The same customers' vectors through the model (its view and training dataset), scored by the JS model.
  const modelFile = model.files.find((f) => f.path === 'model.json');
  if (!modelFile) throw new Error(`${model.name} v${model.version} has no model.json`);
  const churn = ChurnModel.fromJSON(JSON.parse((await client.downloadModelFile(modelFile)).toString('utf8')) as ChurnModelJSON);
  const vectors = await client.featureVectors(null, entries, { model: { name: model.name, version: model.version } });
  const expected = vectors.map((v) => churn.predictVector(churn.inputNames.map((name) => v.record[name])));

  const served = answer.predictions.map((p) => p.probabilities?.[1] ?? Number.NaN);
  const rows = answer.predictions.map((p, i) => [customerids[i], String(p.prediction), served[i]!.toFixed(6), expected[i]!.toFixed(6)]);
  for (const line of table(['customerid', 'churn', 'p(churn) deployed', 'p(churn) JS model'], rows)) log(`  ${line}`);
  const difference = Math.max(...served.map((p, i) => Math.abs(p - expected[i]!)));
  log(`  largest difference ${difference.toExponential(1)} (the ONNX model computes in float32, the JS model in float64)`);

  const logged = await loggedRows(client, answer.requestId, from, entries.length);
  const versions = [...new Set(toRecords(logged).map((r) => `v${String(r.model_version)}`))].join(', ');
  log(`readLog(deployment: "${DEPLOYMENT_NAME}"): ${logged.rowCount} rows of this request (model ${versions || 'none'})`);
  return { deployment, answer, expected, logged };
}
