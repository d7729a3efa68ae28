import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * An insert must match the group's schema: a JSON row or a file lacking a feature is refused,
 * naming the missing columns (and for JSON rows the first row lacking each), and nothing is
 * written; `fillMissing: true` inserts null for them. Primary key and event time are required
 * either way.
 */

let srv: TestServer;
let tmp: string;
beforeAll(async () => {
  srv = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'granary-cols-'));
});
afterAll(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const CREATE = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) { __typename ... on Error { message } }
}`;

const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!], $file: File, $format: DataFormat, $fillMissing: Boolean, $storage: Storage) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows, file: $file, format: $format, fillMissing: $fillMissing, storage: $storage) {
    __typename
    ... on InsertFeatureGroupDataPayload { commit { rowCount rowsInserted } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const STATE = `{ featureGroup(name: "customers") { rowCount commits { id } read { records } } }`;

/** customerid (key), datetime (event time) and four more features. */
const FEATURES = [
  { name: 'customerid', type: 'STRING' },
  { name: 'datetime', type: 'TIMESTAMP' },
  { name: 'tenure', type: 'INT' },
  { name: 'monthlycharges', type: 'DOUBLE' },
  { name: 'contract', type: 'STRING' },
  { name: 'churn', type: 'BOOLEAN' },
];

const full = (id: string) => ({ customerid: id, datetime: '2026-01-01T00:00:00Z', tenure: 3, monthlycharges: 20.5, contract: 'm', churn: false });

async function setUp(online = false) {
  const p = await srv.newProject('cols');
  const gql = (q: string, v?: Record<string, unknown>) => srv.gql(q, v, p.key);
  const res = await gql(CREATE, {
    input: { name: 'customers', primaryKey: ['customerid'], eventTime: 'datetime', onlineEnabled: online, features: FEATURES },
  });
  expect(res.data?.createFeatureGroup.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
  const insert = async (variables: Record<string, unknown>) => {
    const r = await gql(INSERT, { fg: { name: 'customers' }, ...variables });
    return r.data?.insertFeatureGroupData ?? r;
  };
  const upload = async (content: Buffer | string, name: string, variables: Record<string, unknown> = {}) => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: INSERT, variables: { fg: { name: 'customers' }, file: null, ...variables } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
    const r = await srv.server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${p.key}`, 'x-graphql-yoga-csrf': '1' },
      body: form,
    });
    const json = (await r.json()) as any;
    return json.data?.insertFeatureGroupData ?? json;
  };
  return { gql, insert, upload, name: p.name };
}

