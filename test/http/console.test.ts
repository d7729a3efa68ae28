import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The web console's page and built assets, as the server serves them (npm install builds the
// console into dist/console). What the page does is tested in Chromium (test/console/).

let srv: TestServer;
let url: string;
let off: TestServer;
let offUrl: string;
beforeAll(async () => {
  srv = await startTestServer();
  url = await srv.listen();
  off = await startTestServer({ env: { GRANARY_CONSOLE: 'false' } });
  offUrl = await off.listen();
});
afterAll(async () => {
  await srv?.close();
  await off?.close();
});

describe('the console at /', () => {
  it('serves its page at each of its routes (deep links work on reload), holding no key, under a strict policy', async () => {
    for (const path of ['/', '/feature-groups', '/feature-groups/customer_info', '/feature-groups/customer_info/statistics?version=1']) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${srv.adminKey}` } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy'), path).toMatch(/default-src 'self'; script-src 'self'/);
      const page = await res.text();
      expect(page, path).toContain('<div id="root">');
      expect(page, path).not.toContain(srv.adminKey);
    }
  });

  it('serves the built scripts and styles it names, cacheable for good; nothing else', async () => {
    const page = await (await fetch(`${url}/`)).text();
    const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${url}${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('cache-control'), asset).toContain('immutable');
      expect(res.headers.get('content-type'), asset).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    for (const path of ['/assets/', '/assets/nothing.js', '/assets/..%2fadmin.key', '/feature-groups/a/b/c', '/feature-groups/Bad-Name']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('is not served with GRANARY_CONSOLE=false; GraphQL still is', async () => {
    expect((await fetch(`${offUrl}/`)).status).toBe(404);
    expect((await fetch(`${offUrl}/feature-groups`)).status).toBe(404);
    const res = await fetch(`${offUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${off.adminKey}` },
      body: JSON.stringify({ query: '{ viewer { project { name } } }' }),
    });
    expect(res.status).toBe(200);
  });
});
