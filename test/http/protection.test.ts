import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.ts';

// What protects a server exposed to untrusted clients: operation limits, production hardening,
// the body limit, CSRF prevention and authentication of everything but /healthz.

/** Production defaults, as an operator runs it (only the body limit lowered to keep tests small). */
let prod: TestServer;
let prodUrl: string;
/** Development mode, with every operation limit lowered through the environment. */
let dev: TestServer;
let devUrl: string;

const BODY_LIMIT = 4096;

beforeAll(async () => {
  [prod, dev] = await Promise.all([
    startTestServer({ env: { NODE_ENV: 'production', LOG_LEVEL: 'silent', GRANARY_MAX_BODY_BYTES: String(BODY_LIMIT) } }),
    startTestServer({
      env: {
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        GRANARY_MAX_DEPTH: '2',
        GRANARY_MAX_ALIASES: '2',
        GRANARY_MAX_COST: '10',
        GRANARY_MAX_TOKENS: '20',
      },
    }),
  ]);
  [prodUrl, devUrl] = await Promise.all([prod.listen(), dev.listen()]);
});
afterAll(async () => {
  await Promise.all([prod?.close(), dev?.close()]);
});

/** A refused operation: errors, no data at all (it never ran). */
function expectRejected(res: GraphQLResponse, message: RegExp) {
  expect(res.data ?? null, JSON.stringify(res)).toBeNull();
  expect(res.errors?.map((e) => e.message).join('\n')).toMatch(message);
}

const aliases = (n: number, field = 'viewer { scopes }') => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

describe('operation limits with the defaults', () => {
  it('accepts an ordinary query', async () => {
    const res = await prod.gql('{ viewer { project { id name createdAt } apiKey { name scopes } scopes } }');
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer.project.name).toBe('default');
  });

  it('allows 30 aliases and refuses 31 without running any of them', async () => {
    const ok = await prod.gql(`{ ${aliases(30)} }`);
    expect(ok.errors).toBeUndefined();
    expect(Object.keys(ok.data)).toHaveLength(30);

    const { key } = await prod.newProject('aliases');
    const keys = async () => (await prod.gql('{ apiKeys { id } }', {}, key)).data.apiKeys.length;
    const before = await keys();
    const res = await prod.gql(`mutation { ${aliases(31, 'createApiKey(input: { name: "x", scopes: [READ] }) { __typename }')} }`, {}, key);
    expectRejected(res, /Aliases limit of 30 exceeded, found 31/);
    expect(await keys()).toBe(before);
  });

  it('refuses a fragment bomb: few tokens, huge cost', async () => {
    const fragments = ['fragment F0 on Query { viewer { scopes } }'];
    for (let i = 1; i <= 6; i++)
      fragments.push(
        `fragment F${i} on Query { ${Array(10)
          .fill(`...F${i - 1}`)
          .join(' ')} }`,
      );
    const res = await prod.gql(`{ ...F6 } ${fragments.join(' ')}`);
    expectRejected(res, /Query Cost limit of 5000000 exceeded/);
  });
});

describe('operation limits from the environment', () => {
  it('GRANARY_MAX_DEPTH refuses a deeper selection', async () => {
    expect((await dev.gql('{ viewer { scopes } }')).data).toEqual({ viewer: { scopes: ['ADMIN'] } });
    expectRejected(await dev.gql('{ viewer { project { name } } }'), /depth limit of 2 exceeded, found 3/);
  });

  it('GRANARY_MAX_ALIASES refuses more aliases', async () => {
    const scopes = (n: number) => `{ viewer { ${aliases(n, 'scopes')} } }`;
    expect((await dev.gql(scopes(2))).data).toEqual({ viewer: { a0: ['ADMIN'], a1: ['ADMIN'] } });
    expectRejected(await dev.gql(scopes(3)), /Aliases limit of 2 exceeded, found 3/);
  });

  it('GRANARY_MAX_COST refuses a costlier operation', async () => {
    // Costs as graphql-armor counts them: 3.5 per `viewer { scopes }`.
    expect((await dev.gql('{ viewer { scopes } a: viewer { scopes } }')).errors).toBeUndefined();
    expectRejected(await dev.gql('{ viewer { scopes } a: viewer { scopes } b: viewer { scopes } }'), /Cost limit of 10 exceeded/);
  });

  it('GRANARY_MAX_TOKENS refuses a longer document', async () => {
    expect((await dev.gql('{ viewer { scopes } }')).errors).toBeUndefined();
    expectRejected(await dev.gql(`{ viewer { ${Array(20).fill('scopes').join(' ')} } }`), /Token limit of 20 exceeded/);
  });
});

