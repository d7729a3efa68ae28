import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'graphql';
import { compilableQuery } from '../../src/http/compiled-queries.ts';
import { schema } from '../../src/schema/index.ts';
import { GRAPHQL_PATH } from '../../src/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The GraphQL fast path (src/http/graphql-fast-path.ts) answers plain JSON queries without yoga's
// HTTP layer, and hands everything else over to yoga. Whichever answers, the client must not be
// able to tell: each request here goes over a real socket and, again, straight into yoga
// (yoga.fetch, which the fast path never sees), and the answers must be the same.

let srv: TestServer;
let url: string;
beforeAll(async () => {
  // Production: no introspection, no suggestions, masked errors.
  srv = await startTestServer({ env: { NODE_ENV: 'production', LOG_LEVEL: 'silent' } });
  url = `${await srv.listen()}${GRAPHQL_PATH}`;
});
afterAll(async () => {
  await srv?.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  body: any;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body };
}

type Route = 'answered' | 'handedOver' | 'yoga';

/** Sends the request over HTTP and through yoga alone; returns both answers and which route HTTP took. */
async function both(body: string, headers: Record<string, string> = {}, key: string | null = srv.adminKey) {
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
  if (key) all.authorization = `Bearer ${key}`;
  const before = { ...srv.server.graphqlFastPath.counts };
  const http = await answer(await fetch(url, { method: 'POST', headers: all, body }));
  const after = srv.server.graphqlFastPath.counts;
  const route: Route = after.answered > before.answered ? 'answered' : after.handedOver > before.handedOver ? 'handedOver' : 'yoga';
  const yoga = await answer(await srv.server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, { method: 'POST', headers: all, body }));
  return { http, yoga, route };
}

const json = (query: string, variables?: Record<string, unknown>, operationName?: string) => JSON.stringify({ query, variables, operationName });

