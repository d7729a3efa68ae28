import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_INFO } from '../../examples/churn/definitions.ts';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf, ofType } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The Overview, Data and Activity tabs of a feature group's page, in Chromium, on the churn
// quickstart's data plus what each test needs on top: a second commit of customer_info validated
// against a suite (one failing expectation), a tag and keywords, a group derived from it, a second
// version with another schema, and a group with more commits than a page of the timeline.

const GROUP_ID = graphql(`
  query GroupTabsGroupId($name: String!, $version: Int) { featureGroup(name: $name, version: $version) { id } }
`);

const COMMIT_TIMES = graphql(`
  query GroupTabsCommitTimes($name: String!, $version: Int) { featureGroup(name: $name, version: $version) { commits { committedAt } } }
`);

const TAG_SCHEMA = graphql(`
  mutation GroupTabsTagSchema($schema: JSON!) {
    createTagSchema(name: "owner", schema: $schema) { __typename ... on Error { message } }
  }
`);

const TAG_AND_KEYWORDS = graphql(`
  mutation GroupTabsTag($target: ID!, $value: JSON!) {
    addTag(target: $target, name: "owner", value: $value) { __typename ... on Error { message } }
    addKeywords(target: $target, keywords: ["telco", "churn"]) { __typename ... on Error { message } }
  }
`);

const SAVE_SUITE = graphql(`
  mutation GroupTabsSuite($group: FeatureGroupRef!, $input: SaveExpectationSuiteInput!) {
    saveExpectationSuite(featureGroup: $group, input: $input) { __typename ... on Error { message } }
  }
`);

const INSERT = graphql(`
  mutation GroupTabsInsert($group: FeatureGroupRef!, $rows: [JSON!]!) {
    insertFeatureGroupData(featureGroup: $group, rows: $rows) {
      __typename
      ... on InsertFeatureGroupDataPayload { commit { id committedAt } }
      ... on Error { message }
    }
  }
`);

const CREATE_GROUP = graphql(`
  mutation GroupTabsCreate($input: CreateFeatureGroupInput!) {
    createFeatureGroup(input: $input) {
      __typename
      ... on CreateFeatureGroupPayload { featureGroup { name version } }
      ... on Error { message }
    }
  }
`);

const FIRST_ROWS = graphql(`
  query GroupTabsRows($name: String!, $version: Int!) { featureGroup(name: $name, version: $version) { read(first: 3) { records } } }
`);

/** A customer_info row sorting before every generated id, with a tenure the suite refuses. */
const NEW_CUSTOMER = {
  customerid: '0000-AAAAA',
  contract: 'Month-to-month',
  tenure: 500,
  paymentmethod: 'Electronic check',
  paperlessbilling: 'Yes',
  monthlycharges: 70.5,
  totalcharges: 70.5,
  churn: 0,
  datetime: '2024-06-01T00:00:00.000Z',
};

/** Commits of the paging group: more than a page of the timeline (25). */
const PAGING_COMMITS = 27;

