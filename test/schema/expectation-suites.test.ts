import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent, AlertSink } from '../../src/services/alert/alert-event.ts';
import { FeatureGroupService } from '../../src/services/feature-group/feature-group.service.ts';
import type { Viewer } from '../../src/services/viewer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const CREATE = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) { __typename ... on Error { message } }
}`;

const SAVE = `mutation($fg: FeatureGroupRef!, $input: SaveExpectationSuiteInput!) {
  saveExpectationSuite(featureGroup: $fg, input: $input) {
    __typename
    ... on SaveExpectationSuitePayload { expectationSuite { name ingestionPolicy expectations { type kwargs } createdAt updatedAt } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!], $storage: Storage) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows, storage: $storage) {
    __typename
    ... on InsertFeatureGroupDataPayload { commit { id rowCount validationReport } validationReport }
    ... on DataValidationError { message report }
    ... on Error { message }
  }
}`;

const GROUP = `query($name: String!) {
  featureGroup(name: $name) {
    expectationSuite { name ingestionPolicy expectations { type kwargs } }
    commits { id validationReport }
  }
}`;

const features = [
  { name: 'customerid', type: 'STRING' },
  { name: 'datetime', type: 'TIMESTAMP' },
  { name: 'tenure', type: 'INT' },
  { name: 'contract', type: 'STRING' },
];

const suite = (ingestionPolicy: 'STRICT' | 'ALWAYS') => ({
  name: 'customers_suite',
  ingestionPolicy,
  expectations: [
    { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'tenure' } },
    { type: 'expect_column_values_to_be_between', kwargs: { column: 'tenure', min_value: 0, max_value: 72 } },
    { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'contract', value_set: ['Month-to-month', 'One year', 'Two year'] } },
    { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
  ],
});

const good = [
  { customerid: 'a', datetime: '2026-01-01T00:00:00Z', tenure: 1, contract: 'Month-to-month' },
  { customerid: 'b', datetime: '2026-01-01T00:00:00Z', tenure: 30, contract: 'One year' },
];
const bad = [
  { customerid: 'c', datetime: '2026-01-02T00:00:00Z', tenure: 99, contract: 'Month-to-month' },
  { customerid: 'd', datetime: '2026-01-02T00:00:00Z', tenure: 12, contract: 'Forever' },
  { customerid: 'e', datetime: '2026-01-02T00:00:00Z', tenure: 3, contract: 'Two year' },
];

async function project() {
  const p = await srv.newProject('exp');
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

async function createGroup(gql: Gql, name = 'customers', withFeatures = true) {
  const res = await gql(CREATE, {
    input: { name, primaryKey: ['customerid'], eventTime: 'datetime', onlineEnabled: true, ...(withFeatures ? { features } : {}) },
  });
  expect(res.data?.createFeatureGroup.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
}

async function save(gql: Gql, input: unknown, name = 'customers') {
  return (await gql(SAVE, { fg: { name }, input })).data?.saveExpectationSuite;
}

/** The group's offline data files, staged ones included. */
function offlineFiles(projectName: string, name = 'customers'): string[] {
  const dir = join(srv.dataDir, 'offline', projectName, `${name}_1`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')) : [];
}

async function onlineRows(projectName: string, keys: string[], name = 'customers') {
  const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { project: { name: projectName }, name } });
  const table = srv.app.services.featureGroups.onlineTable(group);
  await srv.app.online.ensure(table);
  return (
    await srv.app.online.read(
      table,
      keys.map((k) => [k]),
    )
  ).filter((r) => r !== null);
}

describe('saveExpectationSuite', () => {
  it('saves, replaces and deletes the suite of a group', async () => {
    const { gql } = await project();
    await createGroup(gql);
    const saved = await save(gql, suite('STRICT'));
    expect(saved.__typename, JSON.stringify(saved)).toBe('SaveExpectationSuitePayload');
    expect(saved.expectationSuite).toMatchObject({ name: 'customers_suite', ingestionPolicy: 'STRICT' });
    expect(saved.expectationSuite.expectations[1]).toEqual({
      type: 'expect_column_values_to_be_between',
      kwargs: { column: 'tenure', min_value: 0, max_value: 72 },
    });
    const replaced = await save(gql, { ...suite('ALWAYS'), expectations: suite('ALWAYS').expectations.slice(0, 1) });
    expect(replaced.expectationSuite.ingestionPolicy).toBe('ALWAYS');
    const read = (await gql(GROUP, { name: 'customers' })).data.featureGroup;
    expect(read.expectationSuite.expectations).toHaveLength(1);

    const deleted = await gql(
      `mutation { deleteExpectationSuite(featureGroup: { name: "customers" }) { __typename ... on DeleteExpectationSuitePayload { name } } }`,
    );
    expect(deleted.data.deleteExpectationSuite).toEqual({ __typename: 'DeleteExpectationSuitePayload', name: 'customers_suite' });
    expect((await gql(GROUP, { name: 'customers' })).data.featureGroup.expectationSuite).toBeNull();
    const again = await gql(`mutation { deleteExpectationSuite(featureGroup: { name: "customers" }) { __typename } }`);
    expect(again.data.deleteExpectationSuite.__typename).toBe('NotFoundError');
    const changes = await gql(`query($since: DateTime!) { registryChanges(since: $since) { kind name version action } }`, {
      since: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(changes.data.registryChanges.filter((c: { kind: string }) => c.kind === 'ExpectationSuite')).toEqual(
      ['CREATED', 'UPDATED', 'DELETED'].map((action) => ({ kind: 'ExpectationSuite', name: 'customers', version: 1, action })),
    );
  });

  it('rejects a bad suite naming the expectation and kwarg, and saves nothing', async () => {
    const { gql } = await project();
    await createGroup(gql);
    await save(gql, suite('ALWAYS'));
    for (const [expectations, path] of [
      [[{ type: 'expect_column_values_to_be_purple', kwargs: { column: 'tenure' } }], ['input', 'expectations', '0', 'type']],
      [
        [suite('STRICT').expectations[0], { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'nope' } }],
        ['input', 'expectations', '1', 'kwargs', 'column'],
      ],
      [
        [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'tenure', min_value: 'zero' } }],
        ['input', 'expectations', '0', 'kwargs', 'min_value'],
      ],
      [[{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'tenure', mostly: 1.5 } }], ['input', 'expectations', '0', 'kwargs', 'mostly']],
    ] as const) {
      const res = await save(gql, { name: 'broken', ingestionPolicy: 'STRICT', expectations });
      expect(res.__typename, JSON.stringify(res)).toBe('ValidationError');
      expect(res.issues.map((i: { path: string[] }) => i.path)).toContainEqual(path);
      expect(res.message).toContain(`expectation ${path[2]}`);
    }
    const kept = (await gql(GROUP, { name: 'customers' })).data.featureGroup.expectationSuite;
    expect(kept).toMatchObject({ name: 'customers_suite', ingestionPolicy: 'ALWAYS' });
  });

  it('checks columns once the schema is known: a group whose schema comes from its first insert', async () => {
    const { gql } = await project();
    await createGroup(gql, 'inferred', false);
    const early = await save(
      gql,
      { name: 's', ingestionPolicy: 'STRICT', expectations: [{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'later' } }] },
      'inferred',
    );
    expect(early.__typename).toBe('SaveExpectationSuitePayload');
    // The column never shows up: the expectation fails with an exception message, so the STRICT insert is rejected.
    const res = (await gql(INSERT, { fg: { name: 'inferred' }, rows: good })).data.insertFeatureGroupData;
    expect(res.__typename).toBe('DataValidationError');
    expect(res.report.results[0].exceptionMessage).toContain('no column "later"');
  });

  it('needs WRITE scope, and the suite stays in its project', async () => {
    const a = await project();
    await createGroup(a.gql);
    const key = await a.gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreateApiKeyPayload { secret } } }`);
    const reader: Gql = (q, v) => srv.gql(q, v, key.data.createApiKey.secret);
    const denied = await reader(SAVE, { fg: { name: 'customers' }, input: suite('STRICT') });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await a.gql(GROUP, { name: 'customers' })).data.featureGroup.expectationSuite).toBeNull();

    await save(a.gql, suite('STRICT'));
    const b = await project();
    expect((await b.gql(GROUP, { name: 'customers' })).data.featureGroup).toBeNull();
    expect((await save(b.gql, suite('STRICT'))).__typename).toBe('NotFoundError');
    await createGroup(b.gql);
    expect((await b.gql(GROUP, { name: 'customers' })).data.featureGroup.expectationSuite).toBeNull();
    // B's inserts are not held to A's suite.
    expect((await b.gql(INSERT, { fg: { name: 'customers' }, rows: bad })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
  });
});

