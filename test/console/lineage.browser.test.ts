import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf, ofType } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The lineage page (/lineage), in Chromium, on the churn quickstart's data plus a feature view of
// customer_info made and deleted for the test: the graph against the API's own `lineage`, links
// from its nodes by mouse and keyboard, direction and depth in the URL, deleted objects.

const LINEAGE = graphql(`
  query LineagePageLineage($kind: LineageKind!, $name: String!, $direction: LineageDirection, $depth: Int) {
    lineage(kind: $kind, name: $name, direction: $direction, depth: $depth) {
      root { id }
      nodes { id kind name version deleted deletedAt }
      edges { from to }
    }
  }
`);

const CREATE_VIEW = graphql(`
  mutation LineagePageCreateView($input: CreateFeatureViewInput!) {
    createFeatureView(input: $input) {
      __typename
      ... on CreateFeatureViewPayload { featureView { name version } }
      ... on Error { message }
    }
  }
`);

const DELETE_VIEW = graphql(`
  mutation LineagePageDeleteView($view: FeatureViewRef!) {
    deleteFeatureView(featureView: $view) { __typename ... on Error { message } }
  }
`);

type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';
type Kind = 'FEATURE_GROUP' | 'FEATURE_VIEW' | 'TRAINING_DATASET' | 'MODEL';

const KIND_LABEL: Record<string, string> = {
  FEATURE_GROUP: 'feature group',
  FEATURE_VIEW: 'feature view',
  TRAINING_DATASET: 'training dataset',
  MODEL: 'model',
  JOB: 'job',
  DATA_SOURCE: 'data source',
};

/** A feature view of customer_info made for the test and deleted, so its group's lineage holds a deleted object. */
const PROBE_VIEW = 'lineage_probe_view';

let h: ConsoleHarness;

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
  const input = { name: PROBE_VIEW, query: { featureGroup: { name: 'customer_info', version: 1 }, features: ['customerid', 'tenure'] } };
  ofType(dataOf(await h.srv.gql(CREATE_VIEW, { input })).createFeatureView, 'CreateFeatureViewPayload');
  ofType(dataOf(await h.srv.gql(DELETE_VIEW, { view: { name: PROBE_VIEW, version: 1 } })).deleteFeatureView, 'DeleteFeatureViewPayload');
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** The API's lineage, as the rows the page's objects table shows: `kind|name|version|state` (deletion times checked apart). */
async function apiLineage(kind: Kind, name: string, direction?: Direction, depth?: number) {
  const { lineage } = dataOf(await h.srv.gql(LINEAGE, { kind, name, direction, depth }));
  return lineage;
}

function rowsOf(nodes: readonly { kind: string; name: string; version: number; deleted: boolean }[]): string[] {
  return nodes
    .map((n) => `${KIND_LABEL[n.kind]}|${n.name}|${n.kind === 'JOB' || n.kind === 'DATA_SOURCE' ? '—' : n.version}|${n.deleted ? 'deleted' : 'current'}`)
    .sort();
}

/** The rows of the page's objects table, in the same form (deletion times cut off). */
async function pageRows(page: Page): Promise<string[]> {
  const table = page.getByRole('table', { name: /^Objects in the lineage of/ });
  await table.waitFor();
  const rows = await table.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const cells = [...tr.children].map((c) => (c as HTMLElement).innerText.trim());
      return [cells[0], cells[1]?.replace(/\s*root$/, ''), cells[2], cells[3]?.startsWith('deleted') ? 'deleted' : cells[3]].join('|');
    }),
  );
  return rows.sort();
}

/** The graph's drawn boxes: one per object. */
function boxes(page: Page) {
  return page.locator('.react-flow__node .lineage-object');
}

/** Waits until the page shows the lineage the API gives for the same request, then returns its rows. */
async function expectSameAsApi(page: Page, kind: Kind, name: string, direction: Direction, depth: number): Promise<string[]> {
  const expected = rowsOf((await apiLineage(kind, name, direction, depth)).nodes);
  await expect.poll(() => pageRows(page), { timeout: 15_000 }).toEqual(expected);
  await expect.poll(() => boxes(page).count()).toBe(expected.length);
  return expected;
}

