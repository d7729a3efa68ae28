import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendFile } from './static-file.ts';

/**
 * The web console: a single-page app built by `npm install` (Vite, from console/) into
 * dist/console, served at the console's own routes; it talks to the server only through the
 * public GraphQL API at /graphql. The page holds no key: it signs in from the URL fragment
 * (`/#key=…`, never sent) or a sign-in box.
 *
 * Served: `/assets/<file>` for the files of the build (matched against the folder's listing, never
 * joined to a path from the request), and the page itself for the console's routes, so a deep link
 * works on reload. Any other path stays a 404.
 */

const DIST = fileURLToPath(new URL('../../dist/console/', import.meta.url));
const ASSETS_PREFIX = '/assets/';

/** An object name (groups, views, models, deployments, jobs): lower-case letters, digits and _, from a letter. */
const NAME = '[a-z][a-z0-9_]{0,62}';
/** The console's routes (console/src/App.tsx): every one answers with the page. */
const ROUTES: readonly RegExp[] = [
  /^\/$/,
  ...['feature-groups', 'feature-views', 'models', 'deployments', 'jobs', 'lineage', 'alerts', 'settings'].map((list) => new RegExp(`^/${list}/?$`)),
  /^\/settings\/[a-z-]+\/?$/,
  new RegExp(`^/(feature-groups|feature-views)/${NAME}(/[a-z-]+)?/?$`),
  new RegExp(`^/models/${NAME}/?$`),
  // Not `/deployments/<name>/invocations`: MLflow's predict endpoint (predict-routes.ts).
  new RegExp(`^/deployments/${NAME}/?$`),
  new RegExp(`^/jobs/${NAME}/?$`),
  // An execution's global id, URI-encoded.
  new RegExp(`^/jobs/${NAME}/runs/[A-Za-z0-9%._~-]{1,200}/?$`),
];

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

/**
 * The page's policy: scripts, styles and connections only from this origin (CSP 3's 'self' covers
 * the subscriptions' ws:/wss: on the same host, and no other host); inline style attributes for the
 * charts' SVG; no framing.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const NOT_BUILT =
  '<!doctype html><html lang=en><head><meta charset=utf-8><title>Granary</title></head><body>' +
  '<h1>The console is not built</h1><p><code>npm install</code> builds it (or <code>npm run build:console</code>). GraphQL is served at <a href="/graphql">/graphql</a>.</p>' +
  '</body></html>';

export interface ConsoleHandler {
  /** Answers the request when it is the console's (a route or an asset); false when it is not. */
  (req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

export function createConsoleHandler(dist = DIST): ConsoleHandler {
  const indexPath = join(dist, 'index.html');
  const built = existsSync(indexPath);
  const page = built ? readFileSync(indexPath) : Buffer.from(NOT_BUILT);
  const assets = new Set(built && existsSync(join(dist, 'assets')) ? readdirSync(join(dist, 'assets')) : []);
  return (req, res, path) => {
    if (path.startsWith(ASSETS_PREFIX)) {
      const file = path.slice(ASSETS_PREFIX.length);
      const type = TYPES[extname(file)];
      if (!assets.has(file) || type === undefined) return false;
      if (!allowed(req, res)) return true;
      // Vite names built files by their content hash: they never change under one name.
      const headers = { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' };
      if (req.method === 'HEAD') {
        res.writeHead(200, headers).end();
        return true;
      }
      sendFile(res, join(dist, 'assets', file), headers);
      return true;
    }
    if (!ROUTES.some((route) => route.test(path))) return false;
    if (!allowed(req, res)) return true;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
    return true;
  };
}

function allowed(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed');
  return false;
}
