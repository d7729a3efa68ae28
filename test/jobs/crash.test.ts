import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gqlAt as gql, spawnServer, type ServedProcess } from '../helpers/process.ts';

// The real `granary serve` process killed with SIGKILL mid-run, then started again on the same
// data directory: the run it left RUNNING must end, with a log line saying why. Embedded SQLite
// only (the process-level tests run once).
const servers: ServedProcess[] = [];
let dataDir: string | undefined;
afterAll(async () => {
  for (const served of servers) await served.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const EXECUTION = `query($id: ID!) { execution(id: $id) { state finalStatus finishedAt logs } }`;

describe.skipIf(process.env.GRANARY_TEST_METADATA === 'postgresql')('a server killed mid-run', () => {
  it('leaves no execution RUNNING after a restart: it is FAILED with the reason in its log', { timeout: 90_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-jobs-crash-'));

    const first = await spawnServer(dataDir);
    servers.push(first);
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    // Exits by itself once its parent (the killed server) is gone, so nothing outlives the test.
    const script = `const p = process.ppid; console.log('working'); setInterval(() => { try { process.kill(p, 0) } catch { process.exit(0) } }, 200)`;
    const created = await gql(first.url, key, `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename } }`, {
      input: { name: 'long', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script] } },
    });
    expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    const run = await gql(first.url, key, `mutation { runJob(name: "long") { ... on RunJobPayload { execution { id } } } }`);
    const id = run.data.runJob.execution.id as string;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { data } = await gql(first.url, key, EXECUTION, { id });
      if (data.execution.state === 'RUNNING' && data.execution.logs.includes('working')) break;
      if (Date.now() > deadline) throw new Error(`never running: ${JSON.stringify(data)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(dataDir);
    servers.push(second);
    // Recovery runs before the server listens: the answer is final at once.
    const { data } = await gql(second.url, key, EXECUTION, { id });
    expect(data.execution).toMatchObject({ state: 'FAILED', finalStatus: 'FAILED' });
    expect(data.execution.finishedAt).not.toBeNull();
    expect(data.execution.logs.at(-1)).toMatch(/server process running it \(.+\) stopped before it finished/);
    const live = await gql(second.url, key, `{ jobs(first: 5) { edges { node { executions(first: 5) { edges { node { state } } } } } } }`);
    const states = live.data.jobs.edges.flatMap((j: any) => j.node.executions.edges.map((e: any) => e.node.state));
    expect(states).not.toContain('RUNNING');
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
