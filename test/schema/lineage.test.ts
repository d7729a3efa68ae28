import { countQueries } from '../helpers/query-count.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churnObjects, CREATE_FG, createGroup, projectOf, smallGroup } from '../helpers/catalog.ts';
import { ofType, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const LINEAGE = `query($id: ID!, $direction: LineageDirection, $depth: Int) {
  lineage(id: $id, direction: $direction, depth: $depth) {
    root { id kind name version deleted }
    nodes { id kind name version deleted }
    edges { from to }
  }
}`;

/** Edges as `from-name → to-name` lines, for readable expectations. */
function named(graph: any): string[] {
  const name = (id: string) => {
    const n = graph.nodes.find((x: any) => x.id === id);
    return `${n.name}${n.deleted ? ' (deleted)' : ''}`;
  };
  return graph.edges.map((e: any) => `${name(e.from)} → ${name(e.to)}`).sort();
}

describe('lineage', () => {
  it('shows a model’s six upstream objects, and the model as deleted in its view’s downstream after it is deleted', async () => {
    const { gql } = await projectOf(srv, 'lin');
    const ids = await churnObjects(gql);

    const up = (await gql(LINEAGE, { id: ids.model, direction: 'UPSTREAM' })).data.lineage;
    expect(up.root).toEqual({ id: ids.model, kind: 'MODEL', name: 'churn_model', version: 1, deleted: false });
    expect(up.nodes.map((n: any) => `${n.kind} ${n.name} ${n.version}`)).toEqual([
      'FEATURE_GROUP customer_demography_info 1',
      'FEATURE_GROUP customer_info 1',
      'FEATURE_GROUP customer_subscription_info 1',
      'FEATURE_VIEW churn_feature_view 1',
      'TRAINING_DATASET churn_feature_view_1 1',
      'MODEL churn_model 1',
    ]);
    expect(up.edges.length).toBeGreaterThanOrEqual(5);
    expect(named(up)).toEqual([
      'churn_feature_view → churn_feature_view_1',
      'churn_feature_view → churn_model',
      'churn_feature_view_1 → churn_model',
      'customer_demography_info → churn_feature_view',
      'customer_info → churn_feature_view',
      'customer_subscription_info → churn_feature_view',
    ]);
    // Nothing is made from the model yet.
    expect((await gql(LINEAGE, { id: ids.model, direction: 'DOWNSTREAM' })).data.lineage.nodes).toHaveLength(1);
    // One link: the training dataset and the view, not the groups.
    const near = (await gql(LINEAGE, { id: ids.model, direction: 'UPSTREAM', depth: 1 })).data.lineage;
    expect(near.nodes.map((n: any) => n.kind)).toEqual(['FEATURE_VIEW', 'TRAINING_DATASET', 'MODEL']);

    const deleted = await gql(`mutation { deleteModel(name: "churn_model", version: 1) { __typename ... on Error { message } } }`);
    expect(deleted.data.deleteModel.__typename).toBe('DeleteModelPayload');
    const down = (await gql(LINEAGE, { id: ids.view, direction: 'DOWNSTREAM' })).data.lineage;
    expect(down.nodes).toContainEqual({ id: ids.model, kind: 'MODEL', name: 'churn_model', version: 1, deleted: true });
    expect(named(down)).toEqual([
      'churn_feature_view → churn_feature_view_1',
      'churn_feature_view → churn_model (deleted)',
      'churn_feature_view_1 → churn_model (deleted)',
    ]);
    // The deleted model's own lineage still answers, by the same id.
    const gone = (await gql(LINEAGE, { id: ids.model, direction: 'UPSTREAM' })).data.lineage;
    expect(gone.root.deleted).toBe(true);
    expect(gone.nodes).toHaveLength(6);
    // BOTH from the training dataset: the view and its groups upstream, the deleted model downstream.
    const both = (await gql(LINEAGE, { id: ids.trainingDataset })).data.lineage;
    expect(both.nodes).toHaveLength(6);
  });

  it('keeps a view’s training datasets in lineage, deleted, when the view is deleted', async () => {
    const { gql } = await projectOf(srv, 'lin');
    const ids = await churnObjects(gql, 8);
    await gql(`mutation { deleteModel(name: "churn_model", version: 1) { __typename } }`);
    const res = await gql(`mutation { deleteFeatureView(featureView: { name: "churn_feature_view" }) { __typename ... on Error { message } } }`);
    expect(res.data.deleteFeatureView.__typename).toBe('DeleteFeatureViewPayload');
    const down = (await gql(LINEAGE, { id: ids.groups.customer_info, direction: 'DOWNSTREAM' })).data.lineage;
    expect(down.nodes.map((n: any) => `${n.kind} ${n.deleted}`)).toEqual(['FEATURE_GROUP false', 'FEATURE_VIEW true', 'TRAINING_DATASET true', 'MODEL true']);
    // The groups can be deleted now; their lineage stays.
    await gql(`mutation { deleteFeatureGroup(featureGroup: { name: "customer_info" }) { __typename } }`);
    const root = (await gql(LINEAGE, { id: ids.groups.customer_info })).data.lineage.root;
    expect(root).toMatchObject({ name: 'customer_info', deleted: true });
  });

  it('records the parents a group is derived from, and treats other parents as another definition', async () => {
    const { gql } = await projectOf(srv, 'lin');
    const raw = await createGroup(gql, smallGroup('transactions', [{ name: 'amount' }]));
    const cards = await createGroup(gql, smallGroup('cards', [{ name: 'limit_amount' }]));
    const derived = await createGroup(
      gql,
      smallGroup('card_spend', [{ name: 'spend_7d' }], { parents: [{ name: 'transactions' }, { name: 'cards', version: 1 }] }),
    );
    const graph = (await gql(LINEAGE, { id: derived.id, direction: 'UPSTREAM' })).data.lineage;
    expect(named(graph)).toEqual(['cards → card_spend', 'transactions → card_spend']);
    expect((await gql(LINEAGE, { id: raw.id, direction: 'DOWNSTREAM' })).data.lineage.nodes.map((n: any) => n.name)).toEqual(['card_spend', 'transactions']);
    // Same parents: the same group. Other parents: not the same definition.
    expect((await createGroup(gql, smallGroup('card_spend', [{ name: 'spend_7d' }], { parents: [{ name: 'cards' }, { name: 'transactions' }] }))).id).toBe(
      derived.id,
    );
    const conflict = await gql(CREATE_FG, { input: smallGroup('card_spend', [{ name: 'spend_7d' }], { version: 1, parents: [{ name: 'cards' }] }) });
    expect(ofType(conflict.data?.createFeatureGroup, 'ConflictError').message).toMatch(/parents/);
    // Without parents the definition says nothing about them: the existing group.
    expect((await createGroup(gql, smallGroup('card_spend', [{ name: 'spend_7d' }]))).id).toBe(derived.id);
    const missing = await gql(CREATE_FG, { input: smallGroup('orphan', [], { parents: [{ name: 'cards' }, { name: 'nope' }] }) });
    expect(ofType(missing.data?.createFeatureGroup, 'ValidationError').issues).toEqual([
      { path: ['input', 'parents', '1'], message: expect.stringContaining('nope') },
    ]);
    expect(cards.id).toBeTruthy();
  });

  it('answers an unknown or foreign id with NOT_FOUND, and a malformed one as bad input', async () => {
    const a = await projectOf(srv, 'lin');
    const b = await projectOf(srv, 'lin');
    const group = await createGroup(a.gql, smallGroup('secret'));
    const foreign = await b.gql(LINEAGE, { id: group.id });
    expect(foreign.data).toBeNull();
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const bad = await b.gql(LINEAGE, { id: 'not-an-id' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const project = (await a.gql(`{ viewer { project { id } } }`)).data.viewer.project.id;
    expect((await a.gql(LINEAGE, { id: project })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await a.gql(LINEAGE, { id: group.id, depth: 0 })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('takes as many queries for 20 derived groups as for 2', async () => {
    const measure = async (children: number) => {
      const { gql } = await projectOf(srv, 'lin');
      const root = await createGroup(gql, smallGroup('source'));
      for (let i = 0; i < children; i++) await createGroup(gql, smallGroup(`derived_${i}`, [], { parents: [{ name: 'source' }] }));
      await gql(LINEAGE, { id: root.id });
      const { value, queries } = await countQueries(() => gql(LINEAGE, { id: root.id, direction: 'BOTH' }));
      expect(value.data.lineage.nodes).toHaveLength(children + 1);
      expect(value.data.lineage.edges).toHaveLength(children);
      return queries;
    };
    const few = await measure(2);
    const many = await measure(20);
    expect(few).toBeGreaterThan(0);
    expect(many).toBe(few);
  });
});
