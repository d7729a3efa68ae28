import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column, columnIndex, columnNames, GranaryClient, toRecords } from 'granary/client';
import { generateChurnData } from '../../examples/churn/data.ts';
import {
  CATEGORICAL_FEATURES,
  CHURN_FEATURE_VIEW,
  CUSTOMER_DEMOGRAPHY,
  CUSTOMER_INFO,
  CUSTOMER_SUBSCRIPTIONS,
  DEPLOYMENT_NAME,
  LABEL,
} from '../../examples/churn/definitions.ts';
import { runDeploymentPipeline } from '../../examples/churn/deployment-pipeline.ts';
import { runFeaturePipeline, type PipelineContext } from '../../examples/churn/feature-pipeline.ts';
import { runInferencePipeline } from '../../examples/churn/inference-pipeline.ts';
import { pasteQueries } from '../../examples/churn/run.ts';
import { runTrainingPipeline } from '../../examples/churn/training-pipeline.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CUSTOMERS = 1500;

let srv: TestServer;
let base: string;
let workDir: string;
beforeAll(async () => {
  srv = await startTestServer();
  base = await srv.listen();
  workDir = mkdtempSync(join(tmpdir(), 'granary-quickstart-test-'));
});
afterAll(async () => {
  await srv?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the churn quickstart', () => {
  it('runs the feature, training, inference and deployment pipelines against a server on a real port', async () => {
    const project = await srv.newProject('quickstart');
    const client = new GranaryClient({ url: base, apiKey: project.key });
    const lines: string[] = [];
    const ctx: PipelineContext = { client, workDir, log: (line) => lines.push(line) };
    const data = generateChurnData({ customers: CUSTOMERS, seed: 7 });

    try {
      // 1. Feature pipeline: three groups holding the generated rows.
      const features = await runFeaturePipeline(ctx, data);
      expect(features.groups.map((g) => [g.name, g.rowCount])).toEqual([
        [CUSTOMER_INFO.name, CUSTOMERS],
        [CUSTOMER_DEMOGRAPHY.name, CUSTOMERS],
        [CUSTOMER_SUBSCRIPTIONS.name, CUSTOMERS],
      ]);
      expect(features.groups.map((g) => g.eventTime)).toEqual(['datetime', null, 'datetime']);
      expect(Object.values(features.commits).map((c) => c.rowsInserted)).toEqual([CUSTOMERS, CUSTOMERS, CUSTOMERS]);

      // 2. Training pipeline: columns named as Hopsworks names them, and the model's input schema lists exactly those.
      const training = await runTrainingPipeline(ctx);
      const train = training.trainingData.splits.train!;
      const test = training.trainingData.splits.test!;
      expect(train.rowCount + test.rowCount).toBe(CUSTOMERS);
      const expected = [
        'label_encoder_contract_',
        'min_max_scaler_tenure_',
        'label_encoder_paymentmethod_',
        'label_encoder_paperlessbilling_',
        'min_max_scaler_monthlycharges_',
        'min_max_scaler_totalcharges_',
        LABEL,
        'label_encoder_gender_',
        'seniorcitizen',
        'label_encoder_dependents_',
        'label_encoder_partner_',
        ...CATEGORICAL_FEATURES.slice(6).map((f) => `label_encoder_${f}_`),
      ];
      expect(columnNames(train)).toEqual(expected);
      const inputs = expected.filter((c) => c !== LABEL);
      const schema = training.model.modelSchema as {
        inputSchema: { columnarSchema: { name: string }[] };
        outputSchema: { columnarSchema: { name: string }[] };
      };
      expect(schema.inputSchema.columnarSchema).toEqual(inputs.map((name) => ({ name, type: train.columns[columnIndex(train, name)]!.type })));
      expect(schema.outputSchema.columnarSchema.map((c) => c.name)).toEqual([LABEL]);
      expect(training.model.featureView).toEqual({ name: CHURN_FEATURE_VIEW.name, version: 1 });
      expect(training.model.files.map((f) => f.path)).toEqual(['images/confusion_matrix.png', 'model.json', 'model.onnx']);
      expect(training.model.servingArtifact).toBe('model.onnx');
      // PostgreSQL's jsonb keeps an object's keys in its own order.
      expect(Object.keys(training.model.inputExample as object).sort()).toEqual([...inputs].sort());
      expect(training.evaluation.roc_auc).toBeGreaterThan(0.75);
      expect((training.model.metrics as Record<string, number>).roc_auc).toBeCloseTo(training.evaluation.roc_auc, 3);

      // 3. Inference pipeline: a prediction for every customer, the inverse transform gives back the data.
      const inference = await runInferencePipeline(ctx);
      expect(inference.model.version).toBe(training.model.version);
      const ids = data.customerInfo.map((r) => r.customerid);
      expect(inference.predictions).toHaveLength(CUSTOMERS);
      expect(new Set(inference.predictions.map((p) => p.customerid))).toEqual(new Set(ids));
      for (const p of inference.predictions) expect(p.probability).toBeGreaterThanOrEqual(0);
      const readable = inference.readable;
      const byId = new Map(data.customerInfo.map((r, i) => [r.customerid, { ...r, ...data.subscriptions[i]! }]));
      const names = columnNames(readable);
      for (const row of readable.rows.slice(0, 50)) {
        const original = byId.get(String(row[0]))!;
        expect(row[names.indexOf('contract')]).toBe(original.contract);
        expect(row[names.indexOf('tenure')]).toBe(original.tenure);
        expect(row[names.indexOf('monthlycharges')]).toBeCloseTo(original.monthlycharges, 6);
        expect(row[names.indexOf('internetservice')]).toBe(original.internetservice);
      }

      // The online vector of a customer equals that customer's batch row, and scores the same.
      const batchNames = columnNames(inference.batch);
      expect(batchNames.slice(0, 2)).toEqual(['customerid', 'datetime']);
      expect(inference.online.vector.features).toEqual(batchNames.slice(2));
      expect(inference.online.vector.features).toEqual(inputs);
      const sample = inference.batch.rows.filter((_, i) => i % 75 === 0);
      const vectors = await client.featureVectors(
        CHURN_FEATURE_VIEW.name,
        sample.map((row) => ({ customerid: row[0] })),
        { trainingDatasetVersion: training.trainingData.version },
      );
      vectors.forEach((v, i) => {
        expect(v.missing).toEqual([]);
        expect(v.values, String(sample[i]![0])).toEqual(sample[i]!.slice(2));
      });
      const first = inference.predictions.find((p) => p.customerid === inference.online.customerid)!;
      expect(inference.online.probability).toBeCloseTo(first.probability, 12);

      // 4. Deployment: the server's ONNX predictions equal the JS model's on the same vectors, and are logged.
      const customers = inference.predictions.filter((_, i) => i % 100 === 0).map((p) => p.customerid);
      const deployed = await runDeploymentPipeline(ctx, inference.model, customers);
      expect(deployed.deployment).toMatchObject({ name: DEPLOYMENT_NAME, state: 'RUNNING', logging: { enabled: true, sampleRate: 1 } });
      expect(deployed.answer.predictions).toHaveLength(customers.length);
      const batchProbability = new Map(inference.predictions.map((p) => [p.customerid, p.probability]));
      deployed.answer.predictions.forEach((p, i) => {
        const id = customers[i]!;
        expect(p.missing, id).toEqual([]);
        expect(p.modelVersion).toBe(training.model.version);
        expect(Math.abs(p.probabilities![1]! - deployed.expected[i]!), id).toBeLessThan(1e-5);
        expect(Math.abs(p.probabilities![1]! - batchProbability.get(id)!), id).toBeLessThan(1e-5);
        expect(p.prediction).toBe(deployed.expected[i]! >= 0.5 ? 1 : 0);
      });
      const logged = toRecords(deployed.logged);
      expect(logged.map((r) => JSON.parse(r.entity_keys as string).customerid).sort()).toEqual([...customers].sort());
      for (const row of logged) {
        expect(row.model_version).toBe(training.model.version);
        expect(JSON.parse(row.probabilities as string)).toEqual(deployed.answer.predictions[row.entry_index as number]!.probabilities);
      }
      const log = await client.readLog(DEPLOYMENT_NAME, { first: 100_000 });
      expect(column(log, 'request_id').filter((id) => id === deployed.answer.requestId)).toHaveLength(customers.length);

      // The queries the quickstart prints for GraphiQL run as they are.
      for (const { query } of await pasteQueries(client, inference.model, customers[0])) {
        const res = await srv.gql(query, {}, project.key);
        expect(res.errors, query).toBeUndefined();
      }
      expect(lines.join('\n')).toMatch(/ROC AUC 0\.\d+/);
    } finally {
      await client.close();
    }
  });
});
