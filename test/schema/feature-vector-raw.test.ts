import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf, type Gql, ofType, startTestServer, type TestServer } from '../helpers/server.ts';

// `featureVector(transformed: false)` and `featureVectors(transformed: false)`: the raw feature
// values as stored online, beside the transformed ones, on a small view with a min_max_scaler.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_FG = graphql(
  `mutation RawVectorGroup($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
);
const INSERT = graphql(`
  mutation RawVectorInsert($fg: FeatureGroupRef!, $rows: [JSON!]) {
    insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } }
  }
`);
const CREATE_FV = graphql(`
  mutation RawVectorView($input: CreateFeatureViewInput!) {
    createFeatureView(input: $input) {
      __typename
      ... on CreateFeatureViewPayload { featureView { servingKeys transformations { outputColumn } } }
      ... on Error { message }
    }
  }
`);
const CREATE_TD = graphql(`
  mutation RawVectorTrainingData($fv: FeatureViewRef!) {
    createTrainingDataset(featureView: $fv, input: {}) {
      __typename
      ... on CreateTrainingDatasetPayload { trainingDataset { version splits { name rowCount } } }
      ... on Error { message }
    }
  }
`);
const VECTOR = graphql(`
  query RawVector($entry: JSON!, $transformed: Boolean, $passed: JSON, $td: Int) {
    featureVector(featureView: { name: "meter_view" }, entry: $entry, transformed: $transformed, passedFeatures: $passed, trainingDatasetVersion: $td) {
      features
      values
      record
      missing
    }
  }
`);
const VECTORS = graphql(`
  query RawVectors($entries: [JSON!]!, $transformed: Boolean) {
    featureVectors(featureView: { name: "meter_view" }, entries: $entries, transformed: $transformed) { features values missing }
  }
`);
const ONLINE_ROWS = graphql(`
  query RawVectorOnlineRows($entries: [JSON!]!) {
    featureGroup(name: "meters") { onlineRows(entries: $entries) { records found } }
  }
