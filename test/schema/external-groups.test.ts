import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testMetadataProvider, type TestServer } from '../helpers/server.ts';

const PG_URL = 'postgresql://postgres@127.0.0.1:5432/test';
/** A schema of its own per run, so concurrent runs never share tables. */
const SCHEMA = `ext_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
/** Trust auth accepts any password: this one must never be seen again outside the sealed column. */
const PASSWORD = `Pw-${Math.random().toString(36).slice(2)}-never-shown`;

let srv: TestServer;
let admin: pg.Client;
let filesDir: string;
const logLines: string[] = [];
/** Every API response of the file, checked for the password at the end. */
const responses: string[] = [];

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  // FILES sources may only read inside the configured roots: this file's directory is one.
  filesDir = mkdtempSync(join(tmpdir(), 'granary-files-'));
  srv = await startTestServer({ logger: pino({ level: 'trace' }, sink), env: { GRANARY_FILE_SOURCE_ROOTS: filesDir } });
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
});

afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  await admin?.end();
  await srv?.close();
  if (filesDir) rmSync(filesDir, { recursive: true, force: true });
});

async function project(prefix: string) {
  const p = await srv.newProject(prefix);
  const gql: Gql = async (q, v) => {
    const res = await srv.gql(q, v, p.key);
    responses.push(JSON.stringify(res));
    return res;
  };
  return { ...p, gql };
}

const CREATE_SOURCE = `mutation($input: CreateDataSourceInput!) {
  createDataSource(input: $input) {
    __typename ... on CreateDataSourcePayload { dataSource { name type config hasPassword } } ... on Error { message }
  }
}`;
const CREATE_EXTERNAL = `mutation($input: CreateExternalFeatureGroupInput!) {
  createExternalFeatureGroup(input: $input) {
    __typename
    ... on CreateExternalFeatureGroupPayload { featureGroup { name version features { name type } dataSource { name } } }
    ... on DataSourceError { source object }
    ... on Error { message }
  }
}`;
const CREATE_GROUP = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`;
const INSERT = `mutation($g: FeatureGroupRef!, $rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: $g, rows: $rows) { __typename ... on Error { message } }
}`;
const CREATE_VIEW = `mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`;
const CREATE_TD = `mutation($fv: FeatureViewRef!) {
  createTrainingDataset(featureView: $fv, input: {}) {
    __typename
    ... on CreateTrainingDatasetPayload { trainingDataset { version splits { name rowCount data(first: 10000) { columns { name } records } } } }
    ... on DataSourceError { source object }
    ... on Error { message }
  }
}`;

async function postgresSource(gql: Gql, name = 'warehouse') {
  const url = `postgresql://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/test`;
  const res = await gql(CREATE_SOURCE, { input: { name, type: 'POSTGRES', config: { url } } });
  expect(res.data?.createDataSource.__typename, JSON.stringify(res)).toBe('CreateDataSourcePayload');
  return res.data.createDataSource.dataSource;
}

