import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Counts of inserts are exact whatever the concurrency: concurrent inserts of the same identities
 * count each identity once as inserted (the first commit recorded) and as updated by the others,
 * so the group's rowCount (the sum of rowsInserted) is its number of visible distinct identities.
 */

let srv: TestServer;
let other: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  // A second process on the same data directory and metadata database.
  other = await startTestServer({ shareWith: srv });
});
afterAll(async () => {
  await other?.close();
  await srv?.close();
});

const CREATE = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) { __typename ... on Error { message } }
}`;

const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows) {
    __typename
    ... on InsertFeatureGroupDataPayload { commit { id rowCount rowsInserted rowsUpdated } }
    ... on Error { message }
  }
}`;

const GROUP = `{ featureGroup(name: "accounts") { rowCount commits { id rowsInserted rowsUpdated } read { rowCount records } } }`;

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

async function setUp(): Promise<{ gqls: [Gql, Gql] }> {
  const p = await srv.newProject('counts');
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  const gql2: Gql = (q, v) => other.gql(q, v, p.key);
  const res = await gql(CREATE, {
    input: {
      name: 'accounts',
      primaryKey: ['id'],
      eventTime: 'ts',
      onlineEnabled: true,
      features: [
        { name: 'id', type: 'STRING' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'balance', type: 'DOUBLE' },
      ],
    },
  });
  expect(res.data?.createFeatureGroup.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
  return { gqls: [gql, gql2] };
}

const rows = (from: number, to: number, balance = 1) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: `a${from + i}`, ts: '2026-01-01T00:00:00Z', balance: balance + i }));

/** Holds every insert after staging until `n` of them have staged, on each given server: they then order and record at once. */
function barrier(servers: readonly TestServer[], n: number): () => void {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  for (const s of servers) {
    s.app.services.featureGroups.faults = {
      afterStage: async () => {
        if (++arrived === n) release();
        await all;
      },
    };
  }
  return () => {
    for (const s of servers) s.app.services.featureGroups.faults = {};
  };
}

async function insertAll(calls: readonly [Gql, unknown[]][], servers: readonly TestServer[]) {
  const reset = barrier(servers, calls.length);
  try {
    const results = await Promise.all(calls.map(([gql, rs]) => gql(INSERT, { fg: { name: 'accounts' }, rows: rs })));
    return results.map((r) => {
      const payload = r.data?.insertFeatureGroupData;
      expect(payload?.__typename, JSON.stringify(r)).toBe('InsertFeatureGroupDataPayload');
      return payload.commit as { id: string; rowCount: number; rowsInserted: number; rowsUpdated: number };
    });
  } finally {
    reset();
  }
}

function sum(commits: readonly { rowsInserted: number; rowsUpdated: number }[]) {
  return {
    inserted: commits.reduce((n, c) => n + c.rowsInserted, 0),
    updated: commits.reduce((n, c) => n + c.rowsUpdated, 0),
  };
}