function searchOf(page: Page): Record<string, string> {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

// Each test drives several pages and API round trips: more than the suite's 30 s on a busy machine.
describe.skipIf(!runBrowser)('the lineage page', { timeout: 90_000 }, () => {
  it("draws the churn model's lineage in layers, root highlighted, and opens the feature view's page from its node", async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/lineage?kind=MODEL&name=churnmodel`);

    const api = await apiLineage('MODEL', 'churnmodel');
    const named = api.nodes.map((n) => `${n.kind} ${n.name} ${n.version}`);
    for (const expected of [
      'FEATURE_GROUP customer_info 1',
      'FEATURE_GROUP customer_demography_info 1',
      'FEATURE_GROUP customer_subscription_info 1',
      'FEATURE_VIEW churn_feature_view 1',
      'TRAINING_DATASET churn_feature_view_1 1',
      'MODEL churnmodel 1',
    ]) {
      expect(named).toContain(expected);
    }
    // No direction or depth in the URL: the API's defaults (BOTH, 10).
    await expectSameAsApi(page, 'MODEL', 'churnmodel', 'BOTH', 10);
    await page.getByRole('heading', { level: 2, name: 'Lineage of model churnmodel version 1' }).waitFor();

    // The root is highlighted; each box shows its kind, name and version.
    const root = page.locator('.lineage-object.root');
    await expect(root.count()).resolves.toBe(1);
    await expect(root.innerText()).resolves.toMatch(/model\s+root\s+churnmodel\s+version 1/);

    // Upstream on the left: groups, then the view, then the training dataset, then the model.
    const graph = page.getByRole('figure', { name: 'Lineage graph of model churnmodel version 1' });
    const left = async (name: RegExp) => (await graph.getByRole('link', { name }).boundingBox())?.x ?? Number.NaN;
    const groupX = await left(/^feature group customer_info version 1/);
    const viewX = await left(/^feature view churn_feature_view version 1/);
    const datasetX = await left(/^training dataset churn_feature_view_1 version 1/);
    const modelX = await left(/^model root churnmodel version 1/);
    expect(groupX).toBeLessThan(viewX);
    expect(viewX).toBeLessThan(datasetX);
    expect(datasetX).toBeLessThan(modelX);

    // The links as text: each of the API's edges once.
    const byId = new Map(api.nodes.map((n) => [n.id, n]));
    const label = (id: string) => {
      const n = byId.get(id)!;
      return `${n.name} version ${n.version} (${KIND_LABEL[n.kind]})`;
    };
    const links = await page.locator('ul.lineage-links li').allInnerTexts();
    expect(links.sort()).toEqual(api.edges.map((e) => `${label(e.from)} → ${label(e.to)}`).sort());
    expect(links).toContain('churn_feature_view version 1 (feature view) → churn_feature_view_1 version 1 (training dataset)');
    // React Flow drew an edge for each link.
    await expect(page.locator('.react-flow__edge').count()).resolves.toBe(api.edges.length);

    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'lineage-churnmodel');

    await graph.getByRole('link', { name: /^feature view churn_feature_view version 1/ }).click();
    await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search).toBe('/feature-views/churn_feature_view/overview?version=1');
    await page.getByRole('heading', { level: 1, name: /churn_feature_view/ }).waitFor();
    expect(problems).toEqual([]);
  });

  it('picks an object with the form; direction and depth go into the URL and change the graph; a reload shows the same graph', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/lineage`);
    const form = page.getByRole('form', { name: 'Object to start from' });
    await form.getByLabel('Kind').selectOption('MODEL');
    await form.getByLabel('Name').fill('churnmodel');
    await form.getByRole('button', { name: 'Show lineage' }).click();
    await expect.poll(() => searchOf(page)).toEqual({ kind: 'MODEL', name: 'churnmodel', direction: 'BOTH', depth: '10' });
    const both = await expectSameAsApi(page, 'MODEL', 'churnmodel', 'BOTH', 10);

    // Nothing was made from the model: downstream shows the model alone.
    await page.getByRole('radio', { name: /^Downstream/ }).check();
    await expect.poll(() => searchOf(page).direction).toBe('DOWNSTREAM');
    const downstream = await expectSameAsApi(page, 'MODEL', 'churnmodel', 'DOWNSTREAM', 10);
    expect(downstream).toEqual(['model|churnmodel|1|current']);

    // Upstream one link away: the training dataset and the view the model names, not the groups.
    await page.getByRole('radio', { name: /^Upstream/ }).check();
    await page.getByRole('spinbutton', { name: 'Depth' }).fill('1');
    await expect.poll(() => searchOf(page)).toEqual({ kind: 'MODEL', name: 'churnmodel', direction: 'UPSTREAM', depth: '1' });
    const shallow = await expectSameAsApi(page, 'MODEL', 'churnmodel', 'UPSTREAM', 1);
    expect(shallow.length).toBeLessThan(both.length);
    expect(shallow.some((r) => r.startsWith('feature group|'))).toBe(false);
    expect(shallow).toContain('training dataset|churn_feature_view_1|1|current');

    // Two links away the groups come back.
    await page.getByRole('spinbutton', { name: 'Depth' }).fill('2');
    await expect.poll(() => searchOf(page).depth).toBe('2');
    const deeper = await expectSameAsApi(page, 'MODEL', 'churnmodel', 'UPSTREAM', 2);
    expect(deeper).toContain('feature group|customer_info|1|current');

    // A reload (or a shared link) shows the same graph and controls.
    await page.reload();
    await expect.poll(() => pageRows(page)).toEqual(deeper);
    await expect(page.getByRole('radio', { name: /^Upstream/ }).isChecked()).resolves.toBe(true);
    await expect(page.getByRole('spinbutton', { name: 'Depth' }).inputValue()).resolves.toBe('2');

    // "Lineage from here", in the graph and in the table, starts again from another object, keeping direction and depth.
    const fromTable = await page.getByRole('link', { name: 'Show lineage from here (churn_feature_view version 1)' }).getAttribute('href');
    const fromGraph = page.getByRole('figure', { name: /^Lineage graph of/ }).getByRole('link', { name: 'lineage from here (churn_feature_view version 1)' });
    await expect(fromGraph.getAttribute('href')).resolves.toBe(fromTable);
    await fromGraph.click();
    await expect.poll(() => searchOf(page)).toEqual({ kind: 'FEATURE_VIEW', name: 'churn_feature_view', version: '1', direction: 'UPSTREAM', depth: '2' });
    await expectSameAsApi(page, 'FEATURE_VIEW', 'churn_feature_view', 'UPSTREAM', 2);

    // An object that does not exist: the API's message, where the graph would be.
    await page.goto(`${h.url}/lineage?kind=MODEL&name=no_such_model`);
    await expect(page.getByRole('alert').innerText()).resolves.toMatch(/no_such_model/);
    expect(problems).toEqual([]);
  });

  it('shows a deleted object greyed with its deletion time', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/lineage?kind=FEATURE_GROUP&name=customer_info&direction=DOWNSTREAM&depth=1`);
    const rows = await expectSameAsApi(page, 'FEATURE_GROUP', 'customer_info', 'DOWNSTREAM', 1);
    expect(rows).toContain(`feature view|${PROBE_VIEW}|1|deleted`);

    const probe = (await apiLineage('FEATURE_GROUP', 'customer_info', 'DOWNSTREAM', 1)).nodes.find((n) => n.name === PROBE_VIEW)!;
    expect(probe.deletedAt).not.toBeNull();
    // The time as the page formats it, in the browser's locale and zone.
    const when = await page.evaluate(
      (iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso)),
      probe.deletedAt as string,
    );
    const box = page.locator('.lineage-object.deleted', { hasText: PROBE_VIEW });
    await expect(box.innerText()).resolves.toContain(`deleted ${when}`);
    for (const line of [PROBE_VIEW, 'version 1', `deleted ${when}`]) {
      await expect(box.getByText(line, { exact: true }).isVisible()).resolves.toBe(true);
    }
    // Greyed and not a link (its page is gone); the living view beside it is a link.
    await expect(box.evaluate((el) => [el.tagName, getComputedStyle(el).backgroundColor, getComputedStyle(el).borderStyle])).resolves.toEqual([
      'DIV',
      'rgb(236, 239, 242)',
      'dashed',
    ]);
    await expect(page.locator('a.lineage-object', { hasText: /^feature view\s+churn_feature_view\s/ }).count()).resolves.toBe(1);
    const row = page.getByRole('table', { name: /^Objects in the lineage of/ }).locator('tbody tr', { hasText: PROBE_VIEW });
    await expect(row.innerText()).resolves.toContain(`deleted ${when}`);

    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'lineage-deleted');
    expect(problems).toEqual([]);
  });

  it('reaches a node with Tab and opens it with Enter', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/lineage?kind=MODEL&name=churnmodel&direction=UPSTREAM&depth=3`);
    await expectSameAsApi(page, 'MODEL', 'churnmodel', 'UPSTREAM', 3);

    let focused: { inNode: boolean; href: string | null; text: string } = { inNode: false, href: null, text: '' };
    for (let presses = 0; presses < 40 && !focused.inNode; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return { inNode: el?.closest('.react-flow__node') != null, href: el?.getAttribute('href') ?? null, text: el?.innerText ?? '' };
      });
    }
    expect(focused.inNode).toBe(true);
    // Nodes come in reading order: the first is a group of the leftmost layer.
    expect(focused.text).toMatch(/^feature group\s/);
    expect(focused.href).toMatch(/^\/feature-groups\/customer_[a-z_]+\/overview\?version=1$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search).toBe(focused.href);
    await page.getByRole('heading', { level: 1, name: /customer_/ }).waitFor();
    expect(problems).toEqual([]);
  });
});
