import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GraphiQLOptions } from 'graphql-yoga';
import { sendFile } from './static-file.ts';

/** Where the GraphiQL page's scripts, styles and editor workers are served from. */
export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';

const packageJson = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
const distDir = join(dirname(packageJson), 'dist');
const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

const JS = 'text/javascript; charset=utf-8';

/** The only files served, by their path under the package's dist folder. */
const ASSETS: ReadonlyMap<string, string> = new Map([
  ['yoga-graphiql.umd.js', JS],
  ['graphiql.css', 'text/css; charset=utf-8'],
  ['monacoeditorwork/editor.worker.bundle.js', JS],
  ['monacoeditorwork/json.worker.bundle.js', JS],
  // The double dot is the package's own file name.
  ['monacoeditorwork/graphql.worker..bundle.js', JS],
]);

// The version in the query string makes each URL change with the package, so the files can be
// cached as immutable.
function assetUrl(file: string): string {
  return `${GRAPHIQL_ASSETS_PATH}${file}?v=${version}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot close the inline `<script>` it is embedded in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const workerUrls = scriptJson({
  editorWorkerService: assetUrl('monacoeditorwork/editor.worker.bundle.js'),
  json: assetUrl('monacoeditorwork/json.worker.bundle.js'),
  graphql: assetUrl('monacoeditorwork/graphql.worker..bundle.js'),
});

/**
 * Sign-in from the URL fragment (`#key=<API key>`, see graphiqlSignInUrl in server.ts): the page
 * never contains a key. The fragment's key goes into the Authorization header GraphiQL sends, is
 * kept for the tab in sessionStorage (a reload stays signed in), and leaves the address bar and
 * the history at once, so it is not shared with the URL.
 */
const SIGN_IN =
  'try{var m=/^#key=([^&]*)/.exec(location.hash),k=m?decodeURIComponent(m[1]):sessionStorage.getItem("granary.key");' +
  'if(m){sessionStorage.setItem("granary.key",k);history.replaceState(null,"",location.pathname+location.search)}' +
  'if(k)options.headers=JSON.stringify({Authorization:"Bearer "+k},null,2)}catch(e){}';

/**
 * Yoga's GraphiQL page with every asset served by this server under {@link GRAPHIQL_ASSETS_PATH}
 * instead of a CDN, so it works without internet access. Fits yoga's `renderGraphiQL` option.
 */
export function renderGraphiQL(options: GraphiQLOptions = {}): string {
  const title = escapeHtml(options.title || 'Yoga GraphiQL');
  // `data:,` keeps the browser from fetching a favicon from anywhere.
  const favicon = escapeHtml(options.favicon ?? 'data:,');
  // The package's UI always hands GraphiQL an initial query (its welcome text unless `query` is
  // set), which wins over `defaultQuery`; passing the default as `query` makes it show.
  const uiOptions = options.defaultQuery === undefined ? options : { query: options.defaultQuery, ...options };
  return (
    '<!doctype html><html lang=en><head><meta charset=utf-8>' +
    `<title>${title}</title><link rel=icon href="${favicon}">` +
    `<link rel=stylesheet href="${assetUrl('graphiql.css')}"></head>` +
    '<body id=body class=no-focus-outline><noscript>You need to enable JavaScript to run this app.</noscript>' +
    `<div id=root>Loading ${title}...</div>` +
    `<script>const workerUrls=${workerUrls};` +
    'self.MonacoEnvironment={globalAPI:false,getWorkerUrl:function(_,label){return workerUrls[label]}}</script>' +
    `<script src="${assetUrl('yoga-graphiql.umd.js')}"></script>` +
    `<script>var options=${scriptJson(uiOptions)};${SIGN_IN}YogaGraphiQL.renderYogaGraphiQL(root,options)</script>` +
    '</body></html>'
  );
}

/**
 * Serves `GET`/`HEAD` `/graphiql/assets/<file>` for the files GraphiQL's page loads, and 404 for
 * any other path under it. Names are matched exactly against a fixed list, never joined to a
 * path from the request, so nothing else on disk can be reached.
 */
export function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  const end = url.search(/[?#]/);
  const file = (end === -1 ? url : url.slice(0, end)).slice(GRAPHIQL_ASSETS_PATH.length);
  const contentType = url.startsWith(GRAPHIQL_ASSETS_PATH) ? ASSETS.get(file) : undefined;
  if (!contentType) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed');
    return;
  }
  const etag = `"${version}:${file}"`;
  const headers = {
    'content-type': contentType,
    'cache-control': 'public, max-age=31536000, immutable',
    etag,
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  if (req.method === 'HEAD') {
    res.writeHead(200, headers).end();
    return;
  }
  sendFile(res, join(distDir, file), headers);
}
