import { createServer, type Server } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { App } from './app.ts';
import type { Context } from './context.ts';
import type { AuthOutcome } from './http/auth-plugin.ts';
import { createGraphQLFastPath, type GraphQLFastPath } from './http/graphql-fast-path.ts';
import { createGraphQLWebSocket, type GraphQLWebSocket } from './http/graphql-ws.ts';
import { KeySessions } from './http/key-sessions.ts';
import { createMetricsServer } from './http/metrics.ts';
import { GRAPHQL_PATH } from './http/paths.ts';
import { createRequestHandler } from './http/routes.ts';
import { createGranaryYoga, type ServerContext } from './http/yoga.ts';
import type { Viewer } from './services/viewer.ts';

export { GRAPHQL_PATH };

/**
 * The URL that opens GraphiQL signed in with `key`: the key travels in the fragment, which the
 * browser never sends to a server (nor to a proxy, nor into access logs); the page moves it into
 * its Authorization header and removes it from the address bar.
 */
export function graphiqlSignInUrl(baseUrl: string, key: string): string {
  return `${baseUrl}${GRAPHQL_PATH}#key=${encodeURIComponent(key)}`;
}

/** The web console's address signing in with `key`: the key rides in the fragment, which browsers never send. */
export function consoleSignInUrl(baseUrl: string, key: string): string {
  return `${baseUrl}/#key=${encodeURIComponent(key)}`;
}

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
  /** The METRICS_PORT listener (null without one). */
  readonly metricsServer: Server | null;
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

/** Builds the HTTP server: GraphQL over HTTP and SSE, graphql-ws on the same path, /healthz. */
export function createGranaryServer(app: App, options: GranaryServerOptions = {}): GranaryServer {
  const { config, logger } = app;
  const { apiKeys } = app.services;
  const viewers = new WeakMap<Request, Viewer>();
  const authenticated = new WeakMap<Request, AuthOutcome>();
  const shutdown = new AbortController();
  // Open subscriptions end when their key is revoked (here or in another process) or expires.
  const sessions = new KeySessions({ inForce: (ids) => apiKeys.inForce(ids), recheckMs: options.keyRecheckMs ?? 10_000, logger });
  const stopWatchingRevocations = apiKeys.onRevoked((apiKeyId) => sessions.revoked(apiKeyId));

  const yoga = createGranaryYoga(app, { viewers, authenticated, shutdown: shutdown.signal, sessions });
  const fastPath = createGraphQLFastPath({
    yoga,
    path: GRAPHQL_PATH,
    maxBodyBytes: config.limits.maxBodyBytes,
    authenticate: (authorization) => apiKeys.authenticate(authorization),
    authenticated,
    logger,
  });
  const http = createServer(createRequestHandler(app, yoga, fastPath));
  const ws = createGraphQLWebSocket(http, yoga, apiKeys, sessions);
  const metricsServer = createMetricsServer(app);
  app.metrics?.gauge('granary_graphql_ws_connections', 'graphql-ws connections open now.', [], () => [{ value: ws.wss.clients.size }]);

  let closing: Promise<void> | undefined;
  return {
    yoga,
    http,
    metricsServer,
    graphqlFastPath: fastPath,
    async listen(port = config.port, host = config.host) {
      const url = await listen(app, http, port, host);
      if (metricsServer) await listenMetrics(app, metricsServer);
      return url;
    },
    close(graceMs = 10_000, cause) {
      closing ??= (async () => {
        // Not ready from now on; a load balancer polling /readyz has `drainDelayMs` to stop sending
        // requests while they are still served, before the listener closes.
        app.readiness.drain();
        if (config.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
        const deadline = Date.now() + graceMs;
        if (metricsServer?.listening) metricsServer.close();
        metricsServer?.closeAllConnections();
        const stopped = stopAccepting(http);
        shutdown.abort();
        stopWatchingRevocations();
        sessions.close();
        await drain(http, ws, stopped, graceMs);
        await app.close({ graceMs: Math.max(0, deadline - Date.now()), ...(cause ? { cause } : {}) });
      })();
      return closing;
    },
  };
}

/** Listens on `host:port`, tells the job runner where the server is reached, resolves to the base URL. */
function listen(app: App, http: Server, port: number, host: string): Promise<string> {
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
}

/** Listens for scrapes on METRICS_HOST:METRICS_PORT; logs where. */
function listenMetrics(app: App, server: Server): Promise<void> {
  const { host, port } = app.config.metrics;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      app.logger.info(
        { url: `http://${host.includes(':') ? `[${host}]` : host}:${typeof address === 'object' && address ? address.port : port}/metrics` },
        'metrics listening',
      );
      resolve();
    });
  });
}

/** Stops accepting connections and closes the idle ones; resolves once every connection is closed. */
function stopAccepting(http: Server): Promise<void> {
  const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  return stopped;
}

/**
 * Closes graphql-ws, lets in-flight HTTP requests finish (each keep-alive connection closed once
 * idle) and cuts whatever is left after `graceMs`; resolves once `stopped` has.
 */
async function drain(http: Server, ws: GraphQLWebSocket, stopped: Promise<void>, graceMs: number): Promise<void> {
  // A keep-alive connection turns idle once its in-flight request is answered: close it
  // then, rather than waiting for the client or the keep-alive timeout.
  const idle = setInterval(() => http.closeIdleConnections(), 50);
  for (const socket of ws.wss.clients) socket.close(1001, 'Server shutting down');
  await ws.dispose();
  const timer = setTimeout(() => http.closeAllConnections(), graceMs);
  await stopped;
  clearTimeout(timer);
  clearInterval(idle);
}
