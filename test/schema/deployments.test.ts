import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logisticRegressionOnnx } from '../../src/client/onnx-model.ts';
import { LOG_FEATURES } from '../../src/services/deployment/prediction-log-rows.ts';
import { CHURN_VIEW, churnRows, CUSTOMER_INFO, DEMOGRAPHY, SUBSCRIPTIONS } from '../helpers/churn.ts';
import { perColumnOnnx, regressionOnnx, zipmapClassifierOnnx } from '../fixtures/onnx-models.ts';
import { startTestServer, type Gql, type TestServer } from '../helpers/server.ts';

// Deployments end to end: ONNX models registered with their checks, deployed, and predict with
// server-side features through the model's own feature view and training dataset.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_MODEL = `mutation($input: CreateModelInput!) {
  createModel(input: $input) {
    __typename
    ... on CreateModelPayload { model { name version servingArtifact modelSchema } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const DEPLOYMENT_FIELDS = `name state model { name version alias } traffic { version alias weight } shadow { version } logging { enabled sampleRate featureGroup } stats { requests errors p50Ms p99Ms }`;
const CREATE_DEPLOYMENT = `mutation($input: CreateDeploymentInput!) {
  createDeployment(input: $input) {
    __typename
    ... on CreateDeploymentPayload { deployment { ${DEPLOYMENT_FIELDS} } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const PREDICT = `query($d: String!, $entries: [JSON!]!, $passed: [JSON], $options: PredictOptions) {
  predict(deployment: $d, entries: $entries, passedFeatures: $passed, options: $options) {
    requestId deployment
    predictions { prediction probabilities modelVersion trainingDatasetVersion missing vector { features values } }
  }
}`;

/** The path of the first issue of a response's first error. */
function issuePath(res: { errors?: { extensions?: Record<string, unknown> }[] }): unknown {
  const issues = res.errors?.[0]?.extensions?.issues as { path: unknown }[] | undefined;
  return issues?.[0]?.path;
}

/** GraphQL multipart through yoga.fetch: createModel with files. */
async function createModel(key: string, input: Record<string, unknown>, files: { name: string; content: Uint8Array }[]) {
  const form = new FormData();
  const variables = { input: { ...input, files: files.map((f) => ({ path: f.name, file: null })) } };
  form.set('operations', JSON.stringify({ query: CREATE_MODEL, variables }));
  form.set('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [`variables.input.files.${i}.file`]]))));
  for (const [i, f] of files.entries()) form.set(String(i), new Blob([new Uint8Array(f.content)]), f.name);
  const res = await srv.server.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' },
    body: form,
  });
  const body = (await res.json()) as any;
  return body.data?.createModel ?? body;
}

async function churnProject(customers: number) {
  const p = await srv.newProject('dep');
  const gql = srv.as(p.key);
  const rows = churnRows(customers);
  for (const [def, data] of [
    [CUSTOMER_INFO, rows.info],
    [DEMOGRAPHY, rows.demography],
    [SUBSCRIPTIONS, rows.subscriptions],
  ] as const) {
    expect((await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`, { input: def })).data).toBeTruthy();
    const inserted = await gql(
      `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } } }`,
      {
        fg: { name: def.name },
        rows: data,
      },
    );
    expect(inserted.data?.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
  }
  const fv = await gql(`mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`, {
    input: CHURN_VIEW,
  });
  expect(fv.data?.createFeatureView.__typename, JSON.stringify(fv)).toBe('CreateFeatureViewPayload');
  return { ...p, gql, rows };
}

async function trainingDataset(gql: Gql, seed: number, testSize = 0.5) {
  const res = await gql(
    `mutation($input: CreateTrainingDatasetInput!) { createTrainingDataset(featureView: { name: "churn_feature_view" }, input: $input) { __typename ... on CreateTrainingDatasetPayload { trainingDataset { version } } ... on Error { message } } }`,
    { input: { testSize, seed } },
  );
  expect(res.data?.createTrainingDataset.__typename, JSON.stringify(res)).toBe('CreateTrainingDatasetPayload');
  return res.data.createTrainingDataset.trainingDataset.version as number;
}

