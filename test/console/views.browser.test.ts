import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The feature view pages in Chromium, on the churn quickstart's data: the list, a view's Overview
// (features with their transformation functions, query, "try it") and Training data tabs, and what
// a READ key sees.

const VIEW = graphql(`
  query ViewsBrowserView {
    featureView(name: "churn_feature_view") {
      version
      labels
      servingKeys
      features { name featureGroup { name version } }
      transformations { function feature outputColumn }
      trainingDatasets { version splits { name rowCount statistics { rowCount features { name } } } transformationStatistics }
    }
  }
`);

const CUSTOMER = graphql(`
  query ViewsBrowserCustomer { featureGroup(name: "customer_info") { read(first: 1) { records } } }
`);

const VECTOR = graphql(`
  query ViewsBrowserVector($entry: JSON!, $transformed: Boolean) {
    featureVector(featureView: { name: "churn_feature_view" }, entry: $entry, transformed: $transformed) { features values missing }
  }
`);

let h: ConsoleHarness;

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** The trimmed texts of the cells of a column of a table's body rows. */
async function column(table: Locator, index: number): Promise<string[]> {
  return table.locator('tbody tr').evaluateAll((rows, i) => rows.map((r) => (r.children[i] as HTMLElement | undefined)?.innerText.trim() ?? ''), index);
}

/** A JSON value of the API as the console writes it in a cell: strings as they are, null as "null", the rest as JSON. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function openTab(page: Page, tab: string, heading: string, search = '?version=1'): Promise<void> {
  await page.goto(`${h.url}/feature-views/churn_feature_view/${tab}${search}`);
  await page.getByRole('heading', { level: 2, name: heading }).waitFor();
}

/** The names of the enabled buttons of the page's main region. */
async function enabledButtons(page: Page): Promise<string[]> {
  return page.locator('main button:enabled').allInnerTexts();
}

