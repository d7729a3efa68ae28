import { Kind, parse } from 'graphql';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_DEMOGRAPHY, CUSTOMER_INFO, CUSTOMER_SUBSCRIPTIONS } from '../../examples/churn/definitions.ts';
import { graphql } from '../../src/client/graphql.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The console's shell and Home page in Chromium, on the churn quickstart's data: what they show
// matches the API, live updates arrive, deep links survive a reload, a READ key is offered no
// change, and the pages pass axe and work from the keyboard.

if (!runBrowser) console.warn('console browser tests skipped: no /usr/bin/chromium (apt-get install -y chromium)');

const QUICKSTART_GROUPS = [CUSTOMER_INFO.name, CUSTOMER_DEMOGRAPHY.name, CUSTOMER_SUBSCRIPTIONS.name];

/** The counts Home shows, read from the API (the API serves at most 100 items a page; the quickstart has fewer). */
const COUNTS = graphql(`
  query ConsoleTestCounts {
    featureGroups(first: 100) { edges { node { id } } }
    featureViews(first: 100) { edges { node { id trainingDatasets { id } } } }
    models(first: 100) { edges { node { id } } }
    jobs(first: 100) { edges { node { id } } }
  }
`);

const CREATE_GROUP = graphql(`
  mutation ConsoleTestCreateGroup($name: String!) {
    createFeatureGroup(input: { name: $name, primaryKey: ["id"], features: [{ name: "id", type: "BIGINT" }, { name: "score", type: "DOUBLE" }] }) {
      __typename
      ... on Error { message }
    }
  }
`);

/** Buttons that only read or navigate; any other enabled button on a READ key's page fails the test. */
const READ_ONLY_BUTTONS: readonly (string | RegExp)[] = [
  'Sign out',
  'Show older commits',
  'Show the latest',
  'List older commits',
  'Loading older commits…',
  'Look up online',
  /^Download /,
  /^Preparing /,
];

let h: ConsoleHarness;

/** The GraphQL document a request of the page sends to /graphql (queries go as GET, others as POST); null for other requests. */
function graphqlDocument(request: Request): string | null {
  const address = new URL(request.url());
  if (address.pathname !== '/graphql') return null;
  if (request.method() === 'GET') return address.searchParams.get('query');
  try {
    return (JSON.parse(request.postData() ?? '') as { query?: string }).query ?? null;
  } catch {
    return null;
  }
}

function isMutation(document: string): boolean {
  return parse(document).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation');
}

/** Text of the Home count tile with this label. */
const countOf = (page: Page, label: string) => page.locator(`dd[data-count="${label}"]`).innerText();

/** Waits until Home shows its counts and activity. */
async function homeLoaded(page: Page): Promise<void> {
  await page.locator('dd[data-count="Feature groups"]').waitFor();
  await page.locator('ol.home-changes li').first().waitFor();
}