/** The model's numeric input columns: the view's served features without the text key. */
async function inputColumns(gql: Gql, td: number) {
  const res = await gql(
    `query($td: Int) { featureVector(featureView: { name: "churn_feature_view" }, entry: { customerid: "c0000" }, trainingDatasetVersion: $td) { features } }`,
    { td },
  );
  return (res.data.featureVector.features as string[]).filter((f) => f !== 'customerid');
}

/** A logistic regression over the columns, registered as an ONNX model trained on training dataset `td`. */
async function registerModel(key: string, name: string, columns: readonly string[], td: number, weights?: number[]) {
  const w = weights ?? columns.map((_, i) => ((i % 5) - 2) / 3);
  const onnx = logisticRegressionOnnx({ features: columns.length, weights: w, intercept: 0.1 });
  const model = await createModel(
    key,
    {
      name,
      framework: 'ONNX',
      featureView: { name: 'churn_feature_view' },
      trainingDatasetVersion: td,
      modelSchema: { inputSchema: { columnarSchema: columns.map((c) => ({ name: c, type: 'double' })) } },
      inputExample: Object.fromEntries(columns.map((c) => [c, 0.5])),
    },
    [{ name: 'model.onnx', content: onnx }],
  );
  expect(model.__typename, JSON.stringify(model)).toBe('CreateModelPayload');
  return { model: model.model, onnx };
}