let h: ConsoleHarness;
let firstCommitAt: string;

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
  const { srv } = h;
  const info = dataOf(await srv.gql(GROUP_ID, { name: 'customer_info', version: 1 })).featureGroup!;

  ofType(
    dataOf(await srv.gql(TAG_SCHEMA, { schema: { type: 'object', properties: { team: { type: 'string' } }, required: ['team'] } })).createTagSchema,
    'CreateTagSchemaPayload',
  );
  const tagged = dataOf(await srv.gql(TAG_AND_KEYWORDS, { target: info.id, value: { team: 'retention' } }));
  ofType(tagged.addTag, 'AddTagPayload');
  ofType(tagged.addKeywords, 'AddKeywordsPayload');

  // The quickstart's commit, then one validated against the suite (committed anyway: ALWAYS).
  const commits = dataOf(await srv.gql(COMMIT_TIMES, { name: 'customer_info', version: 1 })).featureGroup!.commits;
  expect(commits).toHaveLength(1);
  firstCommitAt = commits[0]!.committedAt;
  const suite = {
    name: 'customer_checks',
    ingestionPolicy: 'ALWAYS' as const,
    expectations: [
      { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'customerid' } },
      { type: 'expect_column_values_to_be_between', kwargs: { column: 'tenure', min_value: 0, max_value: 100 } },
    ],
  };
  ofType(dataOf(await srv.gql(SAVE_SUITE, { group: { name: 'customer_info', version: 1 }, input: suite })).saveExpectationSuite, 'SaveExpectationSuitePayload');
  ofType(
    dataOf(await srv.gql(INSERT, { group: { name: 'customer_info', version: 1 }, rows: [NEW_CUSTOMER] })).insertFeatureGroupData,
    'InsertFeatureGroupDataPayload',
  );

  // A group derived from customer_info (its lineage), and customer_info version 2 with another schema.
  const derived = {
    name: 'customer_value',
    description: 'Lifetime value per customer',
    primaryKey: ['customerid'],
    parents: [{ name: 'customer_info', version: 1 }],
    features: [
      { name: 'customerid', type: 'STRING' },
      { name: 'value', type: 'DOUBLE' },
    ],
  };
  ofType(dataOf(await srv.gql(CREATE_GROUP, { input: derived })).createFeatureGroup, 'CreateFeatureGroupPayload');
  const v2 = {
    ...CUSTOMER_INFO,
    features: [
      ...(CUSTOMER_INFO.features ?? []).filter((f) => f.name !== 'paperlessbilling').map((f) => (f.name === 'tenure' ? { ...f, type: 'BIGINT' } : f)),
      { name: 'region', type: 'STRING', description: 'Sales region' },
    ],
  };
  const created = ofType(dataOf(await srv.gql(CREATE_GROUP, { input: v2 })).createFeatureGroup, 'CreateFeatureGroupPayload');
  expect(created.featureGroup.version).toBe(2);

  // A group with more commits than a page of the timeline.
  const paging = {
    name: 'paging_demo',
    primaryKey: ['id'],
    features: [
      { name: 'id', type: 'INT' },
      { name: 'n', type: 'INT' },
    ],
  };
  ofType(dataOf(await srv.gql(CREATE_GROUP, { input: paging })).createFeatureGroup, 'CreateFeatureGroupPayload');
  for (let i = 0; i < PAGING_COMMITS; i++) {
    ofType(
      dataOf(await srv.gql(INSERT, { group: { name: 'paging_demo', version: 1 }, rows: [{ id: i, n: i }] })).insertFeatureGroupData,
      'InsertFeatureGroupDataPayload',
    );
  }

  // An online group with an integer key.
  const plans = {
    name: 'plan_prices',
    primaryKey: ['plan'],
    onlineEnabled: true,
    features: [
      { name: 'plan', type: 'INT' },
      { name: 'price', type: 'DOUBLE' },
    ],
  };
  ofType(dataOf(await srv.gql(CREATE_GROUP, { input: plans })).createFeatureGroup, 'CreateFeatureGroupPayload');
  const rows = [
    { plan: 1, price: 9.5 },
    { plan: 2, price: 19.5 },
  ];
  ofType(dataOf(await srv.gql(INSERT, { group: { name: 'plan_prices', version: 1 }, rows })).insertFeatureGroupData, 'InsertFeatureGroupDataPayload');
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** The texts of the cells of a column of a table's body rows. */
async function column(table: ReturnType<Page['locator']>, index: number): Promise<string[]> {
  return table.locator('tbody tr').evaluateAll((rows, i) => rows.map((r) => (r.children[i] as HTMLElement | undefined)?.innerText.trim() ?? ''), index);
}

/** Opens a tab of a group version's page and waits for its first heading. */
async function openTab(page: Page, group: string, tab: string, version: number, heading: string): Promise<void> {
  await page.goto(`${h.url}/feature-groups/${group}/${tab}?version=${version}`);
  await page.getByRole('heading', { level: 2, name: heading }).waitFor();
}

async function expectAccessible(page: Page): Promise<void> {
  expect(await h.axe(page)).toEqual([]);
}

