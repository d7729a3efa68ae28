import { countQueries } from '../helpers/query-count.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churnObjects, createGroup, projectOf, smallGroup, type Gql } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

// Every expectation here is exact, and the suite runs on SQLite (FTS5) and PostgreSQL (full-text
// search) alike: both providers give the same results in the same order.

const SEARCH = `query($term: String!, $kinds: [SearchKind!], $tag: SearchTagFilter, $keyword: String, $first: Int, $after: String) {
  search(term: $term, kinds: $kinds, tag: $tag, keyword: $keyword, first: $first, after: $after) {
    edges { cursor node { id kind name version matches } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function search(gql: Gql, term: string, extra: Record<string, unknown> = {}) {
  const res = await gql(SEARCH, { term, ...extra });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data.search.edges.map((e: any) => e.node);
}

/** Results as `KIND name version`. */
async function found(gql: Gql, term: string, extra: Record<string, unknown> = {}) {
  return (await search(gql, term, extra)).map((n: any) => `${n.kind} ${n.name} ${n.version}`);
}

async function tagSchema(gql: Gql, name: string, schema: unknown) {
  const res = await gql(`mutation($name: String!, $schema: JSON!) { createTagSchema(name: $name, schema: $schema) { __typename } }`, { name, schema });
  expect(res.data.createTagSchema.__typename).toBe('CreateTagSchemaPayload');
}

async function tag(gql: Gql, target: string, name: string, value: unknown) {
  const res = await gql(`mutation($t: ID!, $n: String!, $v: JSON!) { addTag(target: $t, name: $n, value: $v) { __typename ... on Error { message } } }`, {
    t: target,
    n: name,
    v: value,
  });
  expect(res.data.addTag.__typename, JSON.stringify(res)).toBe('AddTagPayload');
}

describe('search', () => {
  it('finds a group by a feature’s name and by a tag value, and never another project’s objects', async () => {
    const mine = await projectOf(srv, 'srch');
    const other = await projectOf(srv, 'srch');
    for (const { gql } of [mine, other]) {
      await tagSchema(gql, 'owner', { type: 'object', properties: { team: { type: 'string' } } });
      const group = await createGroup(
        gql,
        smallGroup('customer_info', [{ name: 'tenure', type: 'INT', description: 'Months as a customer' }, { name: 'monthlycharges' }], {
          description: 'Customer contracts',
        }),
      );
      await tag(gql, group.id, 'owner', { team: gql === mine.gql ? 'growth' : 'finance' });
    }
    const byFeature = await search(mine.gql, 'tenure');
    expect(byFeature).toHaveLength(1);
    expect(byFeature[0]).toMatchObject({ kind: 'FEATURE_GROUP', name: 'customer_info', version: 1 });
    expect(byFeature[0].matches).toEqual(['feature: <em>tenure</em>']);
    const own = (await mine.gql(`{ featureGroup(name: "customer_info") { id } }`)).data.featureGroup.id;
    expect(byFeature[0].id).toBe(own);

    const byTag = await search(mine.gql, 'growth');
    expect(byTag.map((n: any) => n.id)).toEqual([own]);
    expect(byTag[0].matches).toEqual(['tag owner: {"team":"<em>growth</em>"}']);
    // The other project's tag value is not found here, nor is anything of theirs.
    expect(await search(mine.gql, 'finance')).toEqual([]);
    expect((await search(other.gql, 'finance')).map((n: any) => n.id)).not.toContain(own);
    expect((await search(mine.gql, 'customer')).map((n: any) => n.id)).toEqual([own]);
    // Feature descriptions, the group's description, prefixes and several words (all must match).
    expect((await search(mine.gql, 'months'))[0].matches).toEqual(['description of feature tenure: <em>Months</em> as a customer']);
    expect((await search(mine.gql, 'contr'))[0].matches).toEqual(['description: Customer <em>contracts</em>']);
    expect(await found(mine.gql, 'monthly charges')).toEqual([]);
    expect(await found(mine.gql, 'monthlych')).toEqual(['FEATURE_GROUP customer_info 1']);
    expect(await found(mine.gql, 'customer growth')).toEqual(['FEATURE_GROUP customer_info 1']);
    expect(await found(mine.gql, 'customer nothing')).toEqual([]);
  });

  it('searches every kind, ranks the exact name first and names before other fields, and filters', async () => {
    const { gql } = await projectOf(srv, 'srch');
    const ids = await churnObjects(gql, 8);
    await createGroup(gql, smallGroup('churn', [{ name: 'score' }], { description: 'scores' }));
    await createGroup(gql, smallGroup('churn', [{ name: 'score' }, { name: 'reason', type: 'STRING' }]));
    await createGroup(gql, smallGroup('retention', [{ name: 'churn_risk' }]));

    expect(await found(gql, 'churn')).toEqual([
      // The exact name, newest version first.
      'FEATURE_GROUP churn 2',
      'FEATURE_GROUP churn 1',
      // Names with the word, by name and kind.
      'FEATURE_VIEW churn_feature_view 1',
      'TRAINING_DATASET churn_feature_view_1 1',
      'MODEL churn_model 1',
      // Other fields: customer_info's churn label and the feature of retention; the model's description says "churn" too.
      'FEATURE_GROUP customer_info 1',
      'FEATURE_GROUP retention 1',
    ]);
    const model = (await search(gql, 'predicts'))[0];
    expect(model).toMatchObject({ kind: 'MODEL', name: 'churn_model', id: ids.model, matches: ['description: <em>predicts</em> churn'] });
    expect(await found(gql, 'churn', { kinds: ['MODEL', 'TRAINING_DATASET'] })).toEqual(['TRAINING_DATASET churn_feature_view_1 1', 'MODEL churn_model 1']);
    // The view's features are searchable; "gender" only comes from the demography group and the view.
    expect(await found(gql, 'gender')).toEqual(['FEATURE_VIEW churn_feature_view 1', 'FEATURE_GROUP customer_demography_info 1']);
    expect(await found(gql, 'sklearn')).toEqual(['MODEL churn_model 1']);

    // Tag and keyword filters, with or without a term.
    await tagSchema(gql, 'tier', { type: 'string' });
    await tagSchema(gql, 'owner', { type: 'object' });
    await tag(gql, ids.view, 'tier', 'gold');
    await tag(gql, ids.model, 'tier', 'silver');
    await tag(gql, ids.model, 'owner', { team: 'ml', on_call: ['ana', 'bo'] });
    await gql(`mutation($t: ID!) { addKeywords(target: $t, keywords: ["Retention", "q3"]) { __typename } }`, { t: ids.view });
    expect(await found(gql, '', { tag: { name: 'tier' } })).toEqual(['FEATURE_VIEW churn_feature_view 1', 'MODEL churn_model 1']);
    expect(await found(gql, 'churn', { tag: { name: 'tier', value: 'gold' } })).toEqual(['FEATURE_VIEW churn_feature_view 1']);
    expect(await found(gql, '', { tag: { name: 'owner', value: { on_call: ['ana', 'bo'], team: 'ml' } } })).toEqual(['MODEL churn_model 1']);
    expect(await found(gql, '', { tag: { name: 'owner', value: { team: 'ml' } } })).toEqual([]);
    expect(await found(gql, '', { keyword: 'RETENTION' })).toEqual(['FEATURE_VIEW churn_feature_view 1']);
    expect(await found(gql, 'retention')).toEqual(['FEATURE_GROUP retention 1', 'FEATURE_VIEW churn_feature_view 1']);
    const filtered = await search(gql, '', { keyword: 'q3' });
    expect(filtered[0].matches).toEqual(['keyword: <em>q3</em>']);
    expect((await search(gql, 'ana'))[0].matches).toEqual(['tag owner: {"on_call":["<em>ana</em>","bo"],"team":"ml"}']);
    expect((await search(gql, 'owner'))[0].matches).toEqual(['tag <em>owner</em>: {"on_call":["ana","bo"],"team":"ml"}']);
  });

  it('pages with first and after', async () => {
    const { gql } = await projectOf(srv, 'srch');
    for (let i = 0; i < 5; i++) await createGroup(gql, smallGroup(`sales_${i}`));
    const first = (await gql(SEARCH, { term: 'sales', first: 2 })).data.search;
    expect(first.edges.map((e: any) => e.node.name)).toEqual(['sales_0', 'sales_1']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await gql(SEARCH, { term: 'sales', first: 3, after: first.pageInfo.endCursor })).data.search;
    expect(second.edges.map((e: any) => e.node.name)).toEqual(['sales_2', 'sales_3', 'sales_4']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    // Pages hold at most 100.
    expect((await gql(SEARCH, { term: 'sales', first: 500 })).data.search.edges).toHaveLength(5);
  });

  it('follows changes: new descriptions and inferred features are found, deleted objects are not', async () => {
    const { gql } = await projectOf(srv, 'srch');
    await createGroup(gql, { name: 'events', primaryKey: ['id'] });
    expect(await found(gql, 'clicks')).toEqual([]);
    const insert = await gql(
      `mutation { insertFeatureGroupData(featureGroup: { name: "events" }, rows: [{ id: "a", clicks: 3 }]) { __typename ... on Error { message } } }`,
    );
    expect(insert.data.insertFeatureGroupData.__typename, JSON.stringify(insert)).toBe('InsertFeatureGroupDataPayload');
    expect(await found(gql, 'clicks')).toEqual(['FEATURE_GROUP events 1']);
    await gql(`mutation { updateFeatureGroup(featureGroup: { name: "events" }, input: { description: "Web analytics" }) { __typename } }`);
    expect(await found(gql, 'analytics')).toEqual(['FEATURE_GROUP events 1']);
    await gql(`mutation { deleteFeatureGroup(featureGroup: { name: "events" }) { __typename } }`);
    expect(await found(gql, 'events')).toEqual([]);
    expect(await found(gql, 'analytics')).toEqual([]);
  });

  it('builds missing search documents on start (objects from before search)', async () => {
    const { gql } = await projectOf(srv, 'srch');
    const group = await createGroup(gql, smallGroup('legacy', [{ name: 'weight' }]));
    const entryId = Buffer.from(group.id, 'base64').toString('utf8').split(':')[1]!;
    await srv.app.prisma.searchDocument.delete({ where: { entryId } });
    expect(await found(gql, 'weight')).toEqual([]);
    expect(await srv.app.services.search.reindex()).toBeGreaterThanOrEqual(1);
    expect(await found(gql, 'weight')).toEqual(['FEATURE_GROUP legacy 1']);
    expect(await srv.app.services.search.reindex()).toBe(0);
  });

  it('takes as many queries for 20 results as for 2', async () => {
    const measure = async (groups: number) => {
      const { gql } = await projectOf(srv, 'srch');
      for (let i = 0; i < groups; i++) await createGroup(gql, smallGroup(`metric_${i}`, [{ name: 'revenue' }]));
      await gql(SEARCH, { term: 'revenue', first: 50 });
      const { value, queries } = await countQueries(() => gql(SEARCH, { term: 'revenue', first: 50 }));
      expect(value.data.search.edges).toHaveLength(groups);
      return queries;
    };
    const few = await measure(2);
    const many = await measure(20);
    expect(many).toBe(few);
  });
});