describe('PostgreSQL external groups', () => {
  it('joins a PostgreSQL table point in time with a regular group: the training data equals a hand-written SQL join', async () => {
    const { gql } = await project('extpg');
    await admin.query(`CREATE TABLE ${SCHEMA}.profile (customer_id bigint, updated_at timestamptz, tenure int, plan text, spend numeric(10,2))`);
    await admin.query(`CREATE TABLE ${SCHEMA}.labels (customer_id bigint, ts timestamptz, churn boolean)`);
    const profile: [number, string, number, string, string][] = [];
    const labels: [number, string, boolean][] = [];
    for (let c = 1; c <= 40; c++) {
      for (let v = 0; v < 3; v++)
        profile.push([c, `2026-01-${String(1 + v * 10 + (c % 5)).padStart(2, '0')}T00:00:00Z`, c * 10 + v, v % 2 ? 'gold' : 'basic', `${c}.${v}5`]);
      // One label before any profile row (no match), others between and after the versions.
      for (const day of ['01', '12', '20', '28']) labels.push([c, `2026-01-${day}T06:00:00Z`, (c + Number(day)) % 3 === 0]);
    }
    for (const row of profile) await admin.query(`INSERT INTO ${SCHEMA}.profile VALUES ($1, $2, $3, $4, $5)`, row);
    for (const row of labels) await admin.query(`INSERT INTO ${SCHEMA}.labels VALUES ($1, $2, $3)`, row);

    const source = await postgresSource(gql);
    expect(source).toEqual({ name: 'warehouse', type: 'POSTGRES', config: { url: 'postgresql://postgres@127.0.0.1:5432/test' }, hasPassword: true });
    const tested = await gql(`mutation { testDataSource(name: "warehouse") { __typename ... on TestDataSourcePayload { objects } ... on Error { message } } }`);
    expect(tested.data.testDataSource.objects).toContain(`${SCHEMA}.profile`);

    const ext = await gql(CREATE_EXTERNAL, {
      input: { name: 'profile', dataSource: 'warehouse', table: `${SCHEMA}.profile`, primaryKey: ['customer_id'], eventTime: 'updated_at' },
    });
    expect(ext.data.createExternalFeatureGroup.__typename, JSON.stringify(ext)).toBe('CreateExternalFeatureGroupPayload');
    expect(ext.data.createExternalFeatureGroup.featureGroup.features).toEqual([
      { name: 'customer_id', type: 'BIGINT' },
      { name: 'updated_at', type: 'TIMESTAMP' },
      { name: 'tenure', type: 'INT' },
      { name: 'plan', type: 'STRING' },
      { name: 'spend', type: 'DECIMAL(10,2)' },
    ]);
    // The same definition again is the same group.
    const again = await gql(CREATE_EXTERNAL, {
      input: { name: 'profile', dataSource: 'warehouse', table: `${SCHEMA}.profile`, primaryKey: ['customer_id'], eventTime: 'updated_at' },
    });
    expect(again.data.createExternalFeatureGroup.featureGroup.version).toBe(1);

    const read = await gql(`{ featureGroup(name: "profile") { read(first: 2) { records } } }`);
    expect(read.data.featureGroup.read.records).toEqual(
      [
        { customer_id: 1, updated_at: '2026-01-02T00:00:00.000000Z', tenure: 10, plan: 'basic', spend: '1.05' },
        { customer_id: 1, updated_at: '2026-01-12T00:00:00.000000Z', tenure: 11, plan: 'gold', spend: '1.15' },
      ].map((r) => expect.objectContaining({ customer_id: r.customer_id, tenure: r.tenure, plan: r.plan, spend: r.spend })),
    );

    await gql(CREATE_GROUP, {
      input: {
        name: 'labels',
        primaryKey: ['customer_id'],
        eventTime: 'ts',
        features: [
          { name: 'customer_id', type: 'BIGINT' },
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'churn', type: 'BOOLEAN' },
        ],
      },
    });
    const inserted = await gql(INSERT, { g: { name: 'labels' }, rows: labels.map(([customer_id, ts, churn]) => ({ customer_id, ts, churn })) });
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    const view = await gql(CREATE_VIEW, {
      input: {
        name: 'churn',
        labels: ['churn'],
        query: {
          featureGroup: { name: 'labels' },
          features: ['customer_id', 'ts', 'churn'],
          joins: [{ featureGroup: { name: 'profile' }, features: ['tenure', 'plan', 'spend'], on: ['customer_id'] }],
        },
      },
    });
    expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
    const td = await gql(CREATE_TD, { fv: { name: 'churn' } });
    expect(td.data.createTrainingDataset.__typename, JSON.stringify(td)).toBe('CreateTrainingDatasetPayload');
    const [train] = td.data.createTrainingDataset.trainingDataset.splits;
    const got = (train.data.records as any[]).map((r) => [r.customer_id, new Date(r.ts).toISOString(), r.churn, r.tenure, r.plan, r.spend]);

    const expected = await admin.query(
      `SELECT l.customer_id::int AS customer_id, l.ts, l.churn, p.tenure, p.plan, p.spend::text AS spend
       FROM ${SCHEMA}.labels l LEFT JOIN LATERAL (
         SELECT * FROM ${SCHEMA}.profile p WHERE p.customer_id = l.customer_id AND p.updated_at <= l.ts ORDER BY p.updated_at DESC LIMIT 1
       ) p ON true`,
    );
    const want = expected.rows.map((r) => [r.customer_id, new Date(r.ts).toISOString(), r.churn, r.tenure, r.plan, r.spend]);
    const sort = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(got).toHaveLength(labels.length);
    expect(sort(got)).toEqual(sort(want));
    // Some labels precede every profile row, some match: both cases are covered.
    expect(got.some((r) => r[3] === null)).toBe(true);
    expect(got.filter((r) => r[3] !== null).length).toBeGreaterThan(labels.length / 2);
  });

  it('validates and computes statistics over the source rows; MATERIALIZE fills the online store for featureVector', async () => {
    const { gql } = await project('extstat');
    await admin.query(`CREATE TABLE ${SCHEMA}.accounts (id text, seen_at timestamp, balance double precision)`);
    await admin.query(
      `INSERT INTO ${SCHEMA}.accounts VALUES ('a', '2026-02-01', 10), ('a', '2026-02-03', 30), ('b', '2026-02-02', 5), ('c', '2026-02-02', NULL)`,
    );
    await postgresSource(gql, 'db');
    const ext = await gql(CREATE_EXTERNAL, {
      input: { name: 'accounts', dataSource: 'db', table: `${SCHEMA}.accounts`, primaryKey: ['id'], eventTime: 'seen_at', onlineEnabled: true },
    });
    expect(ext.data.createExternalFeatureGroup.__typename, JSON.stringify(ext)).toBe('CreateExternalFeatureGroupPayload');

    // Validation: the suite evaluated over the rows the source holds.
    const suite = await gql(`mutation {
      saveExpectationSuite(featureGroup: { name: "accounts" }, input: {
        name: "accounts_suite", ingestionPolicy: STRICT
        expectations: [
          { type: "expect_column_values_to_not_be_null", kwargs: { column: "balance" } }
          { type: "expect_column_values_to_be_between", kwargs: { column: "balance", min_value: 0, max_value: 100 } }
        ]
      }) { __typename ... on Error { message } }
    }`);
    expect(suite.data.saveExpectationSuite.__typename, JSON.stringify(suite)).toBe('SaveExpectationSuitePayload');
    const validated = await gql(`mutation {
      validateFeatureGroup(featureGroup: { name: "accounts" }) { __typename ... on ValidateFeatureGroupPayload { validationReport } ... on Error { message } }
    }`);
    const report = validated.data.validateFeatureGroup.validationReport;
    expect(report.success, JSON.stringify(validated)).toBe(false);
    expect(report.results.map((r: any) => [r.expectationType, r.success, r.unexpectedCount])).toEqual([
      ['expect_column_values_to_not_be_null', false, 1],
      ['expect_column_values_to_be_between', true, 0],
    ]);

    const stats = await gql(`mutation {
      computeStatistics(featureGroup: { name: "accounts" }) {
        __typename ... on ComputeStatisticsPayload { statistics { rowCount features { name count nullCount mean min max } } } ... on Error { message }
      }
    }`);
    expect(stats.data.computeStatistics.__typename, JSON.stringify(stats)).toBe('ComputeStatisticsPayload');
    const { statistics } = stats.data.computeStatistics;
    expect(statistics.rowCount).toBe(4);
    const balance = statistics.features.find((f: any) => f.name === 'balance');
    expect(balance).toMatchObject({ count: 3, nullCount: 1, mean: 15, min: 5, max: 30 });

    await gql(CREATE_VIEW, { input: { name: 'serve', query: { featureGroup: { name: 'accounts' }, features: ['id', 'balance'] } } });
    const vector = `{ featureVectors(featureView: { name: "serve" }, entries: [{ id: "a" }, { id: "b" }, { id: "z" }]) { record missing } }`;
    // Nothing online before the job runs.
    const before = await gql(vector);
    expect(before.data.featureVectors[0].missing).toEqual(['accounts']);

    const job = await gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
      input: { name: 'materialize_accounts', type: 'MATERIALIZE', config: { featureGroup: { name: 'accounts' } } },
    });
    expect(job.data.createJob.__typename, JSON.stringify(job)).toBe('CreateJobPayload');
    const run = await gql(
      `mutation { runJob(name: "materialize_accounts") { __typename ... on RunJobPayload { execution { id } } ... on Error { message } } }`,
    );
    const id = run.data.runJob.execution.id;
    let execution: any;
    for (const deadline = Date.now() + 15_000; ; ) {
      execution = (await gql(`query($id: ID!) { execution(id: $id) { state finalStatus logs } }`, { id })).data.execution;
      if (execution.finalStatus) break;
      if (Date.now() > deadline) throw new Error(JSON.stringify(execution));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(execution.finalStatus, JSON.stringify(execution)).toBe('SUCCEEDED');
    const after = await gql(vector);
    expect(after.data.featureVectors.map((v: any) => v.record)).toEqual([
      { id: 'a', balance: 30 },
      { id: 'b', balance: 5 },
      // An entity without an online row: every value null, as for any group.
      { id: null, balance: null },
    ]);
  });

  it('turns source failures into DataSourceErrors naming the source and object, refuses inserts and deleting a used source', async () => {
    const { gql } = await project('extfail');
    await admin.query(`CREATE TABLE ${SCHEMA}.fragile (k int, v double precision, w text)`);
    await admin.query(`INSERT INTO ${SCHEMA}.fragile VALUES (1, 1.5, 'x')`);
    await postgresSource(gql, 'src');
    const created = await gql(CREATE_EXTERNAL, { input: { name: 'fragile', dataSource: 'src', table: `${SCHEMA}.fragile`, primaryKey: ['k'] } });
    expect(created.data.createExternalFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateExternalFeatureGroupPayload');
    await gql(CREATE_VIEW, { input: { name: 'fragile_view', query: { featureGroup: { name: 'fragile' } } } });

    const insert = await gql(INSERT, { g: { name: 'fragile' }, rows: [{ k: 2, v: 1, w: 'y' }] });
    expect(insert.data.insertFeatureGroupData.__typename).toBe('ValidationError');
    expect(insert.data.insertFeatureGroupData.message).toMatch(/external/);

    const deleting = await gql(`mutation { deleteDataSource(name: "src") { __typename ... on Error { message } } }`);
    expect(deleting.data.deleteDataSource.__typename).toBe('ConflictError');

    // A column changes type.
    await admin.query(`ALTER TABLE ${SCHEMA}.fragile ALTER COLUMN v TYPE text`);
    let td = await gql(CREATE_TD, { fv: { name: 'fragile_view' } });
    expect(td.data.createTrainingDataset).toMatchObject({ __typename: 'DataSourceError', source: 'src', object: `${SCHEMA}.fragile.v` });
    expect(td.data.createTrainingDataset.message).toMatch(/changed type/);
    // A column goes missing (and the changed one is back).
    await admin.query(`ALTER TABLE ${SCHEMA}.fragile ALTER COLUMN v TYPE double precision USING v::double precision`);
    await admin.query(`ALTER TABLE ${SCHEMA}.fragile DROP COLUMN w`);
    td = await gql(CREATE_TD, { fv: { name: 'fragile_view' } });
    expect(td.data.createTrainingDataset).toMatchObject({ __typename: 'DataSourceError', source: 'src', object: `${SCHEMA}.fragile.w` });
    expect(td.data.createTrainingDataset.message).toMatch(/missing/);
    // The table goes.
    await admin.query(`DROP TABLE ${SCHEMA}.fragile`);
    const stats = await gql(
      `mutation { computeStatistics(featureGroup: { name: "fragile" }) { __typename ... on DataSourceError { source object message } } }`,
    );
    expect(stats.data.computeStatistics).toMatchObject({ __typename: 'DataSourceError', source: 'src', object: `${SCHEMA}.fragile` });
    expect(stats.data.computeStatistics.message).toMatch(/not found/);

    // The source is unreachable.
    await gql(CREATE_SOURCE, {
      input: { name: 'down', type: 'POSTGRES', config: { url: `postgresql://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/test` } },
    });
    const down = await gql(`mutation { testDataSource(name: "down") { __typename ... on DataSourceError { source object message } } }`);
    expect(down.data.testDataSource).toMatchObject({ __typename: 'DataSourceError', source: 'down', object: null });
    expect(down.data.testDataSource.message).toMatch(/unreachable/);

    await gql(`mutation { deleteFeatureView(featureView: { name: "fragile_view" }) { __typename } }`);
    await gql(`mutation { deleteFeatureGroup(featureGroup: { name: "fragile" }) { __typename } }`);
    const deleted = await gql(`mutation { deleteDataSource(name: "src") { __typename ... on Error { message } } }`);
    expect(deleted.data.deleteDataSource.__typename, JSON.stringify(deleted)).toBe('DeleteDataSourcePayload');
  });
});

