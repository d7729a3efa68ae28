import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRunner, RunnerCloseOptions } from '../../src/jobs/runner.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// A graceful stop of one process (a second server on the same metadata database and data
// directory) must end every run it owns: finished within the grace period, or KILLED with a log
// line saying why. Nothing may stay INITIALIZING or RUNNING for another process to fail later.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });
/** Runs for a minute unless killed. */
const SLEEPER = node(`console.log('started'); setTimeout(() => {}, 60000)`);
/** Ends on its own half a second after it started. */
const SHORT = node(`console.log('started'); setTimeout(() => console.log('done'), 500)`);
/** Ends at once. */
const QUICK = node(`console.log('quick')`);

/** The runner of a server: tests below hold a run in its start to stop the server meanwhile. */
function runnerOf(server: TestServer): JobRunner {
  return (server.app.services.jobs as unknown as { runner: JobRunner }).runner;
}

async function createJob(server: TestServer, key: string, name: string, config: unknown): Promise<void> {
  const res = await server.gql(
    `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`,
    { input: { name, type: 'COMMAND', config } },
    key,
  );
  expect(res.data.createJob.__typename).toBe('CreateJobPayload');
}

async function runJob(server: TestServer, key: string, name: string): Promise<string> {
  const res = await server.gql(`mutation($name: String!) { runJob(name: $name) { __typename ... on RunJobPayload { execution { id } } } }`, { name }, key);
  expect(res.data.runJob.__typename).toBe('RunJobPayload');
  return res.data.runJob.execution.id as string;
}

/** Waits until the run is RUNNING and its command printed `started`. */
async function runningAndStarted(server: TestServer, key: string, id: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await server.gql(`query($id: ID!) { execution(id: $id) { state logs } }`, { id }, key);
    if (res.data.execution.state === 'RUNNING' && res.data.execution.logs.includes('started')) return;
    if (Date.now() > deadline) throw new Error(`never running: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An execution as the surviving process reads it from the shared database, with its log. */
async function stored(projectName: string, jobName: string) {
  return srv.app.prisma.execution.findFirstOrThrow({
    where: { job: { name: jobName, project: { name: projectName } } },
    include: { logs: { orderBy: { id: 'asc' } } },
  });
}

/** How many executions of the stopped process are not ended. */
async function unfinishedOf(runner: JobRunner): Promise<number> {
  return srv.app.prisma.execution.count({ where: { runner: runner.processId, finalStatus: null } });
}

describe('graceful stop of a process', () => {
  it('lets a run finish within the grace period and kills a longer one, naming the signal', async () => {
    const second = await startTestServer({ shareWith: srv });
    const runner = runnerOf(second);
    const { key, name } = await second.newProject('grace');
    await createJob(second, key, 'long', SLEEPER);
    await createJob(second, key, 'short', SHORT);
    const long = await runJob(second, key, 'long');
    const short = await runJob(second, key, 'short');
    await runningAndStarted(second, key, long);
    await runningAndStarted(second, key, short);

    await second.server.close(3000, 'SIGTERM');

    const finished = await stored(name, 'short');
    expect(finished).toMatchObject({ state: 'SUCCEEDED', finalStatus: 'SUCCEEDED' });
    expect(finished.logs.map((l) => l.line)).toContain('done');
    const killed = await stored(name, 'long');
    expect(killed).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED' });
    expect(killed.logs.at(-1)!.line).toBe('killed: the server shut down (SIGTERM)');
    expect(await unfinishedOf(runner)).toBe(0);
    await second.close();
  });

  it('kills a run still starting when the stop begins: it never starts, and is not left for another process', async () => {
    const second = await startTestServer({ shareWith: srv });
    const runner = runnerOf(second);
    const { key, name } = await second.newProject('starting');
    await createJob(second, key, 'running', SLEEPER);
    await createJob(second, key, 'starting', QUICK);
    await runningAndStarted(second, key, await runJob(second, key, 'running'));

    // Hold the next run in its start (reading the key it acts as) until the stop has begun.
    let stopBegun!: () => void;
    const begun = new Promise<void>((resolve) => (stopBegun = resolve));
    const internals = runner as unknown as { viewerFor: (...args: unknown[]) => Promise<unknown>; close: (options?: RunnerCloseOptions) => Promise<void> };
    const viewerFor = internals.viewerFor.bind(runner);
    internals.viewerFor = async (...args) => {
      await begun;
      return viewerFor(...args);
    };
    const close = internals.close.bind(runner);
    internals.close = (options) => {
      const closing = close(options);
      stopBegun();
      return closing;
    };
    await runJob(second, key, 'starting');

    await second.server.close(1000, 'SIGTERM');

    const starting = await stored(name, 'starting');
    expect(starting).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED', startedAt: null });
    expect(starting.logs.map((l) => l.line)).toEqual(['killed: the server shut down (SIGTERM) before the run started']);
    const running = await stored(name, 'running');
    expect(running).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED' });
    expect(running.logs.at(-1)!.line).toBe('killed: the server shut down (SIGTERM)');
    expect(await unfinishedOf(runner)).toBe(0);
    await second.close();
  });

  it('kills a run asked for while the stop is under way (a statistics run after a late commit), instead of leaving it waiting', async () => {
    const second = await startTestServer({ shareWith: srv });
    const runner = runnerOf(second);
    const { key, name } = await second.newProject('late');
    await createJob(second, key, 'holder', SLEEPER);
    await createJob(second, key, 'late', QUICK);
    await runningAndStarted(second, key, await runJob(second, key, 'holder'));

    // The stop keeps the holder for its grace period; a run is asked for meanwhile.
    let stopBegun!: () => void;
    const begun = new Promise<void>((resolve) => (stopBegun = resolve));
    const internals = runner as unknown as { close: (options?: RunnerCloseOptions) => Promise<void> };
    const close = internals.close.bind(runner);
    internals.close = (options) => {
      const closing = close(options);
      stopBegun();
      return closing;
    };
    const closing = second.server.close(2000, 'SIGTERM');
    await begun;
    await runJob(second, key, 'late');
    await closing;

    const late = await stored(name, 'late');
    expect(late).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED', startedAt: null });
    expect(late.logs.map((l) => l.line)).toEqual(['killed: the server shut down (SIGTERM) before the run started']);
    expect(await unfinishedOf(runner)).toBe(0);
    await second.close();
  });
});
