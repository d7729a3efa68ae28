import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

// Two server processes of one deployment (one metadata database) both keep the schedule; each
// scheduled time must run exactly once.
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ shareWith: a });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('scheduled runs with two processes', () => {
  it('runs each time of an every-second schedule exactly once', async () => {
    const p = await a.newProject('sched');
    const created = await a.gql(
      `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on CreateJobPayload { job { schedule { cron nextRunAt } } } ... on Error { message } } }`,
      { input: { name: 'tick', type: 'TRAINING_DATASET', config: { featureView: { name: 'absent' } }, schedule: { cron: '* * * * * *' } } },
      p.key,
    );
    expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 8000));
    const stopped = await b.gql(`mutation { unscheduleJob(name: "tick") { __typename } }`, undefined, p.key);
    expect(stopped.data.unscheduleJob.__typename).toBe('UnscheduleJobPayload');
    const elapsed = (Date.now() - started) / 1000;
    // Runs already claimed finish; let them.
    await new Promise((r) => setTimeout(r, 1500));

    const executions = await a.app.prisma.execution.findMany({ where: { job: { project: { name: p.name } } } });
    const perTime = new Map<number, number>();
    for (const e of executions) {
      expect(e.trigger).toBe('SCHEDULE');
      perTime.set(e.scheduledAt!.getTime(), (perTime.get(e.scheduledAt!.getTime()) ?? 0) + 1);
    }
    expect([...perTime.values()].every((n) => n === 1), JSON.stringify([...perTime])).toBe(true);
    // Every second of the window ran (allowing for the first and last, and a loaded machine).
    expect(perTime.size).toBeGreaterThanOrEqual(Math.floor(elapsed) - 3);
    expect([...perTime.keys()].every((t) => t % 1000 === 0)).toBe(true);
    // The view has no such feature view: every run ended FAILED, none was left behind.
    expect(executions.every((e) => e.finalStatus === 'FAILED')).toBe(true);
  });
});