describe('file external groups', () => {
  it('reads a Parquet directory and a CSV file in place, with their schemas', async () => {
    const { gql, key: projectKey } = await project('extfiles');
    const base = join(filesDir, 'lake');
    mkdirSync(join(base, 'events', 'day=1'), { recursive: true });
    mkdirSync(join(base, 'events', 'day=2'), { recursive: true });
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      await connection.run(
        `COPY (SELECT i::BIGINT AS event_id, ('2026-03-0' || i)::TIMESTAMP AS at, i * 1.5 AS amount, 'u' || (i % 2) AS user_id FROM range(1, 4) t(i))
         TO '${join(base, 'events', 'day=1', 'part-0.parquet')}' (FORMAT parquet)`,
      );
      await connection.run(
        `COPY (SELECT i::BIGINT AS event_id, ('2026-03-0' || i)::TIMESTAMP AS at, i * 1.5 AS amount, 'u' || (i % 2) AS user_id FROM range(4, 6) t(i))
         TO '${join(base, 'events', 'day=2', 'part-0.parquet')}' (FORMAT parquet)`,
      );
    } finally {
      connection.closeSync();
      db.closeSync();
    }
    writeFileSync(join(base, 'users.csv'), 'user_id,signup,score\nu0,2025-12-01,3\nu1,2025-12-15,7\n');

    // Configs are checked: FILES needs an absolute directory, POSTGRES a postgresql:// URL.
    const relative = await gql(CREATE_SOURCE, { input: { name: 'rel', type: 'FILES', config: { path: 'data' } } });
    expect(relative.data.createDataSource.__typename).toBe('ValidationError');
    const badUrl = await gql(
      `mutation { createDataSource(input: { name: "bad", type: POSTGRES, config: { url: "mysql://x" } }) { __typename ... on ValidationError { issues { path } } } }`,
    );
    expect(badUrl.data.createDataSource.issues[0].path).toEqual(['input', 'config', 'url']);

    const source = await gql(CREATE_SOURCE, { input: { name: 'lake', type: 'FILES', config: { path: base } } });
    expect(source.data.createDataSource.dataSource).toEqual({ name: 'lake', type: 'FILES', config: { path: base }, hasPassword: false });
    const listed = await gql(`mutation { testDataSource(name: "lake") { ... on TestDataSourcePayload { objects } } }`);
    expect(listed.data.testDataSource.objects).toEqual(['events/day=1/part-0.parquet', 'events/day=2/part-0.parquet', 'users.csv']);

    const events = await gql(CREATE_EXTERNAL, {
      input: { name: 'events', dataSource: 'lake', path: 'events', format: 'PARQUET', primaryKey: ['event_id'], eventTime: 'at' },
    });
    expect(events.data.createExternalFeatureGroup.featureGroup.features, JSON.stringify(events)).toEqual(
      [
        { name: 'event_id', type: 'BIGINT' },
        { name: 'at', type: 'TIMESTAMP' },
        { name: 'amount', type: 'DECIMAL(18,1)' },
        { name: 'user_id', type: 'STRING' },
        // Hive-style directories (`day=1/`) are read as a column too.
        { name: 'day', type: 'BIGINT' },
      ].map((f) => (f.name === 'amount' ? { name: 'amount', type: expect.stringMatching(/^(DOUBLE|DECIMAL\(\d+,\d+\))$/) } : f)),
    );
    const users = await gql(CREATE_EXTERNAL, { input: { name: 'users', dataSource: 'lake', path: 'users.csv', primaryKey: ['user_id'] } });
    expect(users.data.createExternalFeatureGroup.featureGroup.features, JSON.stringify(users)).toEqual([
      { name: 'user_id', type: 'STRING' },
      { name: 'signup', type: 'DATE' },
      { name: 'score', type: 'BIGINT' },
    ]);

    const read = await gql(`{
      events: featureGroup(name: "events") { read { columns { name } records } }
      users: featureGroup(name: "users") { read { records } }
    }`);
    expect(read.data.events.read.records.map((r: any) => [r.event_id, r.at, Number(r.amount), r.user_id, r.day])).toEqual([
      [1, '2026-03-01T00:00:00.000000Z', 1.5, 'u1', 1],
      [2, '2026-03-02T00:00:00.000000Z', 3, 'u0', 1],
      [3, '2026-03-03T00:00:00.000000Z', 4.5, 'u1', 1],
      [4, '2026-03-04T00:00:00.000000Z', 6, 'u0', 2],
      [5, '2026-03-05T00:00:00.000000Z', 7.5, 'u1', 2],
    ]);
    expect(read.data.users.read.records).toEqual([
      { user_id: 'u0', signup: '2025-12-01', score: 3 },
      { user_id: 'u1', signup: '2025-12-15', score: 7 },
    ]);

    // Downloads read the source too.
    const url = (await gql(`{ featureGroup(name: "users") { downloadUrl(format: CSV) } }`)).data.featureGroup.downloadUrl;
    const origin = await srv.listen();
    const download = await fetch(origin + url, { headers: { authorization: `Bearer ${projectKey}` } });
    expect(download.status).toBe(200);
    expect((await download.text()).trim().split('\n')).toEqual(['user_id,signup,score', 'u0,2025-12-01,3', 'u1,2025-12-15,7']);

    // Paths outside the source's directory are refused.
    const outside = await gql(CREATE_EXTERNAL, { input: { name: 'escape', dataSource: 'lake', path: '../secret.csv', primaryKey: ['x'] } });
    expect(outside.data.createExternalFeatureGroup.__typename).toBe('ValidationError');
    // A file that goes away is the source's failure.
    rmSync(join(base, 'users.csv'));
    const gone = await gql(`{ featureGroup(name: "users") { read { rowCount } } }`);
    expect(gone.errors?.[0]).toMatchObject({ extensions: { code: 'DATA_SOURCE_ERROR' } });
    expect(gone.errors?.[0]?.message).toMatch(/users\.csv not found in data source lake/);
  });
});