describe('the GraphQL fast path', () => {
  it.each<[string, string, Record<string, string>, Route]>([
    ['a query', json('{ viewer { scopes project { name } } }'), {}, 'answered'],
    ['a query, accepting graphql-response+json', json('{ viewer { scopes } }'), { accept: 'application/graphql-response+json' }, 'answered'],
    ['a query with variables and an operation name', json('query G($n: String!) { featureGroup(name: $n) { name } }', { n: 'none' }, 'G'), {}, 'answered'],
    ['a query whose field fails (masked, NOT_FOUND)', json('{ featureVector(featureView: { name: "nope" }, entry: { id: 1 }) { values } }'), {}, 'answered'],
    [
      'a variable that does not coerce',
      json('query ($n: String!) { featureGroup(name: $n) { name } }', {}),
      { accept: 'application/graphql-response+json' },
      'answered',
    ],
    [
      'a streaming ingest (a typed error here)',
      json('mutation { ingestFeatureGroupRows(featureGroup: { name: "nope" }, rows: [{ id: 1 }]) { __typename ... on Error { message } } }'),
      {},
      'answered',
    ],
    ['another mutation', json('mutation { deleteFeatureGroup(featureGroup: { name: "nope" }) { __typename } }'), {}, 'handedOver'],
    [
      'an ingest beside another mutation',
      json(
        'mutation { a: ingestFeatureGroupRows(featureGroup: { name: "nope" }, rows: [{ id: 1 }]) { __typename } b: deleteFeatureGroup(featureGroup: { name: "nope" }) { __typename } }',
      ),
      {},
      'handedOver',
    ],
    ['a validation error', json('{ viewr { scopes } }'), {}, 'handedOver'],
    ['a validation error, accepting graphql-response+json', json('{ viewr { scopes } }'), { accept: 'application/graphql-response+json' }, 'handedOver'],
    ['a syntax error', json('{ viewer {'), { accept: 'application/graphql-response+json' }, 'handedOver'],
    ['introspection (production)', json('{ __schema { types { name } } }'), {}, 'handedOver'],
    ['an unknown operation name', json('query A { viewer { scopes } }', undefined, 'B'), {}, 'handedOver'],
    ['an unexpected parameter', JSON.stringify({ query: '{ viewer { scopes } }', foo: 1 }), {}, 'handedOver'],
    ['variables that are not an object', JSON.stringify({ query: '{ viewer { scopes } }', variables: [1] }), {}, 'handedOver'],
    ['invalid JSON', '{"query": ', {}, 'handedOver'],
    ['a batch', JSON.stringify([{ query: '{ viewer { scopes } }' }]), {}, 'handedOver'],
    ['a subscription, accepting JSON only', json('subscription { registryEvents { kind } }'), { accept: 'application/json' }, 'handedOver'],
    ['a CORS request (Origin)', json('{ viewer { scopes } }'), { origin: 'https://example.com' }, 'yoga'],
    ['another Accept', json('{ viewer { scopes } }'), { accept: 'text/event-stream' }, 'yoga'],
    ['a simple content type (CSRF)', json('{ viewer { scopes } }'), { 'content-type': 'text/plain' }, 'yoga'],
  ])('%s: answered as yoga answers it', async (_label, body, headers, route) => {
    const res = await both(body, headers);
    expect(res.http).toEqual(res.yoga);
    expect(res.route).toBe(route);
  });

  it('answers a successful query with its data and a JSON content type', async () => {
    const res = await both(json('{ viewer { scopes } }'));
    expect(res.http).toEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: { data: { viewer: { scopes: ['ADMIN'] } } } });
  });

  it('hands over a bad key with the outcome of checking it, so it is checked once', async () => {
    const spy = vi.spyOn(srv.app.services.apiKeys, 'authenticate');
    try {
      const before = spy.mock.calls.length;
      const res = await both(json('{ viewer { scopes } }'), {}, `gra_AAAAAAAAAAAA_${'x'.repeat(43)}`);
      expect(res.route).toBe('handedOver');
      expect(res.http.status).toBe(401);
      expect(res.http).toEqual(res.yoga);
      // Once for the HTTP request, once for yoga.fetch.
      expect(spy.mock.calls.length - before).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves a request without a key to yoga (401)', async () => {
    const res = await both(json('{ viewer { scopes } }'), {}, null);
    expect(res.route).toBe('yoga');
    expect(res.http.status).toBe(401);
    expect(res.http).toEqual(res.yoga);
  });

  it('hands over a mutation, which runs once', async () => {
    const { key } = await srv.newProject('fast');
    const mutation = json('mutation { createApiKey(input: { name: "fast", scopes: [READ] }) { __typename } }');
    const before = { ...srv.server.graphqlFastPath.counts };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: mutation });
    expect(await res.json()).toEqual({ data: { createApiKey: { __typename: 'CreateApiKeyPayload' } } });
    expect(srv.server.graphqlFastPath.counts.handedOver).toBe(before.handedOver + 1);
    const keys = await srv.gql('{ apiKeys { name } }', {}, key);
    expect(keys.data.apiKeys.filter((k: { name: string }) => k.name === 'fast')).toHaveLength(1);
  });

  it('hands over a subscription, which yoga streams as server-sent events until the client leaves', async () => {
    const body = json('subscription { registryEvents { kind } }');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}` };
    const before = { ...srv.server.graphqlFastPath.counts };
    const client = new AbortController();
    const res = await fetch(url, { method: 'POST', headers, body, signal: client.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(srv.server.graphqlFastPath.counts.handedOver).toBe(before.handedOver + 1);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    await srv.gql('mutation { createApiKey(input: { name: "sse", scopes: [READ] }) { __typename } }');
    while (!text.includes('"kind":"ApiKey"')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    expect(text).toContain('"kind":"ApiKey"');
    client.abort();
  });

  it('leaves a body above 256 KiB to yoga, which answers it', async () => {
    const res = await both(json('query ($n: String!) { featureGroup(name: $n) { name } }', { n: 'x'.repeat(300 * 1024) }));
    expect(res.route).toBe('yoga');
    expect(res.http).toEqual(res.yoga);
    expect(res.http.body).toEqual({ data: { featureGroup: null } });
  });
});

describe('compiled queries', () => {
  it('run a document the same way once it is compiled, with errors masked the same way', async () => {
    const ok = json('{ viewer { scopes project { name } } }');
    const failing = json('query ($e: JSON!) { featureVector(featureView: { name: "nope" }, entry: $e) { values } }', { e: { id: 1 } });
    const first = [await both(ok), await both(failing)];
    for (let i = 0; i < 5; i++) {
      expect((await both(ok)).http).toEqual(first[0]!.http);
      expect((await both(failing)).http).toEqual(first[1]!.http);
    }
    expect(first[1]!.http.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('run the named operation of a document with several, each time', async () => {
    const doc = 'query A { viewer { scopes } } query B { viewer { project { name } } }';
    for (let i = 0; i < 5; i++) {
      expect((await both(json(doc, undefined, 'A'))).http.body).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
    }
    expect((await both(json(doc, undefined, 'B'))).http.body).toEqual({ data: { viewer: { project: { name: 'default' } } } });
  });

  it('are only queries with one operation and no literal of a scalar that reads variables (JSON)', () => {
    const compilable = (source: string) => compilableQuery(schema, parse(source)) !== null;
    expect(compilable('query ($e: JSON!) { featureVector(featureView: { name: "v", version: 1 }, entry: $e) { values } }')).toBe(true);
    expect(compilable('{ viewer { scopes } }')).toBe(true);
    // graphql-jit would parse the literal without the variables: { id: undefined }.
    expect(compilable('query ($id: Int!) { featureVector(featureView: { name: "v" }, entry: { id: $id }) { values } }')).toBe(false);
    expect(compilable('{ featureVector(featureView: { name: "v" }, entry: { id: 1 }) { values } }')).toBe(false);
    expect(compilable('query A { viewer { scopes } } query B { viewer { scopes } }')).toBe(false);
    expect(compilable('mutation { revokeApiKey(id: "x") { __typename } }')).toBe(false);
    expect(compilable('subscription { registryEvents { kind } }')).toBe(false);
  });
});