`);

const METERS = [
  { id: 1, reading: 10, site: 'a', faulty: 0 },
  { id: 2, reading: 20, site: 'b', faulty: 1 },
  { id: 3, reading: 30, site: 'a', faulty: 0 },
  { id: 4, reading: 50, site: 'c', faulty: 1 },
];

/** A project with the online group `meters` and the view `meter_view` (reading scaled, site as is, faulty the label); no training dataset yet. */
async function meterProject(): Promise<Gql> {
  const p = await srv.newProject('rawfv');
  const gql = srv.as(p.key);
  const group = {
    name: 'meters',
    primaryKey: ['id'],
    onlineEnabled: true,
    features: [
      { name: 'id', type: 'INT' },
      { name: 'reading', type: 'DOUBLE' },
      { name: 'site', type: 'STRING' },
      { name: 'faulty', type: 'INT' },
    ],
  };
  ofType(dataOf(await gql(CREATE_FG, { input: group })).createFeatureGroup, 'CreateFeatureGroupPayload');
  ofType(dataOf(await gql(INSERT, { fg: { name: 'meters' }, rows: METERS })).insertFeatureGroupData, 'InsertFeatureGroupDataPayload');
  const view = {
    name: 'meter_view',
    labels: ['faulty'],
    query: { featureGroup: { name: 'meters' }, features: ['reading', 'site', 'faulty'] },
    transformations: [{ function: 'min_max_scaler', feature: 'reading' }],
  };
  const created = ofType(dataOf(await gql(CREATE_FV, { input: view })).createFeatureView, 'CreateFeatureViewPayload');
  expect(created.featureView.servingKeys).toEqual(['id']);
  expect(created.featureView.transformations.map((t) => t.outputColumn)).toEqual(['min_max_scaler_reading_']);
  return gql;
}

describe('raw feature vectors (transformed: false)', () => {
  it('are the online row’s values, while transformed ones are scaled with the training split’s min and max', async () => {
    const gql = await meterProject();
    const td = ofType(dataOf(await gql(CREATE_TD, { fv: { name: 'meter_view' } })).createTrainingDataset, 'CreateTrainingDatasetPayload');
    expect(td.trainingDataset.splits).toEqual([{ name: 'train', rowCount: 4 }]);

    const online = dataOf(await gql(ONLINE_ROWS, { entries: [{ id: 2 }] })).featureGroup!.onlineRows;
    expect(online.found).toBe(1);
    const row = (online.records as Record<string, unknown>[])[0]!;
    expect(row).toMatchObject({ id: 2, reading: 20, site: 'b' });

    const raw = dataOf(await gql(VECTOR, { entry: { id: 2 }, transformed: false })).featureVector;
    expect(raw.features).toEqual(['reading', 'site']);
    expect(raw.values).toEqual([row.reading, row.site]);
    expect(raw.record).toEqual({ reading: row.reading, site: row.site });
    expect(raw.missing).toEqual([]);

    // Fitted on the train split (every row): min 10, max 50, so 20 → 0.25. The default is transformed.
    const scaled = dataOf(await gql(VECTOR, { entry: { id: 2 } })).featureVector;
    expect(scaled.features).toEqual(['min_max_scaler_reading_', 'site']);
    expect(scaled.values).toEqual([(20 - 10) / (50 - 10), 'b']);
    const explicit = dataOf(await gql(VECTOR, { entry: { id: 2 }, transformed: true })).featureVector;
    expect(explicit).toEqual(scaled);

    // Raw again after transformed: each form has its own plan, neither serves the other's.
    const rawAgain = dataOf(await gql(VECTOR, { entry: { id: 4 }, transformed: false })).featureVector;
    expect(rawAgain.values).toEqual([50, 'c']);
    const scaledAgain = dataOf(await gql(VECTOR, { entry: { id: 4 } })).featureVector;
    expect(scaledAgain.values).toEqual([1, 'c']);
  });

  it('need no training dataset, apply passed features as given, and check a training dataset version that is named', async () => {
    const gql = await meterProject();
    // Transformed vectors need fitted parameters: refused before any training dataset exists.
    const refused = await gql(VECTOR, { entry: { id: 1 } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toMatch(/no training dataset/);

    const raw = dataOf(await gql(VECTOR, { entry: { id: 3 }, transformed: false })).featureVector;
    expect(raw.values).toEqual([30, 'a']);
    const passed = dataOf(await gql(VECTOR, { entry: { id: 3 }, transformed: false, passed: { reading: 42.5 } })).featureVector;
    expect(passed.record).toEqual({ reading: 42.5, site: 'a' });

    const unknownVersion = await gql(VECTOR, { entry: { id: 3 }, transformed: false, td: 9 });
    expect(unknownVersion.data?.featureVector ?? null).toBeNull();
    expect(unknownVersion.errors?.[0]?.message).toMatch(/9/);
  });

  it('come in order for several entities, with nulls and the group named for an entity without an online row', async () => {
    const gql = await meterProject();
    ofType(dataOf(await gql(CREATE_TD, { fv: { name: 'meter_view' } })).createTrainingDataset, 'CreateTrainingDatasetPayload');
    const entries = [{ id: 4 }, { id: 99 }, { id: 1 }];
    const raw = dataOf(await gql(VECTORS, { entries, transformed: false })).featureVectors;
    expect(raw.map((v) => v.values)).toEqual([
      [50, 'c'],
      [null, null],
      [10, 'a'],
    ]);
    expect(raw.map((v) => v.missing)).toEqual([[], ['meters'], []]);
    expect(raw[0]!.features).toEqual(['reading', 'site']);
    const scaled = dataOf(await gql(VECTORS, { entries })).featureVectors;
    expect(scaled.map((v) => v.values)).toEqual([
      [1, 'c'],
      [null, null],
      [0, 'a'],
    ]);
  });

  it('keep their serving plan across commits of the group, and build it again when the group’s definition changes', async () => {
    const gql = await meterProject();
    const views = vi.spyOn(srv.app.services.featureViews, 'get');
    const builds = async () => {
      // The change feed is delivered after the change's transaction: let it arrive first.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = views.mock.calls.length;
      expect(dataOf(await gql(VECTOR, { entry: { id: 2 }, transformed: false })).featureVector?.record).toEqual({ reading: 20, site: 'b' });
      return views.mock.calls.length - before;
    };
    try {
      expect(await builds()).toBe(1);
      expect(await builds()).toBe(0);
      // A commit (as the prediction log makes every few seconds) changes rows, not the plan.
      ofType(
        dataOf(await gql(INSERT, { fg: { name: 'meters' }, rows: [{ id: 5, reading: 60, site: 'd', faulty: 0 }] })).insertFeatureGroupData,
        'InsertFeatureGroupDataPayload',
      );
      expect(await builds()).toBe(0);
      const update = await gql(
        `mutation { updateFeatureGroup(featureGroup: { name: "meters" }, input: { description: "meters of the sites" }) { __typename } }`,
      );
      expect((update.data as { updateFeatureGroup: { __typename: string } }).updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
      expect(await builds()).toBe(1);
    } finally {
      views.mockRestore();
    }
  });
});
