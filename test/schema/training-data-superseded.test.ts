import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const CREATE_FG = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`;
const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } } }`;
const CREATE_FV = `mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`;
const CREATE_TD = `mutation($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
  createTrainingDataset(featureView: $fv, input: $input) { __typename ... on Error { message } }
}`;
const SPLIT_DATA = `query($fv: FeatureViewRef!, $version: Int, $transformed: Boolean) {
  trainingDataset(featureView: $fv, version: $version) { splits { name data(first: 1000, transformed: $transformed) { columns { name } rows } } }
}`;

describe('training data over superseded rows', () => {
  it('joins each identity’s row of the latest insert, when later inserts superseded part of earlier ones', async () => {
    const p = await srv.newProject('fv');
    const gql: Gql = (q, v) => srv.gql(q, v, p.key);
    const group = (name: string, features: { name: string; type: string }[]) => ({ name, primaryKey: ['id'], eventTime: 'at', onlineEnabled: false, features });
    const at = (day: number) => `2026-01-0${day}T00:00:00Z`;
    for (const def of [
      group('labels', [
        { name: 'id', type: 'BIGINT' },
        { name: 'at', type: 'TIMESTAMP' },
        { name: 'label', type: 'INT' },
      ]),
      group('profile', [
        { name: 'id', type: 'BIGINT' },
        { name: 'at', type: 'TIMESTAMP' },
        { name: 'tier', type: 'STRING' },
      ]),
    ]) {
      expect((await gql(CREATE_FG, { input: def })).data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    }
    const insert = async (name: string, rows: Record<string, unknown>[]) => {
      const res = await gql(INSERT, { fg: { name }, rows });
      expect(res.data.insertFeatureGroupData.__typename, JSON.stringify(res)).toBe('InsertFeatureGroupDataPayload');
    };
    await insert(
      'labels',
      [1, 2, 3].map((id) => ({ id, at: at(5), label: 0 })),
    );
    await insert('labels', [{ id: 2, at: at(5), label: 1 }]); // relabels one row
    await insert(
      'profile',
      [1, 2, 3].map((id) => ({ id, at: at(1), tier: 'a' })),
    );
    await insert('profile', [
      { id: 1, at: at(1), tier: 'b' }, // supersedes part of the first insert
      { id: 2, at: at(2), tier: 'b' }, // a new row, superseded below
    ]);
    await insert('profile', [
      { id: 2, at: at(2), tier: 'c' },
      { id: 3, at: at(1), tier: 'c' },
    ]);
    await insert('profile', [{ id: 1, at: at(9), tier: 'future' }]); // after every label: never joined
    const view = await gql(CREATE_FV, {
      input: {
        name: 'superseded_view',
        labels: ['label'],
        query: { featureGroup: { name: 'labels' }, joins: [{ featureGroup: { name: 'profile' }, features: ['tier'] }] },
      },
    });
    expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
    const td = await gql(CREATE_TD, { fv: { name: 'superseded_view' } });
    expect(td.data.createTrainingDataset.__typename, JSON.stringify(td)).toBe('CreateTrainingDatasetPayload');
    const data = await gql(SPLIT_DATA, { fv: { name: 'superseded_view' }, version: 1, transformed: false });
    const [split] = data.data.trainingDataset.splits;
    const names = split.data.columns.map((c: any) => c.name);
    const rows = split.data.rows.map((r: any[]) => [r[names.indexOf('id')], r[names.indexOf('label')], r[names.indexOf('tier')]]);
    expect(rows.sort((a: number[], b: number[]) => a[0]! - b[0]!)).toEqual([
      [1, 0, 'b'],
      [2, 1, 'c'],
      [3, 0, 'c'],
    ]);
  });
});
