import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, projectOf, type Gql } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const VECTOR = `query($entry: JSON!, $passed: JSON) {
  featureVector(featureView: { name: "subs" }, entry: $entry, passedFeatures: $passed) { features values record }
}`;
const VECTORS = `query($entries: [JSON!]!, $passed: [JSON]) {
  featureVectors(featureView: { name: "subs" }, entries: $entries, passedFeatures: $passed) { values }
}`;

/** A project with an online group of two customers and a view `subs` over it (label `churned`). */
async function subscriptions(): Promise<Gql> {
  const { gql } = await projectOf(srv, 'passed');
  await createGroup(gql, {
    name: 'customers',
    primaryKey: ['id'],
    onlineEnabled: true,
    features: [
      { name: 'id', type: 'STRING' },
      { name: 'tenure', type: 'BIGINT' },
      { name: 'charges', type: 'DOUBLE' },
      { name: 'plan', type: 'STRING' },
      { name: 'signup', type: 'TIMESTAMP' },
      { name: 'churned', type: 'BOOLEAN' },
    ],
  });
  const inserted = await gql(`mutation { insertFeatureGroupData(featureGroup: { name: "customers" }, rows: [
    { id: "a", tenure: 12, charges: 20.5, plan: "basic", signup: "2025-01-01T00:00:00Z", churned: false }
    { id: "b", tenure: 3, charges: 99.0, plan: "pro", signup: "2025-06-01T00:00:00Z", churned: true }
  ]) { __typename ... on Error { message } } }`);
  expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
  const view = await gql(
    `mutation { createFeatureView(input: { name: "subs", labels: ["churned"], query: { featureGroup: { name: "customers" } } }) { __typename ... on Error { message } } }`,
  );
  expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
  return gql;
}

function issuesOf(res: any): { path: (string | number)[]; message: string }[] {
  expect(res.errors, JSON.stringify(res)).toBeDefined();
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  return res.errors[0].extensions.issues;
}

describe('passedFeatures', () => {
  it('applies known features with values of their types', async () => {
    const gql = await subscriptions();
    const res = await gql(VECTOR, { entry: { id: 'a' }, passed: { tenure: 13, charges: '21.25', signup: '2025-02-01', plan: null } });
    expect(res.errors, JSON.stringify(res)).toBeUndefined();
    expect(res.data.featureVector.record).toEqual({
      id: 'a',
      tenure: 13,
      charges: 21.25,
      plan: null,
      signup: '2025-02-01T00:00:00.000000Z',
    });
  });

  it('refuses a misspelled feature, naming it and the view’s features, instead of serving the stored value', async () => {
    const gql = await subscriptions();
    const res = await gql(VECTOR, { entry: { id: 'a' }, passed: { tenur: 3 } });
    expect(res.data?.featureVector ?? null).toBeNull();
    const issues = issuesOf(res);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['passedFeatures', 'tenur']);
    expect(issues[0]!.message).toMatch(/"tenur" is not a feature of feature view subs/);
    expect(issues[0]!.message).toMatch(/did you mean tenure\?/);
    expect(issues[0]!.message).toMatch(/id, tenure, charges, plan, signup/);
    expect(res.errors?.[0]?.message).toMatch(/passedFeatures\.tenur/);
  });

  it('refuses a label: labels are not served', async () => {
    const gql = await subscriptions();
    const issues = issuesOf(await gql(VECTOR, { entry: { id: 'a' }, passed: { churned: true } }));
    expect(issues[0]).toMatchObject({ path: ['passedFeatures', 'churned'], message: expect.stringMatching(/label/) });
  });

  it.each([
    ['tenure', 'abc', /feature tenure: "abc" is not an integer \(the feature is BIGINT\)/],
    ['tenure', 2.5, /not an integer/],
    ['charges', 'lots', /feature charges: "lots" is not a number \(the feature is DOUBLE\)/],
    ['charges', true, /not a number/],
    ['plan', 7, /feature plan: 7 is not a string/],
    ['signup', 'yesterday', /feature signup: .*not an ISO 8601 timestamp/],
    ['plan', { nested: 1 }, /not a string/],
  ])('refuses %s = %j with a ValidationError naming the feature and its type, instead of serving null', async (name, value, pattern) => {
    const gql = await subscriptions();
    const issues = issuesOf(await gql(VECTOR, { entry: { id: 'a' }, passed: { [name]: value } }));
    expect(issues[0]!.path).toEqual(['passedFeatures', name]);
    expect(issues[0]!.message).toMatch(pattern);
  });

  it('reports every bad feature at once, and refuses passedFeatures that is not an object', async () => {
    const gql = await subscriptions();
    const issues = issuesOf(await gql(VECTOR, { entry: { id: 'a' }, passed: { tenur: 1, charges: 'x', plan: 'ok' } }));
    expect(issues.map((i) => i.path)).toEqual([
      ['passedFeatures', 'tenur'],
      ['passedFeatures', 'charges'],
    ]);
    const list = issuesOf(await gql(VECTOR, { entry: { id: 'a' }, passed: [1, 2] }));
    expect(list[0]!.path).toEqual(['passedFeatures']);
    const text = issuesOf(await gql(VECTOR, { entry: { id: 'a' }, passed: 'tenure=3' }));
    expect(text[0]!.path).toEqual(['passedFeatures']);
  });

  it('checks every entity of featureVectors, naming the entity’s index', async () => {
    const gql = await subscriptions();
    const ok = await gql(VECTORS, { entries: [{ id: 'a' }, { id: 'b' }], passed: [null, { tenure: '4' }] });
    expect(ok.errors, JSON.stringify(ok)).toBeUndefined();
    expect(ok.data.featureVectors.map((v: any) => v.values[1])).toEqual([12, 4]);
    const bad = await gql(VECTORS, { entries: [{ id: 'a' }, { id: 'b' }], passed: [{ tenure: 1 }, { tenurre: 4 }] });
    const issues = issuesOf(bad);
    expect(issues[0]!.path).toEqual(['passedFeatures', 1, 'tenurre']);
    expect(issues[0]!.message).toMatch(/did you mean tenure\?/);
    const wrong = issuesOf(await gql(VECTORS, { entries: [{ id: 'a' }], passed: [{ charges: 'abc' }] }));
    expect(wrong[0]).toMatchObject({ path: ['passedFeatures', 0, 'charges'], message: expect.stringMatching(/DOUBLE/) });
  });

  it('refuses a passed __proto__ (own key of a parsed body) like any unknown name', async () => {
    const gql = await subscriptions();
    // JSON.parse makes __proto__ an own key, as yoga's body parsing does.
    const issues = issuesOf(await gql(VECTOR, JSON.parse('{"entry": {"id": "a"}, "passed": {"__proto__": {"tenure": 1}}}')));
    expect(issues[0]!.path).toEqual(['passedFeatures', '__proto__']);
  });
});
