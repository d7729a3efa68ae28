import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, projectOf, smallGroup } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

describe('root queries for objects that do not exist', () => {
  it('answer null for the training dataset of a view that does not exist, with no internal message', async () => {
    const { gql } = await projectOf(srv, 'missing');
    const res = await gql(`{ trainingDataset(featureView: { name: "no_such_view" }, version: 1) { version splits { name } } }`);
    expect(res.errors, JSON.stringify(res)).toBeUndefined();
    expect(res.data).toEqual({ trainingDataset: null });
    // Also without a version, and for a view version that does not exist of a view that does.
    await createGroup(gql, smallGroup('things', [{ name: 'x' }]));
    const view = await gql(`mutation { createFeatureView(input: { name: "v", query: { featureGroup: { name: "things" } } }) { __typename } }`);
    expect(view.data.createFeatureView.__typename).toBe('CreateFeatureViewPayload');
    const latest = await gql(`{
      a: trainingDataset(featureView: { name: "no_such_view" }) { version }
      b: trainingDataset(featureView: { name: "v", version: 9 }) { version }
      c: trainingDataset(featureView: { name: "v" }) { version }
    }`);
    expect(latest.errors, JSON.stringify(latest)).toBeUndefined();
    expect(latest.data).toEqual({ a: null, b: null, c: null });
  });

  it('answer null for other missing objects through the root queries', async () => {
    const { gql } = await projectOf(srv, 'missing');
    const res = await gql(`{
      featureGroup(name: "nope") { id }
      featureView(name: "nope") { id }
      model(name: "nope") { id }
      bestModel(name: "nope", metric: "auc") { id }
      job(name: "nope") { id }
      execution(id: "nope") { id }
      dataSource(name: "nope") { name }
    }`);
    expect(res.errors, JSON.stringify(res)).toBeUndefined();
    expect(Object.values(res.data)).toEqual([null, null, null, null, null, null, null]);
  });
});
