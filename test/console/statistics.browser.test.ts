import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, type ResultOf } from '../../src/client/graphql.ts';
import { dataOf } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The statistics tab of a feature group page, on the churn quickstart's data: one chart per
// feature, the correlation heat map as the API computed it, the commit picker, and statistics
// computed while the tab is open arriving without a reload.

const GROUP = 'customer_info';
const DRAWN = 'granary:statistics-drawn';

const STATISTICS = graphql(`
  query StatisticsTabApi($name: String!, $commit: ID) {
    featureGroup(name: $name) {
      rowCount
      statisticsConfig { correlations }
      commits(first: 100) { id }
      statistics(commit: $commit) {
        id
        commit
        rowCount
        features { name type count mean histogram { value other } }
        correlations { features matrix { feature values } }
      }
    }
  }
`);

const ENABLE_CORRELATIONS = graphql(`
  mutation StatisticsTabCorrelations($name: String!) {
    updateFeatureGroup(featureGroup: { name: $name }, input: { statisticsConfig: { correlations: true } }) {
      __typename
      ... on Error { message }
    }
  }
`);

const INSERT = graphql(`
  mutation StatisticsTabInsert($name: String!, $rows: [JSON!]!) {
    insertFeatureGroupData(featureGroup: { name: $name }, rows: $rows) {
      __typename
      ... on InsertFeatureGroupDataPayload { commit { id } }
      ... on Error { message }
    }
  }
`);

const CREATE_GROUP = graphql(`
  mutation StatisticsTabCreateGroup($input: CreateFeatureGroupInput!) {
    createFeatureGroup(input: $input) {
      __typename
      ... on Error { message }
    }
  }
`);

type Statistics = NonNullable<NonNullable<ResultOf<typeof STATISTICS>['featureGroup']>['statistics']>;

let h: ConsoleHarness;
/** customer_info's commits with statistics, oldest first. */
const commits: string[] = [];
let inserted = 0;

/** customer_info-shaped rows of new customers, all with the same tenure (so the mean moves). */
function newCustomers(n: number, tenure: number) {
  return Array.from({ length: n }, () => {
    const i = inserted++;
    return {
      customerid: `stats-${i}`,
      contract: 'Two year',
      tenure,
      paymentmethod: 'Credit card (automatic)',
      paperlessbilling: 'No',
      monthlycharges: 100 + (i % 7),
      totalcharges: (100 + (i % 7)) * tenure,
      churn: i % 2,
      datetime: '2026-03-01T00:00:00.000Z',
    };
  });
}

/** Inserts rows through the API; the new commit's id. */
async function insert(name: string, rows: object[]): Promise<string> {
  const result = dataOf(await h.srv.gql(INSERT, { name, rows })).insertFeatureGroupData;
  if (result.__typename !== 'InsertFeatureGroupDataPayload') throw new Error(`insert failed: ${JSON.stringify(result)}`);
  return result.commit.id;
}

/** The API's statistics of a group (the latest, or a commit's). */
async function apiStatistics(name: string, commit?: string): Promise<Statistics | null> {
  return dataOf(await h.srv.gql(STATISTICS, { name, commit: commit ?? null })).featureGroup?.statistics ?? null;
}

