import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnServer } from '../helpers/process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The HTTP edge against hostile and careless input: what it refuses, and what it logs.

let srv: TestServer;
let url: string;
/** A small document limit, to reach it on every transport with small requests. */
let small: TestServer;
let smallUrl: string;
const SMALL_DOCUMENT = 2000;
const logLines: string[] = [];
const logged = () => logLines.map((line) => JSON.parse(line) as Record<string, any>);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  [srv, small] = await Promise.all([
    startTestServer({ logger: pino({ level: 'debug' }, sink) }),
    startTestServer({ env: { GRANARY_MAX_DOCUMENT_BYTES: String(SMALL_DOCUMENT) } }),
  ]);
  [url, smallUrl] = await Promise.all([srv.listen(), small.listen()]);
});

afterAll(async () => {
  await Promise.all([srv?.close(), small?.close()]);
});

async function post(base: string, body: BodyInit, headers: Record<string, string>) {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })(),
  };
}

const projectCount = (name: string) => srv.app.prisma.project.count({ where: { name } });
let made = 0;
const createProject = () => {
  const name = `csrf_${process.pid}_${++made}`;
  return { name, query: `mutation { createProject(input: { name: "${name}" }) { __typename } }` };
};

describe('request forms (CSRF)', () => {
  it('refuses a form-urlencoded POST (query=…) with 403, even with a valid key, and runs nothing', async () => {
    const { name, query } = createProject();
    const res = await post(url, new URLSearchParams({ query }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Bearer ${srv.adminKey}`,
    });
    expect(res.status).toBe(403);
    expect(res.json.errors[0].extensions.code).toBe('CSRF_PREVENTED');
    expect(res.json.errors[0].message).toMatch(/application\/x-www-form-urlencoded .*application\/json/);
    expect(await projectCount(name)).toBe(0);
  });

  it('refuses a text/plain POST with 403 and runs nothing', async () => {
    const { name, query } = createProject();
    const res = await post(url, JSON.stringify({ query }), { 'content-type': 'text/plain', authorization: `Bearer ${srv.adminKey}` });
    expect(res.status).toBe(403);
    expect(await projectCount(name)).toBe(0);
  });

  it('refuses a multipart request without the preflight header with 403, and runs it with the header', async () => {
    const { name, query } = createProject();
    const form = () => {
      const f = new FormData();
      f.set('operations', JSON.stringify({ query }));
      f.set('map', '{}');
      return f;
    };
    const refused = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${srv.adminKey}` }, body: form() });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).errors[0].message).toContain('x-graphql-yoga-csrf');
    expect(await projectCount(name)).toBe(0);
    const accepted = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.adminKey}`, 'x-graphql-yoga-csrf': '1' },
      body: form(),
    });
    expect(accepted.status).toBe(200);
    expect(await projectCount(name)).toBe(1);
  });

  it('refuses any other content type with 415 and runs nothing', async () => {
    const { name, query } = createProject();
    for (const type of ['application/graphql', 'application/xml', 'application/jsonx']) {
      const res = await post(url, query, { 'content-type': type, authorization: `Bearer ${srv.adminKey}`, 'x-graphql-yoga-csrf': '1' });
      expect(res.status, type).toBe(415);
      expect(res.json.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await projectCount(name)).toBe(0);
  });

  it('accepts a JSON POST and a GET query', async () => {
    const json = await post(url, JSON.stringify({ query: '{ viewer { scopes } }' }), {
      'content-type': 'application/json; charset=utf-8',
      authorization: `Bearer ${srv.adminKey}`,
    });
    expect(json.json).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
    const get = await fetch(`${url}/graphql?${new URLSearchParams({ query: '{ viewer { scopes } }' })}`, {
      headers: { authorization: `Bearer ${srv.adminKey}` },
    });
    expect(await get.json()).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
  });
});

describe('operation limits', () => {
  it('counts __typename aliases: 31 of them are refused (default 30) and none runs', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;
    expect((await srv.gql(aliases(30))).data).toBeTruthy();
    for (const n of [31, 1000]) {
      const refused = await srv.gql(aliases(n));
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors?.[0]?.message).toMatch(/Aliases limit of 30 exceeded/);
    }
  });

  it('refuses a 5 MB document of one string literal with 413 before parsing it, and accepts one under 1 MB', async () => {
    const literal = (bytes: number) => JSON.stringify({ query: `{ featureGroup(name: "${'x'.repeat(bytes)}") { name } }` });
    const big = await post(url, literal(5 * 1024 * 1024), { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}` });
    expect(big.status).toBe(413);
    expect(big.json.data ?? null).toBeNull();
    expect(big.json.errors[0].extensions.code).toBe('DOCUMENT_TOO_LARGE');
    expect(big.json.errors[0].message).toMatch(/at most 1048576 are allowed/);
    const under = await post(url, literal(900 * 1024), { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}` });
    expect(under.json).toEqual({ data: { featureGroup: null } });
  });

  it('GRANARY_MAX_DOCUMENT_BYTES holds on the fast path, through yoga and over graphql-ws', async () => {
    const query = `{ viewer { scopes } } # ${'x'.repeat(SMALL_DOCUMENT)}`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${small.adminKey}` };
    const before = small.server.graphqlFastPath.counts.handedOver;
    const fast = await post(smallUrl, JSON.stringify({ query }), headers);
    expect(fast.status).toBe(413);
    expect(fast.json.errors[0].extensions.code).toBe('DOCUMENT_TOO_LARGE');
    // The fast path took it (small body) and yoga answered it after the parse refused it.
    expect(small.server.graphqlFastPath.counts.handedOver).toBe(before + 1);
    const viaYoga = await small.server.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body: JSON.stringify({ query }) });
    expect(viaYoga.status).toBe(413);
    const client = createClient({
      url: `${smallUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${small.adminKey}` },
      retryAttempts: 0,
    });
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe({ query }, { next: resolve, error: resolve, complete: () => {} });
      });
      expect(JSON.stringify(outcome)).toMatch(/at most 2000 are allowed/);
      // The socket stays usable: a small document still runs on it.
      const ok = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: '{ viewer { scopes } }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(ok).toEqual({ data: { viewer: { scopes: ['ADMIN'] } } });
    } finally {
      await client.dispose();
    }
  });

  it('applies a depth limit to introspection too, deep enough for the introspection query GraphiQL sends', async () => {
    const full = await srv.gql(
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }),
    );
    expect(full.errors).toBeUndefined();
    expect(full.data.__schema.types.length).toBeGreaterThan(10);
    const nested = (n: number): string => (n === 0 ? 'name' : `name ofType { ${nested(n - 1)} }`);
    const deep = await srv.gql(`{ __schema { queryType { ${nested(40)} } } }`);
    expect(deep.data ?? null).toBeNull();
    expect(deep.errors?.[0]?.message).toMatch(/depth limit of 21 exceeded/);
  });
});