describe('inserts under a suite', () => {
  it('STRICT: a breaking insert is rejected with its report and leaves no commit, offline file or online row', async () => {
    const { gql, name } = await project();
    await createGroup(gql);
    await save(gql, suite('STRICT'));
    const ok = (await gql(INSERT, { fg: { name: 'customers' }, rows: good })).data.insertFeatureGroupData;
    expect(ok.__typename, JSON.stringify(ok)).toBe('InsertFeatureGroupDataPayload');
    expect(ok.validationReport).toMatchObject({ success: true, suiteName: 'customers_suite', statistics: { evaluated: 4, successful: 4, unsuccessful: 0 } });
    expect(ok.commit.validationReport).toEqual(ok.validationReport);
    const filesBefore = offlineFiles(name);
    expect(filesBefore).toHaveLength(1);

    for (const storage of ['BOTH', 'ONLINE', 'OFFLINE']) {
      const res = (await gql(INSERT, { fg: { name: 'customers' }, rows: bad, storage })).data.insertFeatureGroupData;
      expect(res.__typename, JSON.stringify(res)).toBe('DataValidationError');
      expect(res.message).toContain('expect_column_values_to_be_between(tenure)');
      expect(res.message).toContain('expect_column_values_to_be_in_set(contract)');
      expect(res.report.success).toBe(false);
      expect(res.report.statistics).toMatchObject({ evaluated: 4, successful: 2, unsuccessful: 2 });
      expect(res.report.results[1]).toMatchObject({
        expectationType: 'expect_column_values_to_be_between',
        success: false,
        unexpectedCount: 1,
        partialUnexpectedList: [99],
      });
      expect(res.report.results[2]).toMatchObject({ success: false, unexpectedCount: 1, partialUnexpectedList: ['Forever'] });
    }
    const group = (await gql(GROUP, { name: 'customers' })).data.featureGroup;
    expect(group.commits).toHaveLength(1);
    expect(offlineFiles(name)).toEqual(filesBefore);
    expect(await onlineRows(name, ['a', 'b', 'c', 'd', 'e'])).toHaveLength(2);
  });

  it('ALWAYS: a breaking insert is committed with the failing report attached', async () => {
    const { gql, name } = await project();
    await createGroup(gql);
    await save(gql, suite('ALWAYS'));
    const res = (await gql(INSERT, { fg: { name: 'customers' }, rows: bad })).data.insertFeatureGroupData;
    expect(res.__typename, JSON.stringify(res)).toBe('InsertFeatureGroupDataPayload');
    expect(res.commit.rowCount).toBe(3);
    expect(res.validationReport).toMatchObject({ success: false, ingestionPolicy: 'ALWAYS', statistics: { unsuccessful: 2 } });
    const group = (await gql(GROUP, { name: 'customers' })).data.featureGroup;
    expect(group.commits).toEqual([{ id: res.commit.id, validationReport: res.validationReport }]);
    expect(offlineFiles(name)).toHaveLength(1);
    expect(await onlineRows(name, ['c', 'd', 'e'])).toHaveLength(3);
  });

  it('without a suite, inserts carry no report', async () => {
    const { gql } = await project();
    await createGroup(gql);
    const res = (await gql(INSERT, { fg: { name: 'customers' }, rows: bad })).data.insertFeatureGroupData;
    expect(res.__typename).toBe('InsertFeatureGroupDataPayload');
    expect(res.validationReport).toBeNull();
    expect(res.commit.validationReport).toBeNull();
  });

  it('raises a VALIDATION_FAILED alert under either policy', async () => {
    const { gql, name } = await project();
    await createGroup(gql);
    const raised: { projectId: string; event: AlertEvent }[] = [];
    const sink: AlertSink = { raise: (projectId, event) => raised.push({ projectId, event }) };
    const { app } = srv;
    const service = new FeatureGroupService(app.prisma, app.services.events, app.offline, app.online, app.logger, sink);
    const projectRow = await app.prisma.project.findUniqueOrThrow({ where: { name } });
    const viewer: Viewer = { apiKeyId: 'test', projectId: projectRow.id, projectName: name, scopes: ['WRITE'], serverAdmin: false };
    const options = { operation: 'UPSERT', storage: 'BOTH' } as const;

    await save(gql, suite('STRICT'));
    await service.insert(viewer, { name: 'customers' }, { kind: 'rows', rows: good }, options);
    expect(raised).toHaveLength(0);
    await expect(service.insert(viewer, { name: 'customers' }, { kind: 'rows', rows: bad }, options)).rejects.toMatchObject({ name: 'DataValidationError' });
    await save(gql, suite('ALWAYS'));
    await service.insert(viewer, { name: 'customers' }, { kind: 'rows', rows: bad }, options);
    expect(raised.map((r) => [r.projectId, r.event.type, r.event.subject, r.event.details?.rejected])).toEqual([
      [projectRow.id, 'VALIDATION_FAILED', { kind: 'FeatureGroup', name: 'customers', version: 1 }, true],
      [projectRow.id, 'VALIDATION_FAILED', { kind: 'FeatureGroup', name: 'customers', version: 1 }, false],
    ]);
    expect(raised[0]!.event.message).toContain('customers_suite');
  });
});
