import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AlertEvent } from '../../src/services/alert/alert-event.ts';
import { CHURN_VIEW, churnRows, CUSTOMER_INFO, DEMOGRAPHY, SUBSCRIPTIONS } from '../helpers/churn.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse } from '../helpers/sse.ts';

let srv: TestServer;
let url: string;
const alerts: { projectId: string; event: AlertEvent }[] = [];
beforeAll(async () => {
  srv = await startTestServer();
  url = await srv.listen();
  // The runner raises on the app's alert service: a recording `raise` stands in for delivery.
  srv.app.services.alerts.raise = (projectId: string, event: AlertEvent) => void alerts.push({ projectId, event });
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_JOB = `mutation($input: CreateJobInput!) {
  createJob(input: $input) {
    __typename
    ... on CreateJobPayload { job { id name type config createdBy schedule { cron paused nextRunAt } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const RUN_JOB = `mutation($name: String!, $args: JSON) {
  runJob(name: $name, args: $args) {
    __typename
    ... on RunJobPayload { execution { id state trigger args } }
    ... on Error { message }
  }
}`;
const EXECUTION = `query($id: ID!, $tail: Int) {
  execution(id: $id) { id state finalStatus progress progressMessage startedAt finishedAt duration trigger logs(tail: $tail) job { name } }
}`;

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

async function project(prefix = 'job') {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

async function createJob(gql: Gql, input: Record<string, unknown>) {
  const res = await gql(CREATE_JOB, { input });
  expect(res.data?.createJob.__typename, JSON.stringify(res)).toBe('CreateJobPayload');
  return res.data.createJob.job;
}

async function runJob(gql: Gql, name: string, args?: unknown): Promise<string> {
  const res = await gql(RUN_JOB, { name, args });
  expect(res.data?.runJob.__typename, JSON.stringify(res)).toBe('RunJobPayload');
  return res.data.runJob.execution.id;
}

/** Polls an execution until `done` holds for it. */
async function waitForExecution(gql: Gql, id: string, done: (e: any) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await gql(EXECUTION, { id });
    const execution = res.data?.execution;
    if (execution && done(execution)) return execution;
    if (Date.now() > deadline) throw new Error(`execution never got there: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ended = (e: any) => e.finalStatus != null;

/** A command that runs the test's own node binary. */
const nodeCommand = (script: string) => ({ command: process.execPath, args: ['-e', script] });

function wsClient(key: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: true,
  });
}