describe('logging', () => {
  beforeEach(() => {
    logLines.length = 0;
  });

  it('logs a typed domain error at info, without a stack, and no error', async () => {
    const { key } = await srv.newProject('log');
    const bad = await srv.gql('{ lineage(id: "not-an-id") { nodes { id } } }', {}, key);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const lines = logged();
    // pino levels: 30 info, 50 error.
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const refused = lines.filter((l) => l.msg === 'request refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 30, error: { type: 'ValidationError', code: 'BAD_USER_INPUT' } });
    expect(JSON.stringify(lines)).not.toMatch(/"stack"|\n\s+at /);
  });

  it('logs an unexpected failure as an error with its stack, and masks it for the client', async () => {
    const { key } = await srv.newProject('log');
    const lineage = srv.app.services.lineage;
    const original = lineage.graph;
    lineage.graph = () => Promise.reject(new TypeError('internal detail /srv/secret/path'));
    try {
      const failed = await srv.gql('{ lineage(id: "x") { nodes { id } } }', {}, key);
      expect(failed.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(failed)).not.toContain('/srv/secret/path');
    } finally {
      lineage.graph = original;
    }
    const errors = logged().filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: 'unexpected error', err: { type: 'TypeError', message: 'internal detail /srv/secret/path' } });
    expect(errors[0]!.err.stack).toContain('TypeError');
  });
});

describe('GraphiQL sign-in at start', () => {
  it('prints a sign-in URL carrying the admin key in its fragment on the first start, and no key later', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'granary-signin-'));
    try {
      const first = await spawnServer(dataDir, { NODE_ENV: 'development' });
      let key: string;
      try {
        key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
        await expect.poll(() => first.output()).toContain(`Sign in to GraphiQL with the admin key: ${first.url}/graphql#key=${key}`);
        expect(first.output()).toContain(`Open the console signed in with it: ${first.url}/#key=${key}`);
        // The page it opens holds no key: the fragment never reaches the server.
        const page = await fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } });
        expect(await page.text()).not.toContain(key);
      } finally {
        await first.kill();
      }
      // A later start writing to a log (not a terminal) prints how to sign in, not the key.
      const second = await spawnServer(dataDir, { NODE_ENV: 'development' });
      try {
        await expect.poll(() => second.output()).toContain(`Sign in to GraphiQL: open ${second.url}/graphql#key=<your API key>`);
        expect(second.output()).toContain(`Open the console: ${second.url}/ and sign in with an API key`);
        expect(second.output()).not.toContain(key);
      } finally {
        await second.kill();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    // Two real server starts: slow on a busy machine, and not what is asserted.
  }, 120_000);
});