describe('data-source secrets', () => {
  it('never stores, returns or logs the password in clear', async () => {
    const { gql } = await project('extsecret');
    await postgresSource(gql, 'secretive');
    const listed = await gql(`{ dataSources { name type config hasPassword } }`);
    expect(listed.data.dataSources).toEqual([
      { name: 'secretive', type: 'POSTGRES', config: { url: 'postgresql://postgres@127.0.0.1:5432/test' }, hasPassword: true },
    ]);
    // It still connects with the password it sealed.
    const tested = await gql(`mutation { testDataSource(name: "secretive") { __typename } }`);
    expect(tested.data.testDataSource.__typename).toBe('TestDataSourcePayload');

    const rows = await srv.app.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "DataSource"`);
    const stored = JSON.stringify(rows);
    expect(stored).toContain('secretive');
    expect(stored).toMatch(/"v1:/);
    expect(stored).not.toContain(PASSWORD);
    expect(stored).not.toContain(encodeURIComponent(PASSWORD));
    if (testMetadataProvider() === 'sqlite') {
      // The database files themselves, write-ahead log included.
      for (const file of readdirSync(srv.dataDir).filter((f) => f.startsWith('metadata.db'))) {
        expect(readFileSync(join(srv.dataDir, file)).includes(Buffer.from(PASSWORD))).toBe(false);
      }
    }
  });

  // Runs last: every response and log line of the file so far.
  it('no API response or log line of these tests contains the password', () => {
    expect(responses.length).toBeGreaterThan(10);
    expect(logLines.length).toBeGreaterThan(0);
    for (const text of [...responses, ...logLines]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});
