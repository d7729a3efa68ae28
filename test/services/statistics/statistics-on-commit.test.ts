import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

// Statistics after each commit run as the group's COMPUTE_STATISTICS job (trigger COMMIT), so the
// insert returns before they are computed; commits that arrive while such a run waits share it.

let srv: TestServer;
beforeAll(async () => {
  // One run at a time, so a test can hold the only slot and make commits queue.
  srv = await startTestServer({ env: { GRANARY_JOB_CONCURRENCY: '1' } });
});
afterAll(async () => {
  await srv?.close();
});

const CREATE = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`;
const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on InsertFeatureGroupDataPayload { commit { id } } ... on Error { message } }
}`;
const STATISTICS = `query($name: String!, $commit: ID) {
  featureGroup(name: $name) { statistics(commit: $commit) { commit rowCount features { name count mean } } }
}`;
const JOB = `query($name: String!) {
  job(name: $name) { type config executions(first: 10) { edges { node { trigger args state finalStatus } } } }
}`;

async function until<T>(read: () => Promise<T | null | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('statistics after each commit', () => {
  it('computes the statistics of each commit as of that commit, in the group’s statistics job', async () => {
    const p = await srv.newProject('soc');
    const gql = (q: string, v: Record<string, unknown>) => srv.gql(q, v, p.key);
    const input = {
      name: 'sales',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'amount', type: 'DOUBLE' },
      ],
    };
    expect((await gql(CREATE, { input })).data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');

    const first = await gql(INSERT, {
      fg: { name: 'sales' },
      rows: [
        { id: 1, amount: 10 },
        { id: 2, amount: 20 },
      ],
    });
    const firstCommit = first.data.insertFeatureGroupData.commit.id;
    const atFirst = await until(
      async () => (await gql(STATISTICS, { name: 'sales', commit: firstCommit })).data.featureGroup.statistics,
      'statistics of the first commit',
    );
    expect(atFirst).toEqual({
      commit: firstCommit,
      rowCount: 2,
      features: [
        { name: 'id', count: 2, mean: 1.5 },
        { name: 'amount', count: 2, mean: 15 },
      ],
    });
    // The second commit supersedes id 2: rows 1 → 10, 2 → 50, 3 → 30.
    const second = await gql(INSERT, {
      fg: { name: 'sales' },
      rows: [
        { id: 2, amount: 50 },
        { id: 3, amount: 30 },
      ],
    });
    const secondCommit = second.data.insertFeatureGroupData.commit.id;
    const atSecond = await until(
      async () => (await gql(STATISTICS, { name: 'sales', commit: secondCommit })).data.featureGroup.statistics,
      'statistics of the second commit',
    );
    expect(atSecond.rowCount).toBe(3);
    expect(atSecond.features.find((f: any) => f.name === 'amount').mean).toBeCloseTo(30, 10);

    const job = await until(async () => {
      const { data } = await gql(JOB, { name: 'sales_1_compute_stats' });
      const runs = data.job?.executions.edges.map((e: any) => e.node) ?? [];
      return runs.length === 2 && runs.every((r: any) => r.finalStatus) ? data.job : null;
    }, 'both statistics runs to end');
    expect(job.type).toBe('COMPUTE_STATISTICS');
    expect(job.config).toEqual({ featureGroup: { name: 'sales', version: 1 } });
    const runs = job.executions.edges.map((e: any) => e.node);
    expect(runs.map((r: any) => [r.trigger, r.finalStatus])).toEqual([
      ['COMMIT', 'SUCCEEDED'],
      ['COMMIT', 'SUCCEEDED'],
    ]);
    expect(runs.map((r: any) => r.args)).toEqual([null, null]);
  });

  it('runs once for commits that arrive while its run waits for a slot, as of the newest of them', async () => {
    const p = await srv.newProject('soc_burst');
    const gql = (q: string, v: Record<string, unknown>) => srv.gql(q, v, p.key);
    const input = {
      name: 'clicks',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'n', type: 'INT' },
      ],
    };
    expect((await gql(CREATE, { input })).data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    // Hold the process's only job slot with a command that waits for a file to appear.
    const release = join(mkdtempSync(join(tmpdir(), 'granary-soc-')), 'release');
    const script = `const fs = require('node:fs'); const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(release)})) { clearInterval(t) } }, 20)`;
    const blocker = await gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
      input: { name: 'hold', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script] } },
    });
    expect(blocker.data.createJob.__typename, JSON.stringify(blocker)).toBe('CreateJobPayload');
    await gql(`mutation { runJob(name: "hold") { __typename } }`, {});

    const commits: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await gql(INSERT, { fg: { name: 'clicks' }, rows: [{ id: i, n: i }] });
      commits.push(res.data.insertFeatureGroupData.commit.id);
    }
    writeFileSync(release, '');
    const stats = await until(
      async () => (await gql(STATISTICS, { name: 'clicks', commit: commits.at(-1) })).data.featureGroup.statistics,
      'statistics of the last commit',
    );
    expect(stats).toMatchObject({ commit: commits.at(-1), rowCount: 5 });
    // The statistics are visible before the run records its end: wait for that, then count runs.
    const runs = await until(async () => {
      const edges = (await gql(JOB, { name: 'clicks_1_compute_stats' })).data.job.executions.edges;
      return edges.every((e: any) => e.node.finalStatus !== null) ? edges : null;
    }, 'the run to finish');
    expect(runs.map((e: any) => [e.node.trigger, e.node.finalStatus])).toEqual([['COMMIT', 'SUCCEEDED']]);
  });

  it('runs nothing for a group whose statistics are disabled', async () => {
    const p = await srv.newProject('soc_off');
    const gql = (q: string, v: Record<string, unknown>) => srv.gql(q, v, p.key);
    const input = {
      name: 'quiet',
      primaryKey: ['id'],
      features: [{ name: 'id', type: 'BIGINT' }],
      statisticsConfig: { enabled: false },
    };
    expect((await gql(CREATE, { input })).data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    expect((await gql(INSERT, { fg: { name: 'quiet' }, rows: [{ id: 1 }] })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    const { data } = await gql(`{ jobs(first: 10) { edges { node { name } } } }`, {});
    expect(data.jobs.edges).toEqual([]);
  });
});