describe('MATERIALIZE over graphql-ws', () => {
  it('streams RUNNING, progress steps and SUCCEEDED, and fills the online store for the window', async () => {
    const { gql, key } = await project('mat');
    const group = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`, {
      input: {
        name: 'customers',
        primaryKey: ['customerid'],
        eventTime: 'datetime',
        onlineEnabled: true,
        features: [
          { name: 'customerid', type: 'STRING' },
          { name: 'datetime', type: 'TIMESTAMP' },
          { name: 'tenure', type: 'INT' },
        ],
      },
    });
    expect(group.data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    // Offline only: the online store starts empty, so what it holds afterwards is the job's doing.
    const commits = [
      [
        { customerid: 'a', datetime: '2026-01-05T00:00:00Z', tenure: 1 },
        { customerid: 'b', datetime: '2026-01-06T00:00:00Z', tenure: 5 },
      ],
      [{ customerid: 'a', datetime: '2026-01-10T00:00:00Z', tenure: 2 }],
      [{ customerid: 'c', datetime: '2026-03-01T00:00:00Z', tenure: 9 }],
      // d's newest row is after the window: its newest row within the window is the one written.
      [
        { customerid: 'd', datetime: '2026-01-20T00:00:00Z', tenure: 4 },
        { customerid: 'd', datetime: '2026-02-15T00:00:00Z', tenure: 6 },
      ],
    ];
    for (const rows of commits) {
      const res = await gql(
        `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "customers" }, rows: $rows, storage: OFFLINE) { __typename } }`,
        { rows },
      );
      expect(res.data.insertFeatureGroupData.__typename, JSON.stringify(res)).toBe('InsertFeatureGroupDataPayload');
    }
    await createJob(gql, {
      name: 'backfill',
      type: 'MATERIALIZE',
      config: { featureGroup: { name: 'customers' }, startTime: '2026-01-01T00:00:00Z', endTime: '2026-02-01T00:00:00Z' },
    });
    // Fails at once (`false` exits 1): cheap updates to tell when the subscription is live.
    await createJob(gql, { name: 'probe', type: 'COMMAND', config: { command: 'false' } });
    const client = wsClient(key);
    const events: any[] = [];
    const dispose = client.subscribe(
      { query: `subscription { executionUpdated { id state progress progressMessage job { name } } }` },
      { next: (v) => events.push(v), error: () => {}, complete: () => {} },
    );
    try {
      // Live once a probe run's update arrives.
      for (let n = 0; events.length === 0; n++) {
        if (n > 100) throw new Error('subscription never became live');
        await runJob(gql, 'probe');
        await new Promise((r) => setTimeout(r, 200));
      }
      const id = await runJob(gql, 'backfill');
      const deadline = Date.now() + 10_000;
      const mine = () => events.map((e) => e.data?.executionUpdated).filter((e) => e?.id === id);
      while (!mine().some((e) => e.state === 'SUCCEEDED' || e.state === 'FAILED')) {
        if (Date.now() > deadline) throw new Error(`no end: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const updates = mine();
      const states = updates.map((e) => e.state);
      expect(states.at(-1)).toBe('SUCCEEDED');
      expect(states.indexOf('RUNNING')).toBeGreaterThanOrEqual(0);
      expect(states.indexOf('RUNNING')).toBeLessThan(states.indexOf('SUCCEEDED'));
      expect(updates.every((e) => e.job.name === 'backfill')).toBe(true);
      // One progress step per commit, each published as a RUNNING update.
      expect(updates.filter((e) => e.state === 'RUNNING').length).toBeGreaterThanOrEqual(1 + commits.length);
      expect(updates.some((e) => e.state === 'RUNNING' && /commit \d of 4/.test(e.progressMessage ?? ''))).toBe(true);
      expect(updates.at(-1).progress).toBe(1);
    } finally {
      dispose();
      await client.dispose();
    }

    const { services, online } = srv.app;
    const fg = await srv.app.prisma.featureGroup.findFirstOrThrow({
      where: { name: 'customers', project: { name: (await gql('{ viewer { project { name } } }')).data.viewer.project.name } },
    });
    const rows = await online.read(services.featureGroups.onlineTable(fg), [['a'], ['b'], ['c'], ['d']]);
    expect(rows[0]).toMatchObject({ customerid: 'a', tenure: 2 });
    expect(rows[1]).toMatchObject({ customerid: 'b', tenure: 5 });
    // Outside the event-time window.
    expect(rows[2]).toBeNull();
    expect(rows[3]).toMatchObject({ customerid: 'd', tenure: 4 });
    const view = await gql(`query { job(name: "backfill") { executions(first: 5) { edges { node { state logs } } } } }`);
    const logs: string[] = view.data.job.executions.edges[0].node.logs;
    expect(
      logs.some((l) => /done: 4 rows written/.test(l)),
      JSON.stringify(logs),
    ).toBe(true);
  });
});

