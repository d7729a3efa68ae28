import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { App } from '../app.ts';
import type { Context } from '../context.ts';
import { createConsoleHandler } from './console.ts';
import { createFilesHandler, FILES_PREFIX } from './files.ts';
import { GRAPHIQL_ASSETS_PATH, serveGraphiQLAsset } from './graphiql.ts';
import type { GraphQLFastPath } from './graphql-fast-path.ts';
import { GRAPHQL_PATH } from './paths.ts';
import { metricsWithKey, readyz } from './metrics.ts';
import { handlePredict, predictRoute } from './predict-routes.ts';
import type { ServerContext } from './yoga.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's routes: /healthz and /readyz (no key), /metrics (an ADMIN key of the first
 * project; see metrics.ts for the keyless listener), GraphiQL's assets when GraphiQL is on, file downloads
 * under /files/, the GraphQL endpoint (the fast path when it takes the request, else yoga), and
 * the web console's page and assets (console.ts) when the console is on, and the KServe V1 and
 * MLflow predict endpoints of deployments (predict-routes.ts). Anything else is a 404.
 */
export function createRequestHandler(
  app: App,
  yoga: YogaServerInstance<ServerContext, Context>,
  fastPath: Pick<GraphQLFastPath, 'accepts' | 'handle'>,
): RequestHandler {
  const files = createFilesHandler(app);
  const webConsole = app.config.console ? createConsoleHandler() : null;
  return (req, res) => {
    if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) return healthz(app, res);
    if (req.url === '/readyz' || req.url?.startsWith('/readyz?')) return readyz(app, res);
    if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
      void metricsWithKey(app, req, res);
      return;
    }
    if (app.config.graphiql && req.url?.startsWith(GRAPHIQL_ASSETS_PATH)) return serveGraphiQLAsset(req, res);
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    if (path.startsWith(FILES_PREFIX)) {
      void files(req, res, path, new URLSearchParams(query));
      return;
    }
    const predict = predictRoute(path);
    if (predict) {
      void handlePredict(app, req, res, predict, new URLSearchParams(query));
      return;
    }
    // Only the GraphQL endpoint reaches yoga: its built-in health check would answer any path
    // ending in /health without a key.
    if (path !== GRAPHQL_PATH && path !== `${GRAPHQL_PATH}/`) {
      if (webConsole?.(req, res, path)) return;
      res.writeHead(404).end();
      return;
    }
    if (fastPath.accepts(req)) fastPath.handle(req, res);
    else void yoga(req, res, { req, res });
  };
}

/** 200 when the metadata database answers, else 503. */
function healthz(app: App, res: ServerResponse): void {
  app.prisma
    .$queryRawUnsafe('SELECT 1')
    .then(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    })
    .catch((error: unknown) => {
      app.logger.error({ err: error }, 'health check failed');
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unavailable"}');
    });
}
