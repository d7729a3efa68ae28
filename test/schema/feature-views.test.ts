import { countQueries } from '../helpers/query-count.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHURN_VIEW, churnRows, CUSTOMER_INFO, DEMOGRAPHY, SUBSCRIPTIONS } from '../helpers/churn.ts';
import { graphql, type ResultOf } from '../../src/client/graphql.ts';
import { ofType, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});

/** The server's base URL: it listens once, for every test of the file that needs a socket. */
let base: Promise<string> | undefined;
const listening = () => {
  base ??= srv.listen();
  return base;
};
afterAll(async () => {
  await srv?.close();
});

const CREATE_FG = graphql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`);
const INSERT = graphql(
  `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } } }`,
);
const CREATE_FV = graphql(`mutation($input: CreateFeatureViewInput!) {
  createFeatureView(input: $input) {
    __typename
    ... on CreateFeatureViewPayload { featureView { id name version labels servingKeys features { name type label featureGroup { name version } } transformations { function feature outputColumn } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`);

async function churnProject(customers = 30) {
  const p = await srv.newProject('fv');
  const gql = srv.as(p.key);
  const rows = churnRows(customers);
  for (const [def, data] of [
    [CUSTOMER_INFO, rows.info],
    [DEMOGRAPHY, rows.demography],
    [SUBSCRIPTIONS, rows.subscriptions],
  ] as const) {
    const created = await gql(CREATE_FG, { input: def });
    expect(created.data?.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    const inserted = await gql(INSERT, { fg: { name: def.name }, rows: data });
    expect(inserted.data?.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
  }
  return { ...p, gql, rows };
}

describe('feature views', () => {
  it('creates the seed churn view over three groups, with labels and transformations', async () => {
    const { gql } = await churnProject(10);
    const res = await gql(CREATE_FV, { input: CHURN_VIEW });
    const fv = ofType(res.data?.createFeatureView, 'CreateFeatureViewPayload', JSON.stringify(res)).featureView;
    expect(fv).toMatchObject({ name: 'churn_feature_view', version: 1, labels: ['churn'], servingKeys: ['customerid'] });
    expect(fv.features.map((f) => f.name)).toEqual([
      'contract',
      'tenure',
      'paymentmethod',
      'monthlycharges',
      'totalcharges',
      'churn',
      'gender',
      'seniorcitizen',
      'partner',
      'internetservice',
      'phoneservice',
    ]);
    expect(fv.features.find((f) => f.name === 'gender')!.featureGroup).toEqual({ name: 'customer_demography_info', version: 1 });
    expect(fv.features.find((f) => f.name === 'churn')!.label).toBe(true);
    expect(fv.transformations.map((t) => t.outputColumn)).toContain('label_encoder_contract_');
    // Get-or-create.
    const again = await gql(CREATE_FV, { input: CHURN_VIEW });
    expect(ofType(again.data?.createFeatureView, 'CreateFeatureViewPayload').featureView.id).toBe(fv.id);
    const conflict = await gql(CREATE_FV, { input: { ...CHURN_VIEW, version: 1, labels: [] } });
    expect(conflict.data?.createFeatureView.__typename).toBe('ConflictError');
    // A group a view reads cannot be deleted.
    const del = await gql(graphql(`mutation { deleteFeatureGroup(featureGroup: { name: "customer_info" }) { __typename ... on Error { message } } }`));
    expect(ofType(del.data?.deleteFeatureGroup, 'ConflictError').message).toMatch(/churn_feature_view/);
  });

  it.each([
    ['an unknown group', { query: { featureGroup: { name: 'nope' } } }, /nope/],
    ['an unknown feature', { query: { featureGroup: { name: 'customer_info' }, features: ['tenure', 'bogus'] } }, /bogus/],
    ['a label that is not selected', { labels: ['churn'], query: { featureGroup: { name: 'customer_info' }, features: ['tenure'] } }, /churn/],
    [
      'an unknown transformation',
      { query: { featureGroup: { name: 'customer_info' } }, transformations: [{ function: 'frobnicate', feature: 'tenure' }] },
      /frobnicate/,
    ],
    [
      'a transformation on an incompatible type',
      { query: { featureGroup: { name: 'customer_info' } }, transformations: [{ function: 'min_max_scaler', feature: 'contract' }] },
      /contract|STRING/,
    ],
    [
      'a name clash without prefix',
      {
        query: {
          featureGroup: { name: 'customer_info' },
          joins: [{ featureGroup: { name: 'customer_subscription_info' }, features: ['datetime', 'internetservice'] }],
        },
      },
      /datetime.*prefix|prefix.*datetime/,
    ],
  ])('refuses %s with a ValidationError naming it', async (_label, input, pattern) => {
    const { gql } = await churnProject(3);
    const res = await gql(CREATE_FV, { input: { name: 'bad', ...input } });
    const text = ofType(res.data?.createFeatureView, 'ValidationError', JSON.stringify(res))
      .issues.map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('\n');
    expect(text).toMatch(pattern);
    expect((await gql(graphql('{ featureViews { edges { node { id } } } }'))).data?.featureViews.edges).toEqual([]);
  });
});

const DESCRIBE = graphql(`mutation($fg: FeatureGroupRef!, $descriptions: [FeatureDescriptionInput!]) {
  updateFeatureGroup(featureGroup: $fg, input: { featureDescriptions: $descriptions }) { __typename ... on Error { message } }
}`);
const VIEW_DESCRIPTIONS = graphql(`query($name: String!) {
  featureView(name: $name) { id version features { name feature description featureGroup { name } } transformations { function feature description } }
}`);

describe('feature view feature descriptions', () => {
  it('are the source groups’ descriptions, as changed after the view was created, and transformations derive theirs', async () => {
    const { gql } = await churnProject(3);
    const described = await gql(DESCRIBE, { fg: { name: 'customer_info' }, descriptions: [{ name: 'contract', description: 'Contract term' }] });
    expect(described.data?.updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
    const created = await gql(CREATE_FV, { input: CHURN_VIEW });
    const id = ofType(created.data?.createFeatureView, 'CreateFeatureViewPayload', JSON.stringify(created)).featureView.id;

    // Described after the view exists, in the left group and in a joined group.
    for (const [fg, descriptions] of [
      ['customer_info', [{ name: 'tenure', description: 'Months as a customer' }]],
      ['customer_demography_info', [{ name: 'gender', description: 'Self-reported gender' }]],
    ] as const) {
      const res = await gql(DESCRIBE, { fg: { name: fg }, descriptions: [...descriptions] });
      expect(res.data?.updateFeatureGroup.__typename, JSON.stringify(res)).toBe('UpdateFeatureGroupPayload');
    }
    const view = (await gql(VIEW_DESCRIPTIONS, { name: 'churn_feature_view' })).data!.featureView!;
    const description = (name: string) => view.features.find((f) => f.name === name)!.description;
    expect(description('contract')).toBe('Contract term');
    expect(description('tenure')).toBe('Months as a customer');
    expect(description('gender')).toBe('Self-reported gender');
    expect(view.features.find((f) => f.name === 'gender')!.featureGroup.name).toBe('customer_demography_info');
    expect(description('partner')).toBe('');

    const transformation = (feature: string) => view.transformations.find((t) => t.feature === feature)!.description;
    expect(transformation('tenure')).toBe('min_max_scaler of tenure: Months as a customer');
    expect(transformation('gender')).toBe('label_encoder of gender: Self-reported gender');
    expect(transformation('partner')).toBe('label_encoder of partner');

    // A description is documentation, not definition: the same view is still got, not created again.
    const again = await gql(CREATE_FV, { input: CHURN_VIEW });
    expect(ofType(again.data?.createFeatureView, 'CreateFeatureViewPayload', JSON.stringify(again)).featureView).toMatchObject({ id, version: 1 });
    const pinned = await gql(CREATE_FV, { input: { ...CHURN_VIEW, version: 1 } });
    expect(ofType(pinned.data?.createFeatureView, 'CreateFeatureViewPayload', JSON.stringify(pinned)).featureView.id).toBe(id);
  });

  it('are read with the views of a list in a fixed number of queries', async () => {
    const { gql } = await churnProject(2);
    await gql(DESCRIBE, { fg: { name: 'customer_info' }, descriptions: [{ name: 'tenure', description: 'Months as a customer' }] });
    const LIST = graphql('{ featureViews(first: 50) { edges { node { name features { name description } transformations { description } } } } }');
    const measure = async (views: number) => {
      for (let i = 0; i < views; i++) {
        const name = `view_${String(i).padStart(2, '0')}`;
        if ((await gql(VIEW_DESCRIPTIONS, { name })).data?.featureView) continue;
        const res = await gql(CREATE_FV, {
          input: {
            name,
            query: { featureGroup: { name: 'customer_info' }, features: ['tenure'] },
            transformations: [{ function: 'min_max_scaler', feature: 'tenure' }],
          },
        });
        expect(res.data?.createFeatureView.__typename, JSON.stringify(res)).toBe('CreateFeatureViewPayload');
      }
      await gql(LIST);
      const { value, queries } = await countQueries(() => gql(LIST));
      const nodes = value.data!.featureViews.edges.map((e) => e.node);
      expect(nodes).toHaveLength(views);
      for (const node of nodes) {
        expect(node.features).toEqual([{ name: 'tenure', description: 'Months as a customer' }]);
        expect(node.transformations).toEqual([{ description: 'min_max_scaler of tenure: Months as a customer' }]);
      }
      return queries;
    };
    const few = await measure(2);
    const many = await measure(12);
    expect(many).toBe(few);
  });
});

const CREATE_TD = graphql(`mutation($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
  createTrainingDataset(featureView: $fv, input: $input) {
    __typename
    ... on CreateTrainingDatasetPayload { trainingDataset { version splits { name rowCount } transformationStatistics } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`);

const SPLIT_DATA = graphql(`query($fv: FeatureViewRef!, $version: Int, $transformed: Boolean) {
  trainingDataset(featureView: $fv, version: $version) { version splits { name rowCount data(first: 100000, transformed: $transformed) { columns { name type } rows rowCount } } }
}`);

describe('training datasets and batch data', () => {
  it('splits the seed view reproducibly, with Hopsworks-named transformed columns and churn as label', async () => {
    const { gql } = await churnProject(60);
    await gql(CREATE_FV, { input: CHURN_VIEW });
    const first = await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.3, seed: 7 } });
    const td = ofType(first.data?.createTrainingDataset, 'CreateTrainingDatasetPayload', JSON.stringify(first)).trainingDataset;
    expect(td.version).toBe(1);
    const counts = Object.fromEntries(td.splits.map((s) => [s.name, s.rowCount]));
    expect(counts.train! + counts.test!).toBe(60);
    expect(counts.test).toBeGreaterThan(5);

    const data = await gql(SPLIT_DATA, { fv: { name: 'churn_feature_view' }, version: 1 });
    const train = data.data!.trainingDataset!.splits.find((s) => s.name === 'train')!.data;
    const names = train.columns.map((c) => c.name);
    expect(names).toEqual([
      'label_encoder_contract_',
      'min_max_scaler_tenure_',
      'label_encoder_paymentmethod_',
      'min_max_scaler_monthlycharges_',
      'min_max_scaler_totalcharges_',
      'churn',
      'label_encoder_gender_',
      'seniorcitizen',
      'label_encoder_partner_',
      'label_encoder_internetservice_',
      'label_encoder_phoneservice_',
    ]);
    // Fitted on train: scaled train values span exactly [0, 1].
    const tenure = (train.rows as number[][]).map((r) => r[names.indexOf('min_max_scaler_tenure_')]!);
    expect(Math.min(...tenure)).toBe(0);
    expect(Math.max(...tenure)).toBe(1);

    // Same seed, same data: the same rows in each split.
    await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.3, seed: 7 } });
    const again = await gql(SPLIT_DATA, { fv: { name: 'churn_feature_view' }, version: 2, transformed: false });
    const before = await gql(SPLIT_DATA, { fv: { name: 'churn_feature_view' }, version: 1, transformed: false });
    expect(again.data?.trainingDataset?.splits).toEqual(before.data?.trainingDataset?.splits);
    const other = await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.3, seed: 8 } });
    const otherData = await gql(SPLIT_DATA, {
      fv: { name: 'churn_feature_view' },
      version: ofType(other.data?.createTrainingDataset, 'CreateTrainingDatasetPayload').trainingDataset.version,
      transformed: false,
    });
    expect(otherData.data?.trainingDataset?.splits).not.toEqual(before.data?.trainingDataset?.splits);
  });

  it('downloads a split as CSV and Parquet, transformed or raw, with the same auth as the API', async () => {
    const { gql, key } = await churnProject(40);
    const other = await srv.newProject('fvdl');
    const base = await listening();
    await gql(CREATE_FV, { input: CHURN_VIEW });
    const created = await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.25, seed: 5 } });
    ofType(created.data?.createTrainingDataset, 'CreateTrainingDatasetPayload', JSON.stringify(created));
    const urls = await gql(
      graphql(`{ trainingDataset(featureView: { name: "churn_feature_view" }, version: 1) {
        splits { name rowCount csv: downloadUrl(format: CSV) raw: downloadUrl(format: CSV, transformed: false) parquet: downloadUrl }
      } }`),
    );
    const test = urls.data!.trainingDataset!.splits.find((s) => s.name === 'test')!;
    expect(test.csv).toBe('/files/feature-views/churn_feature_view/1/training-datasets/1/test.csv');
    const get = (path: string, k?: string) => fetch(base + path, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    const asApi = async (transformed: boolean) => {
      const res = await gql(SPLIT_DATA, { fv: { name: 'churn_feature_view' }, version: 1, transformed });
      return res.data!.trainingDataset!.splits.find((s) => s.name === 'test')!.data;
    };
    for (const [path, transformed] of [
      [test.csv, true],
      [test.raw, false],
    ] as const) {
      const res = await get(path, key);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain(`churn_feature_view_1_td1_test${transformed ? '' : '_raw'}.csv`);
      const lines = (await res.text()).trim().split('\n');
      const api = await asApi(transformed);
      expect(lines[0]!.split(',')).toEqual(api.columns.map((c) => c.name));
      expect(lines).toHaveLength(test.rowCount + 1);
    }
    const parquet = await get(test.parquet, key);
    expect(parquet.status).toBe(200);
    expect(
      Buffer.from(await parquet.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('PAR1');
    // No key, another project's key, an unknown split: nothing of the data.
    expect((await get(test.csv)).status).toBe(401);
    expect((await get(test.csv, other.key)).status).toBe(404);
    expect((await get('/files/feature-views/churn_feature_view/1/training-datasets/1/holdout.csv', key)).status).toBe(404);
    expect((await get('/files/feature-views/churn_feature_view/1/training-datasets/9/test.csv', key)).status).toBe(404);
    expect((await get(`${test.csv}?transformed=maybe`, key)).status).toBe(400);
  });

  it.each([
    ['overlapping time windows', { trainStart: '2026-02-01T00:00:00Z', trainEnd: '2026-02-15T00:00:00Z', testStart: '2026-02-10T00:00:00Z' }, /overlap/],
    ['an empty split', { trainEnd: '2026-02-10T00:00:00Z', testStart: '2027-01-01T00:00:00Z' }, /test split is empty/],
    ['sizes that add up to 1', { split: 'RANDOM' as const, testSize: 0.5, validationSize: 0.5 }, /below 1/],
  ])('refuses %s with a ValidationError, and creates nothing', async (_label, input, pattern) => {
    const { gql, name } = await churnProject(20);
    await gql(CREATE_FV, { input: CHURN_VIEW });
    const res = await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input });
    expect(ofType(res.data?.createTrainingDataset, 'ValidationError', JSON.stringify(res)).message).toMatch(pattern);
    expect((await gql(graphql('{ featureView(name: "churn_feature_view") { trainingDatasets { version } } }'))).data?.featureView?.trainingDatasets).toEqual(
      [],
    );
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${srv.dataDir}/training-datasets/${name}/churn_feature_view_1/1`)).toBe(false);
  });

  it('gives batch data without labels, transformed with the training dataset’s parameters, also as a file', async () => {
    const { gql, key } = await churnProject(25);
    await gql(CREATE_FV, { input: CHURN_VIEW });
    const noTd = await gql(graphql(`{ batchData(featureView: { name: "churn_feature_view" }) { rowCount } }`));
    expect(noTd.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.2 } });
    const res = await gql(
      graphql(`{ batchData(featureView: { name: "churn_feature_view" }, includeKeys: true, first: 1000) { columns { name } rows rowCount } }`),
    );
    const batch = res.data!.batchData;
    expect(batch.rowCount).toBe(25);
    const names = batch.columns.map((c) => c.name);
    expect(names.slice(0, 2)).toEqual(['customerid', 'datetime']);
    expect(names).not.toContain('churn');
    expect(names).toContain('label_encoder_contract_');
    const raw = await gql(graphql(`{ batchData(featureView: { name: "churn_feature_view" }, transformed: false, first: 3) { columns { name } rowCount } }`));
    expect(raw.data?.batchData.columns.map((c) => c.name)).toContain('contract');
    expect(raw.data?.batchData.rowCount).toBe(3);

    // The same rows as a file: the CSV download equals the API's rows, the Parquet one is Parquet.
    const base = await listening();
    const get = (path: string, k: string | null = key) => fetch(base + path, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    const csv = await get('/files/feature-views/churn_feature_view/1/batch-data.csv?includeKeys=true');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toContain('churn_feature_view_1_batch.csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]!.split(',')).toEqual(names);
    expect(lines).toHaveLength(26);
    expect(lines[1]!.split(',')[0]).toBe((batch.rows as unknown[][])[0]![0]);
    const untransformed = await get('/files/feature-views/churn_feature_view/1/batch-data.csv?transformed=false&first=3');
    expect((await untransformed.text()).trim().split('\n')).toHaveLength(4);
    const parquet = await get('/files/feature-views/churn_feature_view/1/batch-data.parquet');
    expect(
      Buffer.from(await parquet.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('PAR1');
    // The columns file: numbers as bytes, text as JSON arrays, block by block (columns-file.ts).
    const columns = await get('/files/feature-views/churn_feature_view/1/batch-data.columns?includeKeys=true');
    expect(columns.headers.get('content-type')).toBe('application/vnd.granary.columns');
    const file = Buffer.from(await columns.arrayBuffer());
    expect(file.subarray(0, 8).toString()).toBe('GRCOLS01');
    const headerLength = file.readUInt32LE(8);
    const header = JSON.parse(file.subarray(16, 16 + headerLength).toString()) as { columns: { name: string; encoding: string }[] };
    expect(header.columns.map((c) => c.name)).toEqual(names);
    const decoded: unknown[][] = header.columns.map(() => []);
    let at = 16 + headerLength + ((8 - (headerLength % 8)) % 8);
    const align = (n: number) => n + ((8 - (n % 8)) % 8);
    for (let rows = file.readUInt32LE(at); rows > 0; rows = file.readUInt32LE(at)) {
      at += 8;
      header.columns.forEach((column, k) => {
        const validity = file.readUInt32LE(at);
        const bytes = file.readUInt32LE(at + 4);
        at += 8;
        const mask = validity > 0 ? file.subarray(at, at + validity) : null;
        at = align(at + validity);
        const valid = (r: number) => mask === null || (mask[r >> 3]! & (1 << (r & 7))) !== 0;
        const data = file.subarray(at, at + bytes);
        for (let r = 0; r < rows; r++) {
          if (column.encoding === 'text') decoded[k]!.push((JSON.parse(data.toString()) as unknown[])[r]);
          else if (column.encoding === 'f8') decoded[k]!.push(valid(r) ? data.readDoubleLE(r * 8) : null);
          else if (column.encoding === 'i8') decoded[k]!.push(valid(r) ? Number(data.readBigInt64LE(r * 8)) : null);
          else if (column.encoding === 'i4') decoded[k]!.push(valid(r) ? data.readInt32LE(r * 4) : null);
          else if (column.encoding === 'ts_us') decoded[k]!.push(valid(r) ? new Date(Number(data.readBigInt64LE(r * 8) / 1000n)).toISOString() : null);
          else decoded[k]!.push(column.encoding);
        }
        at = align(at + bytes);
      });
    }
    const apiRows = (batch.rows as unknown[][]).map((row) =>
      row.map((v) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v).toISOString() : v)),
    );
    expect(decoded[0]).toHaveLength(25);
    expect(decoded[0]!.map((_, r) => decoded.map((c) => c[r]))).toEqual(apiRows);
    expect((await get('/files/feature-views/churn_feature_view/1/batch-data.csv', null)).status).toBe(401);
    expect((await get('/files/feature-views/churn_feature_view/1/batch-data.csv?startTime=soon')).status).toBe(400);
    expect((await get('/files/feature-views/churn_feature_view/1/batch-data.csv?trainingDatasetVersion=7')).status).toBe(404);
  });
});

const VECTORS = graphql(`query($fv: FeatureViewRef!, $entries: [JSON!]!, $passed: [JSON]) {
  featureVectors(featureView: $fv, entries: $entries, passedFeatures: $passed) { features values record missing }
}`);

/** A feature vector with its JSON record read as an object. */
type Vector = ResultOf<typeof VECTORS>['featureVectors'][number] & { record: Record<string, unknown> };

describe('online feature vectors', () => {
  it('equal the latest batch row of every entity: same transformations, same values', async () => {
    const customers = 40;
    const { gql, rows } = await churnProject(customers);
    // A second, later commit of some customers: both stores must pick it.
    const later = rows.info.slice(0, 10).map((r) => ({ ...r, tenure: r.tenure + 1, datetime: '2026-03-15T00:00:00.000Z' }));
    await gql(INSERT, { fg: { name: 'customer_info' }, rows: later });
    await gql(CREATE_FV, { input: CHURN_VIEW });
    await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: { split: 'RANDOM', testSize: 0.25 } });
    const batch = (await gql(graphql(`{ batchData(featureView: { name: "churn_feature_view" }, includeKeys: true, first: 100000) { columns { name } rows } }`)))
      .data!.batchData;
    const names: string[] = batch.columns.map((c) => c.name);
    const latest = new Map<string, [string, string, ...unknown[]]>();
    for (const row of batch.rows as [string, string, ...unknown[]][]) {
      const [id, ts] = row;
      const seen = latest.get(id);
      if (!seen || ts > seen[1]) latest.set(id, row);
    }
    const ids = [...latest.keys()].sort();
    expect(ids).toHaveLength(customers);
    const vectors = (await gql(VECTORS, { fv: { name: 'churn_feature_view' }, entries: ids.map((customerid) => ({ customerid })) })).data!.featureVectors;
    expect(vectors[0]!.features).toEqual(names.slice(2));
    vectors.forEach((v, i) => {
      expect(v.missing).toEqual([]);
      expect(v.values, ids[i]).toEqual(latest.get(ids[i]!)!.slice(2));
    });
  });

  it('reports missing keys with nulls, and applies passed features before transforming', async () => {
    const { gql } = await churnProject(5);
    await gql(CREATE_FV, { input: CHURN_VIEW });
    const td = await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: {} });
    expect(ofType(td.data?.createTrainingDataset, 'CreateTrainingDatasetPayload').trainingDataset.splits).toEqual([{ name: 'train', rowCount: 5 }]);
    const res = await gql(VECTORS, {
      fv: { name: 'churn_feature_view' },
      entries: [{ customerid: 'nobody' }, { customerid: 'c0001' }],
      passed: [null, { contract: 'No such contract' }],
    });
    if (!res.data) throw new Error(JSON.stringify(res));
    const [none, passed] = res.data.featureVectors as [Vector, Vector];
    expect(none.missing.sort()).toEqual(['customer_demography_info', 'customer_info', 'customer_subscription_info']);
    expect(none.record.min_max_scaler_tenure_).toBeNull();
    expect(passed.missing).toEqual([]);
    expect(passed.record.label_encoder_contract_).toBe(-1);
    const bad = await gql(VECTORS, { fv: { name: 'churn_feature_view' }, entries: [{ id: 1 }] });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/customerid/);
  });
});

