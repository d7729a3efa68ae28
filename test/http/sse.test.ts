import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse, type Fetcher, type SseEvent, type SseStream as Stream } from '../helpers/sse.ts';

// Subscriptions over Server-Sent Events, as yoga serves them (GraphQL over SSE, distinct
// connections mode): POST or GET /graphql with `Accept: text/event-stream`.

const SUBSCRIBE = `subscription($kinds: [String!]) { registryEvents(kinds: $kinds) { kind name action at sequence } }`;
const CREATE_KEY = `mutation($name: String!) { createApiKey(input: { name: $name, scopes: [READ] }) { __typename } }`;

/** Opens the registryEvents subscription over SSE. */
function subscribe(fetcher: Fetcher, base: string, key: string | null, variables: Record<string, unknown> = {}, method: 'GET' | 'POST' = 'POST') {
  return subscribeSse(fetcher, `${base}/graphql`, key, { query: SUBSCRIBE, variables }, method);
}

/** A subscription is live once the server has registered it: cause probe events until one arrives. */
async function untilLive(stream: Stream, cause: (n: number) => Promise<unknown>) {
  for (let n = 0; stream.events.length === 0; n++) {
    if (n > 50) throw new Error(`subscription never became live: ${JSON.stringify(stream.events)}`);
    await cause(n);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const names = (events: SseEvent[]) => events.map((e) => e.data?.data?.registryEvents?.name);

let srv: TestServer;
let viaYoga: (url: string, init: RequestInit) => Promise<Response>;
beforeAll(async () => {
  srv = await startTestServer();
  viaYoga = (url, init) => Promise.resolve(srv.server.yoga.fetch(url, init));
});
afterAll(async () => {
  await srv?.close();
});

describe('registryEvents over SSE', () => {
  it.each(['POST', 'GET'] as const)('streams the event of an API key created by another request (%s), only to its project', async (method) => {
    const mine = await srv.newProject(`sse_${method.toLowerCase()}`);
    const other = await srv.newProject(`sse_other_${method.toLowerCase()}`);
    const stream = await subscribe(viaYoga, 'http://localhost', mine.key, { kinds: ['ApiKey'] }, method);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain('text/event-stream');
    await untilLive(stream, (n) => srv.gql(CREATE_KEY, { name: `probe-${n}` }, mine.key));
    await stream.waitFor((events) => names(events).includes('probe-0'));
    const seen = stream.events.length;

    expect((await srv.gql(CREATE_KEY, { name: 'elsewhere' }, other.key)).data.createApiKey.__typename).toBe('CreateApiKeyPayload');
    expect((await srv.gql(CREATE_KEY, { name: 'pushed' }, mine.key)).data.createApiKey.__typename).toBe('CreateApiKeyPayload');
    await stream.waitFor((events) => names(events).includes('pushed'));

    const fresh = stream.events.slice(seen);
    // Probes still in flight when the subscription went live may come first; nothing else may.
    expect(names(fresh).filter((name) => !name.startsWith('probe-'))).toEqual(['pushed']);
    expect(fresh.at(-1)).toEqual({
      event: 'next',
      data: { data: { registryEvents: { kind: 'ApiKey', name: 'pushed', action: 'CREATED', at: expect.any(String), sequence: expect.any(Number) } } },
    });
    stream.close();
  });

  it.each([
    ['no key', null],
    ['an unknown key', 'gra_AAAAAAAAAAAA_' + 'x'.repeat(43)],
  ])('refuses a subscription with %s: 401 UNAUTHENTICATED, and the stream ends', async (_label, key) => {
    const stream = await subscribe(viaYoga, 'http://localhost', key);
    expect(stream.status).toBe(401);
    await stream.ended;
    expect(stream.events).toEqual([
      { event: 'next', data: { errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] } },
      { event: 'complete', data: null },
    ]);
    expect(JSON.stringify(stream.events)).not.toContain('registryEvents');
  });
});

describe('SSE on shutdown', () => {
  it('completes open streams at once instead of holding the server for the grace period', async () => {
    const own = await startTestServer();
    try {
      const url = await own.listen();
      const stream = await subscribe(fetch, url, own.adminKey);
      expect(stream.status).toBe(200);
      await untilLive(stream, (n) => own.gql(CREATE_KEY, { name: `probe-${n}` }));
      const started = Date.now();
      await own.server.close(10_000);
      expect(Date.now() - started).toBeLessThan(3000);
      await stream.ended;
      expect(stream.events.at(-1)).toEqual({ event: 'complete', data: null });
    } finally {
      await own.close();
    }
  });
});
