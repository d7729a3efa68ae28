import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { RequestCache } from '@pothos/plugin-scope-auth';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, isAsyncIterable, maskError as yogaMaskError, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { join } from 'node:path';
import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import { useDiskUploads, useLimitNonUploadBodySize } from './http/uploads.ts';
import type { Context } from './context.ts';
import {
  ConflictError,
  DataSourceError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from './errors.ts';
import { useCompiledQueries } from './http/compiled-queries.ts';
import { useMaxDocumentNesting } from './http/document-nesting.ts';
import { useMaxDocumentBytes } from './http/document-limits.ts';
import { KeySessions } from './http/key-sessions.ts';
import { PREFLIGHT_HEADER, useGraphQLRequestForms } from './http/request-forms.ts';
import { createFilesHandler, FILES_PREFIX } from './http/files.ts';
import { createGraphQLFastPath, type AuthOutcome, type GraphQLFastPath } from './http/graphql-fast-path.ts';
import { GRAPHIQL_ASSETS_PATH, renderGraphiQL, serveGraphiQLAsset } from './http/graphiql.ts';
import { schema } from './schema/index.ts';
import type { Viewer } from './services/viewer.ts';

export const GRAPHQL_PATH = '/graphql';

/**
 * The URL that opens GraphiQL signed in with `key`: the key travels in the fragment, which the
 * browser never sends to a server (nor to a proxy, nor into access logs); the page moves it into
 * its Authorization header and removes it from the address bar.
 */
export function graphiqlSignInUrl(baseUrl: string, key: string): string {
  return `${baseUrl}${GRAPHQL_PATH}#key=${encodeURIComponent(key)}`;
}

type ServerContext = { req: IncomingMessage; res: ServerResponse };
type InitialContext = { request: Request; viewer?: Viewer };

export interface GranaryServerOptions {
  /**
   * How often the keys of open subscriptions are read again (default 10 s, the time a key stays
   * cached for HTTP): the bound on ending them when a revocation message was missed.
   */
  readonly keyRecheckMs?: number;
}

export interface GranaryServer {
  readonly yoga: YogaServerInstance<ServerContext, Context>;
  readonly http: Server;
  /** Requests the GraphQL fast path answered, and those it handed over to yoga. */
  readonly graphqlFastPath: Pick<GraphQLFastPath, 'counts'>;
  /** Listens on the configured host and port (0 picks a free one); resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), closes sockets, then the app.
   * Job runs of this process keep running meanwhile and have what is left of `graceMs` to finish;
   * then they are killed, their logs naming `cause` (the signal, when one stopped the server).
   */
  close(graceMs?: number, cause?: string): Promise<void>;
}

/** Status and code of each domain error when it escapes a query (mutations return them as results). */
function codeOf(error: DomainError): { code: string; status: number } {
  if (error instanceof UnauthenticatedError) return { code: 'UNAUTHENTICATED', status: 401 };
  if (error instanceof ForbiddenError) return { code: 'FORBIDDEN', status: 403 };
  if (error instanceof NotFoundError) return { code: 'NOT_FOUND', status: 200 };
  if (error instanceof ValidationError) return { code: 'BAD_USER_INPUT', status: 200 };
  if (error instanceof ConflictError) return { code: 'CONFLICT', status: 200 };
  if (error instanceof DataSourceError) return { code: 'DATA_SOURCE_ERROR', status: 200 };
  return { code: 'DOMAIN_ERROR', status: 200 };
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/**
 * Authenticates every GraphQL request before its document is even parsed, so a caller
 * without a valid key learns nothing about the schema (no validation errors, no suggestions).
 * A request the fast path handed over comes with the outcome of authenticating its key.
 */
function useApiKeyAuth(app: App, viewers: WeakMap<Request, Viewer>, authenticated: WeakMap<Request, AuthOutcome>): Plugin {
  return {
    async onRequestParse({ request }) {
      try {
        const outcome = authenticated.get(request);
        if (outcome && 'error' in outcome) throw outcome.error;
        viewers.set(request, outcome?.viewer ?? (await app.services.apiKeys.authenticate(request.headers.get('authorization'))));
      } catch (error) {
        if (error instanceof UnauthenticatedError) throw unauthenticated(error.message);
        throw error;
      }
    },
  };
}

/**
 * Ends every live subscription (graphql-ws and SSE alike) when its key is revoked or expires (an
 * UNAUTHENTICATED error, then the end of the stream) and, once `shutdown` aborts, completes it, so
 * on shutdown an SSE stream ends with its `complete` event instead of holding the server until the
 * grace period cuts it.
 */
function useEndSubscriptions(shutdown: AbortSignal, sessions: KeySessions): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult({ args, result, setResult }) {
        if (!isAsyncIterable(result)) return;
        const iterator = result[Symbol.asyncIterator]();
        const viewer = (args.contextValue as Partial<Context>).viewer;
        const keyEnded = new AbortController();
        const release = viewer ? sessions.open(viewer, (reason) => keyEnded.abort(reason)) : () => {};
        const signal = AbortSignal.any([shutdown, keyEnded.signal]);
        let finished = false;
        const finish = (): Promise<IteratorResult<ExecutionResult>> => {
          if (!finished) {
            finished = true;
            release();
            // Not awaited: a source suspended in `for await` only returns on its next event.
            void Promise.resolve(iterator.return?.()).catch(() => {});
          }
          return Promise.resolve({ done: true, value: undefined });
        };
        // The key's end is told once, as an error event, before the stream ends.
        const end = (): Promise<IteratorResult<ExecutionResult>> => {
          if (finished || !keyEnded.signal.aborted) return finish();
          void finish();
          return Promise.resolve({ done: false, value: { errors: [unauthenticated(String(keyEnded.signal.reason))] } });
        };
        const ending: AsyncIterableIterator<ExecutionResult> = {
          next: () =>
            signal.aborted || finished
              ? end()
              : new Promise((resolve, reject) => {
                  // One listener per pending `next`, removed when it settles, so none pile up.
                  const onAbort = () => resolve(end());
                  signal.addEventListener('abort', onAbort, { once: true });
                  iterator.next().then(
                    (step) => {
                      signal.removeEventListener('abort', onAbort);
                      if (step.done) release();
                      resolve(step);
                    },
                    (error: unknown) => {
                      signal.removeEventListener('abort', onAbort);
                      release();
                      reject(error);
                    },
                  );
                }),
          return: finish,
          [Symbol.asyncIterator]: () => ending,
        };
        setResult(ending);
      },
    }),
  };
}