describe('models trained from a view', () => {
  it('get the schema derived from the training dataset, and both sides of the link agree', async () => {
    const { gql } = await churnProject(20);
    await gql(CREATE_FV, { input: CHURN_VIEW });
    await gql(CREATE_TD, { fv: { name: 'churn_feature_view' }, input: {} });
    const res = await gql(
      graphql(
        `mutation($input: CreateModelInput!) { createModel(input: $input) { __typename ... on CreateModelPayload { model { id name version modelSchema featureView { name version } trainingDataset { version } } } ... on Error { message } } }`,
      ),
      { input: { name: 'churnmodel', framework: 'OTHER', metrics: { roc_auc: 0.8 }, featureView: { name: 'churn_feature_view' }, trainingDatasetVersion: 1 } },
    );
    const model = ofType(res.data?.createModel, 'CreateModelPayload', JSON.stringify(res)).model;
    const modelSchema = model.modelSchema as { [side in 'inputSchema' | 'outputSchema']: { columnarSchema: { name: string }[] } };
    expect(model.featureView).toEqual({ name: 'churn_feature_view', version: 1 });
    expect(model.trainingDataset).toEqual({ version: 1 });
    const batch = (await gql(graphql(`{ batchData(featureView: { name: "churn_feature_view" }, first: 1) { columns { name } } }`))).data!.batchData;
    const inputs = modelSchema.inputSchema.columnarSchema.map((c) => c.name);
    expect(inputs).toEqual(batch.columns.map((c) => c.name));
    expect(modelSchema.outputSchema.columnarSchema.map((c) => c.name)).toEqual(['churn']);
    const view = await gql(graphql(`{ featureView(name: "churn_feature_view") { models { id name version } } }`));
    expect(view.data?.featureView?.models).toEqual([{ id: model.id, name: 'churnmodel', version: 1 }]);
  });
});