/** Waits until the statistics job of a commit (run after each insert) has stored its statistics. */
async function statisticsOf(name: string, commit: string): Promise<Statistics> {
  // A loop rather than expect.poll: this also runs in beforeAll.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stats = await apiStatistics(name, commit);
    if (stats?.commit === commit) return stats;
    if (Date.now() > deadline) throw new Error(`no statistics of ${name} commit ${commit} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function openTab(name: string): Promise<{ page: Page; problems: string[] }> {
  const opened = await h.newPage();
  await opened.page.goto(`${h.url}/feature-groups/${name}/statistics`);
  return opened;
}

const marks = (page: Page) => page.evaluate((mark) => performance.getEntriesByName(mark).length, DRAWN);
const shownRows = async (page: Page) => Number(await page.locator('.stats-summary data').getAttribute('value'));

/** A feature card's descriptive statistics, exact (from the `<data>` elements), by label. */
function cardFacts(page: Page, feature: string): Promise<Record<string, number> | null> {
  return page.evaluate((name) => {
    const card = [...document.querySelectorAll('article')].find((a) => a.querySelector('h1, h2, h3, h4, h5, h6')?.textContent === name);
    if (!card) return null;
    const facts: Record<string, number> = {};
    for (const dt of card.querySelectorAll('dt')) {
      const data = dt.nextElementSibling?.querySelector('data');
      if (data) facts[dt.textContent ?? ''] = Number(data.value);
    }
    return facts;
  }, feature);
}

/** What a page shows of statistics: rows, and each feature's count and mean. */
async function shown(page: Page, features: readonly string[]) {
  const rows = await shownRows(page);
  const cards: Record<string, { count?: number; mean?: number }> = {};
  for (const f of features) {
    const facts = await cardFacts(page, f);
    cards[f] = { count: facts?.Count, mean: facts?.Mean };
  }
  return { rows, cards };
}

/** The same, from the API. */
function expected(stats: Statistics) {
  const cards: Record<string, { count?: number; mean?: number }> = {};
  for (const f of stats.features) cards[f.name] = { count: f.count, mean: f.mean ?? undefined };
  return { rows: stats.rowCount, cards };
}

describe.skipIf(!runBrowser)('the statistics tab', () => {
  beforeAll(async () => {
    h = await startConsoleHarness({ quickstart: true });
    // The quickstart made one commit; its statistics job runs after it.
    const first = dataOf(await h.srv.gql(STATISTICS, { name: GROUP })).featureGroup!.commits;
    expect(first).toHaveLength(1);
    commits.push(first[0]!.id);
    await statisticsOf(GROUP, commits[0]!);
    // A second commit, whose statistics include the correlation matrix.
    expect(dataOf(await h.srv.gql(ENABLE_CORRELATIONS, { name: GROUP })).updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
    commits.push(await insert(GROUP, newCustomers(40, 70)));
    await statisticsOf(GROUP, commits[1]!);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('draws a chart per feature and the API’s correlation matrix, accessibly', async () => {
    const stats = (await apiStatistics(GROUP))!;
    expect(stats.commit).toBe(commits[1]);
    expect(stats.correlations?.features.length).toBeGreaterThan(1);

    const { page, problems } = await openTab(GROUP);
    await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, DRAWN, { timeout: 20_000 });
    expect(await page.getByLabel('Commit').inputValue()).toBe(stats.commit);
    expect(await shownRows(page)).toBe(stats.rowCount);

    // One card per feature, each with one chart: top values for strings, a histogram for numbers and timestamps.
    expect(await page.locator('article').count()).toBe(stats.features.length);
    for (const f of stats.features) {
      const card = page.getByRole('article', { name: f.name, exact: true });
      const topValues = f.histogram!.some((b) => b.value !== null || b.other);
      const label = `${topValues ? 'Top values' : 'Histogram'} of ${f.name}`;
      expect(await card.locator('figure').count(), f.name).toBe(1);
      const figure = card.locator(`figure[aria-label="${label}"]`);
      expect(await figure.locator('svg rect').count(), label).toBeGreaterThan(0);
      expect(await figure.locator('figcaption').count(), label).toBe(1);
      expect(await cardFacts(page, f.name), f.name).toMatchObject({ Count: f.count, ...(f.mean === null ? {} : { Mean: f.mean }) });
    }
    expect(await page.locator('figure[aria-label^="Histogram of "], figure[aria-label^="Top values of "]').count()).toBe(stats.features.length);

    // The heat map's cells are the API's matrix, row by row.
    const cells = await page
      .locator('figure[aria-label="Correlation matrix"] rect[data-value]')
      .evaluateAll((rects) => rects.map((r) => ({ x: r.getAttribute('data-x'), y: r.getAttribute('data-y'), value: r.getAttribute('data-value') })));
    const { features, matrix } = stats.correlations!;
    expect(cells).toEqual(matrix.flatMap((row) => features.map((x, j) => ({ x, y: row.feature, value: row.values[j] == null ? '' : String(row.values[j]) }))));
    const titles = await page.locator('figure[aria-label="Correlation matrix"] rect[data-value] title').count();
    expect(titles).toBe(cells.length);
    // …and a table of it for screen readers.
    expect(
      await page
        .getByRole('table', { name: /Correlation matrix/ })
        .locator('tbody tr')
        .count(),
    ).toBe(features.length);

    await h.screenshot(page, 'statistics-tab');
    expect(await h.axe(page)).toEqual([]);
    expect(await marks(page)).toBe(1);
    expect(problems).toEqual([]);
  });

  it('shows the statistics of the commit picked, and says newer ones exist', async () => {
    const [older, latest] = [await apiStatistics(GROUP, commits[0]), await apiStatistics(GROUP)];
    const names = latest!.features.map((f) => f.name);
    expect(expected(older!)).not.toEqual(expected(latest!));

    const { page, problems } = await openTab(GROUP);
    await expect.poll(() => marks(page), { timeout: 20_000 }).toBe(1);
    expect(await shown(page, names)).toEqual(expected(latest!));

    // The picker lists both commits, newest first; the keyboard changes it (down: the next older commit).
    const picker = page.getByLabel('Commit');
    expect(await picker.locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual([commits[1], commits[0]]);
    await picker.focus();
    await page.keyboard.press('ArrowDown');
    expect(await picker.inputValue()).toBe(commits[0]);
    await expect.poll(() => shown(page, names), { timeout: 10_000 }).toEqual(expected(older!));
    await expect.poll(() => marks(page)).toBe(2);
    // Statistics computed before correlations were turned on have none.
    expect(await page.locator('figure[aria-label="Correlation matrix"]').count()).toBe(0);
    await expect.poll(() => page.getByRole('status').innerText()).toContain('Newer statistics exist');

    await page.getByRole('button', { name: 'Show the latest' }).click();
    await expect.poll(() => shown(page, names), { timeout: 10_000 }).toEqual(expected(latest!));
    expect(await picker.inputValue()).toBe(commits[1]);
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('updates without a reload when an insert made through the API is committed', async () => {
    const { page, problems } = await openTab(GROUP);
    await expect.poll(() => marks(page), { timeout: 20_000 }).toBe(1);
    const names = (await apiStatistics(GROUP))!.features.map((f) => f.name);
    // Gone if the page were loaded again.
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    // Following the latest: the new commit's statistics replace those shown.
    commits.push(await insert(GROUP, newCustomers(25, 5)));
    const third = await statisticsOf(GROUP, commits[2]!);
    await expect.poll(() => shown(page, names), { timeout: 15_000 }).toEqual(expected(third));
    expect(await page.getByLabel('Commit').inputValue()).toBe(commits[2]);

    // An older commit picked: it stays shown, and the tab says newer statistics arrived.
    await page.getByLabel('Commit').selectOption(commits[0]!);
    const older = expected((await apiStatistics(GROUP, commits[0]))!);
    await expect.poll(() => shown(page, names), { timeout: 10_000 }).toEqual(older);
    commits.push(await insert(GROUP, newCustomers(10, 1)));
    const fourth = await statisticsOf(GROUP, commits[3]!);
    await expect.poll(() => page.getByRole('status').innerText(), { timeout: 15_000 }).toContain('New statistics arrived');
    expect(await shown(page, names)).toEqual(older);
    expect(await page.getByLabel('Commit').locator('option').count()).toBe(4);

    await page.getByRole('button', { name: 'Show the latest' }).click();
    await expect.poll(() => shown(page, names), { timeout: 10_000 }).toEqual(expected(fourth));
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('says when a group has no statistics yet, then shows its first ones as they are computed', async () => {
    const name = 'statistics_later';
    const created = dataOf(
      await h.srv.gql(CREATE_GROUP, {
        input: {
          name,
          primaryKey: ['id'],
          features: [
            { name: 'id', type: 'STRING' },
            { name: 'score', type: 'DOUBLE' },
          ],
        },
      }),
    );
    expect(created.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');

    // Reached from the group's page through its tab (the charts then load when the tab is shown).
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/feature-groups/${name}`);
    await page.getByRole('link', { name: 'Statistics', exact: true }).click();
    await page.getByText('No statistics yet').waitFor({ timeout: 10_000 });
    expect(await page.getByRole('heading', { name: 'Statistics', exact: true }).count()).toBe(1);
    expect(await page.locator('.statistics').innerText()).toContain('computed after each commit');
    expect(await h.axe(page)).toEqual([]);

    const commit = await insert(
      name,
      Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, score: i / 3 })),
    );
    const stats = await statisticsOf(name, commit);
    await expect.poll(() => shown(page, ['id', 'score']), { timeout: 15_000 }).toEqual(expected(stats));
    await expect.poll(() => marks(page)).toBe(1);
    expect(await page.locator('figure[aria-label="Histogram of score"]').count()).toBe(1);
    expect(await page.locator('figure[aria-label="Top values of id"]').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
