import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/services/alert/alert-event.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Short heartbeat and long-run threshold, so a run of a few seconds counts as long.
const ENV = { GRANARY_JOB_LONG_RUNNING_SECONDS: '1', GRANARY_JOB_HEARTBEAT_SECONDS: '1' };

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: ENV });
});
afterAll(async () => {
  await srv?.close();
});

const sleeper = { command: process.execPath, args: ['-e', `console.log('started'); setTimeout(() => {}, 60000)`] };

async function runSleeper(server: TestServer, key: string, name: string): Promise<string> {
  const created = await server.gql(
    `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename } }`,
    { input: { name, type: 'COMMAND', config: sleeper } },
    key,
  );
  expect(created.data.createJob.__typename).toBe('CreateJobPayload');
  const run = await server.gql(`mutation($name: String!) { runJob(name: $name) { ... on RunJobPayload { execution { id } } } }`, { name }, key);
  const id = run.data.runJob.execution.id as string;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await server.gql(`query($id: ID!) { execution(id: $id) { state logs } }`, { id }, key);
    if (res.data.execution.state === 'RUNNING' && res.data.execution.logs.includes('started')) return id;
    if (Date.now() > deadline) throw new Error(`never running: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('job lifecycle', () => {
  it('raises JOB_LONG_RUNNING once for a run past the threshold', async () => {
    const alerts: AlertEvent[] = [];
    srv.app.services.alerts.raise = (_p: string, e: AlertEvent) => void alerts.push(e);
    const { key } = await srv.newProject('long');
    const id = await runSleeper(srv, key, 'slow');
    const deadline = Date.now() + 10_000;
    while (!alerts.some((a) => a.type === 'JOB_LONG_RUNNING')) {
      if (Date.now() > deadline) throw new Error('no long-running alert');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Two more heartbeats: still one alert for this run.
    await new Promise((r) => setTimeout(r, 2200));
    const long = alerts.filter((a) => a.type === 'JOB_LONG_RUNNING');
    expect(long).toHaveLength(1);
    expect(long[0]).toMatchObject({ subject: { kind: 'Job', name: 'slow' }, details: { state: 'RUNNING' } });
    const stopped = await srv.gql(`mutation($id: ID!) { stopExecution(id: $id) { ... on StopExecutionPayload { execution { state } } } }`, { id }, key);
    expect(stopped.data.stopExecution.execution.state).toBe('KILLED');
  });

  it('on server stop, kills its running executions and marks them KILLED', async () => {
    const second = await startTestServer({ env: ENV, shareWith: srv });
    const { key, name } = await second.newProject('stop');
    await runSleeper(second, key, 'cut');
    await second.close();
    const execution = await srv.app.prisma.execution.findFirstOrThrow({
      where: { job: { name: 'cut', project: { name } } },
      include: { logs: { orderBy: { id: 'asc' } } },
    });
    expect(execution).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED' });
    expect(execution.logs.at(-1)!.line).toBe('killed: the server shut down');
  });
});
