import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GranaryClient,
  GranaryConflictError,
  GranaryError,
  GranaryNotFoundError,
  GranaryRequestError,
  GranaryValidationError,
  columnNames,
  inverseTransform,
  logisticRegressionOnnx,
  operations,
  toRecords,
} from 'granary/client';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;
let dir: string;
beforeAll(async () => {
  srv = await startTestServer();
  base = await srv.listen();
  dir = mkdtempSync(join(tmpdir(), 'granary-client-'));
});
afterAll(async () => {
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const GROUP = {
  name: 'accounts',
  primaryKey: ['id'],
  eventTime: 'ts',
  onlineEnabled: true,
  features: [
    { name: 'id', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'plan', type: 'STRING' },
    { name: 'months', type: 'INT', description: 'Months as a customer' },
    { name: 'left', type: 'INT' },
  ],
};

async function clientOf(prefix = 'client'): Promise<GranaryClient> {
  const { key } = await srv.newProject(prefix);
  return new GranaryClient({ url: base, apiKey: key });
}

async function caught(promise: Promise<unknown>): Promise<GranaryError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GranaryError) return error;
    throw error;
  }
  throw new Error('expected a GranaryError');
}

describe('GranaryClient', () => {
  it('throws a mutation’s typed errors as GranaryError subclasses with __typename, message and issues', async () => {
    const client = await clientOf();
    const group = await client.ensureFeatureGroup(GROUP);
    expect(group).toMatchObject({ name: 'accounts', version: 1, primaryKey: ['id'], eventTime: 'ts' });
    expect((await client.ensureFeatureGroup(GROUP)).id).toBe(group.id);

    const conflict = await caught(client.ensureFeatureGroup({ ...GROUP, version: 1, primaryKey: ['plan'] }));
    expect(conflict).toBeInstanceOf(GranaryConflictError);
    expect(conflict.__typename).toBe('ConflictError');

    const invalid = await caught(client.insert('accounts', [{ id: 'a', ts: '2026-01-01T00:00:00Z', plan: 'basic', months: 'many', left: 0 }]));
    expect(invalid).toBeInstanceOf(GranaryValidationError);
    expect(invalid.__typename).toBe('ValidationError');
    expect(invalid.issues.length).toBeGreaterThan(0);
    expect(invalid.issues.map((i) => i.path.join('.')).join(' ')).toMatch(/months/);

    const missing = await caught(client.insert('nope', [{ id: 'a' }]));
    expect(missing).toBeInstanceOf(GranaryNotFoundError);
    expect(missing).toMatchObject({ __typename: 'NotFoundError', kind: 'FeatureGroup' });

    // A query's failure is request-level: thrown with its code.
    const noDataset = await caught(client.batchData('nope'));
    expect(noDataset).toBeInstanceOf(GranaryRequestError);
    expect((noDataset as GranaryRequestError).code).toMatch(/NOT_FOUND|BAD_USER_INPUT/);
    const stranger = new GranaryClient({ url: base, apiKey: 'gra_nope_nope' });
    const refused = (await caught(stranger.viewer())) as GranaryRequestError;
    expect(refused).toBeInstanceOf(GranaryRequestError);
    expect(refused.code).toBe('UNAUTHENTICATED');
    expect(refused.status).toBe(401);
  });

  it('inserts rows, files from disk and bytes, and reads them back', async () => {
    const client = await clientOf();
    await client.ensureFeatureGroup(GROUP);
    const rows = await client.insert('accounts', [{ id: 'a', ts: '2026-01-01T00:00:00Z', plan: 'basic', months: 3, left: 0 }]);
    expect(rows.commit).toMatchObject({ rowsInserted: 1, rowsUpdated: 0 });

    const csv = join(dir, 'accounts.csv');
    writeFileSync(csv, 'id,ts,plan,months,left\nb,2026-01-02T00:00:00Z,pro,12,1\nc,2026-01-03T00:00:00Z,"basic, legacy",1,0\n');
    const file = await client.insert({ name: 'accounts', version: 1 }, csv);
    expect(file.commit.rowsInserted).toBe(2);
    const ndjson = Buffer.from(`${JSON.stringify({ id: 'd', ts: '2026-01-04T00:00:00Z', plan: 'pro', months: 7, left: 1 })}\n`);
    const bytes = await client.insert('accounts', ndjson, { fileName: 'more.ndjson' });
    expect(bytes.featureGroup.rowCount).toBe(4);

    const frame = await client.read('accounts');
    expect(frame.rowCount).toBe(4);
    expect(frame.rows.map((r) => r[0])).toEqual(['a', 'b', 'c', 'd']);
    expect(frame.rows[2]![2]).toBe('basic, legacy');
  });

  it('trains through a view: training data, batch data, vectors, inverse transform', async () => {
    const client = await clientOf();
    await client.ensureFeatureGroup(GROUP);
    const plans = ['basic', 'pro', 'team'];
    await client.insert(
      'accounts',
      Array.from({ length: 40 }, (_, i) => ({ id: `u${String(i).padStart(2, '0')}`, ts: '2026-01-01T00:00:00Z', plan: plans[i % 3], months: i, left: i % 2 })),
    );
    const view = await client.ensureFeatureView({
      name: 'accounts_view',
      labels: ['left'],
      query: { featureGroup: { name: 'accounts' }, exceptFeatures: ['id', 'ts'] },
      transformations: [
        { function: 'min_max_scaler', feature: 'months' },
        { function: 'label_encoder', feature: 'plan' },
      ],
    });
    expect(view.transformations.map((t) => t.outputColumn)).toEqual(['min_max_scaler_months_', 'label_encoder_plan_']);
    // Descriptions come from the group: as the feature's own, and derived for its transformation.
    expect(view.features.map((f) => [f.name, f.description])).toEqual([
      ['plan', ''],
      ['months', 'Months as a customer'],
      ['left', ''],
    ]);
    expect(view.transformations.map((t) => t.description)).toEqual(['min_max_scaler of months: Months as a customer', 'label_encoder of plan']);
    expect((await client.featureView('accounts_view'))?.id).toBe(view.id);

    const dataset = await client.createTrainingDataset(view, { split: 'RANDOM', testSize: 0.25, seed: 1 });
    const data = await client.trainingData(view, dataset.version);
    expect(Object.keys(data.splits).sort()).toEqual(['test', 'train']);
    expect(data.splits.train!.rowCount + data.splits.test!.rowCount).toBe(40);

    const batch = await client.batchData(view, { includeKeys: true });
    expect(batch.rowCount).toBe(40);
    const raw = await client.batchData(view, { includeKeys: true, transformed: false });
    const inverted = inverseTransform(batch, data.transformationStatistics);
    expect(inverted.columns.map((c) => c.name)).toEqual(raw.columns.map((c) => c.name));
    expect(inverted.rows).toEqual(raw.rows);

    const vector = await client.featureVector(view, { id: 'u07' });
    expect(vector.features).toEqual(columnNames(batch).slice(2));
    expect([...vector.features].sort()).toEqual(['label_encoder_plan_', 'min_max_scaler_months_']);
    expect(vector.values).toEqual(batch.rows.find((r) => r[0] === 'u07')!.slice(2));
    const [one, none] = await client.featureVectors(view, [{ id: 'u01' }, { id: 'nobody' }]);
    expect(one!.missing).toEqual([]);
    expect(none!.missing).toEqual(['accounts']);
  });

  it('registers a model with files, finds the best version and downloads files checked against their SHA-256', async () => {
    const client = await clientOf();
    const weights = join(dir, 'weights.bin');
    writeFileSync(weights, Buffer.alloc(200_000, 5));
    const first = await client.createModel({ name: 'scorer', framework: 'OTHER', metrics: { auc: 0.7 } }, [
      { path: 'model/weights.bin', file: weights },
      { path: 'config.json', file: Buffer.from('{"a":1}') },
    ]);
    expect(first.files.map((f) => f.path)).toEqual(['config.json', 'model/weights.bin']);
    await client.createModel({ name: 'scorer', framework: 'OTHER', metrics: { auc: 0.9 } });
    await client.createModel({ name: 'scorer', framework: 'OTHER', metrics: { auc: 0.8 } });
    expect((await client.bestModel('scorer', 'auc'))?.version).toBe(2);
    expect((await client.bestModel('scorer', 'auc', 'MIN'))?.version).toBe(1);
    expect((await client.model('scorer'))?.version).toBe(3);
    expect(await client.model('nothing')).toBeNull();

    const file = first.files.find((f) => f.path === 'model/weights.bin')!;
    const saved = await client.downloadModelFile(file, join(dir, 'down', 'weights.bin'));
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(file.sha256);
    expect((await client.downloadModelFile(first.files[0]!)).toString()).toBe('{"a":1}');
    const tampered = await caught(client.downloadModelFile({ ...file, sha256: '0'.repeat(64) }));
    expect(tampered.__typename).toBe('ChecksumError');

    const noView = await caught(client.createModel({ name: 'scorer', framework: 'OTHER', featureView: { name: 'nope' }, trainingDatasetVersion: 1 }));
    expect(noView).toBeInstanceOf(GranaryNotFoundError);
  });

  it('deploys an ONNX model, predicts, serves vectors through the model and reads the prediction log', async () => {
    const client = await clientOf('client_dep');
    await client.ensureFeatureGroup(GROUP);
    const plans = ['basic', 'pro', 'team'];
    await client.insert(
      'accounts',
      Array.from({ length: 30 }, (_, i) => ({ id: `u${String(i).padStart(2, '0')}`, ts: '2026-01-01T00:00:00Z', plan: plans[i % 3], months: i, left: i % 2 })),
    );
    const view = await client.ensureFeatureView({
      name: 'accounts_view',
      labels: ['left'],
      query: { featureGroup: { name: 'accounts' }, exceptFeatures: ['id', 'ts'] },
      transformations: [
        { function: 'min_max_scaler', feature: 'months' },
        { function: 'label_encoder', feature: 'plan' },
      ],
    });
    const dataset = await client.createTrainingDataset(view, { split: 'RANDOM', testSize: 0.25, seed: 1 });
    const columns = (await client.featureVector(view, { id: 'u00' })).features;
    const weights = [0.8, -1.5];
    const intercept = 0.25;
    const model = await client.createModel(
      {
        name: 'scorer',
        framework: 'ONNX',
        featureView: { name: view.name, version: view.version },
        trainingDatasetVersion: dataset.version,
        modelSchema: { inputSchema: { columnarSchema: columns.map((name) => ({ name, type: 'double' })) } },
        servingArtifact: 'model.onnx',
      },
      [{ path: 'model.onnx', file: logisticRegressionOnnx({ features: columns.length, weights, intercept }) }],
    );
    expect(model.servingArtifact).toBe('model.onnx');
    // A named serving artifact must be among the files.
    const absent = await caught(client.createModel({ name: 'scorer', framework: 'ONNX', servingArtifact: 'other.onnx' }));
    expect(absent).toBeInstanceOf(GranaryValidationError);

    const created = await client.createDeployment({
      name: 'scorer_live',
      model: { name: 'scorer', version: model.version },
      logging: { enabled: true, sampleRate: 1 },
    });
    expect(created).toMatchObject({
      name: 'scorer_live',
      state: 'RUNNING',
      model: { name: 'scorer', version: 1, alias: null },
      traffic: [{ version: 1, weight: 1 }],
      logging: { enabled: true, sampleRate: 1, featureGroup: 'scorer_live_predictions' },
    });
    expect((await client.deployment('scorer_live'))?.id).toBe(created.id);
    expect(await client.deployment('nothing')).toBeNull();
    const taken = await caught(client.createDeployment({ name: 'scorer_live', model: { name: 'scorer' } }));
    expect(taken).toBeInstanceOf(GranaryConflictError);

    // Vectors and batch data through the model: its view and training dataset, no featureView given.
    const entries = [{ id: 'u01' }, { id: 'u02' }, { id: 'u07' }];
    const vectors = await client.featureVectors(null, entries, { model: { name: 'scorer' } });
    expect(vectors).toEqual(await client.featureVectors(view, entries, { trainingDatasetVersion: dataset.version }));
    expect((await client.featureVector(null, entries[0]!, { model: { name: 'scorer', version: 1 } })).values).toEqual(vectors[0]!.values);
    const batch = await client.batchData(null, { model: { name: 'scorer' }, includeKeys: true });
    expect(batch.rowCount).toBe(30);
    expect(batch.rows.find((r) => r[0] === 'u07')!.slice(2)).toEqual(vectors[2]!.values);

    const answer = await client.predict('scorer_live', entries, { includeVector: true });
    expect(answer.deployment).toBe('scorer_live');
    expect(answer.predictions).toHaveLength(3);
    answer.predictions.forEach((p, i) => {
      const z = intercept + vectors[i]!.values.reduce<number>((sum, v, c) => sum + Number(v) * weights[c]!, 0);
      const probability = 1 / (1 + Math.exp(-z));
      expect(p).toMatchObject({ modelVersion: 1, trainingDatasetVersion: dataset.version, missing: [] });
      expect(p.probabilities![1]).toBeCloseTo(probability, 5);
      expect(p.prediction).toBe(probability >= 0.5 ? 1 : 0);
      expect(p.vector).toEqual({ features: vectors[i]!.features, values: vectors[i]!.values });
    });
    const unknown = (await client.predict('scorer_live', [{ id: 'nobody' }])).predictions[0]!;
    expect(unknown.prediction).toBeNull();
    expect(unknown.missing.length).toBeGreaterThan(0);

    // The log is written after the answer: wait for this request's rows.
    let rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      rows = toRecords(await client.readLog('scorer_live', { modelVersion: 1, shadow: false })).filter((r) => r.request_id === answer.requestId);
      if (rows.length === 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows.map((r) => JSON.parse(r.entity_keys as string))).toEqual(entries);
    expect(rows.map((r) => JSON.parse(r.probabilities as string))).toEqual(answer.predictions.map((p) => p.probabilities));
    expect((await client.readLog('scorer_live', { modelVersion: 2 })).rowCount).toBe(0);
    expect((await client.readLog('scorer_live', { first: 1 })).rowCount).toBe(1);

    const updated = await client.updateDeployment('scorer_live', { description: 'scores accounts', logging: { enabled: false } });
    expect(updated).toMatchObject({ description: 'scores accounts', logging: { enabled: false } });
    expect((await client.stopDeployment('scorer_live')).state).toBe('STOPPED');
    const stopped = (await caught(client.predict('scorer_live', entries))) as GranaryRequestError;
    expect(stopped).toBeInstanceOf(GranaryRequestError);
    expect(stopped.code).toBe('DEPLOYMENT_STOPPED');
    expect((await client.startDeployment('scorer_live')).state).toBe('RUNNING');
    expect((await client.predict('scorer_live', entries)).predictions.map((p) => p.prediction)).toEqual(answer.predictions.map((p) => p.prediction));
    expect((await client.deleteDeployment('scorer_live')).name).toBe('scorer_live');
    expect(await client.deployment('scorer_live')).toBeNull();
    expect(await caught(client.stopDeployment('scorer_live'))).toBeInstanceOf(GranaryNotFoundError);
  });

  it('subscribes over graphql-ws', async () => {
    const client = await clientOf();
    try {
      const events = client.subscribe(operations.RegistryEventsSubscription, { kinds: ['FeatureGroup'] });
      const next = events.next();
      // The socket subscribes lazily: retry the change until the subscription sees one.
      let received: Awaited<typeof next> | undefined;
      void next.then((r) => (received = r));
      for (let i = 0; i < 50 && !received; i++) {
        await client.ensureFeatureGroup({ ...GROUP, name: `g${i}` });
        await new Promise((r) => setTimeout(r, 50));
      }
      const { value } = await next;
      expect(value?.registryEvents).toMatchObject({ kind: 'FeatureGroup', action: 'CREATED' });
      expect(value?.registryEvents.name).toMatch(/^g\d+$/);
      await events.return(undefined);
    } finally {
      await client.close();
    }
  });

  it('tells whether the server has a field', async () => {
    const client = await clientOf();
    expect(await client.hasField('Query', 'featureGroup')).toBe(true);
    expect(await client.hasField('Query', 'nope')).toBe(false);
    expect(await client.hasField('Nope', 'nope')).toBe(false);
  });
});