describe.skipIf(!runBrowser)('the console in a browser', () => {
  beforeAll(async () => {
    h = await startConsoleHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('Home shows the project, counts matching the API and its recent changes', async () => {
    const { page, problems } = await h.newPage();
    await homeLoaded(page);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toMatch(/default/);

    const res = await h.srv.gql(COUNTS);
    const api = res.data!;
    const expected = {
      'Feature groups': api.featureGroups.edges.length,
      'Feature views': api.featureViews.edges.length,
      'Training datasets': api.featureViews.edges.reduce((n, e) => n + e.node.trainingDatasets.length, 0),
      Models: api.models.edges.length,
      Jobs: api.jobs.edges.length,
    };
    expect(expected['Feature groups']).toBe(3);
    expect(expected.Models).toBeGreaterThanOrEqual(1);
    for (const [label, n] of Object.entries(expected)) expect(await countOf(page, label), label).toBe(String(n));

    // The newest change first: the quickstart ends by registering its model.
    const first = page.locator('ol.home-changes li').first();
    await expect(first.innerText()).resolves.toMatch(/Model\s+churnmodel v1\s+created/);
    // Each change links to its object's page.
    const groupLink = page.locator('ol.home-changes li a', { hasText: `${CUSTOMER_INFO.name} v1` }).first();
    await expect(groupLink.getAttribute('href')).resolves.toBe(`/feature-groups/${CUSTOMER_INFO.name}/overview?version=1`);
    await expect(first.locator('a').getAttribute('href')).resolves.toBe('/models/churnmodel?version=1');

    await h.screenshot(page, 'console-home');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a change made through the API appears on Home without a reload, and the counts follow', async () => {
    const { page, problems } = await h.newPage();
    // Reload with a watch on the socket: the change is made once the page has subscribed.
    let subscribed = false;
    page.on('websocket', (ws) => {
      ws.on('framesent', (frame) => {
        if (typeof frame.payload === 'string' && frame.payload.includes('ConsoleRegistryEvents')) subscribed = true;
      });
    });
    await page.reload();
    await homeLoaded(page);
    await expect.poll(() => subscribed).toBe(true);
    const before = Number(await countOf(page, 'Feature groups'));

    const created = await h.srv.gql(CREATE_GROUP, { name: 'console_live' });
    expect(created.data?.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
    const item = page.locator('ol.home-changes li', { hasText: 'console_live v1' });
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
    await expect(item.innerText()).resolves.toMatch(/Feature group\s+console_live v1\s+created/);
    await expect.poll(() => countOf(page, 'Feature groups'), { timeout: 10_000 }).toBe(String(before + 1));
    expect(problems).toEqual([]);
  });

  it('the search typeahead finds customer_info; the keyboard picks it and Enter opens its page', async () => {
    const { page, problems } = await h.newPage();
    const box = page.getByRole('combobox', { name: 'Search the project' });
    await box.click();
    await box.pressSequentially(CUSTOMER_INFO.name, { delay: 15 });
    const listbox = page.getByRole('listbox', { name: 'Search results' });
    const option = listbox.getByRole('option').first();
    await expect.poll(() => option.innerText()).toMatch(/Feature group\s+customer_info\s+v1/i);
    // The match's highlight is shown.
    await expect(option.locator('mark').count()).resolves.toBeGreaterThan(0);
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('true');

    // Escape closes the list; ArrowDown opens it again with the first option active.
    await box.press('Escape');
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('false');
    await box.press('ArrowDown');
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('true');
    const activeId = await box.getAttribute('aria-activedescendant');
    expect(activeId).toBe(await option.getAttribute('id'));
    await expect(option.getAttribute('aria-selected')).resolves.toBe('true');
    await h.screenshot(page, 'console-home-search');

    await box.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search).toBe(`/feature-groups/${CUSTOMER_INFO.name}/overview?version=1`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toMatch(/customer_info/);
    expect(problems).toEqual([]);
  });

  it('the Feature groups list shows the quickstart groups and links to each', async () => {
    const { page, problems } = await h.newPage();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Feature groups' }).click();
    await page.locator('table.list tbody tr').first().waitFor();
    for (const name of QUICKSTART_GROUPS) {
      const link = page.locator('table.list tbody th a', { hasText: new RegExp(`^${name}$`) });
      await expect(link.getAttribute('href')).resolves.toBe(`/feature-groups/${name}?version=1`);
    }
    await h.screenshot(page, 'console-feature-groups');
    expect(await h.axe(page)).toEqual([]);

    await page.locator('table.list tbody th a', { hasText: /^customer_info$/ }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toMatch(/customer_info/);
    await page.locator('.tab-panel').waitFor();
    await h.screenshot(page, 'console-feature-group');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a deep link shows the same page after a reload', async () => {
    const { page, problems } = await h.newPage();
    const path = `/feature-groups/${CUSTOMER_INFO.name}/statistics?version=1`;
    await page.goto(`${h.url}${path}`);
    const check = async () => {
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toMatch(/customer_info\s+version 1/);
      await expect(page.locator('nav.tabs a[aria-current="page"]').innerText()).resolves.toBe('Statistics');
      expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(path);
    };
    await check();
    await page.reload();
    await check();
    await h.screenshot(page, 'console-feature-group-statistics');
    expect(problems).toEqual([]);
  });

  it('a READ key is offered no change: every enabled button only reads, and no mutation is sent', async () => {
    const { page, problems } = await h.newPage(h.readKey);
    await expect(page.locator('header.top').innerText()).resolves.toMatch(/console-read \(read only\)/);
    const mutations: string[] = [];
    page.on('request', (request) => {
      const document = graphqlDocument(request);
      if (document !== null && isMutation(document)) mutations.push(document);
    });
    const pages = [
      '/',
      '/feature-groups',
      ...['overview', 'data', 'statistics', 'activity'].map((tab) => `/feature-groups/${CUSTOMER_INFO.name}/${tab}?version=1`),
    ];
    for (const path of pages) {
      await page.goto(`${h.url}${path}`);
      await page.locator('main#content h1').first().waitFor();
      // Let the page's queries settle so controls that appear with data are there.
      await page.waitForLoadState('networkidle');
      const controls = page.locator('button:not([disabled]), input[type="submit"]:not([disabled])');
      const offered: string[] = [];
      for (const control of await controls.all()) {
        if (!(await control.isVisible())) continue;
        const name = ((await control.getAttribute('aria-label')) ?? (await control.innerText()) ?? (await control.getAttribute('value')) ?? '').trim();
        if (!READ_ONLY_BUTTONS.some((allowed) => (typeof allowed === 'string' ? allowed === name : allowed.test(name)))) offered.push(name);
      }
      expect(offered, `enabled controls on ${path}`).toEqual([]);
      if (path === '/') await h.screenshot(page, 'console-home-read-only');
    }
    expect(mutations).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('an invalid key gets the sign-in box with the API’s message', async () => {
    const bad = 'gra_AAAAAAAAAAAA_thiskeydoesnotexist';
    const api = await h.srv.gql('{ viewer { project { name } } }', {}, bad);
    const message = api.errors?.[0]?.message;
    expect(message).toBeTruthy();
    const { page, problems } = await h.newPage(bad);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('alert').innerText()).resolves.toContain(message!);
    await expect(page.getByLabel('API key').isVisible()).resolves.toBe(true);
    await expect(page.locator('header.top').count()).resolves.toBe(0);
    await h.screenshot(page, 'console-sign-in-refused');
    expect(await h.axe(page)).toEqual([]);
    // The refusal itself: the viewer query's 401, which the browser also logs.
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/401/);
  });

  it('every main navigation link is reached with Tab and opens with Enter', async () => {
    const { page, problems } = await h.newPage();
    await homeLoaded(page);
    const reached = new Set<string>();
    for (let i = 0; i < 16; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return el?.closest('nav[aria-label="Main"]') ? (el.textContent ?? '').trim() : null;
      });
      if (focused !== null) reached.add(focused);
    }
    expect([...reached].sort()).toEqual([
      'Alerts',
      'Deployments',
      'Feature groups',
      'Feature views',
      'Granary',
      'GraphiQL',
      'Home',
      'Jobs',
      'Lineage',
      'Models',
      'Settings',
    ]);

    // From the top again (a reload), to the nav's Feature groups link, then Enter.
    await page.reload();
    await homeLoaded(page);
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      const text = await page.evaluate(() => (document.activeElement?.closest('nav[aria-label="Main"]') ? document.activeElement.textContent : null));
      if (text === 'Feature groups') break;
    }
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/feature-groups');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Feature groups');
    expect(problems).toEqual([]);
  });
});