describe('deployments', () => {
  it('predicts what onnxruntime gives on batchData(model:) rows, for 1 000 customers', async () => {
    const { gql, key } = await churnProject(1000);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    const { model, onnx } = await registerModel(key, 'churn', columns, td);
    expect(model.servingArtifact).toBe('model.onnx');
    const created = await gql(CREATE_DEPLOYMENT, { input: { name: 'churn_live', model: { name: 'churn', version: 1 } } });
    expect(created.data?.createDeployment.__typename, JSON.stringify(created)).toBe('CreateDeploymentPayload');
    expect(created.data.createDeployment.deployment).toMatchObject({ state: 'RUNNING', traffic: [{ version: 1, weight: 1 }] });

    const batch = await gql(`query { batchData(model: { name: "churn" }, includeKeys: true, first: 2000) { columns { name } rows } }`);
    const names = (batch.data.batchData.columns as { name: string }[]).map((c) => c.name);
    const keyAt = names.indexOf('customerid');
    const rows = batch.data.batchData.rows as unknown[][];
    expect(rows.length).toBe(1000);
    const session = await ort.InferenceSession.create(onnx);
    const input = new Float32Array(rows.length * columns.length);
    rows.forEach((row, r) => {
      columns.forEach((c, i) => {
        input[r * columns.length + i] = Number(row[names.indexOf(c)]);
      });
    });
    const direct = await session.run({ input: new ort.Tensor('float32', input, [rows.length, columns.length]) });
    const expected = direct.probabilities!.data as Float32Array;
    const entries = rows.map((row) => ({ customerid: row[keyAt] }));
    const res = await gql(PREDICT, { d: 'churn_live', entries });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const predictions = res.data.predict.predictions as { prediction: number; probabilities: number[]; modelVersion: number; missing: string[] }[];
    expect(predictions).toHaveLength(1000);
    predictions.forEach((p, r) => {
      expect(p.missing).toEqual([]);
      expect(p.modelVersion).toBe(1);
      expect(Math.abs(p.probabilities[1]! - expected[r * 2 + 1]!)).toBeLessThan(1e-6);
      expect(p.prediction).toBe(Number((direct.label!.data as BigInt64Array)[r]));
    });
    await session.release();
  });

  it('serves through the model’s own training dataset when a newer one exists', async () => {
    const { gql, key } = await churnProject(200);
    const first = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, first);
    await registerModel(key, 'pinned', columns, first);
    // A second training dataset with a small training split fits other min/max values.
    const second = await trainingDataset(gql, 99, 0.9);
    expect(second).toBe(first + 1);
    const entry = { customerid: 'c0002' };
    const byVersion = async (td: number) =>
      (
        await gql(
          `query($td: Int, $e: JSON!) { featureVector(featureView: { name: "churn_feature_view" }, entry: $e, trainingDatasetVersion: $td) { record } }`,
          { td, e: entry },
        )
      ).data.featureVector.record;
    const own = await byVersion(first);
    const latest = await byVersion(second);
    expect(own.min_max_scaler_tenure_).not.toBe(latest.min_max_scaler_tenure_);
    const viaModel = await gql(`query($e: JSON!) { featureVector(model: { name: "pinned" }, entry: $e) { record } }`, { e: entry });
    expect(viaModel.data.featureVector.record).toEqual(own);
    const batch = await gql(`query { batchData(model: { name: "pinned" }, includeKeys: true, first: 100) { records } }`);
    const row = (batch.data.batchData.records as Record<string, unknown>[]).find((r) => r.customerid === 'c0002');
    expect(row?.min_max_scaler_tenure_).toBe(own.min_max_scaler_tenure_);
    await gql(CREATE_DEPLOYMENT, { input: { name: 'pinned_live', model: { name: 'pinned' }, logging: { enabled: true } } });
    const predicted = await gql(PREDICT, { d: 'pinned_live', entries: [entry], options: { includeVector: true } });
    const p = predicted.data.predict.predictions[0];
    expect(p.trainingDatasetVersion).toBe(first);
    expect(p.vector.values[p.vector.features.indexOf('min_max_scaler_tenure_')]).toBe(own.min_max_scaler_tenure_);
    // A featureView or trainingDatasetVersion that contradicts the model is refused, naming it.
    const wrong = await gql(`query($e: JSON!) { featureVector(model: { name: "pinned" }, trainingDatasetVersion: ${second}, entry: $e) { record } }`, {
      e: entry,
    });
    expect(issuePath(wrong)).toEqual(['trainingDatasetVersion']);
  });

  it('splits traffic 80/20 by entity, sticky, and logs the shadow only', async () => {
    const { gql, key } = await churnProject(40);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    await registerModel(key, 'ab', columns, td);
    await registerModel(
      key,
      'ab',
      columns,
      td,
      columns.map(() => 0.25),
    );
    await registerModel(
      key,
      'ab',
      columns,
      td,
      columns.map(() => -0.25),
    );
    const created = await gql(CREATE_DEPLOYMENT, {
      input: {
        name: 'ab_live',
        model: { name: 'ab' },
        traffic: [
          { version: 1, weight: 80 },
          { version: 2, weight: 20 },
        ],
        shadow: { version: 3 },
        logging: { enabled: true, sampleRate: 1 },
      },
    });
    expect(created.data?.createDeployment.__typename, JSON.stringify(created)).toBe('CreateDeploymentPayload');
    // Routing is by the hash of the entry's keys: spread over 10 000 keys, even when they have no online row.
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ customerid: `k${i}` }));
    const res = await gql(PREDICT, { d: 'ab_live', entries });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const versions = (res.data.predict.predictions as { modelVersion: number; prediction: unknown; missing: string[] }[]).map((p) => p.modelVersion);
    const share = versions.filter((v) => v === 1).length / versions.length;
    expect(share).toBeGreaterThan(0.77);
    expect(share).toBeLessThan(0.83);
    expect(versions).not.toContain(3);
    expect(res.data.predict.predictions[0].prediction).toBeNull();
    expect(res.data.predict.predictions[0].missing.length).toBeGreaterThan(0);
    // An input error names the entry's position in the whole request, whichever version it was routed to.
    const faulty = entries.slice(0, 50).map((e, i) => (i === 37 ? { customer: 'k37' } : e));
    const refused = await gql(PREDICT, { d: 'ab_live', entries: faulty });
    expect(issuePath(refused)).toEqual(['entries', 37, 'customerid']);
    const again = await gql(PREDICT, { d: 'ab_live', entries: entries.slice(0, 500) });
    expect(again.data.predict.predictions.map((p: { modelVersion: number }) => p.modelVersion)).toEqual(versions.slice(0, 500));

    // Known customers: served rows and shadow rows in the log, equal to what was served.
    const known = Array.from({ length: 40 }, (_, i) => ({ customerid: `c${String(i).padStart(4, '0')}` }));
    const served = await gql(PREDICT, { d: 'ab_live', entries: known, options: { includeVector: true } });
    const requestId = served.data.predict.requestId as string;
    const log = await gql(`query { readLog(deployment: "ab_live", first: 100000) { records } }`);
    expect(log.errors, JSON.stringify(log.errors)).toBeUndefined();
    const rows = (log.data.readLog.records as Record<string, unknown>[]).filter((r) => r.request_id === requestId);
    // The newest rows: those of the last request, in time order.
    const newest = await gql(`query { readLog(deployment: "ab_live", last: 80) { records } }`);
    expect((newest.data.readLog.records as Record<string, unknown>[]).map((r) => r.request_id)).toEqual(new Array(80).fill(requestId));
    const servedRows = rows.filter((r) => r.shadow === false);
    const shadowRows = rows.filter((r) => r.shadow === true);
    expect(servedRows).toHaveLength(40);
    expect(shadowRows).toHaveLength(40);
    expect(shadowRows.every((r) => r.model_version === 3)).toBe(true);
    for (const row of servedRows) {
      const p = served.data.predict.predictions[row.entry_index as number];
      expect(row.model_version).toBe(p.modelVersion);
      expect(JSON.parse(row.prediction as string)).toEqual(p.prediction);
      expect(JSON.parse(row.probabilities as string)).toEqual(p.probabilities);
      const vector = JSON.parse(row.transformed_vector as string) as Record<string, unknown>;
      expect(p.vector.features.map((f: string) => vector[f])).toEqual(p.vector.values);
      expect(JSON.parse(row.entity_keys as string)).toEqual(known[row.entry_index as number]);
      expect(Object.values(JSON.parse(row.feature_status as string))).toContain('present');
    }
    // The log is a feature group with a column per served feature, typed as the view serves it:
    // raw features by their names, transformed outputs by theirs; numbers stay numbers.
    const group = await gql(`query { featureGroup(name: "ab_live_predictions") { features { name type } } }`);
    const types = new Map((group.data.featureGroup.features as { name: string; type: string }[]).map((f) => [f.name, f.type]));
    expect(types.get('tenure')).toBe('INT');
    expect(types.get('min_max_scaler_tenure_')).toBe('DOUBLE');
    expect(types.get('contract')).toBe('STRING');
    expect(types.has('raw_vector')).toBe(false);
    const stored = await gql(`query { featureGroup(name: "ab_live_predictions") { read(first: 100000) { columns { name } rows } } }`);
    const names = (stored.data.featureGroup.read.columns as { name: string }[]).map((c) => c.name);
    const storedRow = (stored.data.featureGroup.read.rows as unknown[][]).find(
      (r) => r[names.indexOf('request_id')] === requestId && r[names.indexOf('entry_index')] === 0 && r[names.indexOf('shadow')] === false,
    )!;
    const first = servedRows.find((r) => r.entry_index === 0)!;
    expect(storedRow[names.indexOf('min_max_scaler_tenure_')]).toBe(JSON.parse(first.transformed_vector as string).min_max_scaler_tenure_);
    expect(storedRow[names.indexOf('tenure')]).toBe(JSON.parse(first.raw_vector as string).tenure);
  });

  it('refuses ZipMap outputs with the hint, and inputs that do not match the schema naming them', async () => {
    const { gql, key } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    const schema = { inputSchema: { columnarSchema: columns.map((c) => ({ name: c, type: 'double' })) } };
    const base = { framework: 'ONNX', featureView: { name: 'churn_feature_view' }, trainingDatasetVersion: td, modelSchema: schema };
    const zipmap = await createModel(key, { ...base, name: 'zipmap' }, [{ name: 'model.onnx', content: zipmapClassifierOnnx(columns.length) }]);
    expect(zipmap.__typename).toBe('ValidationError');
    expect(zipmap.message).toMatch(/output_probability.*zipmap/i);
    const narrow = await createModel(key, { ...base, name: 'narrow' }, [{ name: 'model.onnx', content: regressionOnnx(3, [1, 2, 3], 0) }]);
    expect(narrow.__typename).toBe('ValidationError');
    expect(narrow.message).toMatch(/input input takes 3 columns/);
    const perColumn = await createModel(key, { ...base, name: 'columns' }, [
      {
        name: 'model.onnx',
        content: perColumnOnnx([
          { name: 'tenure', type: 'float' },
          { name: 'other', type: 'float' },
        ]),
      },
    ]);
    expect(perColumn.__typename).toBe('ValidationError');
    expect(perColumn.message).toMatch(/tenure, other/);
    const models = await gql(`query { models { edges { node { name } } } }`);
    expect(models.data.models.edges).toEqual([]);
  });

  it('lets READ keys predict, only WRITE manage, and other projects see nothing', async () => {
    const { gql, key } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    await registerModel(key, 'guarded', await inputColumns(gql, td), td);
    await gql(CREATE_DEPLOYMENT, { input: { name: 'guarded_live', model: { name: 'guarded' } } });
    const readKey = (await gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreateApiKeyPayload { secret } } }`)).data
      .createApiKey.secret;
    const reader = srv.as(readKey);
    const ok = await reader(PREDICT, { d: 'guarded_live', entries: [{ customerid: 'c0001' }] });
    expect(ok.errors).toBeUndefined();
    const refused = await reader(`mutation { stopDeployment(name: "guarded_live") { __typename } }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const other = srv.as((await srv.newProject('dep_other')).key);
    const hidden = await other(PREDICT, { d: 'guarded_live', entries: [{ customerid: 'c0001' }] });
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await other(`query { deployments { edges { node { name } } } }`)).data.deployments.edges).toEqual([]);
    // Stopped: a typed error, nothing predicted.
    await gql(`mutation { stopDeployment(name: "guarded_live") { __typename } }`);
    const stopped = await reader(PREDICT, { d: 'guarded_live', entries: [{ customerid: 'c0001' }] });
    expect(stopped.errors?.[0]?.extensions?.code).toBe('DEPLOYMENT_STOPPED');
  });

  it('follows an alias: moving it moves the traffic; updates take effect at once', async () => {
    const { gql, key } = await churnProject(20);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    await registerModel(key, 'aliased', columns, td);
    await registerModel(
      key,
      'aliased',
      columns,
      td,
      columns.map(() => 1),
    );
    const alias = (version: number) =>
      gql(`mutation($v: Int!) { setModelAlias(name: "aliased", alias: "champion", version: $v) { __typename } }`, { v: version });
    await alias(1);
    const created = await gql(CREATE_DEPLOYMENT, { input: { name: 'aliased_live', model: { name: 'aliased', alias: 'champion' } } });
    expect(created.data.createDeployment.deployment).toMatchObject({
      model: { alias: 'champion', version: null },
      traffic: [{ version: 1, alias: 'champion' }],
    });
    const version = async () => (await gql(PREDICT, { d: 'aliased_live', entries: [{ customerid: 'c0003' }] })).data.predict.predictions[0].modelVersion;
    expect(await version()).toBe(1);
    await alias(2);
    expect(await version()).toBe(2);
    const updated = await gql(
      `mutation { updateDeployment(name: "aliased_live", input: { model: { version: 1 }, logging: { enabled: true, sampleRate: 0.5 } }) { __typename ... on UpdateDeploymentPayload { deployment { ${DEPLOYMENT_FIELDS} } } ... on Error { message } } }`,
    );
    expect(updated.data.updateDeployment.deployment).toMatchObject({
      model: { version: 1, alias: null },
      logging: { enabled: true, sampleRate: 0.5, featureGroup: 'aliased_live_predictions' },
    });
    expect(await version()).toBe(1);
    // Lineage: the served version leads to the deployment, and the deployment to its prediction log.
    const lineage = await gql(
      `query { lineage(kind: MODEL, name: "aliased", version: 1, direction: DOWNSTREAM) { nodes { id kind name } edges { from to } } }`,
    );
    expect(lineage.errors, JSON.stringify(lineage.errors)).toBeUndefined();
    const nodes = lineage.data.lineage.nodes as { id: string; kind: string; name: string }[];
    const named = (id: string) => nodes.find((n) => n.id === id)?.name;
    const edges = (lineage.data.lineage.edges as { from: string; to: string }[]).map((e) => [named(e.from), named(e.to)]);
    expect(nodes.map((n) => [n.kind, n.name])).toContainEqual(['DEPLOYMENT', 'aliased_live']);
    expect(edges).toContainEqual(['aliased', 'aliased_live']);
    expect(edges).toContainEqual(['aliased_live', 'aliased_live_predictions']);
    const stats = await gql(`query { deployment(name: "aliased_live") { stats { requests errors p50Ms } } }`);
    expect(stats.data.deployment.stats.requests).toBe(3);
    expect(stats.data.deployment.stats.p50Ms).toBeGreaterThan(0);
  });

  it('refuses what cannot be served, naming the input, and changes nothing', async () => {
    const { gql, key } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    await registerModel(key, 'servable', columns, td);
    // A model without an ONNX file.
    const plain = await createModel(key, { name: 'plain', framework: 'SKLEARN', featureView: { name: 'churn_feature_view' }, trainingDatasetVersion: td }, [
      { name: 'model.pkl', content: new Uint8Array([1, 2, 3]) },
    ]);
    expect(plain.__typename).toBe('CreateModelPayload');
    const noOnnx = await gql(CREATE_DEPLOYMENT, { input: { name: 'plain_live', model: { name: 'plain' } } });
    expect(noOnnx.data.createDeployment).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'model'] }] });
    expect(noOnnx.data.createDeployment.message).toMatch(/no ONNX file/);
    const badShadow = await gql(CREATE_DEPLOYMENT, { input: { name: 'x_live', model: { name: 'servable' }, shadow: { version: 7 } } });
    expect(badShadow.data.createDeployment).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'shadow', 'version'] }] });
    const badWeights = await gql(CREATE_DEPLOYMENT, { input: { name: 'x_live', model: { name: 'servable' }, traffic: [{ version: 1, weight: 0 }] } });
    expect(badWeights.data.createDeployment.__typename).toBe('ValidationError');
    expect((await gql(`query { deployments { edges { node { name } } } }`)).data.deployments.edges).toEqual([]);
    await gql(CREATE_DEPLOYMENT, { input: { name: 'servable_live', model: { name: 'servable' } } });
    const deleted = await gql(`mutation { deleteModel(name: "servable", version: 1) { __typename ... on Error { message } } }`);
    expect(deleted.data.deleteModel).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/served by deployment servable_live/) });
    const params = await gql(
      `query { predict(deployment: "servable_live", entries: [{ customerid: "c0001" }], requestParameters: [{ hour: 3 }]) { requestId } }`,
    );
    expect(issuePath(params)).toEqual(['requestParameters', 0, 'hour']);
    const noKey = await gql(`query { predict(deployment: "servable_live", entries: [{ customer: "c0001" }]) { requestId } }`);
    expect(noKey.errors?.[0]?.message).toMatch(/missing serving key customerid/);
    const wrongType = await gql(
      `query { predict(deployment: "servable_live", entries: [{ customerid: "c0001" }], passedFeatures: [{ tenure: "long" }]) { requestId } }`,
    );
    expect(issuePath(wrongType)).toEqual(['passedFeatures', 0, 'tenure']);
  });

  it('logs passed features as passed, and writes every answered prediction’s log row on a clean stop', async () => {
    const { gql, key, name } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    await registerModel(key, 'stopping', await inputColumns(gql, td), td);
    await gql(CREATE_DEPLOYMENT, { input: { name: 'stopping_live', model: { name: 'stopping' }, logging: { enabled: true } } });
    // A second process of the same deployment answers, then stops before its log's next flush.
    const second = await startTestServer({ shareWith: srv });
    let requestId: string;
    try {
      const res = await second.as(key)(PREDICT, {
        d: 'stopping_live',
        entries: [{ customerid: 'c0001' }, { customerid: 'c0002' }],
        passed: [{ tenure: 5 }, null],
      });
      expect(res.errors).toBeUndefined();
      requestId = res.data.predict.requestId;
      // The rows are queued once the answer is out (the next turn of the event loop), not yet written.
      await vi.waitFor(() => expect(second.app.services.deployments.log.queued).toBe(2), { timeout: 500, interval: 5 });
    } finally {
      await second.close();
    }
    expect(name).toBeTruthy();
    const log = await gql(`query { readLog(deployment: "stopping_live") { records } }`);
    const rows = (log.data.readLog.records as Record<string, unknown>[]).filter((r) => r.request_id === requestId);
    expect(rows.map((r) => r.entry_index).sort()).toEqual([0, 1]);
    const status = (i: number) => JSON.parse(rows.find((r) => r.entry_index === i)!.feature_status as string) as Record<string, string>;
    expect(status(0).tenure).toBe('passed');
    expect(status(1).tenure).toBe('present');
    expect(JSON.parse(rows.find((r) => r.entry_index === 0)!.raw_vector as string).tenure).toBe(5);
  });

  it('keeps logging into a log of JSON vectors (as logs were first written): new rows get columns, readLog gives both', async () => {
    const { gql, key } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    await registerModel(key, 'legacy', await inputColumns(gql, td), td);
    // The log group as it was first created: the vectors as JSON text.
    const legacy = [
      ...LOG_FEATURES.slice(0, 8),
      { name: 'raw_vector', type: 'STRING' },
      { name: 'transformed_vector', type: 'STRING' },
      ...LOG_FEATURES.slice(8),
    ];
    const created = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`, {
      input: {
        name: 'legacy_live_predictions',
        primaryKey: ['request_id', 'entry_index', 'model_version'],
        eventTime: 'logged_at',
        onlineEnabled: false,
        features: legacy.map(({ name, type }) => ({ name, type })),
      },
    });
    expect(created.data.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
    const old = {
      request_id: 'old-1',
      entry_index: 0,
      model_version: 1,
      logged_at: '2026-01-01T00:00:00Z',
      model_name: 'legacy',
      training_dataset_version: td,
      shadow: false,
      entity_keys: '{"customerid":"c0001"}',
      raw_vector: '{"tenure":3}',
      transformed_vector: '{"min_max_scaler_tenure_":0.5}',
      feature_status: '{}',
      prediction: '1',
      probabilities: null,
    };
    const inserted = await gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "legacy_live_predictions" }, rows: $rows) { __typename ... on Error { message } } }`,
      {
        rows: [old],
      },
    );
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    const deployed = await gql(CREATE_DEPLOYMENT, { input: { name: 'legacy_live', model: { name: 'legacy' }, logging: { enabled: true } } });
    expect(deployed.errors, JSON.stringify(deployed)).toBeUndefined();
    const served = await gql(PREDICT, { d: 'legacy_live', entries: [{ customerid: 'c0002' }], options: { includeVector: true } });
    const log = await gql(`query { readLog(deployment: "legacy_live") { records } }`);
    const records = log.data.readLog.records as Record<string, unknown>[];
    expect(records.map((r) => r.request_id)).toEqual(['old-1', served.data.predict.requestId]);
    expect(records[0]!.raw_vector).toBe('{"tenure":3}');
    expect(JSON.parse(records[0]!.feature_status as string)).toEqual({ tenure: 'present' });
    const vector = JSON.parse(records[1]!.transformed_vector as string) as Record<string, unknown>;
    const p = served.data.predict.predictions[0];
    expect(p.vector.features.map((f: string) => vector[f])).toEqual(p.vector.values);
    const group = await gql(`query { featureGroup(name: "legacy_live_predictions") { features { name } } }`);
    expect((group.data.featureGroup.features as { name: string }[]).map((f) => f.name)).toContain('min_max_scaler_tenure_');
  });
});