/**
 * Drops scope-auth's per-request cache once an operation has executed (nothing resolves after).
 * Pothos keeps it in a WeakMap keyed by the context, and V8's young-generation collector does not
 * free the values of WeakMap entries: every request's cache (≈ 5 KB) would survive into the old
 * generation, slowing each scavenge (3–4 ms instead of well under 1) and growing the heap until a
 * full collection. Deleted, it dies young like the rest of the request.
 */
function useReleaseScopeCache(): Plugin {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone() {
          RequestCache.clearForContext(args.contextValue as object);
        },
      };
    },
  };
}

/**
 * No introspection, on every validation: HTTP (yoga and the fast path) and graphql-ws alike.
 * (yoga's plugin marks requests in onRequestParse, which neither the fast path nor graphql-ws runs.)
 */
function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** The domain error behind what yoga reports, if any: a caller's mistake, not a server failure. */
function domainErrorOf(value: unknown): DomainError | undefined {
  if (value instanceof DomainError) return value;
  if (value instanceof GraphQLError && value.originalError instanceof DomainError) return value.originalError;
  return undefined;
}

/**
 * Yoga's log calls on the app's logger. Yoga logs at `error` every error the mask replaces, typed
 * domain errors included: those are the caller's mistakes (a bad id, a missing object, a refused
 * scope), logged at `info` with their type and message and no stack. Only unexpected failures are
 * logged as errors, with their stack.
 */
function yogaLogging(logger: Logger): YogaLogger {
  const one = (args: unknown[]) => (args.length === 1 ? args[0] : args);
  return {
    debug: (...args) => logger.debug(one(args)),
    info: (...args) => logger.info(one(args)),
    warn: (...args) => logger.warn(one(args)),
    error: (...args) => {
      const domain = args.length === 1 ? domainErrorOf(args[0]) : undefined;
      if (domain) logger.info({ error: { type: domain.name, code: codeOf(domain).code, message: domain.message } }, 'request refused');
      else if (args.length === 1 && args[0] instanceof Error) {
        const error = args[0];
        logger.error({ err: error instanceof GraphQLError && error.originalError ? error.originalError : error }, 'unexpected error');
      } else logger.error(one(args));
    },
  };
}

/**
 * The depth of graphql-js's `getIntrospectionQuery()` (all options on), which GraphiQL sends to
 * load the schema: its `TypeRef` fragment nests `ofType` nine levels under `__schema { types }`.
 */
