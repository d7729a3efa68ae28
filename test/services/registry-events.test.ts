import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SUBSCRIBE = `subscription($kinds: [String!]) { registryEvents(kinds: $kinds) { kind name action at sequence } }`;
const CREATE_KEY = `mutation($name: String!) { createApiKey(input: { name: $name, scopes: [READ] }) { __typename } }`;

function wsClient(url: string, authorization?: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { Authorization: authorization } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** Subscribes and resolves once the server has accepted the subscription (first ping round-trip). */
function collect(client: Client, query: string, variables: Record<string, unknown>) {
  const events: any[] = [];
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // surfaced through waitFor; a close after the test is expected
  const dispose = client.subscribe({ query, variables }, { next: (v) => events.push(v), error: (e) => fail(e), complete: () => {} });
  return {
    events,
    failed,
    dispose,
    async waitFor(predicate: (events: any[]) => boolean, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!predicate(events)) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(events)}`);
        await Promise.race([new Promise((r) => setTimeout(r, 20)), failed]);
      }
    },
  };
}

async function closeCode(client: Client): Promise<number> {
  return new Promise((resolve) => {
    client.on('closed', (event) => resolve((event as { code: number }).code));
    client.subscribe({ query: SUBSCRIBE }, { next: () => {}, error: () => {}, complete: () => {} });
  });
}

async function connected(client: Client) {
  await new Promise<void>((resolve) => {
    client.on('connected', () => resolve());
  });
}

/**
 * A subscription is live once the server has registered it (with Redis, once SUBSCRIBE has
 * reached the Redis server): until a first probe event arrives, keep causing ones.
 */
async function untilLive(sub: ReturnType<typeof collect>, cause: (n: number) => Promise<unknown>) {
  for (let n = 0; sub.events.length === 0; n++) {
    if (n > 50) throw new Error('subscription never became live');
    await cause(n);
    await Promise.race([new Promise((r) => setTimeout(r, 100)), sub.failed]);
  }
}

describe.each([
  ['in-process pub/sub', {} as Record<string, string>],
  ['Redis pub/sub', { PUBSUB_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' }],
])('registryEvents over graphql-ws with %s', (_label, env) => {
  let a: TestServer;
  let b: TestServer;
  let aUrl: string;
  beforeAll(async () => {
    a = await startTestServer({ env });
    aUrl = await a.listen();
    // With Redis, a second server process of the same deployment publishes the change.
    b = env.PUBSUB_URL ? await startTestServer({ env, shareWith: a }) : a;
  });
  afterAll(async () => {
    if (b !== a) await b?.close();
    await a?.close();
  });

  it('delivers the event of an API key created by another request, only to its project', async () => {
    const mine = await a.newProject('ws');
    const other = await a.newProject('wsother');
    const client = wsClient(aUrl, `Bearer ${mine.key}`);
    const otherClient = wsClient(aUrl, `bearer ${other.key}`);
    const sub = collect(client, SUBSCRIBE, { kinds: ['ApiKey'] });
    const otherSub = collect(otherClient, SUBSCRIBE, {});
    await Promise.all([connected(client), connected(otherClient)]);
    await untilLive(sub, (n) => b.gql(CREATE_KEY, { name: `probe-${n}` }, mine.key));
    await untilLive(otherSub, (n) => b.gql(CREATE_KEY, { name: `other-probe-${n}` }, other.key));
    const seen = sub.events.length;

    const created = await b.gql(CREATE_KEY, { name: 'pushed' }, mine.key);
    expect(created.data.createApiKey.__typename).toBe('CreateApiKeyPayload');
    await sub.waitFor((events) => events.length > seen);
    expect(sub.events.slice(seen).map((e) => e.data.registryEvents)).toEqual([
      expect.objectContaining({ kind: 'ApiKey', name: 'pushed', action: 'CREATED', at: expect.any(String) }),
    ]);
    // The other project's subscriber saw only its own probes, never this project's events.
    const otherNames = otherSub.events.map((e) => e.data.registryEvents.name);
    expect(otherNames.every((name: string) => name.startsWith('other-probe-'))).toBe(true);

    // The stored feed replays the same event for a client that was offline.
    const replay = await a.gql(
      `query($since: DateTime!) { registryChanges(since: $since) { kind name action } }`,
      { since: new Date(Date.now() - 60_000).toISOString() },
      mine.key,
    );
    expect(replay.data.registryChanges).toContainEqual({ kind: 'ApiKey', name: 'pushed', action: 'CREATED' });

    sub.dispose();
    otherSub.dispose();
    await client.dispose();
    await otherClient.dispose();
  });
});

describe('graphql-ws authentication', () => {
  let srv: TestServer;
  let url: string;
  beforeAll(async () => {
    srv = await startTestServer();
    url = await srv.listen();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('closes a socket without a key with 4401', async () => {
    expect(await closeCode(wsClient(url))).toBe(4401);
  });

  it('closes a socket with an invalid key with 4403', async () => {
    expect(await closeCode(wsClient(url, 'Bearer gra_AAAAAAAAAAAA_' + 'x'.repeat(43)))).toBe(4403);
  });
});