describe('COMMAND', () => {
  it('is refused for WRITE keys and runs for ADMIN keys with its output in the log', async () => {
    const { gql } = await project('cmd');
    const minted = await gql(`mutation { createApiKey(input: { name: "pipeline", scopes: [WRITE] }) { ... on CreateApiKeyPayload { secret } } }`);
    const writeKey = minted.data.createApiKey.secret as string;
    const asWriter: Gql = (q, v) => srv.gql(q, v, writeKey);

    const refused = await asWriter(CREATE_JOB, { input: { name: 'hello', type: 'COMMAND', config: nodeCommand('') } });
    expect(refused.data.createJob.__typename).toBe('ForbiddenError');
    expect((await gql(`{ jobs(first: 10) { edges { node { name } } } }`)).data.jobs.edges).toEqual([]);

    const job = await createJob(gql, {
      name: 'hello',
      type: 'COMMAND',
      config: nodeCommand(`console.log('hello ' + process.argv.length); console.error('oops')`),
    });
    expect(job).toMatchObject({ type: 'COMMAND', createdBy: 'test', schedule: null });
    // Nor may a WRITE key run an ADMIN key's command.
    expect((await asWriter(RUN_JOB, { name: 'hello' })).data.runJob.__typename).toBe('ForbiddenError');

    const id = await runJob(gql, 'hello', { note: 'x' });
    const done = await waitForExecution(gql, id, ended);
    expect(done).toMatchObject({ state: 'SUCCEEDED', finalStatus: 'SUCCEEDED', trigger: 'MANUAL', progress: 1, job: { name: 'hello' } });
    expect(done.logs).toContain('hello 1');
    expect(done.logs).toContain('[stderr] oops');
    expect(done.duration).toBeGreaterThanOrEqual(0);
    expect((await gql(EXECUTION, { id, tail: 1 })).data.execution.logs).toHaveLength(1);
    expect(alerts.some((a) => a.event.type === 'JOB_SUCCEEDED' && a.event.details?.executionId === id)).toBe(true);
  });

  it('announces new log lines of a running command on executionUpdated, so a follower reads its log as it grows', async () => {
    const { gql, key } = await project('cmdlog');
    // Five lines, 500 ms apart: no progress steps, one state change at each end.
    const script = `let n = 0; const t = setInterval(() => { console.log('line ' + ++n); if (n === 5) clearInterval(t); }, 500);`;
    await createJob(gql, { name: 'chatty', type: 'COMMAND', config: nodeCommand(script) });
    await createJob(gql, { name: 'probe', type: 'COMMAND', config: { command: 'false' } });
    const client = wsClient(key);
    const seen: { state: string; logs: string[] }[] = [];
    const dispose = client.subscribe(
      { query: `subscription { executionUpdated(job: "chatty") { id state logs } }` },
      { next: (v: any) => seen.push(v.data.executionUpdated), error: () => {}, complete: () => {} },
    );
    const probes: unknown[] = [];
    const probe = client.subscribe(
      { query: `subscription { executionUpdated(job: "probe") { id } }` },
      { next: (v) => probes.push(v), error: () => {}, complete: () => {} },
    );
    try {
      for (let n = 0; probes.length === 0; n++) {
        if (n > 100) throw new Error('subscription never became live');
        await runJob(gql, 'probe');
        await new Promise((r) => setTimeout(r, 200));
      }
      const id = await runJob(gql, 'chatty');
      await waitForExecution(gql, id, ended);
      await new Promise((r) => setTimeout(r, 300));
      const running = seen.filter((e) => e.state === 'RUNNING');
      // Updates while it ran that carried a log with some but not all of the lines.
      const partial = running.filter((e) => e.logs.some((l) => l.startsWith('line ')) && !e.logs.includes('line 5'));
      expect(partial.length, JSON.stringify(seen.map((e) => [e.state, e.logs.length]))).toBeGreaterThanOrEqual(2);
      const lengths = partial.map((e) => e.logs.length);
      expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
      expect(seen.at(-1)?.state).toBe('SUCCEEDED');
    } finally {
      dispose();
      probe();
      await client.dispose();
    }
  });

  it('fails on a non-zero exit, raising JOB_FAILED', async () => {
    const { gql } = await project('cmdfail');
    await createJob(gql, { name: 'broken', type: 'COMMAND', config: nodeCommand('process.exit(3)') });
    const id = await runJob(gql, 'broken');
    const done = await waitForExecution(gql, id, ended);
    expect(done.state).toBe('FAILED');
    expect(done.logs.at(-1)).toMatch(/exited with code 3/);
    expect(alerts.some((a) => a.event.type === 'JOB_FAILED' && a.event.subject.name === 'broken' && a.event.details?.executionId === id)).toBe(true);
  });

  it('stopExecution kills a running command: KILLED', async () => {
    const { gql } = await project('stop');
    await createJob(gql, { name: 'sleeper', type: 'COMMAND', config: nodeCommand(`console.log('started'); setTimeout(() => {}, 60000)`) });
    const id = await runJob(gql, 'sleeper');
    await waitForExecution(gql, id, (e) => e.state === 'RUNNING' && e.logs.includes('started'));
    const res = await gql(`mutation($id: ID!) { stopExecution(id: $id) { __typename ... on StopExecutionPayload { execution { state finalStatus logs } } } }`, {
      id,
    });
    expect(res.data.stopExecution.execution).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED' });
    expect(res.data.stopExecution.execution.logs.at(-1)).toMatch(/killed: stopped/);
    expect(alerts.some((a) => a.event.details?.executionId === id)).toBe(false);
  });
});