describe('ONNX files added in steps', () => {
  it('checks the serving artifact when the PENDING version is finalized', async () => {
    const { gql, key } = await churnProject(10);
    const td = await trainingDataset(gql, 1);
    const columns = await inputColumns(gql, td);
    const schema = { inputSchema: { columnarSchema: columns.map((c) => ({ name: c, type: 'double' })) } };
    const pending = await createModel(
      key,
      {
        name: 'stepped',
        framework: 'ONNX',
        pending: true,
        servingArtifact: 'model.onnx',
        featureView: { name: 'churn_feature_view' },
        trainingDatasetVersion: td,
        modelSchema: schema,
      },
      [],
    );
    expect(pending.__typename, JSON.stringify(pending)).toBe('CreateModelPayload');
    const form = new FormData();
    const query = `mutation($files: [ModelFileInput!]!) { addModelFiles(model: { name: "stepped", version: 1 }, files: $files) { __typename ... on Error { message } } }`;
    form.set('operations', JSON.stringify({ query, variables: { files: [{ path: 'model.onnx', file: null }] } }));
    form.set('map', JSON.stringify({ 0: ['variables.files.0.file'] }));
    form.set('0', new Blob([new Uint8Array(zipmapClassifierOnnx(columns.length))]), 'model.onnx');
    const added = await srv.server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' },
      body: form,
    });
    expect(((await added.json()) as { data: { addModelFiles: { __typename: string } } }).data.addModelFiles.__typename).toBe('AddModelFilesPayload');
    const finalized = await gql(`mutation { finalizeModel(model: { name: "stepped", version: 1 }) { __typename ... on Error { message } } }`);
    expect(finalized.data.finalizeModel.__typename).toBe('ValidationError');
    expect(finalized.data.finalizeModel.message).toMatch(/zipmap/i);
    const state = await gql(`query { model(name: "stepped", includePending: true) { state } }`);
    expect(state.data.model.state).toBe('PENDING');
  });
});

