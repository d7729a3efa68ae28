import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GranaryClient } from 'granary/client';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The model registry pages, in Chromium, on the churn quickstart's data (churnmodel version 1, as
// the training pipeline registers it) plus, registered here through the API: churnmodel version 2
// (other metrics, among them a lower-is-better log_loss, and files of its own) and a second model,
// churn_baseline, so the list has versions of two models to sort and rank.

const MODEL = graphql(`
  query ModelsPageModel($name: String!, $version: Int, $alias: String) {
    model(name: $name, version: $version, alias: $alias) {
      name
      version
      metrics
      inputExample
      modelSchema
      aliases
      files { path size sha256 downloadUrl }
      featureView { name version }
      trainingDataset { version }
    }
  }
`);

const SET_ALIAS = graphql(`
  mutation ModelsPageSetAlias($name: String!, $alias: String!, $version: Int!) {
    setModelAlias(name: $name, alias: $alias, version: $version) { __typename ... on Error { message } }
  }
`);

const V2_FILES = [
  { path: 'model.json', file: JSON.stringify({ kind: 'logistic_regression', weights: [0.25, -1.5, 3], threshold: 0.5 }) },
  { path: 'docs/README.md', file: '# churnmodel version 2\n\nRetrained with more steps.\n' },
];

let h: ConsoleHarness;
/** churnmodel version 1's metrics, as the quickstart registered them. */
let v1Metrics: Record<string, number>;

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
  const v1 = dataOf(await h.srv.gql(MODEL, { name: 'churnmodel', version: 1 })).model!;
  v1Metrics = v1.metrics as Record<string, number>;
  expect(v1.featureView).not.toBeNull();
  expect(v1.trainingDataset).not.toBeNull();
  const client = new GranaryClient({ url: h.url, apiKey: h.adminKey });
  try {
    // Better accuracy than version 1, worse F1, and a log_loss (lower is better) version 1 lacks.
    // The schema is left out: the API derives it from the training dataset.
    const v2 = await client.createModel(
      {
        name: 'churnmodel',
        framework: 'OTHER',
        description: 'Churn classifier, retrained',
        metrics: { ...v1Metrics, accuracy: 0.999, f1: v1Metrics.f1! - 0.05, log_loss: 0.41 },
        inputExample: v1.inputExample,
        featureView: { name: v1.featureView!.name, version: v1.featureView!.version },
        trainingDatasetVersion: v1.trainingDataset!.version,
      },
      V2_FILES.map((f) => ({ path: f.path, file: new TextEncoder().encode(f.file) })),
    );
    expect(v2.version).toBe(2);
    // A model without schema or files: the lowest accuracy of all, and the highest (worst) log_loss.
    await client.createModel({ name: 'churn_baseline', framework: 'SKLEARN', description: 'Majority class', metrics: { accuracy: 0.01, log_loss: 0.69 } });
  } finally {
    await client.close();
  }
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** The texts of the cells of a table's body rows, whitespace squeezed. */
async function rows(table: Locator): Promise<string[][]> {
  return table
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => (cell as HTMLElement).innerText.replace(/\s+/g, ' ').trim())));
}