async function parquet(sql: string): Promise<Buffer> {
  const path = join(tmp, `${Math.random().toString(36).slice(2)}.parquet`);
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    await connection.run(`COPY (${sql}) TO '${path}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
  }
  return readFileSync(path);
}

describe('JSON rows must give every feature', () => {
  it('refuses a row with 3 of 6 features, naming the missing columns and the first row lacking them; nothing is written', async () => {
    const { gql, insert } = await setUp(true);
    const res = await insert({ rows: [full('c1'), { customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 4 }] });
    expect(res.__typename).toBe('ValidationError');
    expect(res.message).toContain('"monthlycharges" (first in row 2)');
    expect(res.message).toContain('"contract"');
    expect(res.message).toContain('"churn"');
    expect(res.message).toContain('fillMissing');
    expect(res.issues).toEqual([
      { path: ['rows', '2', 'monthlycharges'], message: 'row 2: missing column "monthlycharges"' },
      { path: ['rows', '2', 'contract'], message: 'row 2: missing column "contract"' },
      { path: ['rows', '2', 'churn'], message: 'row 2: missing column "churn"' },
    ]);
    const state = (await gql(STATE)).data.featureGroup;
    expect(state.commits).toEqual([]);
    expect(state.rowCount).toBe(0);
  });

  it('names, for rows with different keys, the first row lacking each feature', async () => {
    const { insert } = await setUp();
    const { churn: _c, ...noChurn } = full('c2');
    const { tenure: _t, ...noTenure } = full('c3');
    const { contract: _x, customerid: _k, ...noContract } = full('c0');
    // Row 1 spells the key in capitals (the case-insensitive path) and lacks contract.
    const res = await insert({ rows: [{ ...noContract, CUSTOMERID: 'c0' }, full('c1'), noChurn, full('c4'), noTenure, { ...noChurn, customerid: 'c5' }] });
    expect(res.__typename).toBe('ValidationError');
    expect(res.issues.map((i: any) => i.path)).toEqual([
      ['rows', '1', 'contract'],
      ['rows', '3', 'churn'],
      ['rows', '5', 'tenure'],
    ]);
  });

  it('takes an explicit null as given, and with fillMissing inserts null for absent features', async () => {
    const { gql, insert } = await setUp(true);
    const nulls = await insert({ rows: [{ ...full('c1'), tenure: null, contract: null }] });
    expect(nulls.__typename, JSON.stringify(nulls)).toBe('InsertFeatureGroupDataPayload');
    const filled = await insert({ rows: [{ customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 4 }], fillMissing: true });
    expect(filled.__typename, JSON.stringify(filled)).toBe('InsertFeatureGroupDataPayload');
    const online = await insert({ rows: [{ customerid: 'c3', datetime: '2026-01-01T00:00:00Z' }], fillMissing: true, storage: 'ONLINE' });
    expect(online.__typename, JSON.stringify(online)).toBe('InsertFeatureGroupDataPayload');
    const records = (await gql(STATE)).data.featureGroup.read.records;
    expect(records.find((r: any) => r.customerid === 'c2')).toMatchObject({ tenure: 4, monthlycharges: null, contract: null, churn: null });
  });

  it('requires primary key and event time even with fillMissing', async () => {
    const { gql, insert } = await setUp();
    for (const fillMissing of [false, true]) {
      const noKey = await insert({
        rows: [full('c1'), { datetime: '2026-01-01T00:00:00Z', tenure: 1, monthlycharges: 1, contract: 'x', churn: true }],
        fillMissing,
      });
      expect(noKey.__typename).toBe('ValidationError');
      expect(noKey.issues[0]).toMatchObject({ path: ['rows', '2', 'customerid'] });
      const { datetime: _d, ...timeless } = full('c9');
      const noTime = await insert({ rows: [timeless], fillMissing });
      expect(noTime.__typename).toBe('ValidationError');
      expect(noTime.issues[0]).toMatchObject({ path: ['rows', '1', 'datetime'] });
    }
    expect((await gql(STATE)).data.featureGroup.commits).toEqual([]);
  });
});

describe('files must have a column for every feature', () => {
  it('refuses a CSV with 2 of 6 columns, naming the missing ones; fillMissing inserts it', async () => {
    const { gql, upload } = await setUp();
    const csv = 'customerid,datetime\nc1,2026-01-01T00:00:00Z\nc2,2026-01-02T00:00:00Z\n';
    const res = await upload(csv, 'two.csv');
    expect(res.__typename, JSON.stringify(res)).toBe('ValidationError');
    expect(res.message).toMatch(/the file lacks columns "tenure", "monthlycharges", "contract", "churn"/);
    expect(res.issues.map((i: any) => i.path)).toEqual([
      ['file', 'tenure'],
      ['file', 'monthlycharges'],
      ['file', 'contract'],
      ['file', 'churn'],
    ]);
    expect((await gql(STATE)).data.featureGroup.commits).toEqual([]);
    const filled = await upload(csv, 'two.csv', { fillMissing: true });
    expect(filled.__typename, JSON.stringify(filled)).toBe('InsertFeatureGroupDataPayload');
    expect(filled.commit.rowCount).toBe(2);
  });

  it('refuses NDJSON and Parquet files lacking a feature', async () => {
    const { gql, upload } = await setUp();
    const ndjson = `${JSON.stringify({ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1, monthlycharges: 2, contract: 'm' })}\n`;
    const nd = await upload(ndjson, 'rows.ndjson');
    expect(nd.__typename, JSON.stringify(nd)).toBe('ValidationError');
    expect(nd.issues).toEqual([{ path: ['file', 'churn'], message: 'missing column "churn"' }]);
    const pq = await upload(await parquet(`SELECT 'c1' AS customerid, TIMESTAMP '2026-01-01' AS datetime, 3 AS tenure`), 'rows.parquet');
    expect(pq.__typename, JSON.stringify(pq)).toBe('ValidationError');
    expect(pq.issues.map((i: any) => i.path[1])).toEqual(['monthlycharges', 'contract', 'churn']);
    expect((await gql(STATE)).data.featureGroup.commits).toEqual([]);
    const ok = await upload(await parquet(`SELECT 'c1' AS customerid, TIMESTAMP '2026-01-01' AS datetime, 3 AS tenure`), 'rows.parquet', { fillMissing: true });
    expect(ok.__typename, JSON.stringify(ok)).toBe('InsertFeatureGroupDataPayload');
  });

  it('requires the key column of a file even with fillMissing', async () => {
    const { upload } = await setUp();
    const res = await upload('datetime,tenure\n2026-01-01T00:00:00Z,1\n', 'nokey.csv', { fillMissing: true });
    expect(res.__typename).toBe('ValidationError');
    expect(res.issues).toEqual([{ path: ['file', 'customerid'], message: 'missing column "customerid" (primary key)' }]);
  });
});