describe('predict over HTTP (KServe V1 and MLflow)', () => {
  it('answers as predict does, with the same auth and project isolation', async () => {
    const { gql, key } = await churnProject(20);
    const td = await trainingDataset(gql, 1);
    await registerModel(key, 'http', await inputColumns(gql, td), td);
    await gql(CREATE_DEPLOYMENT, { input: { name: 'http_live', model: { name: 'http' } } });
    const entries = [{ customerid: 'c0001' }, { customerid: 'c0002' }];
    const expected = (await gql(PREDICT, { d: 'http_live', entries })).data.predict.predictions.map((p: { prediction: unknown }) => p.prediction);
    const base = await srv.listen();
    const post = (path: string, body: unknown, bearer: string | null = key) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify(body),
      });
    const kserve = await post('/v1/models/http_live:predict', { instances: entries });
    expect(kserve.status).toBe(200);
    expect(kserve.headers.get('x-granary-model-version')).toBe('1');
    expect(await kserve.json()).toEqual({ predictions: expected });
    const records = await post('/deployments/http_live/invocations', { dataframe_records: entries });
    expect(await records.json()).toEqual({ predictions: expected });
    const split = await post('/invocations?deployment=http_live', { dataframe_split: { columns: ['customerid'], data: [['c0001'], ['c0002']] } });
    expect(await split.json()).toEqual({ predictions: expected });
    const status = await fetch(`${base}/v1/models/http_live`, { headers: { authorization: `Bearer ${key}` } });
    expect(await status.json()).toEqual({ name: 'http_live', ready: true });

    expect((await post('/v1/models/http_live:predict', { instances: entries }, null)).status).toBe(401);
    const other = await srv.newProject('dep_http_other');
    const hidden = await post('/v1/models/http_live:predict', { instances: entries }, other.key);
    expect(hidden.status).toBe(404);
    const bad = await post('/v1/models/http_live:predict', { rows: entries });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: { path: unknown }[] }).issues[0]?.path).toEqual(['instances']);
    const notJson = await fetch(`${base}/v1/models/http_live:predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(notJson.status).toBe(415);
    await gql(`mutation { stopDeployment(name: "http_live") { __typename } }`);
    expect((await post('/v1/models/http_live:predict', { instances: entries })).status).toBe(503);
  });
});