/** The text of a JSON value as the page shows it: strings as they are, the rest as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function openModel(page: Page, path: string): Promise<void> {
  await page.goto(`${h.url}${path}`);
  await page.getByRole('heading', { level: 2, name: 'Files' }).waitFor();
}

async function expectAccessible(page: Page): Promise<void> {
  expect(await h.axe(page)).toEqual([]);
}

describe.skipIf(!runBrowser)('the model registry pages', { timeout: 90_000 }, () => {
  it('a model page shows the latest version’s metrics, schema and files as the API has them; a downloaded file matches its SHA-256', async () => {
    const { page, problems } = await h.newPage();
    await openModel(page, '/models/churnmodel');
    const api = dataOf(await h.srv.gql(MODEL, { name: 'churnmodel' })).model!;
    expect(api.version).toBe(2);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('churnmodel version 2');

    // Metrics: every one, in the API's order, with its value in full.
    const metrics = page.getByRole('table', { name: 'Metrics of churnmodel version 2' });
    const metricRows = (await rows(metrics)).map(([name, value]) => [name!.replace(/ lower is better$/, ''), value]);
    expect(metricRows).toEqual(Object.entries(api.metrics as Record<string, number>).map(([k, v]) => [k, String(v)]));
    await expect(metrics.locator('tbody tr', { hasText: 'log_loss' }).innerText()).resolves.toContain('lower is better');

    // Schema: the derived input and output columns, name and type as the schema holds them.
    const schema = api.modelSchema as {
      inputSchema: { columnarSchema: { name: string; type: string }[] };
      outputSchema: { columnarSchema: { name: string; type: string }[] };
    };
    expect(schema.inputSchema.columnarSchema.length).toBeGreaterThan(3);
    for (const side of ['input', 'output'] as const) {
      const table = page.getByRole('table', { name: `${side === 'input' ? 'Input' : 'Output'} schema of churnmodel version 2` });
      await expect(table.locator('thead th').allInnerTexts()).resolves.toEqual(['name', 'type']);
      expect(await rows(table)).toEqual(schema[`${side}Schema`].columnarSchema.map((c) => [c.name, c.type]));
    }

    // The input example, column by column.
    const example = page.getByRole('table', { name: 'Input example of churnmodel version 2' });
    expect(await rows(example)).toEqual(Object.entries(api.inputExample as Record<string, unknown>).map(([k, v]) => [k, shown(v)]));

    // Files: path, a human size (the exact bytes in its title), SHA-256, a download button each.
    const files = page.getByRole('table', { name: 'Files of churnmodel_2' });
    const fileRows = await rows(files);
    expect(fileRows.map(([path, , sha]) => [path, sha])).toEqual(api.files.map((f) => [f.path, f.sha256]));
    expect(fileRows.map(([, size]) => size)).toEqual(api.files.map((f) => `${f.size} B`));
    await expect(files.locator('tbody td.num').first().getAttribute('title')).resolves.toBe(`${api.files[0]!.size} bytes`);

    // Links to the feature view and to the training dataset the model was trained on.
    const view = api.featureView!;
    await expect(page.getByRole('link', { name: `${view.name} version ${view.version}`, exact: true }).getAttribute('href')).resolves.toBe(
      `/feature-views/${view.name}/overview?version=${view.version}`,
    );
    await expect(page.getByRole('link', { name: /^training dataset version/ }).getAttribute('href')).resolves.toBe(
      `/feature-views/${view.name}/training-data?version=${view.version}&td=${api.trainingDataset!.version}`,
    );
    await h.screenshot(page, 'model-page');
    await expectAccessible(page);

    // Version 1 (the quickstart's): download its binary image and hash what was saved.
    await openModel(page, '/models/churnmodel?version=1');
    const v1Files = page.getByRole('table', { name: 'Files of churnmodel_1' });
    const png = v1Files.locator('tbody tr', { hasText: 'images/confusion_matrix.png' });
    const shownSha = await png.locator('code.sha').innerText();
    const [download] = await Promise.all([page.waitForEvent('download'), png.getByRole('button', { name: 'Download images/confusion_matrix.png' }).click()]);
    expect(download.suggestedFilename()).toBe('confusion_matrix.png');
    const saved = readFileSync((await download.path())!);
    expect(saved.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(createHash('sha256').update(saved).digest('hex')).toBe(shownSha);
    await expect(page.getByText(/^Saved confusion_matrix\.png/).isVisible()).resolves.toBe(true);

    // The archive of all the files, as a tar.
    const [archive] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download all files (tar)' }).click()]);
    expect(archive.suggestedFilename()).toBe('churnmodel_1.tar');
    const tar = readFileSync((await archive.path())!);
    // A tar entry's name is the first 100 bytes of its 512-byte header.
    expect(tar.subarray(0, 100).toString('utf8').replace(/\0+$/, '')).toMatch(/^(model\.json|images\/confusion_matrix\.png)$/);
    expect(problems).toEqual([]);
  });

  it('compares the metrics of two versions picked side by side, and asks the API for the best version by a metric', async () => {
    const { page, problems } = await h.newPage();
    await openModel(page, '/models/churnmodel?version=2');
    const versions = page.getByRole('table', { name: 'Versions of churnmodel' });
    await expect(versions.locator('tbody th').allInnerTexts()).resolves.toEqual(['2 (this one)', 'version 1']);

    // Version 1 against this one (2) first.
    const from = page.getByLabel('Compare version');
    const to = page.getByLabel('with version');
    await expect(from.inputValue()).resolves.toBe('1');
    await expect(to.inputValue()).resolves.toBe('2');
    const compare = page.getByRole('table', { name: 'Metrics of churnmodel version 1 and version 2' });
    const byMetric = new Map((await rows(compare)).map(([name, ...cells]) => [name!.replace(/ lower is better$/, ''), cells]));
    expect([...byMetric.keys()]).toEqual([...new Set([...Object.keys(v1Metrics), 'log_loss'])].sort());
    const accuracy = byMetric.get('accuracy')!;
    expect(accuracy[1]).toBe('0.999 ★ best');
    expect(accuracy[0]).toBe(String(Number(v1Metrics.accuracy!.toPrecision(4))));
    expect(accuracy[2]).toMatch(/^\+/);
    // F1 went down: version 1 holds the better value.
    expect(byMetric.get('f1')![0]).toMatch(/★ best$/);
    expect(byMetric.get('f1')![2]).toBe('-0.05');
    expect(byMetric.get('log_loss')).toEqual(['—', '0.41', '—']);

    // Turned round, and the same version on both sides.
    await from.selectOption('2');
    await to.selectOption('1');
    await page.getByRole('table', { name: 'Metrics of churnmodel version 2 and version 1' }).waitFor();
    await to.selectOption('2');
    await expect(page.getByText('Pick two different versions to compare their metrics.').isVisible()).resolves.toBe(true);

    // Best version by a metric, from bestModel: lowest for log_loss, highest for f1.
    const best = page.getByLabel('Best version by');
    await best.selectOption('f1');
    await expect.poll(() => page.locator('output').innerText()).toMatch(/^version 1, f1 /);
    await best.selectOption('log_loss');
    await expect.poll(() => page.locator('output').innerText()).toBe('version 2 (this one), log_loss 0.41');
    await h.screenshot(page, 'model-compare');
    await expectAccessible(page);
    expect(problems).toEqual([]);
  });

  it('the list ranks versions by the metric clicked (keyboard too) and marks the best value of each, lower-is-better for a loss', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/models`);
    const table = page.getByRole('table', { name: /^Model versions/ });
    await table.locator('tbody tr').nth(2).waitFor();
    const order = async () =>
      await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('th a')?.textContent} ${tr.children[1]?.textContent}`));
    // By name first, the newest version of a name first.
    await expect(order()).resolves.toEqual(['churn_baseline 1', 'churnmodel 2', 'churnmodel 1']);
    const header = (name: string) => table.locator('thead th', { has: page.getByRole('button', { name, exact: true }) });
    await expect(header('Name').getAttribute('aria-sort')).resolves.toBe('ascending');

    // The metric columns: the union of every version's metrics.
    const headers = (await table.locator('thead th button').allInnerTexts()).map((t) => t.replace(/[▲▼↕]/g, '').trim());
    expect(headers).toEqual(['Name', 'Version', 'Framework', ...[...new Set([...Object.keys(v1Metrics), 'log_loss'])].sort()]);

    // The best value of each metric: the highest accuracy, but the lowest log_loss.
    const best = await table.locator('td.best').evaluateAll((tds) =>
      tds.map((td) => {
        const row = td.parentElement!;
        const column = [...row.children].indexOf(td);
        const head = td.closest('table')!.querySelectorAll('thead th')[column]!.querySelector('button')!.textContent!.replace(/[▲▼↕]/g, '');
        return `${head}: ${row.querySelector('th a')?.textContent} ${row.children[1]?.textContent}`;
      }),
    );
    expect(best).toContain('accuracy: churnmodel 2');
    expect(best).toContain('log_loss: churnmodel 2');
    expect(best).toContain('f1: churnmodel 1');
    expect(best.filter((b) => b.startsWith('accuracy:'))).toHaveLength(1);
    await expect(page.getByText(/the best value of each metric among the versions shown/).innerText()).resolves.toContain('here log_loss');
    await expect(header('log_loss').innerText()).resolves.toContain('lower is better');

    // Clicking accuracy ranks best first (highest), clicking again turns it round.
    await header('accuracy').getByRole('button').click();
    await expect(header('accuracy').getAttribute('aria-sort')).resolves.toBe('descending');
    await expect(header('Name').getAttribute('aria-sort')).resolves.toBeNull();
    await expect(order()).resolves.toEqual(['churnmodel 2', 'churnmodel 1', 'churn_baseline 1']);
    await header('accuracy').getByRole('button').click();
    await expect(header('accuracy').getAttribute('aria-sort')).resolves.toBe('ascending');
    await expect(order()).resolves.toEqual(['churn_baseline 1', 'churnmodel 1', 'churnmodel 2']);

    // By keyboard: log_loss sorts lowest (best) first; versions without it go last.
    await header('log_loss').getByRole('button').focus();
    await page.keyboard.press('Enter');
    await expect(header('log_loss').getAttribute('aria-sort')).resolves.toBe('ascending');
    await expect(order()).resolves.toEqual(['churnmodel 2', 'churn_baseline 1', 'churnmodel 1']);
    await page.keyboard.press('Space');
    await expect(header('log_loss').getAttribute('aria-sort')).resolves.toBe('descending');
    await expect(order()).resolves.toEqual(['churn_baseline 1', 'churnmodel 2', 'churnmodel 1']);

    // Each row links to its version's page.
    await expect(table.getByRole('link', { name: 'churn_baseline' }).getAttribute('href')).resolves.toBe('/models/churn_baseline?version=1');
    await h.screenshot(page, 'models-list');
    await expectAccessible(page);
    expect(problems).toEqual([]);
  });

  it('sets, moves and removes an alias from the page, the API seeing each; a refused alias shows the API’s error', async () => {
    const { page, problems } = await h.newPage();
    await openModel(page, '/models/churnmodel?version=1');
    const form = page.getByRole('form', { name: 'Set an alias of churnmodel' });
    const aliasInput = form.getByLabel('Alias');
    const target = form.getByLabel('points at version');
    await expect(target.inputValue()).resolves.toBe('1');

    // A name the API refuses: its ValidationError, where it happened; nothing set.
    await aliasInput.fill('Not An Alias');
    await form.getByRole('button', { name: 'Set alias' }).click();
    await expect
      .poll(() =>
        page
          .getByRole('alert')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^The alias was not set: /);
    expect(dataOf(await h.srv.gql(MODEL, { name: 'churnmodel', version: 1 })).model!.aliases).toEqual([]);

    // champion → version 1: a badge on the page, and the API resolves it.
    await aliasInput.fill('champion');
    await form.getByRole('button', { name: 'Set alias' }).click();
    await expect.poll(() => page.locator('[aria-live="polite"].status').allInnerTexts()).toContain('Alias champion now points at version 1.');
    await expect(page.getByRole('alert').count()).resolves.toBe(0);
    const aliases = page.getByRole('table', { name: 'Aliases of churnmodel' });
    await expect.poll(async () => rows(aliases)).toEqual([['champion', '1 (this one)', 'Remove alias champion']]);
    await expect.poll(() => page.locator('h1 + p .badge.alias').allInnerTexts()).toEqual(['champion']);
    expect(dataOf(await h.srv.gql(MODEL, { name: 'churnmodel', alias: 'champion' })).model!.version).toBe(1);

    // The list shows it as a badge on version 1's row.
    await page.goto(`${h.url}/models`);
    const row = page
      .locator('tbody tr', { has: page.getByRole('link', { name: 'churnmodel' }) })
      .filter({ has: page.locator('td:nth-child(2)', { hasText: /^1$/ }) });
    await expect.poll(() => row.locator('.badge.alias').allInnerTexts()).toEqual(['champion']);

    // Moved to version 2 from version 1's page.
    await openModel(page, '/models/churnmodel?version=1');
    await aliasInput.fill('champion');
    await target.selectOption('2');
    await form.getByRole('button', { name: 'Set alias' }).click();
    await expect
      .poll(() => page.locator('[aria-live="polite"].status').allInnerTexts())
      .toContain('Alias champion now points at version 2 (moved from version 1).');
    await expect.poll(async () => rows(aliases)).toEqual([['champion', 'version 2', 'Remove alias champion']]);
    expect(dataOf(await h.srv.gql(MODEL, { name: 'churnmodel', alias: 'champion' })).model!.version).toBe(2);
    await h.screenshot(page, 'model-aliases');
    await expectAccessible(page);

    // Removed.
    await aliases.getByRole('button', { name: 'Remove alias champion' }).click();
    await expect.poll(() => page.getByText('No alias points at a version of churnmodel.').isVisible()).toBe(true);
    expect(dataOf(await h.srv.gql(MODEL, { name: 'churnmodel', alias: 'champion' })).model).toBeNull();
    expect(problems).toEqual([]);
  });

  it('a READ key sees every control that would change something disabled, with the reason', async () => {
    const set = dataOf(await h.srv.gql(SET_ALIAS, { name: 'churn_baseline', alias: 'staging', version: 1 })).setModelAlias;
    expect(set.__typename).toBe('SetModelAliasPayload');
    const { page, problems } = await h.newPage(h.readKey);
    await openModel(page, '/models/churn_baseline');
    await page.getByRole('table', { name: 'Aliases of churn_baseline' }).waitFor();
    // What stays enabled only reads: downloads and the pickers of the best version and comparisons.
    const main = page.locator('main');
    const buttons = await main.locator('button:enabled').allInnerTexts();
    expect(buttons.filter((text) => !text.startsWith('Download'))).toEqual([]);
    await expect(main.locator('input:enabled').count()).resolves.toBe(0);
    await expect(main.locator('select:enabled').count()).resolves.toBe(1);
    await expect(page.getByLabel('Best version by').isEnabled()).resolves.toBe(true);
    for (const control of [
      page.getByRole('button', { name: 'Set alias' }),
      page.getByRole('button', { name: 'Remove alias staging' }),
      page.getByLabel('Alias', { exact: true }),
      page.getByLabel('points at version'),
    ]) {
      await expect(control.isDisabled()).resolves.toBe(true);
      await expect(control.getAttribute('title')).resolves.toBe('This key can only read: sign in with a WRITE key to change things.');
    }
    await expect(page.getByText('This key can only read: sign in with a WRITE key to change things.').isVisible()).resolves.toBe(true);
    await h.screenshot(page, 'model-read-only');
    await expectAccessible(page);
    expect(problems).toEqual([]);
  });
});
