import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphiqlSignInUrl } from '../../src/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// GraphiQL must work on machines that reach no CDN: the page, its scripts, styles and editor
// workers all come from the server itself. CI installs chromium (.ci/run), so there it must run.
const CHROMIUM = '/usr/bin/chromium';
const runBrowser = existsSync(CHROMIUM) || !!process.env.CI;
if (!runBrowser) console.warn(`GraphiQL browser test skipped: no ${CHROMIUM} (apt-get install -y chromium)`);

const ASSETS = [
  '/graphiql/assets/graphiql.css',
  '/graphiql/assets/yoga-graphiql.umd.js',
  '/graphiql/assets/monacoeditorwork/editor.worker.bundle.js',
  '/graphiql/assets/monacoeditorwork/json.worker.bundle.js',
  '/graphiql/assets/monacoeditorwork/graphql.worker..bundle.js',
];

let srv: TestServer;
let url: string;
beforeAll(async () => {
  srv = await startTestServer();
  url = await srv.listen();
});
afterAll(async () => {
  await srv?.close();
});

/** A request whose path is sent as written (fetch would resolve `..` before sending). */
function rawGet(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, path, method }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GraphiQL assets', () => {
  it('serves the whitelisted files without an API key, cacheable for good', async () => {
    for (const path of ASSETS) {
      const res = await rawGet(`${path}?v=1`);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toMatch(path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect(res.headers['cache-control'], path).toContain('immutable');
    }
  });

  it('answers 404 for anything else, including paths that try to leave the folder', async () => {
    for (const path of [
      '/graphiql/assets/',
      '/graphiql/assets/yoga-graphiql.es.js',
      '/graphiql/assets/../package.json',
      '/graphiql/assets/..%2fpackage.json',
      '/graphiql/assets/%2e%2e/%2e%2e/package.json',
      '/graphiql/assets/monacoeditorwork/../graphiql.css',
      '/graphiql/assets//etc/passwd',
    ]) {
      expect((await rawGet(path)).status, path).toBe(404);
    }
    expect((await rawGet('/graphiql/assets/graphiql.css', 'POST')).status).toBe(405);
  });
});

describe('the GraphiQL page', () => {
  it('never contains a key, not even for a loopback client without a key of its own', async () => {
    for (const headers of [{ accept: 'text/html' }, { accept: 'text/html', authorization: `Bearer ${srv.adminKey}` }] as Record<string, string>[]) {
      const res = await fetch(`${url}/graphql`, { headers });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('GraphiQL');
      expect(html).not.toContain(srv.adminKey);
      expect(html).not.toMatch(/gra_[A-Za-z0-9]{12}_/);
    }
  });
});

describe.skipIf(!runBrowser)('GraphiQL in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads only from the server, signs in from the URL fragment and runs the default query', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    const isLoopback = (address: string) => new URL(address).hostname === '127.0.0.1';
    page.on('request', (req) => {
      if (!isLoopback(req.url())) external.push(req.url());
    });
    page.on('websocket', (ws) => {
      if (!isLoopback(ws.url())) external.push(ws.url());
    });
    await page.route('**/*', (route) => {
      if (isLoopback(route.request().url())) return route.continue();
      external.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    const served: string[] = [];
    const failed: string[] = [];
    page.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
      else served.push(new URL(res.url()).pathname);
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // No request, whatever it is for, carries the key in its URL: the fragment is never sent.
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));

    await page.goto(graphiqlSignInUrl(url, srv.adminKey));
    await expect(page.title()).resolves.toBe('Granary');
    // The key leaves the address bar (and the history) at once.
    await expect.poll(() => page.url()).toBe(`${url}/graphql`);

    // Monaco renders spaces as non-breaking ones.
    const text = async (locator: Locator) => (await locator.innerText()).replace(/\u00a0/g, ' ');

    await page.getByRole('button', { name: 'Headers' }).click();
    const headers = page.locator('.graphiql-editor-tool .view-lines').last();
    await expect.poll(() => text(headers)).toContain(`"Authorization": "Bearer ${srv.adminKey}"`);

    const query = page.locator('.graphiql-query-editor .view-lines');
    await expect.poll(() => text(query)).toMatch(/^\{\s*viewer \{/);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response .view-lines');
    await expect.poll(() => text(result), { timeout: 10_000 }).toContain('"default"');
    await expect.poll(() => served).toEqual(expect.arrayContaining(ASSETS));

    await page.screenshot({ path: join(tmpdir(), 'granary-graphiql.png') });
    expect(requested.filter((r) => r.includes(srv.adminKey))).toEqual([]);
    expect(external).toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('without a sign-in URL, shows a placeholder and is not signed in', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${url}/graphql`);
      await page.getByRole('button', { name: 'Headers' }).click();
      const headers = page.locator('.graphiql-editor-tool .view-lines').last();
      await expect.poll(async () => (await headers.innerText()).replace(/\u00a0/g, ' ')).toContain('"Authorization": "Bearer <your API key>"');
    } finally {
      await context.close();
    }
  });
});
