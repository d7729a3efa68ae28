import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print, type DocumentNode } from 'graphql';
import { expect, inject } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import type { SchemaChecked } from '../../src/client/client.ts';
import { graphql, type ResultOf, type TadaDocumentNode, type VariablesOf } from '../../src/client/graphql.ts';
import { loadConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import { createGranaryServer, GRAPHQL_PATH, type GranaryServer } from '../../src/server.ts';
import { clonePostgresTemplate } from './postgres.ts';

/** Which metadata backend this test run uses: set per vitest project. */
export function testMetadataProvider(): 'sqlite' | 'postgresql' {
  return process.env.GRANARY_TEST_METADATA === 'postgresql' ? 'postgresql' : 'sqlite';
}

/**
 * The data of an operation written as a plain string. gql.tada types documents written with
 * `graphql()` against schema.graphql; a string cannot be typed, so its result is read unchecked.
 * Prefer typed documents: this is the one deliberate `any` of the test helpers.
 */
export type UntypedData = any;

/** A GraphQL execution result, as a server sends it (over HTTP, SSE or a socket). */
export interface GraphQLResult<T = UntypedData> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** A GraphQL execution result with the HTTP status it came with. */
export interface GraphQLResponse<T = UntypedData> extends GraphQLResult<T> {
  status: number;
}

/** A document written with `graphql()` from src/client/graphql.ts, carrying its result and variables types. */
export type TypedDocument = TadaDocumentNode<unknown, never>;

/** The variables of a typed document: optional when it declares none, or only optional ones. */
export type VariablesArg<D extends TypedDocument> = {} extends VariablesOf<D> ? [variables?: VariablesOf<D>] : [variables: VariablesOf<D>];

/** The variables of a typed document, then the API key to send (see {@link TestServer.gql}). */
export type KeyedVariablesArg<D extends TypedDocument> =
  {} extends VariablesOf<D> ? [variables?: VariablesOf<D>, key?: string | null] : [variables: VariablesOf<D>, key?: string | null];

/**
 * Runs GraphQL as one API key. A typed document gives a typed result and checks its variables;
 * a plain string gives {@link UntypedData}.
 */
export interface Gql {
  <D extends TypedDocument>(document: D & SchemaChecked<D>, ...variables: VariablesArg<D>): Promise<GraphQLResponse<ResultOf<D>>>;
  <T = UntypedData>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

const printed = new WeakMap<DocumentNode, string>();

/** The text of an operation to send: a string as it is, a document printed (once). */
export function operationText(document: string | DocumentNode): string {
  if (typeof document === 'string') return document;
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/** The data of a response, asserted present and free of errors. */
export function dataOf<T>(response: GraphQLResult<T>): T {
  expect(response.errors, JSON.stringify(response)).toBeUndefined();
  expect(response.data, JSON.stringify(response)).toBeDefined();
  return response.data as T;
}

/** The `__typename`s of the members of a union that have one. */
export type TypenameOf<U> = U extends { readonly __typename: infer N extends string } ? N : never;

/**
 * Asserts that a value (a member of a result union) has the given `__typename`, as
 * `expect(value.__typename).toBe(name)` does, and narrows it to that member.
 */
export function ofType<U, N extends TypenameOf<U>>(value: U, name: N, message?: string): Extract<U, { __typename: N }> {
  expect((value as { __typename?: unknown } | null | undefined)?.__typename, message).toBe(name);
  return value as Extract<U, { __typename: N }>;
}

export interface TestServer {
  readonly app: App;
  readonly server: GranaryServer;
  /** ADMIN key of the server's first project (a server admin). */
  readonly adminKey: string;
  readonly dataDir: string;
  /**
   * Runs an operation through yoga.fetch (no socket) with `key` as the bearer (admin by default;
   * null: none). A typed document gives a typed result; a plain string gives {@link UntypedData}.
   */
  gql<D extends TypedDocument>(document: D & SchemaChecked<D>, ...args: KeyedVariablesArg<D>): Promise<GraphQLResponse<ResultOf<D>>>;
  gql<T = UntypedData>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GraphQLResponse<T>>;
  /** The {@link Gql} of one API key (null: no key). */
  as(key: string | null): Gql;
  /** A fresh project with an ADMIN key of its own, so each test works in isolation. */
  newProject(prefix?: string): Promise<{ name: string; key: string }>;
  /** Listens on a free loopback port; resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

let projects = 0;
let servers = 0;

const NEW_PROJECT = graphql(`
  mutation NewProject($name: String!) {
    createProject(input: { name: $name }) { __typename ... on Error { message } }
    createApiKey(input: { name: "test", scopes: [ADMIN], project: $name }) {
      __typename ... on CreateApiKeyPayload { secret } ... on Error { message }
    }
  }
`);

export interface StartOptions {
  /** Extra environment for loadConfig (PUBSUB_URL, limits, NODE_ENV…). */
  readonly env?: Record<string, string>;
  /** Open the same data directory and metadata database as this server: a second process of one deployment. */
  readonly shareWith?: TestServer;
  /** The app's logger (tests that read what is logged). */
  readonly logger?: Logger;
  /** How often the server re-reads the keys of open subscriptions (default 10 s). */
  readonly keyRecheckMs?: number;
  /** Rewrites the PostgreSQL metadata database's URL (to reach it through a proxy the test controls). */
  readonly databaseUrl?: (url: string) => string;
}

/** Starts an app + server on a private data directory and metadata database. */
export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const shared = options.shareWith;
  const dataDir = shared?.dataDir ?? mkdtempSync(join(tmpdir(), 'granary-srv-'));
  const vars: Record<string, string> = { GRANARY_DATA_DIR: dataDir, NODE_ENV: 'test', ...options.env };
  const onlineStoreUrl = process.env.GRANARY_TEST_ONLINE_STORE_URL;
  if (onlineStoreUrl && !vars.ONLINE_STORE_URL) vars.ONLINE_STORE_URL = onlineStoreUrl;
  const streamUrl = process.env.GRANARY_TEST_STREAM_URL;
  if (streamUrl && !vars.STREAM_URL) vars.STREAM_URL = streamUrl;
  // Test servers share the NATS server: each gets streams of its own.
  if (vars.STREAM_URL && !vars.STREAM_NAMESPACE && !shared) vars.STREAM_NAMESPACE = `t${process.pid}x${++servers}`;
  else if (shared && !vars.STREAM_NAMESPACE) vars.STREAM_NAMESPACE = shared.app.config.stream.namespace;
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
  if (options.databaseUrl && vars.DATABASE_URL) vars.DATABASE_URL = options.databaseUrl(vars.DATABASE_URL);
  const app = await createApp(loadConfig(vars), options.logger ? { logger: options.logger } : {});
  const adminKey = shared?.adminKey ?? (await app.services.projects.bootstrap());
  if (!adminKey) throw new Error('test database was not empty');
  const server = createGranaryServer(app, { keyRecheckMs: options.keyRecheckMs });

  const run = async (document: string | DocumentNode, variables?: {}, key: string | null = adminKey): Promise<GraphQLResponse<unknown>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    const response = await server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: operationText(document), variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<unknown>, 'status'>;
    return { status: response.status, ...body };
  };
  // One implementation behind both overloads: the result type is the caller's document's.
  const gql = run as TestServer['gql'];
  const as = (key: string | null) => ((document: string | DocumentNode, variables?: {}) => run(document, variables, key)) as Gql;

  return {
    app,
    server,
    adminKey,
    dataDir,
    gql,
    as,
    async newProject(prefix = 'p') {
      const name = `${prefix}_${process.pid}_${++projects}`;
      const created = await gql(NEW_PROJECT, { name });
      const key = created.data?.createApiKey;
      if (key?.__typename !== 'CreateApiKeyPayload') throw new Error(`could not create project: ${JSON.stringify(created)}`);
      return { name, key: key.secret };
    },
    listen: () => server.listen(0, '127.0.0.1'),
    async close() {
      // A shared log server (NATS) keeps streams after the test: remove this server's projects' streams.
      const log = app.log;
      const streams =
        app.config.streamUrl && !shared
          ? (await app.prisma.project.findMany({ select: { name: true } })).map((p) => app.services.streams.names.stream(p.name))
          : [];
      await Promise.allSettled(streams.map((s) => log.remove(s)));
      await server.close(1000);
      if (!shared) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
