import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countQueries } from '../helpers/query-count.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churnObjects, CREATE_FG, createGroup, projectOf, smallGroup } from '../helpers/catalog.ts';
import { ofType, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
/** A root FILES data sources may read: external groups read a CSV from it. */
let filesDir: string;
beforeAll(async () => {
  filesDir = mkdtempSync(join(tmpdir(), 'granary-lineage-'));
  writeFileSync(join(filesDir, 'plans.csv'), 'plan,price\n1,9.5\n2,19.5\n');
  srv = await startTestServer({ env: { GRANARY_FILE_SOURCE_ROOTS: filesDir } });
});
afterAll(async () => {
  await srv?.close();
  if (filesDir) rmSync(filesDir, { recursive: true, force: true });
});

const LINEAGE = `query($id: ID!, $direction: LineageDirection, $depth: Int) {
  lineage(id: $id, direction: $direction, depth: $depth) {
    root { id kind name version deleted }
    nodes { id kind name version deleted }
    edges { from to }
  }
}`;

/** The path of the first input issue of a refused query. */
function issuePath(res: { errors?: readonly { extensions?: Record<string, unknown> }[] }): unknown {
  return (res.errors?.[0]?.extensions?.issues as { path: unknown }[] | undefined)?.[0]?.path;
}

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
    // The group's statistics job stays: it works on the group.
    expect(down.nodes.map((n: any) => `${n.kind} ${n.deleted}`)).toEqual([
      'FEATURE_GROUP false',
      'FEATURE_VIEW true',
      'TRAINING_DATASET true',
      'MODEL true',
      'JOB false',
    ]);
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

  it('names the object by kind, name and version as well as by id: the latest version without one', async () => {
    const { gql } = await projectOf(srv, 'lin');
    const ids = await churnObjects(gql);
    const BY_NAME = `query($kind: LineageKind, $name: String, $version: Int, $id: ID) {
      lineage(kind: $kind, name: $name, version: $version, id: $id, direction: UPSTREAM) { root { id kind name version } nodes { id } }
    }`;
    const byId = (await gql(LINEAGE, { id: ids.model, direction: 'UPSTREAM' })).data.lineage;
    const byName = (await gql(BY_NAME, { kind: 'MODEL', name: 'churn_model' })).data.lineage;
    expect(byName.root).toEqual({ id: ids.model, kind: 'MODEL', name: 'churn_model', version: 1 });
    expect(byName.nodes).toEqual(byId.nodes.map((n: any) => ({ id: n.id })));
    const td = (await gql(BY_NAME, { kind: 'TRAINING_DATASET', name: 'churn_feature_view_1', version: 1 })).data.lineage;
    expect(td.root.kind).toBe('TRAINING_DATASET');
    expect(td.nodes).toHaveLength(5);
    const missing = await gql(BY_NAME, { kind: 'MODEL', name: 'churn_model', version: 7 });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const both = await gql(BY_NAME, { kind: 'MODEL', name: 'churn_model', id: ids.model });
    expect(issuePath(both)).toEqual(['id']);
    const neither = await gql(BY_NAME, { kind: 'MODEL' });
    expect(issuePath(neither)).toEqual(['name']);
    const job = await gql(BY_NAME, { kind: 'JOB', name: 'nightly' });
    expect(issuePath(job)).toEqual(['kind']);
  });

  it('shows the data source behind an external group upstream, and the jobs working on groups and views downstream', async () => {
    const { gql } = await projectOf(srv, 'lin');
    await churnObjects(gql);
    const source = await gql(
      `mutation($path: String!) {
      createDataSource(input: { name: "lake", type: FILES, config: { path: $path } }) { __typename ... on Error { message } }
    }`,
      { path: filesDir },
    );
    expect(source.data.createDataSource.__typename, JSON.stringify(source)).toBe('CreateDataSourcePayload');
    const external = await gql(`mutation {
      createExternalFeatureGroup(input: { name: "plans", dataSource: "lake", path: "plans.csv", primaryKey: ["plan"] }) {
        __typename ... on CreateExternalFeatureGroupPayload { featureGroup { id } } ... on Error { message }
      }
    }`);
    const plans = external.data.createExternalFeatureGroup.featureGroup.id;
    const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`;
    for (const input of [
      { name: 'stats_latest', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'customer_info' } } },
      { name: 'stats_v1', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'customer_info', version: 1 } } },
      { name: 'plan_stats', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'plans' } } },
      { name: 'nightly_td', type: 'TRAINING_DATASET', config: { featureView: { name: 'churn_feature_view' } } },
      { name: 'shell', type: 'COMMAND', config: { command: 'true' } },
    ]) {
      const created = await gql(CREATE_JOB, { input });
      expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    }

    const group = (await gql(`{ featureGroup(name: "customer_info") { id } }`)).data.featureGroup.id;
    const down = (await gql(LINEAGE, { id: group, direction: 'DOWNSTREAM' })).data.lineage;
    expect(named(down)).toEqual([
      'churn_feature_view → churn_feature_view_1',
      'churn_feature_view → churn_model',
      'churn_feature_view → nightly_td',
      'churn_feature_view_1 → churn_model',
      'customer_info → churn_feature_view',
      // The statistics job inserts run.
      'customer_info → customer_info_1_compute_stats',
      'customer_info → stats_latest',
      'customer_info → stats_v1',
    ]);
    expect(down.nodes.filter((n: any) => n.kind === 'JOB').map((n: any) => `${n.name} ${n.version}`)).toEqual([
      'customer_info_1_compute_stats 1',
      'nightly_td 1',
      'stats_latest 1',
      'stats_v1 1',
    ]);
    // A job is a node: its id is the Job's global id.
    const jobId = down.nodes.find((n: any) => n.name === 'nightly_td').id;
    expect((await gql(`query($id: ID!) { node(id: $id) { ... on Job { name } } }`, { id: jobId })).data.node).toEqual({ name: 'nightly_td' });
    // Upstream only: no jobs.
    expect((await gql(LINEAGE, { id: group, direction: 'UPSTREAM' })).data.lineage.nodes).toHaveLength(1);

    const both = (await gql(LINEAGE, { id: plans })).data.lineage;
    expect(named(both)).toEqual(['lake → plans', 'plans → plan_stats']);
    expect(both.nodes.map((n: any) => n.kind)).toEqual(['DATA_SOURCE', 'FEATURE_GROUP', 'JOB']);
    const sourceId = both.nodes[0].id;
    expect((await gql(`query($id: ID!) { node(id: $id) { ... on DataSource { name type } } }`, { id: sourceId })).data.node).toEqual({
      name: 'lake',
      type: 'FILES',
    });
    // Downstream only: not the source.
    expect(named((await gql(LINEAGE, { id: plans, direction: 'DOWNSTREAM' })).data.lineage)).toEqual(['plans → plan_stats']);
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