describe('bad input', () => {
  it('refuses bad types, configs and cron patterns with typed errors and stores nothing', async () => {
    const { gql } = await project('bad');
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', type: 'NOPE', config: {} }, 'input.type'],
      [{ name: 'x', type: 'MATERIALIZE', config: {} }, 'input.config.featureGroup'],
      [{ name: 'x', type: 'MATERIALIZE', config: { featureGroup: { name: 'g' }, startTime: 'yesterday' } }, 'input.config.startTime'],
      [{ name: 'x', type: 'COMMAND', config: { command: '' } }, 'input.config.command'],
      [{ name: 'x', type: 'COMMAND', config: nodeCommand(''), schedule: { cron: 'every day' } }, 'input.schedule.cron'],
      [{ name: 'Bad Name', type: 'COMMAND', config: nodeCommand('') }, 'input.name'],
    ];
    for (const [input, path] of cases) {
      const res = await gql(CREATE_JOB, { input });
      expect(res.data?.createJob.__typename, JSON.stringify(res)).toBe('ValidationError');
      expect(
        res.data.createJob.issues.map((i: any) => i.path.join('.')),
        JSON.stringify(res),
      ).toContain(path);
    }
    expect((await gql(`{ jobs(first: 10) { edges { node { name } } } }`)).data.jobs.edges).toEqual([]);
    const since = new Date(0).toISOString();
    const feed = await gql(`query($since: DateTime!) { registryChanges(since: $since) { kind } }`, { since });
    expect(feed.data.registryChanges.filter((e: any) => e.kind === 'Job')).toEqual([]);

    // A bad schedule for an existing job leaves it unscheduled.
    await createJob(gql, { name: 'manual', type: 'COMMAND', config: nodeCommand('') });
    const bad = await gql(`mutation { scheduleJob(name: "manual", cron: "61 * * * *") { __typename } }`);
    expect(bad.data.scheduleJob.__typename).toBe('ValidationError');
    expect((await gql(`{ job(name: "manual") { schedule { cron } } }`)).data.job.schedule).toBeNull();
    expect((await gql(`mutation { runJob(name: "missing") { __typename } }`)).data.runJob.__typename).toBe('NotFoundError');
  });

  it('creating the same job twice returns it; another definition is a ConflictError', async () => {
    const { gql } = await project('idem');
    const input = { name: 'same', type: 'COMMAND', config: nodeCommand(''), schedule: { cron: '0 3 * * *' } };
    const first = await createJob(gql, input);
    const again = await createJob(gql, input);
    expect(again.id).toBe(first.id);
    expect(first.schedule).toMatchObject({ cron: '0 3 * * *', paused: false });
    expect(new Date(first.schedule.nextRunAt).getUTCHours()).toBe(3);
    const other = await gql(CREATE_JOB, { input: { ...input, config: nodeCommand('1') } });
    expect(other.data.createJob.__typename).toBe('ConflictError');
    const paused = await gql(`mutation { pauseSchedule(name: "same") { ... on PauseSchedulePayload { job { nextRunAt schedule { paused nextRunAt } } } } }`);
    expect(paused.data.pauseSchedule.job).toEqual({ nextRunAt: null, schedule: { paused: true, nextRunAt: null } });
    const resumed = await gql(`mutation { resumeSchedule(name: "same") { ... on ResumeSchedulePayload { job { schedule { paused } } } } }`);
    expect(resumed.data.resumeSchedule.job.schedule.paused).toBe(false);
    const removed = await gql(`mutation { unscheduleJob(name: "same") { ... on UnscheduleJobPayload { job { schedule { cron } } } } }`);
    expect(removed.data.unscheduleJob.job.schedule).toBeNull();
    const deleted = await gql(`mutation { deleteJob(name: "same") { __typename ... on DeleteJobPayload { name } } }`);
    expect(deleted.data.deleteJob).toEqual({ __typename: 'DeleteJobPayload', name: 'same' });
    expect((await gql(`{ job(name: "same") { name } }`)).data.job).toBeNull();
  });
});

