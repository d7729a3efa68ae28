import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeSse } from '../helpers/sse.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// With Redis pub/sub, a subscriber on one server process sees the runs of another.
const ENV = { PUBSUB_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' };

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer({ env: ENV });
  b = await startTestServer({ env: ENV, shareWith: a });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('executionUpdated through Redis pub/sub', () => {
  it('delivers on one process the updates of a run on another', async () => {
    const { key } = await a.newProject('redis');
    const created = await a.gql(
      `mutation { createJob(input: { name: "quick", type: "COMMAND", config: { command: "false" } }) { __typename } }`,
      undefined,
      key,
    );
    expect(created.data.createJob.__typename).toBe('CreateJobPayload');
    const stream = await subscribeSse((url, init) => a.server.yoga.fetch(url, init), 'http://localhost/graphql', key, {
      query: `subscription { executionUpdated(job: "quick") { id state } }`,
    });
    const updates = () => stream.results().map((r) => r.data?.executionUpdated);
    const ran: string[] = [];
    try {
      const deadline = Date.now() + 15_000;
      while (!updates().some((u) => u?.state === 'FAILED')) {
        if (Date.now() > deadline) throw new Error(`no updates: ${JSON.stringify(updates())}`);
        const run = await b.gql(`mutation { runJob(name: "quick") { ... on RunJobPayload { execution { id } } } }`, undefined, key);
        ran.push(run.data.runJob.execution.id);
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      stream.close();
    }
    // Runs of process b, seen by a subscriber of process a.
    expect(updates().every((u) => ran.includes(u.id))).toBe(true);
    expect(updates().length).toBeGreaterThan(0);
  });
});
