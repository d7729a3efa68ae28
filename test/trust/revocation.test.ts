import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse, type SseStream } from '../helpers/sse.ts';

// A revoked or expired key keeps no open subscription: graphql-ws sockets close with 4403, SSE
// streams end with an UNAUTHENTICATED error, as HTTP requests with the key fail.

const SUBSCRIBE = 'subscription { registryEvents { kind name action } }';
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { secret apiKey { id } } ... on Error { message } }
}`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on Error { message } } }`;

/** A graphql-transport-ws socket, subscribed to the change feed with `key`; records what it receives and how it closes. */
interface Socket {
  readonly messages: any[];
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

async function openSocket(url: string, key: string): Promise<Socket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
  await until(() => messages.some((m) => m.type === 'connection_ack'), closed);
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIBE } }));
  return { messages, closed, close: () => ws.close() };
}

/** Waits until `done()` holds (polling), failing if `stop` settles first or after 15 s. */
async function until(done: () => boolean, stop?: Promise<unknown>): Promise<void> {
  let stopped = false;
  void stop?.then(() => (stopped = true));
  const deadline = Date.now() + 15_000;
  while (!done()) {
    if (stopped) throw new Error('ended before the condition held');
    if (Date.now() > deadline) throw new Error('condition not met within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A READ key of a fresh project, minted by that project's ADMIN key. */
async function readKey(srv: TestServer, expiresAt?: Date) {
  const project = await srv.newProject('rev');
  const created = await srv.gql(CREATE_KEY, { input: { name: 'reader', scopes: ['READ'], expiresAt: expiresAt?.toISOString() } }, project.key);
  const payload = created.data?.createApiKey;
  if (!payload?.secret) throw new Error(JSON.stringify(created));
  return { admin: project.key, key: payload.secret as string, id: payload.apiKey.id as string };
}

/**
 * Makes registry events in the key's project (new keys named `name`) until `delivered()` holds: a
 * subscription just sent may not listen yet when the first one is published.
 */
async function touch(srv: TestServer, admin: string, name: string, delivered: () => boolean) {
  const deadline = Date.now() + 15_000;
  while (!delivered()) {
    if (Date.now() > deadline) throw new Error(`no ${name} event delivered within 15 s`);
    const made = await srv.gql(CREATE_KEY, { input: { name, scopes: ['READ'] } }, admin);
    expect(made.data.createApiKey.__typename).toBe('CreateApiKeyPayload');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const gotWs = (socket: Socket, name: string) => () => socket.messages.some((m) => m.type === 'next' && m.payload.data.registryEvents.name === name);
const gotSse = (stream: SseStream, name: string) => () => stream.results().some((r) => r.data?.registryEvents?.name === name);

const sse = (srv: TestServer, key: string): Promise<SseStream> =>
  subscribeSse((url, init) => srv.server.yoga.fetch(url, init), 'http://localhost/graphql', key, { query: SUBSCRIBE });

describe('revocation in the same process', () => {
  let srv: TestServer;
  let url: string;
  beforeAll(async () => {
    srv = await startTestServer();
    url = await srv.listen();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('closes a graphql-ws socket of a revoked key with 4403 at once', async () => {
    const { admin, key, id } = await readKey(srv);
    const socket = await openSocket(url, key);
    await touch(srv, admin, 'before', gotWs(socket, 'before'));
    expect((await srv.gql(REVOKE, { id }, admin)).data.revokeApiKey.__typename).toBe('RevokeApiKeyPayload');
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden: API key revoked' });
  });

  it('ends an SSE stream of a revoked key with an UNAUTHENTICATED error', async () => {
    const { admin, key, id } = await readKey(srv);
    const stream = await sse(srv, key);
    expect(stream.status).toBe(200);
    await touch(srv, admin, 'before', gotSse(stream, 'before'));
    await srv.gql(REVOKE, { id }, admin);
    await stream.ended;
    const results = stream.results();
    expect(results.at(-1)).toEqual({
      errors: [expect.objectContaining({ message: 'API key revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })],
    });
    expect(stream.events.at(-1)?.event).toBe('complete');
  });

  it('keeps the sockets and streams of other keys open', async () => {
    const revoked = await readKey(srv);
    const kept = await readKey(srv);
    const keptSocket = await openSocket(url, kept.key);
    const keptStream = await sse(srv, kept.key);
    const gone = await openSocket(url, revoked.key);
    await srv.gql(REVOKE, { id: revoked.id }, revoked.admin);
    expect((await gone.closed).code).toBe(4403);
    await touch(srv, kept.admin, 'after', () => gotWs(keptSocket, 'after')() && gotSse(keptStream, 'after')());
    keptSocket.close();
    keptStream.close();
  });

  it('closes a socket and ends a stream when the key expires', async () => {
    const { key } = await readKey(srv, new Date(Date.now() + 2000));
    const socket = await openSocket(url, key);
    const stream = await sse(srv, key);
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden: API key expired' });
    await stream.ended;
    expect(stream.results().at(-1)?.errors?.[0]?.message).toBe('API key expired');
  });
});

describe('revocation the pub/sub message did not bring', () => {
  let srv: TestServer;
  let url: string;
  beforeAll(async () => {
    srv = await startTestServer({ keyRecheckMs: 200 });
    url = await srv.listen();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('closes the socket and ends the stream on the periodic re-check of open keys', async () => {
    const { key } = await readKey(srv);
    const socket = await openSocket(url, key);
    const stream = await sse(srv, key);
    // As another process without a shared pub/sub would: the row changes, no message is published.
    const prefix = key.split('_')[1]!;
    await srv.app.prisma.apiKey.update({ where: { prefix }, data: { revokedAt: new Date() } });
    expect((await socket.closed).code).toBe(4403);
    await stream.ended;
    expect(stream.results().at(-1)?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('revocation in another process (Redis pub/sub)', () => {
  const env = { PUBSUB_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' };
  let a: TestServer;
  let b: TestServer;
  let bUrl: string;
  beforeAll(async () => {
    a = await startTestServer({ env });
    b = await startTestServer({ env, shareWith: a });
    bUrl = await b.listen();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('closes a socket on one server when the key is revoked through another, and refuses its HTTP requests there', async () => {
    const { admin, key, id } = await readKey(a);
    // b has authenticated (and cached) the key for HTTP, and holds its socket and stream.
    expect((await b.gql('{ viewer { scopes } }', {}, key)).data).toEqual({ viewer: { scopes: ['READ'] } });
    const socket = await openSocket(bUrl, key);
    const stream = await sse(b, key);
    await a.gql(REVOKE, { id }, admin);
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden: API key revoked' });
    await stream.ended;
    // Not after its cache's 10 s: the message dropped the key from b's cache too.
    expect((await b.gql('{ viewer { scopes } }', {}, key)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