describe('production mode', () => {
  it('refuses introspection (development allows it)', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Query") { fields { name } } }']) {
      expectRejected(await prod.gql(query), /introspection has been disabled/);
    }
    expect((await dev.gql('{ __type(name: "Viewer") { name } }')).data).toEqual({ __type: { name: 'Viewer' } });
  });

  it('refuses introspection over graphql-ws too', async () => {
    const client = createClient({
      url: `${prodUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${prod.adminKey}` },
      retryAttempts: 0,
    });
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: '{ __schema { types { name } } }' }, { next: resolve, error: resolve, complete: () => {} });
      });
      expect(JSON.stringify(outcome)).toMatch(/introspection has been disabled/);
      expect(JSON.stringify(outcome)).not.toContain('"types"');
    } finally {
      await client.dispose();
    }
  });

  it('does not suggest field names (development does)', async () => {
    const res = await prod.gql('{ viewr { scopes } }');
    expectRejected(res, /Cannot query field "viewr"/);
    expect(JSON.stringify(res)).not.toContain('viewer');
    expect(JSON.stringify(await dev.gql('{ viewr }'))).toContain('Did you mean \\"viewer\\"?');
  });

  it('does not serve GraphiQL (development does)', async () => {
    for (const authorization of [undefined, `Bearer ${prod.adminKey}`]) {
      const res = await fetch(`${prodUrl}/graphql`, { headers: { accept: 'text/html', ...(authorization ? { authorization } : {}) } });
      const body = await res.text();
      expect(res.status).not.toBe(200);
      expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
      expect(body).not.toMatch(/<html|graphiql/i);
    }
    const page = await fetch(`${devUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    await page.body?.cancel();
  });

  it('masks the details of unexpected errors, not expected ones', async () => {
    const spy = vi
      .spyOn(prod.app.services.events, 'changesSince')
      .mockRejectedValueOnce(new Error('connect ECONNREFUSED postgresql://granary:hunter2@10.0.0.7/registry'));
    const res = await prod.gql('{ registryChanges(since: "2020-01-01T00:00:00Z") { kind } }');
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    expect(res.errors).toEqual([expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(JSON.stringify(res)).not.toMatch(/hunter2|ECONNREFUSED|10\.0\.0\.7|stack/);

    const expected = await prod.gql('{ registryChanges(since: "2020-01-01T00:00:00Z", first: 0) { kind } }');
    expect(expected.errors?.[0]).toMatchObject({ message: 'first must be between 1 and 10000', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('request body limit', () => {
  const padded = (bytes: number) => {
    const body = JSON.stringify({ query: '{ viewer { scopes } } #' });
    return JSON.stringify({ query: `{ viewer { scopes } } #${'x'.repeat(bytes - body.length)}` });
  };

  it('accepts a body up to GRANARY_MAX_BODY_BYTES and refuses a larger one with 413', async () => {
    const post = (body: string) =>
      fetch(`${prodUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${prod.adminKey}` },
        body,
      });
    const ok = await post(padded(BODY_LIMIT));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
    const tooLarge = await post(padded(BODY_LIMIT + 1));
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as GraphQLResponse).errors?.[0]?.extensions?.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('refuses a larger chunked body, which announces no length', async () => {
    const { port } = new URL(prodUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/graphql',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${prod.adminKey}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      const body = padded(BODY_LIMIT * 4);
      for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
      req.end();
    });
    expect(status).toBe(413);
  });
});

describe('cross-site requests', () => {
  const viewerParams = new URLSearchParams({ query: '{ viewer { scopes } }' });

  it.each([
    ['a text/plain POST', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ viewer { scopes } }' }) }],
    ['a form POST', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: viewerParams.toString() }],
    [
      'a multipart POST',
      {
        method: 'POST',
        body: (() => {
          const f = new FormData();
          f.set('operations', JSON.stringify({ query: '{ viewer { scopes } }' }));
          f.set('map', '{}');
          return f;
        })(),
      },
    ],
    ['a GET', { method: 'GET' }],
  ] as [string, RequestInit][])('refuses %s, which a browser sends cross-site without preflight, with 403', async (_label, init) => {
    const res = await prod.server.yoga.fetch(`http://localhost/graphql${init.method === 'GET' ? `?${viewerParams}` : ''}`, init);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('ADMIN');
  });

  it('answers a GET query carrying the Authorization header, which needs a preflight', async () => {
    const res = await fetch(`${prodUrl}/graphql?${viewerParams}`, { headers: { authorization: `Bearer ${prod.adminKey}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
  });

  it('never runs a mutation sent by GET', async () => {
    const name = `get_${process.pid}_${Date.now()}`;
    const query = new URLSearchParams({ query: `mutation { createProject(input: { name: "${name}" }) { __typename } }` });
    const res = await fetch(`${prodUrl}/graphql?${query}`, { headers: { authorization: `Bearer ${prod.adminKey}` } });
    expect(res.status).toBe(405);
    expect(await prod.app.prisma.project.count({ where: { name } })).toBe(0);
  });
});

describe('authentication at the door', () => {
  it('answers GET /healthz with 200 without a key', async () => {
    for (const path of ['/healthz', '/healthz?probe=1']) {
      const res = await fetch(`${prodUrl}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });

  it('refuses a GraphQL request without a valid key with 401 UNAUTHENTICATED', async () => {
    for (const authorization of [undefined, 'Bearer nope', `Basic ${Buffer.from('admin:admin').toString('base64')}`]) {
      const res = await fetch(`${prodUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as GraphQLResponse;
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers nothing on any other path, with or without a key', async () => {
    for (const path of [
      '/admin.key',
      '/metadata.db',
      '/healthzz',
      '/health',
      '/x/health',
      '/graphiql',
      '/graphql/x',
      '/assets/../admin.key',
      '/feature-groups/../../admin.key',
    ]) {
      for (const headers of [{}, { authorization: `Bearer ${prod.adminKey}` }] as Record<string, string>[]) {
        const res = await fetch(`${prodUrl}${path}`, { headers });
        expect(res.status, path).toBe(404);
        expect(await res.text(), path).not.toMatch(/gra_|ADMIN|SQLite/);
      }
    }
  });

  it('survives odd request targets and keeps serving', async () => {
    const { port } = new URL(prodUrl);
    for (const target of ['//', '/\\', '*', 'http://elsewhere/graphql']) {
      const head = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text.split('\r\n')[0]!));
        socket.on('error', reject);
      });
      expect(head, target).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    expect((await fetch(`${prodUrl}/healthz`)).status).toBe(200);
  });
});
