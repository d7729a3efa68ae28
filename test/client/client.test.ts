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
  operations,
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
