import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import { createGranaryServer, GRAPHQL_PATH, type GranaryServer } from '../../src/server.ts';
import { clonePostgresTemplate } from './postgres.ts';

/** Which metadata backend this test run uses: set per vitest project. */
export function testMetadataProvider(): 'sqlite' | 'postgresql' {
  return process.env.GRANARY_TEST_METADATA === 'postgresql' ? 'postgresql' : 'sqlite';
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestServer {
  readonly app: App;
  readonly server: GranaryServer;
  /** ADMIN key of the server's first project (a server admin). */
  readonly adminKey: string;
  readonly dataDir: string;
  /** Runs an operation through yoga.fetch (no socket) with `key` as the bearer (admin by default; null: none). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GraphQLResponse<T>>;
  /** A fresh project with an ADMIN key of its own, so each test works in isolation. */
  newProject(prefix?: string): Promise<{ name: string; key: string }>;
  /** Listens on a free loopback port; resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

let projects = 0;

export interface StartOptions {
  /** Extra environment for loadConfig (PUBSUB_URL, limits, NODE_ENV…). */
  readonly env?: Record<string, string>;
  /** Open the same data directory and metadata database as this server: a second process of one deployment. */
  readonly shareWith?: TestServer;
  /** The app's logger (tests that read what is logged). */
  readonly logger?: Logger;
  /** How often the server re-reads the keys of open subscriptions (default 10 s). */
  readonly keyRecheckMs?: number;
}

/** Starts an app + server on a private data directory and metadata database. */
export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const shared = options.shareWith;
  const dataDir = shared?.dataDir ?? mkdtempSync(join(tmpdir(), 'granary-srv-'));
  const vars: Record<string, string> = { GRANARY_DATA_DIR: dataDir, NODE_ENV: 'test', ...options.env };
  const onlineStoreUrl = process.env.GRANARY_TEST_ONLINE_STORE_URL;
  if (onlineStoreUrl && !vars.ONLINE_STORE_URL) vars.ONLINE_STORE_URL = onlineStoreUrl;
  if (shared) {
    if (shared.app.config.databaseUrl) vars.DATABASE_URL = shared.app.config.databaseUrl;
  } else if (testMetadataProvider() === 'postgresql') {
    const template = inject('postgresTemplate');
    const base = process.env.TEST_DATABASE_URL;
    if (!template || !base) throw new Error('the postgresql test project needs TEST_DATABASE_URL');
    vars.DATABASE_URL = await clonePostgresTemplate(base, template, inject('runPrefix'));
  } else {
    copyFileSync(inject('sqliteTemplate'), join(dataDir, 'metadata.db'));
  }
  const app = await createApp(loadConfig(vars), options.logger ? { logger: options.logger } : {});
  const adminKey = shared?.adminKey ?? (await app.services.projects.bootstrap());
  if (!adminKey) throw new Error('test database was not empty');
  const server = createGranaryServer(app, { keyRecheckMs: options.keyRecheckMs });

  const gql: TestServer['gql'] = async (query, variables, key = adminKey) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    const response = await server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse, 'status'>;
    return { status: response.status, ...body };
  };

  return {
    app,
    server,
    adminKey,
    dataDir,
    gql,
    async newProject(prefix = 'p') {
      const name = `${prefix}_${process.pid}_${++projects}`;
      const created = await gql(
        `mutation($name: String!) {
          createProject(input: { name: $name }) { __typename ... on Error { message } }
          createApiKey(input: { name: "test", scopes: [ADMIN], project: $name }) {
            __typename ... on CreateApiKeyPayload { secret } ... on Error { message }
          }
        }`,
        { name },
      );
      const secret = created.data?.createApiKey?.secret;
      if (!secret) throw new Error(`could not create project: ${JSON.stringify(created)}`);
      return { name, key: secret };
    },
    listen: () => server.listen(0, '127.0.0.1'),
    async close() {
      await server.close(1000);
      if (!shared) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
