import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testMetadataProvider, type TestServer } from '../helpers/server.ts';

// /readyz as a load balancer or Kubernetes sees it: 200 when the stores answer, 503 while the
// metadata database is unreachable and while the server drains after SIGTERM; /healthz says only
// that the process is up.

async function get(url: string): Promise<{ status: number; body: { status: string; checks?: Record<string, string> } }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as { status: string; checks?: Record<string, string> } };
}

describe('/readyz', () => {
  let srv: TestServer;
  let baseUrl: string;
  beforeAll(async () => {
    srv = await startTestServer({ env: { GRANARY_DRAIN_DELAY_MS: '1500' } });
    baseUrl = await srv.listen();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('is 200 when every store answers, naming each check; answers without a key', async () => {
    const ready = await get(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { metadata: 'ok', migrations: 'ok', online: 'ok', log: 'ok' } });
  });

  it('is 503 while the server drains, which still serves requests until the drain delay ends', async () => {
    const closing = srv.server.close(5000, 'SIGTERM');
    try {
      const draining = await get(`${baseUrl}/readyz`);
      expect(draining.status).toBe(503);
      expect(draining.body.status).toBe('draining');
      // Up, and still answering: only new traffic should stop.
      expect((await get(`${baseUrl}/healthz`)).status).toBe(200);
      const answer = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}` },
        body: JSON.stringify({ query: '{ viewer { scopes } }' }),
      });
      expect(answer.status).toBe(200);
    } finally {
      await closing;
    }
  });
});

/** A TCP proxy to PostgreSQL that the test can cut (every connection dropped, new ones refused) and restore. */
class CuttableProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

describe.runIf(testMetadataProvider() === 'postgresql')('/readyz with PostgreSQL', () => {
  let srv: TestServer;
  let baseUrl: string;
  let proxy: CuttableProxy;
  beforeAll(async () => {
    const target = new URL(process.env.TEST_DATABASE_URL!);
    proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    srv = await startTestServer({
      databaseUrl: (url) => {
        const proxied = new URL(url);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        return proxied.toString();
      },
    });
    baseUrl = await srv.listen();
  });
  afterAll(async () => {
    await srv?.close();
    await proxy?.close();
  });

  it('is 503 while PostgreSQL is unreachable and 200 again once it answers', async () => {
    expect((await get(`${baseUrl}/readyz`)).status).toBe(200);
    await proxy.cut();
    const down = await get(`${baseUrl}/readyz`);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.checks?.metadata).not.toBe('ok');
    // The reason stays in the server log: the answer names no host, port or driver message.
    expect(JSON.stringify(down.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres/i);
    await proxy.start();
    await expect.poll(async () => (await get(`${baseUrl}/readyz`)).status, { timeout: 15_000, interval: 250 }).toBe(200);
  });
});