export const INTROSPECTION_QUERY_DEPTH = 21;

/**
 * Where introspection is allowed, bounds its depth too: armor's depth limit skips everything
 * under `__schema`, where `ofType { ofType { … } }` nests without end. Introspection may go as deep
 * as GraphiQL's own query (or the configured limit, when higher); other selections keep the
 * configured limit (armor's rule).
 */
function useIntrospectionDepthLimit(maxDepth: number): Plugin {
  const off = { enabled: false };
  return EnvelopArmorPlugin({
    maxDepth: { n: Math.max(maxDepth, INTROSPECTION_QUERY_DEPTH), ignoreIntrospection: false },
    blockFieldSuggestion: off,
    costLimit: off,
    maxAliases: off,
    maxDirectives: off,
    maxTokens: off,
  });
}

/** Builds the HTTP server: GraphQL over HTTP and SSE, graphql-ws on the same path, /healthz. */
export function createGranaryServer(app: App, options: GranaryServerOptions = {}): GranaryServer {
  const { config, logger } = app;
  const viewers = new WeakMap<Request, Viewer>();
  const authenticated = new WeakMap<Request, AuthOutcome>();
  const shutdown = new AbortController();
  // Open subscriptions end when their key is revoked (here or in another process) or expires.
  const sessions = new KeySessions({
    inForce: (ids) => app.services.apiKeys.inForce(ids),
    recheckMs: options.keyRecheckMs ?? 10_000,
    logger,
  });
  const stopWatchingRevocations = app.services.apiKeys.onRevoked((apiKeyId) => sessions.revoked(apiKeyId));

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Multipart uploads are bounded per file by useDiskUploads; yoga's limit would count them whole.
    maxRequestBodySize: false,
    logging: yogaLogging(logger),
    // The page holds no secret, whoever asks for it: a key reaches it only in the fragment of a
    // sign-in URL (graphiqlSignInUrl), which the browser never sends.
    graphiql: config.graphiql
      ? {
          title: 'Granary',
          subscriptionsProtocol: 'WS',
          headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
          defaultQuery: '{\n  viewer {\n    project { name }\n    scopes\n  }\n}\n',
        }
      : false,
    renderGraphiQL,
    maskedErrors: {
      maskError(error, message, isDev) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original instanceof DomainError) {
          const { code, status } = codeOf(original);
          const path = error instanceof GraphQLError ? error.path : undefined;
          return new GraphQLError(original.message, {
            path,
            extensions: {
              code,
              http: { status },
              ...(original instanceof ValidationError ? { issues: original.issues } : {}),
            },
          });
        }
        // Yoga logs every error this masks (see yogaLogging): not logged here too.
        return yogaMaskError(error, message, isDev);
      },
    },
    context: ({ request, viewer }: InitialContext) => {
      const resolved = viewer ?? viewers.get(request);
      if (!resolved) throw unauthenticated('missing API key');
      return { viewer: resolved, services: app.services, prisma: app.prisma };
    },
    plugins: [
      // Only JSON POSTs, GETs and multipart uploads with a preflight header: nothing a cross-site
      // form can send. Keys travel only in the Authorization header (never cookies), which a
      // cross-site page cannot set without a preflight either; a GET must carry it (or the
      // preflight header), so yoga's CSRF check refuses a bare cross-site GET outright.
      useGraphQLRequestForms(),
      useCSRFPrevention({ requestHeaders: ['authorization', PREFLIGHT_HEADER] }),
      // Authenticate next: before a multipart body (possibly gigabytes) is spooled to disk.
      useApiKeyAuth(app, viewers, authenticated),
      useDiskUploads({
        tempDir: join(app.services.tempFiles.dir, 'uploads'),
        maxFileBytes: config.limits.maxUploadBytes,
        maxFiles: 20,
      }),
      useLimitNonUploadBodySize(config.limits.maxBodyBytes),
      // Before the token limit, which would tokenize a document of any size first.
      useMaxDocumentBytes(config.limits.maxDocumentBytes),
      // Before any parser runs: graphql-js would overflow the stack on a deeply nested literal.
      useMaxDocumentNesting(),
      EnvelopArmorPlugin({
        // Introspection counts too (armor would skip `__schema`), up to the depth of the
        // introspection query GraphiQL sends: see useIntrospectionDepthLimit.
        maxDepth: { n: config.limits.maxDepth },
        // Every alias counts, `__typename` ones too (armor would skip them: 1 000 of them ran).
        maxAliases: { n: config.limits.maxAliases, allowList: [] },
        costLimit: { maxCost: config.limits.maxCost },
        maxTokens: { n: config.limits.maxTokens },
        maxDirectives: { n: 50 },
        blockFieldSuggestion: { enabled: !config.introspection },
      }),
      ...(config.introspection ? [useIntrospectionDepthLimit(config.limits.maxDepth)] : [useNoIntrospection()]),
      useCompiledQueries(logger),
      useReleaseScopeCache(),
      useEndSubscriptions(shutdown.signal, sessions),
    ],
  });

  const files = createFilesHandler(app);
  const fastPath = createGraphQLFastPath({
    yoga,
    path: GRAPHQL_PATH,
    maxBodyBytes: config.limits.maxBodyBytes,
    authenticate: (authorization) => app.services.apiKeys.authenticate(authorization),
    authenticated,
    logger,
  });
  const http = createServer((req, res) => {
    if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) {
      app.prisma
        .$queryRawUnsafe('SELECT 1')
        .then(() => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'health check failed');
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unavailable"}');
        });
      return;
    }
    if (config.graphiql && req.url?.startsWith(GRAPHIQL_ASSETS_PATH)) {
      serveGraphiQLAsset(req, res);
      return;
    }
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    if (path.startsWith(FILES_PREFIX)) {
      void files(req, res, path, new URLSearchParams(query));
      return;
    }
    // Only the GraphQL endpoint reaches yoga: its built-in health check would answer any path
    // ending in /health without a key.
    if (path !== GRAPHQL_PATH && path !== `${GRAPHQL_PATH}/`) {
      res.writeHead(404).end();
      return;
    }
    if (fastPath.accepts(req)) fastPath.handle(req, res);
    else void yoga(req, res, { req, res });
  });

  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH });
  const wsServer = useServer<Record<string, unknown>, { viewer: Viewer }>(
    {
      async onConnect(ctx) {
        const payload = ctx.connectionParams ?? {};
        const header = Object.entries(payload).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
        if (typeof header !== 'string' || header.trim() === '') {
          ctx.extra.socket.close(4401, 'Unauthorized');
          return false;
        }
        try {
          const viewer = await app.services.apiKeys.authenticate(header);
          ctx.extra.viewer = viewer;
          const { socket } = ctx.extra;
          // The socket closes as an unauthorized one would have: its key no longer works.
          const release = sessions.open(viewer, (reason) => socket.close(4403, `Forbidden: ${reason}`));
          socket.once('close', release);
          return true;
        } catch (error) {
          if (error instanceof UnauthenticatedError) return false;
          throw error;
        }
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      async onSubscribe(ctx, _id, params) {
        const enveloped = yoga.getEnveloped({
          request: ctx.extra.request,
          viewer: ctx.extra.viewer,
          params,
        });
        let document: DocumentNode;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          // A syntax error or a limit (document size, tokens): an error message, not a closed socket.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName ?? null,
          variableValues: params.variables ?? null,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        return args;
      },
    },
    wss,
  );
  type Enveloped = { execute: (args: ExecutionArgs) => any; subscribe: (args: ExecutionArgs) => any };

  let closing: Promise<void> | undefined;
  return {
    yoga,
    http,
    graphqlFastPath: fastPath,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const address = http.address();
          const actual = typeof address === 'object' && address ? address.port : port;
          const shownHost = host.includes(':') ? `[${host}]` : host;
          const url = `http://${shownHost}:${actual}`;
          // Job runs (COMMAND) reach the server here, unless GRANARY_PUBLIC_URL says otherwise.
          const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : shownHost;
          app.services.jobs.useListenUrl(`http://${reachable}:${actual}`);
          resolve(url);
        });
      });
    },
    close(graceMs = 10_000, cause) {
      closing ??= (async () => {
        const deadline = Date.now() + graceMs;
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        shutdown.abort();
        stopWatchingRevocations();
        sessions.close();
        // A keep-alive connection turns idle once its in-flight request is answered: close it
        // then, rather than waiting for the client or the keep-alive timeout.
        const idle = setInterval(() => http.closeIdleConnections(), 50);
        for (const socket of wss.clients) socket.close(1001, 'Server shutting down');
        await wsServer.dispose();
        const timer = setTimeout(() => http.closeAllConnections(), graceMs);
        await stopped;
        clearTimeout(timer);
        clearInterval(idle);
        await app.close({ graceMs: Math.max(0, deadline - Date.now()), ...(cause ? { cause } : {}) });
      })();
      return closing;
    },
  };
}
