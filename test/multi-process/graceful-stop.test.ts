import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRunner, RunnerCloseOptions } from '../../src/jobs/runner.ts';
import { startTestServer, testMetadataProvider, type TestServer } from '../helpers/server.ts';

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

  it('kills runs asked for while the stop is under way (by hand, and statistics after a late commit) instead of leaving them waiting', async () => {
    const second = await startTestServer({ shareWith: srv });
    const runner = runnerOf(second);
    const { key, name } = await second.newProject('late');
    await createJob(second, key, 'holder', SLEEPER);
    await createJob(second, key, 'late', QUICK);
    const group = await second.gql(
      `mutation { createFeatureGroup(input: { name: "late_fg", primaryKey: ["id"] }) { __typename ... on Error { message } } }`,
      {},
      key,
    );
    expect(group.data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    await runningAndStarted(second, key, await runJob(second, key, 'holder'));

    // The stop keeps the holder for its grace period; runs are asked for meanwhile.
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
    const inserted = await second.gql(
      `mutation { insertFeatureGroupData(featureGroup: { name: "late_fg" }, rows: [{ id: 1, v: 2 }]) { __typename ... on Error { message } } }`,
      {},
      key,
    );
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    await closing;

    for (const job of ['late', 'late_fg_1_compute_stats']) {
      const late = await stored(name, job);
      expect(late, job).toMatchObject({ state: 'KILLED', finalStatus: 'KILLED', startedAt: null });
      expect(late.logs.map((l) => l.line)).toEqual(['killed: the server shut down (SIGTERM) before the run started']);
    }
    expect(await unfinishedOf(runner)).toBe(0);
    await second.close();
  });
});

// The real `granary serve`, stopped with SIGTERM as an orchestrator does (embedded SQLite: the
// process-level wiring is the same on every backend, so it runs once).
describe.skipIf(testMetadataProvider() === 'postgresql')('granary serve on SIGTERM', () => {
  const ROOT = fileURLToPath(new URL('../..', import.meta.url));
  let dataDir: string;
  const children: ReturnType<typeof spawn>[] = [];

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function serve(): Promise<{ url: string; exited: Promise<number | null>; child: ReturnType<typeof spawn> }> {
    const env: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
    Object.assign(env, { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
    const child = spawn(process.execPath, ['bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 20 s: ${out}`)), 20_000);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = /serving GraphQL at (http:\/\/\S+?)\/graphql/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    return { url, exited, child };
  }

  async function gql(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as any;
  }

  it('ends its runs before it exits: a short one SUCCEEDED, a long one KILLED naming SIGTERM', { timeout: 90_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-stop-'));
    const first = await serve();
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const ids: Record<string, string> = {};
    for (const [name, config] of [
      ['long', SLEEPER],
      ['short', SHORT],
    ] as const) {
      const created = await gql(first.url, key, `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename } }`, {
        input: { name, type: 'COMMAND', config },
      });
      expect(created.data.createJob.__typename).toBe('CreateJobPayload');
      const run = await gql(first.url, key, `mutation($name: String!) { runJob(name: $name) { ... on RunJobPayload { execution { id } } } }`, { name });
      ids[name] = run.data.runJob.execution.id;
    }
    for (const id of Object.values(ids)) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await gql(first.url, key, `query($id: ID!) { execution(id: $id) { state logs } }`, { id });
        if (res.data.execution.state === 'RUNNING' && res.data.execution.logs.includes('started')) break;
        if (Date.now() > deadline) throw new Error(`never running: ${JSON.stringify(res)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // The next start finds nothing to recover: both runs were ended by the process that ran them.
    const next = await serve();
    const query = `query($id: ID!) { execution(id: $id) { state logs } }`;
    const short = await gql(next.url, key, query, { id: ids.short });
    expect(short.data.execution.state).toBe('SUCCEEDED');
    expect(short.data.execution.logs).toContain('done');
    const long = await gql(next.url, key, query, { id: ids.long });
    expect(long.data.execution.state).toBe('KILLED');
    expect(long.data.execution.logs.at(-1)).toBe('killed: the server shut down (SIGTERM)');
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});