describe('executionUpdated over SSE', () => {
  /** An SSE subscription to `executionUpdated`, read in the background. */
  async function sse(key: string, job: string | null) {
    const stream = await subscribeSse((url, init) => srv.server.yoga.fetch(url, init), 'http://localhost/graphql', key, {
      query: `subscription($job: String) { executionUpdated(job: $job) { state job { name } } }`,
      variables: { job },
    });
    expect(stream.contentType).toMatch(/text\/event-stream/);
    return { updates: () => stream.results().map((r) => r.data?.executionUpdated), close: () => stream.close() };
  }

  it('delivers the caller’s project’s runs only, filtered by job', async () => {
    const mine = await project('sse');
    const other = await project('sseother');
    for (const p of [mine, other]) {
      // Fail at once (`false` exits 1). A config naming a missing view is refused at creation now.
      await createJob(p.gql, { name: 'quick', type: 'COMMAND', config: { command: 'false' } });
      await createJob(p.gql, { name: 'unwatched', type: 'COMMAND', config: { command: 'false' } });
    }
    const subscription = await sse(mine.key, 'quick');
    try {
      const deadline = Date.now() + 10_000;
      while (!subscription.updates().some((u) => u?.state === 'FAILED')) {
        if (Date.now() > deadline) throw new Error(`no updates: ${JSON.stringify(subscription.updates())}`);
        await runJob(other.gql, 'quick');
        await runJob(mine.gql, 'unwatched');
        await runJob(mine.gql, 'quick');
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      subscription.close();
    }
    const updates = subscription.updates();
    // Only `quick` of this project: the other project's runs and the unwatched job never arrive.
    // (Another project's update would resolve to null here, or not arrive at all.)
    expect(
      updates.every((u) => u !== null && u.job.name === 'quick'),
      JSON.stringify(updates),
    ).toBe(true);
    const ids = await srv.app.prisma.execution.count({ where: { job: { name: 'quick', project: { name: mine.name } } } });
    expect(ids).toBeGreaterThan(0);
    expect(updates.map((u) => u.state)).toContain('FAILED');
  });
});

describe('TRAINING_DATASET', () => {
  it('creates a training dataset version of the configured view', async () => {
    const { gql } = await project('td');
    const rows = churnRows(12);
    for (const [def, data] of [
      [CUSTOMER_INFO, rows.info],
      [DEMOGRAPHY, rows.demography],
      [SUBSCRIPTIONS, rows.subscriptions],
    ] as const) {
      expect(
        (await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`, { input: def })).data.createFeatureGroup
          .__typename,
      ).toBe('CreateFeatureGroupPayload');
      const inserted = await gql(`mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename } }`, {
        fg: { name: def.name },
        rows: data,
      });
      expect(inserted.data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    }
    const view = await gql(`mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename } }`, { input: CHURN_VIEW });
    expect(view.data.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
    await createJob(gql, {
      name: 'nightly_td',
      type: 'TRAINING_DATASET',
      config: { featureView: { name: CHURN_VIEW.name }, split: 'RANDOM', testSize: 0.25, seed: 3 },
    });
    const id = await runJob(gql, 'nightly_td');
    const done = await waitForExecution(gql, id, ended, 30_000);
    expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
    expect(done.logs).toContain('created training dataset version 1');
    const td = await gql(`query($name: String!) { trainingDataset(featureView: { name: $name }, version: 1) { splits { name rowCount } } }`, {
      name: CHURN_VIEW.name,
    });
    const splits = td.data.trainingDataset.splits as { name: string; rowCount: number }[];
    expect(splits.map((s) => s.name).sort()).toEqual(['test', 'train']);
    expect(splits.reduce((n, s) => n + s.rowCount, 0)).toBe(12);
  });
});