// Each test drives several pages and API round trips: more than the suite's 30 s on a busy machine.
describe.skipIf(!runBrowser)('the feature group tabs', { timeout: 90_000 }, () => {
  it('Overview: features in column order with their types, badges and descriptions, tags, settings, lineage and versions', async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'customer_info', 'overview', 1, 'Features');

    const features = page.getByRole('table', { name: 'Features of customer_info, in column order' });
    await features.waitFor();
    const names = await features.locator('tbody th[scope="row"]').allInnerTexts();
    expect(names).toEqual((CUSTOMER_INFO.features ?? []).map((f) => f.name));
    expect(await column(features, 2)).toEqual((CUSTOMER_INFO.features ?? []).map((f) => f.type));
    const keyRow = features.locator('tbody tr', { has: page.locator('th', { hasText: /^customerid$/ }) });
    await expect(keyRow.locator('.badge.key').innerText()).resolves.toBe('primary key');
    await expect(keyRow.innerText()).resolves.toContain('Customer id');
    const timeRow = features.locator('tbody tr', { has: page.locator('th', { hasText: /^datetime$/ }) });
    await expect(timeRow.locator('.badge.time').innerText()).resolves.toBe('event time');
    expect(await features.locator('.badge.key').count()).toBe(1);

    const tags = page.getByRole('table', { name: 'Tags' });
    await expect(tags.locator('tbody tr').first().innerText()).resolves.toMatch(/owner\s+\{"team":"retention"\}/);
    await expect(page.locator('.badge.keyword').allInnerTexts()).resolves.toEqual(['churn', 'telco']);

    const validation = page.locator('.card', { has: page.getByRole('heading', { name: 'Validation' }) });
    await expect(validation.innerText()).resolves.toMatch(/customer_checks[\s\S]*ALWAYS/);
    const storage = page.locator('.card', { has: page.getByRole('heading', { name: 'Storage' }) });
    await expect(storage.locator('.badge.online').innerText()).resolves.toBe('online');
    const streaming = page.locator('.card', { has: page.getByRole('heading', { name: 'Streaming' }) });
    await expect(streaming.innerText()).resolves.toContain('customer_info');
    const statistics = page.locator('.card', { has: page.getByRole('heading', { name: 'Statistics' }) });
    await expect(statistics.innerText()).resolves.toMatch(/Histograms\s+yes, 20 bins/);

    // Lineage: no parent; made from it: the quickstart's view and the derived group (a link).
    const madeFrom = page.getByRole('list', { name: 'Made from it' });
    await madeFrom.waitFor();
    await expect(madeFrom.innerText()).resolves.toContain('churn_feature_view version 1');
    await expect(madeFrom.getByRole('link', { name: 'customer_value version 1' }).getAttribute('href')).resolves.toBe(
      '/feature-groups/customer_value/overview?version=1',
    );
    await expect(page.locator('.card', { has: page.getByRole('heading', { name: 'Parents' }) }).innerText()).resolves.toContain('None recorded');
    // The job computing its statistics after each insert works on it.
    await expect
      .poll(() => page.getByRole('list', { name: 'Jobs working on it' }).getByRole('link').allInnerTexts())
      .toEqual(['customer_info_1_compute_stats']);

    // Versions, and the schema difference of version 1 and 2 (the default pair for version 1).
    const versions = page.getByRole('table', { name: 'Versions of customer_info' });
    await versions.waitFor();
    await expect(versions.locator('tbody th').allInnerTexts()).resolves.toEqual(['version 2', '1 (this one)']);
    const from = page.getByLabel('Compare version');
    const to = page.getByLabel('with version');
    await expect(from.inputValue()).resolves.toBe('1');
    await expect(to.inputValue()).resolves.toBe('2');
    const diff = page.getByRole('table', { name: 'Feature changes from version 1 to version 2' });
    const changes = async () => (await diff.locator('tbody tr').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    await expect(changes()).resolves.toEqual(['tenure type changed INT BIGINT', 'region added — STRING', 'paperlessbilling removed STRING —']);
    await h.screenshot(page, 'group-overview');
    await expectAccessible(page);

    await to.selectOption('1');
    await expect(page.getByText('Pick two different versions to compare their features.').isVisible()).resolves.toBe(true);
    await from.selectOption('2');
    const reverse = page.getByRole('table', { name: 'Feature changes from version 2 to version 1' });
    await reverse.waitFor();
    await expect(reverse.locator('tbody tr').allInnerTexts()).resolves.toEqual(
      expect.arrayContaining([expect.stringMatching(/^paperlessbilling\s+added/), expect.stringMatching(/^region\s+removed/)]),
    );
    expect(problems).toEqual([]);
  });

  it('Overview of a derived group links its parent group', async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'customer_value', 'overview', 1, 'Features');
    const parents = page.getByRole('list', { name: 'Parents' });
    await parents.waitFor();
    await parents.getByRole('link', { name: 'customer_info version 1' }).click();
    await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search).toBe('/feature-groups/customer_info/overview?version=1');
    await page.getByRole('heading', { level: 1, name: /customer_info/ }).waitFor();
    await page.getByRole('table', { name: 'Versions of customer_info' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('Data: a preview of the offline rows, as of a chosen commit, downloads and an online lookup by key', async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'customer_info', 'data', 1, 'Preview');

    const preview = page.getByRole('table', { name: 'Rows of customer_info now' });
    await preview.waitFor();
    const header = await preview.locator('thead th').allInnerTexts();
    expect(header.map((t) => t.split('\n')[0])).toEqual((CUSTOMER_INFO.features ?? []).map((f) => f.name));
    await expect(preview.locator('thead th').first().locator('.badge.key').isVisible()).resolves.toBe(true);
    const rows = preview.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(100);
    // The second commit's customer sorts first; its row is the one inserted.
    const first = await rows.first().locator('td').allInnerTexts();
    expect(first.slice(0, 3)).toEqual(['0000-AAAAA', 'Month-to-month', '500']);
    await expect(page.getByText('The first 100 of 301 rows, by key and event time.').isVisible()).resolves.toBe(true);

    // The as-of picker lists now and both commits, newest first; the first commit's rows lack the new customer.
    const picker = page.getByLabel('As of', { exact: true });
    await expect.poll(() => picker.locator('option').count()).toBe(3);
    const options = await picker.locator('option').allInnerTexts();
    expect(options).toHaveLength(3);
    expect(options[0]).toBe('now (latest commit)');
    expect(options[1]).toMatch(/(insert|upsert) of 1 rows \(latest\)$/);
    expect(options[2]).toMatch(/(insert|upsert) of 300 rows$/);
    await picker.selectOption(firstCommitAt);
    const asOf = page.locator('table.rows');
    await expect.poll(() => asOf.locator('caption').innerText()).toMatch(/^Rows of customer_info as of /);
    await expect.poll(async () => (await asOf.locator('tbody tr').first().locator('td').first().innerText()) !== '0000-AAAAA').toBe(true);
    await expect(asOf.locator('tbody tr').count()).resolves.toBe(100);
    const expected = dataOf(await h.srv.gql(FIRST_ROWS, { name: 'customer_info', version: 1 })).featureGroup!.read.records as { customerid: string }[];
    // The first row as of the first commit is the first generated customer now (the new one aside).
    await expect(asOf.locator('tbody tr').first().locator('td').first().innerText()).resolves.toBe(expected[1]!.customerid);
    await h.screenshot(page, 'group-data-as-of');

    // Download: the rows as of the picked commit, as CSV, fetched with the key and saved from a Blob.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('customer_info_1.csv');
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]!.split(',')).toEqual((CUSTOMER_INFO.features ?? []).map((f) => f.name));
    expect(csv).toHaveLength(301);
    expect(csv.some((line) => line.startsWith('0000-AAAAA,'))).toBe(false);
    await expect(page.getByText(/^Saved customer_info_1\.csv/).isVisible()).resolves.toBe(true);

    // Back to now: the new customer is there again.
    await picker.selectOption('');
    await expect.poll(() => preview.locator('tbody tr').first().locator('td').first().innerText()).toBe('0000-AAAAA');

    // Online lookup by customerid: the newest row of the key in the online store.
    await expect(page.getByRole('heading', { level: 2, name: 'Online lookup' }).isVisible()).resolves.toBe(true);
    await page.getByLabel(/^customerid/).fill(expected[1]!.customerid);
    await page.getByRole('button', { name: 'Look up online' }).click();
    const online = page.getByRole('table', { name: `Online row of ${expected[1]!.customerid}` });
    await online.waitFor();
    await expect(online.locator('tbody th').allInnerTexts()).resolves.toEqual((CUSTOMER_INFO.features ?? []).map((f) => f.name));
    const values = await online.locator('tbody tr td:last-child').allInnerTexts();
    expect(values[0]).toBe(expected[1]!.customerid);
    expect(values[2]).toBe(String((expected[1] as Record<string, unknown>).tenure));
    await h.screenshot(page, 'group-data');
    await expectAccessible(page);

    // A key with no online row.
    await page.getByLabel(/^customerid/).fill('9999-NOONE');
    await page.getByRole('button', { name: 'Look up online' }).click();
    await expect
      .poll(() =>
        page
          .locator('.warning')
          .innerText()
          .catch(() => ''),
      )
      .toContain('The online store has no row for 9999-NOONE');
    expect(problems).toEqual([]);
  });

  it("Data: the online lookup sends an integer key as a number, and shows the API's error where it happens", async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'plan_prices', 'data', 1, 'Online lookup');
    // The key is an INT: typed in as text, sent as a number.
    await page.getByLabel(/^plan/).fill('2');
    await page.getByRole('button', { name: 'Look up online' }).click();
    const row = page.getByRole('table', { name: 'Online row of 2' });
    await row.waitFor();
    await expect(row.locator('tbody tr').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/^plan\s+INT\s+2$/),
      expect.stringMatching(/^price\s+DOUBLE\s+19\.5$/),
    ]);

    // Text that is not an INT goes as it is, and the API refuses it naming the key.
    await page.getByLabel(/^plan/).fill('two');
    await page.getByRole('button', { name: 'Look up online' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText().catch(() => '')).toContain('primary key feature plan');
    await expect(row.count()).resolves.toBe(0);
    await expectAccessible(page);
    expect(problems).toEqual([]);
  });

  it('Activity: the commits newest first with their validation outcome, and the expectation suite', async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'customer_info', 'activity', 1, 'Commits');
    const commits = page.getByRole('table', { name: 'Commits of customer_info version 1, newest first' });
    await commits.locator('tbody tr').nth(1).waitFor();
    await expect(commits.locator('tbody tr').count()).resolves.toBe(2);
    const [newest, oldest] = (await commits.locator('tbody tr').allInnerTexts()).map((r) => r.replace(/\s+/g, ' '));
    expect(newest).toMatch(/(insert|upsert) 1 0 1 offline \+ online .* failed 1 of 2/);
    expect(oldest).toMatch(/(insert|upsert) 300 0 300 offline \+ online .* not validated/);
    // Who: the quickstart ran with the console's admin key, the second insert with the server's first key.
    await expect(column(commits, 1)).resolves.toEqual(['admin', 'console-admin']);

    // The failing expectation, its unexpected count and sample values, behind the outcome.
    const failed = commits.locator('details.validation').first();
    // By keyboard: the outcome's summary takes the focus and opens with Enter.
    await failed.locator('summary').focus();
    await page.keyboard.press('Enter');
    await expect(failed.getAttribute('open')).resolves.toBe('');
    const failure = await failed.locator('ul.failures li').innerText();
    expect(failure).toContain('expect_column_values_to_be_between on tenure');
    expect(failure).toContain('min_value 0, max_value 100');
    expect(failure).toContain('1 unexpected value');
    await expect(failed.locator('code.sample').allInnerTexts()).resolves.toEqual(['500']);

    const suite = page.getByRole('table', { name: 'Expectations of suite customer_checks, in evaluation order' });
    await suite.waitFor();
    await expect(suite.locator('tbody tr').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/^1\s+expect_column_values_to_not_be_null\s+customerid/),
      expect.stringMatching(/^2\s+expect_column_values_to_be_between\s+tenure\s+min_value 0, max_value 100/),
    ]);
    await expect(page.getByText('ALWAYS').first().isVisible()).resolves.toBe(true);
    await h.screenshot(page, 'group-activity');
    await expectAccessible(page);
    expect(problems).toEqual([]);
  });

  it('Activity pages through the commits with after', async () => {
    const { page, problems } = await h.newPage();
    await openTab(page, 'paging_demo', 'activity', 1, 'Commits');
    const commits = page.getByRole('table', { name: 'Commits of paging_demo version 1, newest first' });
    await commits.locator('tbody tr').nth(24).waitFor();
    await expect(commits.locator('tbody tr').count()).resolves.toBe(25);
    await page.getByRole('button', { name: 'Show older commits' }).click();
    await expect.poll(() => commits.locator('tbody tr').count()).toBe(PAGING_COMMITS);
    await expect(page.getByRole('button', { name: 'Show older commits' }).count()).resolves.toBe(0);
    const times = await commits.locator('tbody time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime') ?? ''));
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set(times).size).toBe(PAGING_COMMITS);
    await expect(page.getByText('No expectation suite: inserts are not validated.').isVisible()).resolves.toBe(true);
    expect(problems).toEqual([]);
  });

  it('a READ key sees the three tabs with no enabled control that changes anything', async () => {
    const { page, problems } = await h.newPage(h.readKey);
    for (const [tab, heading] of [
      ['overview', 'Features'],
      ['data', 'Preview'],
      ['activity', 'Commits'],
    ] as const) {
      await openTab(page, 'customer_info', tab, 1, heading);
      await page.locator('table.list tbody tr').first().waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      const buttons = await page.locator('main button:not([disabled])').allInnerTexts();
      // Only reading: downloads, lookups and paging.
      for (const b of buttons) expect(b, tab).toMatch(/^(Download (CSV|Parquet)|Look up online|Show older commits|List older commits)$/);
      await expectAccessible(page);
    }
    expect(problems).toEqual([]);
  });
});
