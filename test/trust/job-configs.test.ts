import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Job configs are checked when a job is defined (createJob, scheduleJob), not at its first run:
// the objects they name exist in the caller's project, ranges and combinations hold, cron patterns
// have the documented 5 or 6 fields. A refusal is a typed ValidationError naming the input field,
// and nothing is stored.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const CREATE_JOB = `mutation($input: CreateJobInput!) {
  createJob(input: $input) {
    __typename
    ... on CreateJobPayload { job { name config schedule { cron } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

async function project(prefix: string) {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

/** A group `scores` (`id`, `ts`, `v`) and a view `scores_view` on it; `events` has no event time; `offline_only` is not online. */
async function objects(gql: Gql) {
  const groups = [
    {
      name: 'scores',
      primaryKey: ['id'],
      eventTime: 'ts',
      onlineEnabled: true,
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'v', type: 'DOUBLE' },
      ],
    },
    {
      name: 'events',
      primaryKey: ['id'],
      onlineEnabled: true,
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'v', type: 'DOUBLE' },
      ],
    },
    {
      name: 'offline_only',
      primaryKey: ['id'],
      onlineEnabled: false,
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'v', type: 'DOUBLE' },
      ],
    },
  ];
  for (const input of groups) {
    const res = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`, {
      input,
    });
    expect(res.data.createFeatureGroup.__typename, JSON.stringify(res)).toBe('CreateFeatureGroupPayload');
  }
  const view = await gql(`mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`, {
    input: { name: 'scores_view', query: { featureGroup: { name: 'scores' } } },
  });
  expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
}

/** Asserts a refusal naming `path`, and that the project has no jobs and no Job registry events. */
async function expectRefused(gql: Gql, input: Record<string, unknown>, path: string) {
  const res = await gql(CREATE_JOB, { input });
  expect(res.data?.createJob.__typename, JSON.stringify(res)).toBe('ValidationError');
  expect(
    res.data.createJob.issues.map((i: any) => i.path.join('.')),
    JSON.stringify(res),
  ).toContain(path);
  // No engine or runtime text reaches the client.
  expect(JSON.stringify(res)).not.toMatch(/prisma|duckdb|sqlite|TypeError|at \//i);
  return res.data.createJob;
}

async function expectNothingStored(gql: Gql) {
  expect((await gql(`{ jobs(first: 50) { edges { node { name } } } }`)).data.jobs.edges).toEqual([]);
  const feed = await gql(`query($since: DateTime!) { registryChanges(since: $since) { kind } }`, { since: new Date(0).toISOString() });
  expect(feed.data.registryChanges.filter((e: any) => e.kind === 'Job')).toEqual([]);
}

describe('createJob checks a config against the project', () => {
  it('TRAINING_DATASET: refuses a missing view, sizes out of range and unknown fields; accepts a good config', async () => {
    const { gql } = await project('cfg_td');
    await objects(gql);
    // The issue's example: both the view and testSize are wrong.
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'nope_view' }, testSize: 3 } },
      'input.config.testSize',
    );
    const missing = await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'nope_view' }, testSize: 0.2 } },
      'input.config.featureView',
    );
    expect(missing.message).toMatch(/nope_view/);
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view', version: 7 } } },
      'input.config.featureView',
    );
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' }, testSize: 0 } },
      'input.config.testSize',
    );
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' }, testSize: 0.6, validationSize: 0.5 } },
      'input.config.testSize',
    );
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' }, testsize: 0.2 } },
      'input.config.testsize',
    );
    await expectRefused(
      gql,
      { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' }, testStart: 'tomorrow' } },
      'input.config.testStart',
    );
    await expectRefused(
      gql,
      {
        name: 'nightly',
        type: 'TRAINING_DATASET',
        config: { featureView: { name: 'scores_view' }, split: 'TIME_SERIES', trainEnd: '2026-02-01T00:00:00Z', testStart: '2026-01-01T00:00:00Z' },
      },
      'input.config.testStart',
    );
    await expectNothingStored(gql);

    const ok = await gql(CREATE_JOB, {
      input: { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' }, testSize: 0.2, seed: 7 } },
    });
    expect(ok.data.createJob.__typename, JSON.stringify(ok)).toBe('CreateJobPayload');
  });

  it('MATERIALIZE and COMPUTE_STATISTICS: refuse a missing group, an offline-only group and a window without event time', async () => {
    const { gql } = await project('cfg_mat');
    await objects(gql);
    await expectRefused(gql, { name: 'fill', type: 'MATERIALIZE', config: { featureGroup: { name: 'nope_group' } } }, 'input.config.featureGroup');
    await expectRefused(gql, { name: 'fill', type: 'MATERIALIZE', config: { featureGroup: { name: 'scores', version: 2 } } }, 'input.config.featureGroup');
    await expectRefused(gql, { name: 'fill', type: 'MATERIALIZE', config: { featureGroup: { name: 'offline_only' } } }, 'input.config.featureGroup');
    await expectRefused(
      gql,
      { name: 'fill', type: 'MATERIALIZE', config: { featureGroup: { name: 'events' }, startTime: '2026-01-01T00:00:00Z' } },
      'input.config.startTime',
    );
    await expectRefused(gql, { name: 'stats', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'nope_group' } } }, 'input.config.featureGroup');
    await expectNothingStored(gql);

    for (const input of [
      { name: 'fill', type: 'MATERIALIZE', config: { featureGroup: { name: 'scores' }, startTime: '2026-01-01T00:00:00Z' } },
      { name: 'stats', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'events', version: 1 } } },
    ]) {
      const res = await gql(CREATE_JOB, { input });
      expect(res.data.createJob.__typename, JSON.stringify(res)).toBe('CreateJobPayload');
    }
  });

  it('checks refs in the caller’s project only', async () => {
    const owner = await project('cfg_owner');
    await objects(owner.gql);
    const other = await project('cfg_other');
    await expectRefused(other.gql, { name: 'steal', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' } } }, 'input.config.featureView');
    await expectRefused(other.gql, { name: 'steal', type: 'MATERIALIZE', config: { featureGroup: { name: 'scores' } } }, 'input.config.featureGroup');
    await expectNothingStored(other.gql);
  });
});

describe('cron patterns have 5 or 6 fields', () => {
  it('refuses 7 fields (and a bare nickname) at createJob and scheduleJob; 5 and 6 are accepted', async () => {
    const { gql } = await project('cfg_cron');
    const command = { command: 'true' };
    for (const cron of ['0 0 3 * * * 2030', '0 3 * * *  * *', '@daily', '* * * *']) {
      const res = await expectRefused(gql, { name: 'nightly', type: 'COMMAND', config: command, schedule: { cron } }, 'input.schedule.cron');
      expect(res.message).toMatch(/5 .*or 6/);
    }
    await expectNothingStored(gql);

    const created = await gql(CREATE_JOB, { input: { name: 'nightly', type: 'COMMAND', config: command, schedule: { cron: '0 3 * * *' } } });
    expect(created.data.createJob.job.schedule).toEqual({ cron: '0 3 * * *' });
    const seven = await gql(`mutation { scheduleJob(name: "nightly", cron: "0 0 4 * * * 2030") { __typename ... on ValidationError { issues { path } } } }`);
    expect(seven.data.scheduleJob).toEqual({ __typename: 'ValidationError', issues: [{ path: ['cron'] }] });
    expect((await gql(`{ job(name: "nightly") { schedule { cron } } }`)).data.job.schedule.cron).toBe('0 3 * * *');
    const six = await gql(
      `mutation { scheduleJob(name: "nightly", cron: "30 0 4 * * *") { __typename ... on ScheduleJobPayload { job { schedule { cron } } } } }`,
    );
    expect(six.data.scheduleJob.job.schedule.cron).toBe('30 0 4 * * *');
  });
});

describe('scheduleJob checks the stored config again', () => {
  it('refuses to schedule a job whose feature view was deleted since', async () => {
    const { gql } = await project('cfg_gone');
    await objects(gql);
    const created = await gql(CREATE_JOB, { input: { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' } } } });
    expect(created.data.createJob.__typename).toBe('CreateJobPayload');
    const deleted = await gql(`mutation { deleteFeatureView(featureView: { name: "scores_view" }) { __typename } }`);
    expect(deleted.data.deleteFeatureView.__typename).toBe('DeleteFeatureViewPayload');
    const res = await gql(
      `mutation { scheduleJob(name: "nightly", cron: "0 3 * * *") { __typename ... on ValidationError { message issues { path message } } } }`,
    );
    expect(res.data.scheduleJob.__typename).toBe('ValidationError');
    expect(res.data.scheduleJob.issues[0].path).toEqual(['name']);
    expect(res.data.scheduleJob.issues[0].message).toMatch(/scores_view/);
    expect((await gql(`{ job(name: "nightly") { schedule { cron } } }`)).data.job.schedule).toBeNull();
  });
});

describe('runJob checks the args of a run', () => {
  it('refuses args a type cannot use, naming them, and starts nothing', async () => {
    const { gql } = await project('cfg_args');
    await objects(gql);
    await gql(CREATE_JOB, { input: { name: 'cmd', type: 'COMMAND', config: { command: 'true' } } });
    await gql(CREATE_JOB, { input: { name: 'stats', type: 'COMPUTE_STATISTICS', config: { featureGroup: { name: 'scores' } } } });
    const run = `mutation($name: String!, $args: JSON) { runJob(name: $name, args: $args) { __typename ... on ValidationError { issues { path } } } }`;
    const cmd = await gql(run, { name: 'cmd', args: ['--day', 3] });
    expect(cmd.data.runJob).toEqual({ __typename: 'ValidationError', issues: [{ path: ['args', '1'] }] });
    const stats = await gql(run, { name: 'stats', args: { commitId: 5 } });
    expect(stats.data.runJob).toEqual({ __typename: 'ValidationError', issues: [{ path: ['args', 'commitId'] }] });
    const executions = await gql(`{ jobs(first: 10) { edges { node { name executions(first: 10) { edges { node { id } } } } } } }`);
    expect(executions.data.jobs.edges.flatMap((e: any) => e.node.executions.edges)).toEqual([]);
  });
});

describe('a failed run’s log names no internals', () => {
  async function waitEnded(gql: Gql, name: string) {
    const run = await gql(`mutation { runJob(name: "${name}") { ... on RunJobPayload { execution { id } } } }`);
    const id = run.data.runJob.execution.id;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const execution = (await gql(`query($id: ID!) { execution(id: $id) { finalStatus logs } }`, { id })).data.execution;
      if (execution.finalStatus) return execution;
      if (Date.now() > deadline) throw new Error(`never ended: ${JSON.stringify(execution)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a command that cannot start says so in the user’s terms', async () => {
    const { gql } = await project('log_spawn');
    await gql(CREATE_JOB, { input: { name: 'missing', type: 'COMMAND', config: { command: 'no-such-program-granary' } } });
    const done = await waitEnded(gql, 'missing');
    expect(done.finalStatus).toBe('FAILED');
    expect(done.logs.at(-1)).toBe('failed: no-such-program-granary could not start: no such command');
  });

  it('an unexpected error (store, engine) stays in the server log', async () => {
    const { gql } = await project('log_internal');
    await objects(gql);
    await gql(CREATE_JOB, { input: { name: 'nightly', type: 'TRAINING_DATASET', config: { featureView: { name: 'scores_view' } } } });
    const datasets = srv.app.services.trainingDatasets;
    const create = datasets.create;
    // As a DuckDB I/O failure reads.
    datasets.create = async () => {
      throw new Error('IO Error: No files found that match the pattern "/var/lib/granary/offline/x/*.parquet"');
    };
    try {
      const done = await waitEnded(gql, 'nightly');
      expect(done.finalStatus).toBe('FAILED');
      expect(JSON.stringify(done.logs)).not.toMatch(/IO Error|parquet|\/var\/lib/);
      expect(done.logs.at(-1)).toMatch(/^failed: an unexpected error \(logged by the server/);
    } finally {
      datasets.create = create;
    }
  });
});
