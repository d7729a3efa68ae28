import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { App } from '../app.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `/readyz`: 200 `{"status":"ready"}` when every readiness check passes (metadata database and its
 * migrations, online store, ingestion log) and the server is not draining; else 503 with
 * `"unavailable"` or `"draining"`. Each check's outcome is listed by name (`ok`, `failed`,
 * `timeout`); why one failed goes to the server log only.
 */
export function readyz(app: App, res: ServerResponse): void {
  app.readiness
    .check()
    .then((report) => {
      const status = report.ready ? 'ready' : report.draining ? 'draining' : 'unavailable';
      res
        .writeHead(report.ready ? 200 : 503, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' })
        .end(JSON.stringify({ status, checks: report.checks }));
    })
    .catch((error: unknown) => {
      app.logger.error({ err: error }, 'readiness check failed');
      res.writeHead(503, { 'content-type': JSON_TYPE }).end('{"status":"unavailable"}');
    });
}

/**
 * `/metrics` on the API's port: the scrape for a Prometheus job configured with the bearer token
 * of an ADMIN key of the server's first project (the metrics cover every project). 404 when
 * metrics are off.
 */
export async function metricsWithKey(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!app.metrics) return void res.writeHead(404).end();
  const authorization = req.headers.authorization;
  if (!authorization) return void res.writeHead(401, { 'content-type': JSON_TYPE, 'www-authenticate': 'Bearer' }).end('{"error":"missing API key"}');
  try {
    const viewer = await app.services.apiKeys.authenticate(authorization);
    if (!viewer.serverAdmin) {
      return void res.writeHead(403, { 'content-type': JSON_TYPE }).end('{"error":"/metrics needs an ADMIN key of the first project"}');
    }
  } catch {
    return void res.writeHead(401, { 'content-type': JSON_TYPE, 'www-authenticate': 'Bearer' }).end('{"error":"invalid, revoked or expired API key"}');
  }
  await scrape(app, res);
}

/**
 * The listener of `METRICS_PORT` (on `METRICS_HOST`, loopback by default): `/metrics` without a
 * key, for a scraper on a private network, and nothing else. Null when no port is configured.
 */
export function createMetricsServer(app: App): Server | null {
  if (!app.metrics || app.config.metrics.port === undefined) return null;
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404).end();
    void scrape(app, res);
  });
}

async function scrape(app: App, res: ServerResponse): Promise<void> {
  try {
    const text = await app.metrics!.text();
    res.writeHead(200, { 'content-type': app.metrics!.contentType, 'cache-control': 'no-store' }).end(text);
  } catch (error) {
    app.logger.error({ err: error }, 'metrics scrape failed');
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}