describe('insert counts under concurrency', () => {
  it('counts 3 identical concurrent 5-row inserts as 5 inserted and 10 updated; rowCount is 5', async () => {
    const {
      gqls: [gql],
    } = await setUp();
    const commits = await insertAll(
      [
        [gql, rows(1, 5)],
        [gql, rows(1, 5)],
        [gql, rows(1, 5)],
      ],
      [srv],
    );
    expect(sum(commits)).toEqual({ inserted: 5, updated: 10 });
    const fg = (await gql(GROUP)).data.featureGroup;
    expect(fg.rowCount).toBe(5);
    expect(fg.read.rowCount).toBe(5);
    // Commit order (by id; listed newest first) is the order in which they were counted: the oldest inserted the rows.
    expect(fg.commits.map((c: any) => [c.rowsInserted, c.rowsUpdated])).toEqual([
      [0, 5],
      [0, 5],
      [5, 0],
    ]);
  });

  it('counts overlapping concurrent inserts once per identity', async () => {
    const {
      gqls: [gql],
    } = await setUp();
    const commits = await insertAll(
      [
        [gql, rows(1, 5)],
        [gql, rows(3, 8, 10)],
        [gql, rows(8, 9, 20)],
      ],
      [srv],
    );
    expect(sum(commits).inserted).toBe(9);
    const fg = (await gql(GROUP)).data.featureGroup;
    expect(fg.rowCount).toBe(9);
    expect(fg.read.rowCount).toBe(9);
  });

  it('orders concurrent commits as they were counted: training data holds each identity once, as read does', async () => {
    const {
      gqls: [gql, gql2],
    } = await setUp();
    await insertAll(
      [
        [gql, rows(1, 5, 100)],
        [gql2, rows(1, 5, 200)],
        [gql, rows(1, 5, 300)],
      ],
      [srv, other],
    );
    const view = await gql(
      `mutation { createFeatureView(input: { name: "accounts_view", query: { featureGroup: { name: "accounts" } } }) { __typename ... on Error { message } } }`,
    );
    expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
    const td = await gql(`mutation { createTrainingDataset(featureView: { name: "accounts_view" }) { __typename ... on Error { message } } }`);
    expect(td.data.createTrainingDataset.__typename, JSON.stringify(td)).toBe('CreateTrainingDatasetPayload');
    const data = await gql(
      `{ trainingDataset(featureView: { name: "accounts_view" }, version: 1) { splits { data(first: 100, transformed: false) { records } } } }`,
    );
    const training = data.data.trainingDataset.splits.flatMap((s: any) => s.data.records.map((r: any) => r.balance)).sort();
    const read = (await gql(GROUP)).data.featureGroup.read.records.map((r: any) => r.balance).sort();
    expect(read).toHaveLength(5);
    expect(training).toEqual(read);
  });

  it('is exact across two processes sharing the data directory and database', async () => {
    const {
      gqls: [gql, gql2],
    } = await setUp();
    const commits = await insertAll(
      [
        [gql, rows(1, 5)],
        [gql2, rows(1, 5)],
        [gql, rows(1, 5)],
        [gql2, rows(1, 5)],
      ],
      [srv, other],
    );
    expect(sum(commits)).toEqual({ inserted: 5, updated: 15 });
    for (const g of [gql, gql2]) {
      const fg = (await g(GROUP)).data.featureGroup;
      expect(fg.rowCount).toBe(5);
      expect(fg.read.rowCount).toBe(5);
      expect(fg.commits.map((c: any) => [c.rowsInserted, c.rowsUpdated])).toEqual([
        [0, 5],
        [0, 5],
        [0, 5],
        [5, 0],
      ]);
    }
    // The returned commits are the recorded ones (ids included: a renumbered commit returns its new id).
    const recorded = (await gql(GROUP)).data.featureGroup.commits.map((c: any) => c.id).sort();
    expect(commits.map((c) => c.id).sort()).toEqual(recorded);
  });

  it('orders commits from two processes as they were recorded: newest first, and the newest supersedes', async () => {
    const {
      gqls: [gql, gql2],
    } = await setUp();
    // Twelve commits of one identity, each with its own balance, from both processes at once.
    const calls: [Gql, unknown[]][] = Array.from({ length: 12 }, (_, i) => [i % 2 ? gql2 : gql, [{ id: 'a1', ts: '2026-01-01T00:00:00Z', balance: i }]]);
    const commits = await insertAll(calls, [srv, other]);
    const balanceOf = new Map(commits.map((c, i) => [c.id, i]));
    for (const g of [gql, gql2]) {
      const fg = (await g(`{ featureGroup(name: "accounts") { commits { id committedAt rowsInserted } read { records } } }`)).data.featureGroup;
      const listed = fg.commits as { id: string; committedAt: string; rowsInserted: number }[];
      expect(listed.map((c) => c.id).sort()).toEqual(commits.map((c) => c.id).sort());
      // Newest first in the order they were recorded: recording times never increase down the list,
      // and only the oldest (the first recorded) inserted the identity.
      const times = listed.map((c) => Date.parse(c.committedAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(listed.map((c) => c.rowsInserted)).toEqual([...Array(11).fill(0), 1]);
      // The commit listed first is the one whose row is visible.
      expect(fg.read.records).toEqual([{ id: 'a1', ts: '2026-01-01T00:00:00.000000Z', balance: balanceOf.get(listed[0]!.id) }]);
    }
  });
});