// Each test drives several pages and API round trips: more than the suite's 30 s on a busy machine.
describe.skipIf(!runBrowser)('the feature view pages', { timeout: 90_000 }, () => {
  it('Overview: the API’s features in order with their groups, labels and transformation badges, the query, and "try it" giving the API’s vectors', async () => {
    const view = dataOf(await h.srv.gql(VIEW)).featureView!;
    const { page, problems } = await h.newPage();
    await openTab(page, 'overview', 'Features');

    const features = page.getByRole('table', { name: 'Features of churn_feature_view, in order' });
    const names = await features.locator('tbody th[scope="row"]').allInnerTexts();
    expect(names).toEqual(view.features.map((f) => f.name));
    expect(names.length).toBeGreaterThan(10);
    // Each feature's group links to that group version's overview.
    const groupLinks = await features.locator('tbody tr td:nth-child(4) a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(groupLinks).toEqual(view.features.map((f) => `/feature-groups/${f.featureGroup.name}/overview?version=${f.featureGroup.version}`));
    // Labels marked, nothing else.
    const labelled = await features
      .locator('tbody tr', { has: page.locator('.badge.label') })
      .locator('th')
      .allInnerTexts();
    expect(labelled).toEqual(view.labels);

    // One badge per transformation function, on the feature it applies to, with the API's output column.
    const transformations = view.transformations;
    expect(transformations.map((t) => t.function)).toEqual(expect.arrayContaining(['label_encoder', 'min_max_scaler']));
    await expect(features.locator('.badge.transformation-function').count()).resolves.toBe(transformations.length);
    for (const t of transformations) {
      const row = features.locator('tbody tr', { has: page.locator('th', { hasText: new RegExp(`^${t.feature}$`) }) });
      await expect(row.locator('.badge.transformation-function').innerText()).resolves.toBe(t.function);
      await expect(row.locator('code.output-column').innerText()).resolves.toBe(t.outputColumn);
    }
    expect((await features.locator('code.output-column').allInnerTexts()).sort()).toEqual(transformations.map((t) => t.outputColumn).sort());

    // The query: the left group, then the two joins on customerid, no filter.
    const diagram = page.getByRole('figure', { name: /The view’s query: customer_info version 1 joined with 2 groups/ });
    await expect(diagram.locator('.query-name').allInnerTexts()).resolves.toEqual([
      'customer_info version 1',
      'customer_demography_info version 1',
      'customer_subscription_info version 1',
    ]);
    await expect(diagram.locator('.query-edge').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/LEFT join on customerid/),
      expect.stringMatching(/LEFT join on customerid/),
    ]);
    await expect(diagram.locator('.query-filters').innerText()).resolves.toContain('none');

    // Try it with a customer of customer_info: the same raw and transformed vectors as the API's.
    expect(view.servingKeys).toEqual(['customerid']);
    const records = dataOf(await h.srv.gql(CUSTOMER)).featureGroup!.read.records as { customerid: string }[];
    const customerid = records[0]!.customerid;
    const transformed = dataOf(await h.srv.gql(VECTOR, { entry: { customerid } })).featureVector;
    const raw = dataOf(await h.srv.gql(VECTOR, { entry: { customerid }, transformed: false })).featureVector;
    // Labels are not served, nor their transformations.
    const served = transformations.filter((t) => !view.labels.includes(t.feature)).map((t) => t.outputColumn);
    expect(transformed.features).toEqual(expect.arrayContaining(served));
    expect(raw.features).toEqual(view.features.map((f) => f.name).filter((n) => !view.labels.includes(n)));

    await page.getByLabel(/^customerid/).fill(customerid);
    await page.getByRole('button', { name: 'Try it' }).click();
    const vector = page.getByRole('table', { name: `Raw and transformed feature vector of ${customerid}` });
    await vector.waitFor();
    await expect(vector.locator('tbody th').allInnerTexts()).resolves.toEqual(raw.features);
    await expect(column(vector, 2)).resolves.toEqual((raw.values as unknown[]).map(cellText));
    // Transformed: every output column of the API's vector with its value, once.
    const outputNames = (await column(vector, 3)).flatMap((cell) => (cell === '' ? [] : cell.split('\n')));
    const outputValues = (await column(vector, 4)).flatMap((cell) => (cell === '' ? [] : cell.split('\n')));
    const shown = Object.fromEntries(outputNames.map((n, i) => [n, outputValues[i]]));
    expect(Object.keys(shown).sort()).toEqual([...transformed.features].sort());
    expect(transformed.features.map((n) => shown[n])).toEqual((transformed.values as unknown[]).map(cellText));
    await expect(page.locator('code.model-input').innerText()).resolves.toBe(JSON.stringify(transformed.values));
    expect(transformed.missing).toEqual([]);
    await expect(vector.locator('.badge.missing').count()).resolves.toBe(0);

    // The request to copy: GraphQL, and curl with the key from the environment, never the real one.
    const curl = await page.locator('pre.request').last().innerText();
    expect(curl).toContain(`${h.url}/graphql`);
    expect(curl).toContain('-H "Authorization: Bearer $GRANARY_API_KEY"');
    expect(curl).toContain(customerid);
    await expect(page.locator('pre.request').first().innerText()).resolves.toMatch(/featureVector\(featureView: \{ name: "churn_feature_view", version: 1 \}/);
    expect(await page.content()).not.toContain(h.adminKey);
    await h.screenshot(page, 'view-overview');
    expect(await h.axe(page)).toEqual([]);

    // A customer with no online row: nulls, and the groups named as missing.
    await page.getByLabel(/^customerid/).fill('9999-NOONE');
    await page.getByRole('button', { name: 'Try it' }).click();
    const none = page.getByRole('table', { name: 'Raw and transformed feature vector of 9999-NOONE' });
    await none.waitFor();
    await expect(page.locator('.try-it .warning').innerText()).resolves.toMatch(/no row for 9999-NOONE in .*customer_info/);
    await expect(column(none, 2)).resolves.toEqual(raw.features.map(() => 'null'));
    await expect(none.locator('.badge.missing').count()).resolves.toBe(raw.features.length);
    expect(problems).toEqual([]);
  });

  it('Training data: the versions with their split settings, each split’s row count, fitted parameters and statistics', async () => {
    const view = dataOf(await h.srv.gql(VIEW)).featureView!;
    const [dataset] = view.trainingDatasets;
    expect(dataset).toBeDefined();
    expect(dataset!.splits.length).toBeGreaterThanOrEqual(2);
    const { page, problems } = await h.newPage();
    await openTab(page, 'training-data', 'Training datasets');

    const versions = page.getByRole('table', { name: 'Training dataset versions of churn_feature_view version 1' });
    await expect(versions.locator('tbody th').allInnerTexts()).resolves.toEqual(view.trainingDatasets.map((d) => `${d.version} (shown below)`));
    await expect(column(versions, 2)).resolves.toEqual([expect.stringMatching(/^random: test 20 %, seed \d+$/)]);
    await expect(column(versions, 3)).resolves.toEqual([dataset!.splits.map((s) => `${s.name} ${s.rowCount.toLocaleString('en-US')}`).join(' · ')]);

    const splits = page.getByRole('table', { name: `Splits of training dataset version ${dataset!.version}` });
    await splits.waitFor();
    await expect(splits.locator('tbody th').allInnerTexts()).resolves.toEqual(dataset!.splits.map((s) => s.name));
    const counts = await splits.locator('tbody td:nth-child(2) data').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('value'))));
    expect(counts).toEqual(dataset!.splits.map((s) => s.rowCount));

    // A split's rows download with the key: one CSV line per row under the header.
    const first = dataset!.splits[0]!;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${first.name} as CSV` }).click()]);
    expect(download.suggestedFilename()).toBe(`churn_feature_view_1_td${dataset!.version}_${first.name}.csv`);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(first.rowCount + 1);
    expect(lines[0]).toContain('label_encoder_contract_');

    // The fitted parameters: one row per transformation function.
    const fitted = page.getByRole('table', { name: 'Fitted parameters of each transformation function, from the train split' });
    await expect(fitted.locator('tbody tr').count()).resolves.toBe(view.transformations.length);
    const tenure = fitted.locator('tbody tr', { has: page.locator('th', { hasText: /^tenure/ }) });
    await expect(tenure.innerText()).resolves.toMatch(/min_max_scaler[\s\S]*min_max_scaler_tenure_[\s\S]*min\s+0[\s\S]*max\s+\d+/);

    // Statistics of each split: a card per feature, as the API computed them, with their charts.
    for (const split of dataset!.splits) {
      await page.getByLabel('Split', { exact: true }).selectOption(split.name);
      const section = page.getByRole('region', { name: `Features of the ${split.name} split` });
      await section.waitFor();
      const cards = section.locator('article.stat-card');
      await expect(cards.locator('h4').allInnerTexts()).resolves.toEqual(split.statistics!.features.map((f) => f.name));
      await expect(page.locator('.stats-summary').innerText()).resolves.toMatch(new RegExp(`^${split.statistics!.rowCount.toLocaleString('en-US')} rows`));
      await expect.poll(() => section.locator('svg').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    }
    await expect
      .poll(
        () =>
          page
            .getByRole('region', { name: /^Correlations in the/ })
            .locator('svg')
            .count(),
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    await h.screenshot(page, 'view-training-data');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('the list links to each view; a READ key sees no enabled mutating control', async () => {
    const view = dataOf(await h.srv.gql(VIEW)).featureView!;
    const { page, problems } = await h.newPage(h.readKey);
    await page.goto(`${h.url}/feature-views`);
    const list = page.getByRole('table', { name: 'Feature views' });
    await list.waitFor();
    await expect(list.locator('tbody th a').allInnerTexts()).resolves.toEqual(['churn_feature_view']);
    await expect(list.locator('tbody tr').first().locator('td').allInnerTexts()).resolves.toEqual([
      String(view.version),
      String(view.features.length),
      view.labels.join(''),
      String(view.trainingDatasets.length),
      expect.any(String),
    ]);
    expect(await enabledButtons(page)).toEqual([]);
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'views-list');

    await list.getByRole('link', { name: 'churn_feature_view' }).click();
    await page.getByRole('heading', { level: 2, name: 'Features' }).waitFor();
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/feature-views/churn_feature_view/overview?version=1');
    // Only reads: trying a vector and copying its request.
    const records = dataOf(await h.srv.gql(CUSTOMER)).featureGroup!.read.records as { customerid: string }[];
    await page.getByLabel(/^customerid/).fill(records[0]!.customerid);
    await page.getByRole('button', { name: 'Try it' }).click();
    await page.getByRole('table', { name: `Raw and transformed feature vector of ${records[0]!.customerid}` }).waitFor();
    expect((await enabledButtons(page)).sort()).toEqual(['Copy GraphQL request', 'Copy curl command', 'Try it']);
    expect(await page.content()).not.toContain(h.readKey);

    await page.getByRole('link', { name: 'Training data' }).click();
    await page.getByRole('heading', { level: 2, name: /^Training dataset version/ }).waitFor();
    // Only reads: the splits' downloads.
    const downloads = await enabledButtons(page);
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((label) => /^Download (train|test|validation)( raw)? as (CSV|Parquet)$/.test(label))).toBe(true);
    expect(problems).toEqual([]);
  });
});
