import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GranaryClient } from 'granary/client';
import { logisticRegressionOnnx } from '../../src/client/onnx-model.ts';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The deployment pages, in Chromium, on the churn quickstart's data plus, made here through the
// API: an ONNX logistic regression over the churn view's numeric served features (three versions
// with other weights), deployed as `console_churn` with 80/20 traffic over versions 1 and 2,
// version 3 as its shadow, and prediction logging on.

const DEPLOYMENT = 'console_churn';
const MODEL = 'console_onnx';
const READ_ONLY_REASON = 'This key can only read: sign in with a WRITE key to change things.';

const QUICKSTART_MODEL = graphql(`
  query DeploymentsPageQuickstartModel {
    model(name: "churnmodel") { featureView { name version } trainingDataset { version } }
    featureGroup(name: "customer_info") { read(first: 3) { records } }
  }
`);

const SERVED_FEATURES = graphql(`
  query DeploymentsPageFeatures($view: FeatureViewRef!, $entry: JSON!, $td: Int) {
    featureVector(featureView: $view, entry: $entry, trainingDatasetVersion: $td) { features }
  }
`);

const CREATE_DEPLOYMENT = graphql(`
  mutation DeploymentsPageCreate($input: CreateDeploymentInput!) {
    createDeployment(input: $input) { __typename ... on Error { message } }
  }
`);

const PREDICT = graphql(`
  query DeploymentsPagePredict($deployment: String!, $entries: [JSON!]!) {
    predict(deployment: $deployment, entries: $entries) {
      requestId
      predictions { prediction probabilities modelVersion missing }
    }
  }
`);

const STATE = graphql(`
  query DeploymentsPageState($name: String!) {
    deployment(name: $name) { state stats { requests p99Ms } }
  }
`);

let h: ConsoleHarness;
/** Serving keys of known customers of the quickstart. */
let customers: { customerid: string }[];
/** The deployment's first request (made through the API before any page opens). */
let firstRequest: string;

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
  const quickstart = dataOf(await h.srv.gql(QUICKSTART_MODEL));
  const view = quickstart.model!.featureView!;
  const td = quickstart.model!.trainingDataset!.version;
  customers = (quickstart.featureGroup!.read.records as { customerid: string }[]).map((r) => ({ customerid: r.customerid }));
  // A model served through a matrix input takes no text column: the view's customerid is left out.
  const features = dataOf(await h.srv.gql(SERVED_FEATURES, { view, entry: customers[0]!, td })).featureVector.features;
  const columns = features.filter((f) => f !== 'customerid');
  const client = new GranaryClient({ url: h.url, apiKey: h.adminKey });
  try {
    for (const scale of [1, -1, 0.5]) {
      await client.createModel(
        {
          name: MODEL,
          framework: 'ONNX',
          description: 'Logistic regression over the numeric churn features',
          featureView: view,
          trainingDatasetVersion: td,
          modelSchema: { inputSchema: { columnarSchema: columns.map((c) => ({ name: c, type: 'double' })) } },
          inputExample: Object.fromEntries(columns.map((c) => [c, 0.5])),
        },
        [
          {
            path: 'model.onnx',
            file: logisticRegressionOnnx({ features: columns.length, weights: columns.map((_, i) => (scale * ((i % 5) - 2)) / 3), intercept: 0.1 }),
          },
        ],
      );
    }
  } finally {
    await client.close();
  }
  const created = await h.srv.gql(CREATE_DEPLOYMENT, {
    input: {
      name: DEPLOYMENT,
      description: 'Churn scores for the console',
      model: { name: MODEL, version: 1 },
      traffic: [
        { version: 1, weight: 80 },
        { version: 2, weight: 20 },
      ],
      shadow: { version: 3 },
      logging: { enabled: true },
    },
  });
  expect(created.data?.createDeployment.__typename, JSON.stringify(created)).toBe('CreateDeploymentPayload');
  // One request, so the list has stats to show.
  firstRequest = dataOf(await h.srv.gql(PREDICT, { deployment: DEPLOYMENT, entries: customers.slice(0, 1) })).predict.requestId;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** The texts of the cells of a table's body rows, whitespace squeezed. */
async function rows(table: Locator): Promise<string[][]> {
  return table
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => (cell as HTMLElement).innerText.replace(/\s+/g, ' ').trim())));
}

/** A number as the console shows it (four significant digits). */
const shown = (value: number) => String(Number(value.toPrecision(4)));

async function openDeployment(page: Page): Promise<void> {
  await page.goto(`${h.url}/deployments/${DEPLOYMENT}`);
  await page.getByRole('heading', { level: 2, name: 'Prediction log' }).waitFor();
  await page.getByRole('button', { name: 'Predict' }).waitFor();
}

describe.skipIf(!runBrowser)('the deployment pages', { timeout: 40_000 }, () => {
  it('the list, opened from the main navigation, shows the deployment as the API has it', async () => {
    const { page, problems } = await h.newPage();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
    const table = page.getByRole('table', { name: 'Deployments, by name' });
    const row = table.locator('tbody tr', { has: page.getByRole('link', { name: DEPLOYMENT, exact: true }) });
    await row.waitFor();
    const api = dataOf(await h.srv.gql(STATE, { name: DEPLOYMENT })).deployment!;
    expect(api.stats.requests).toBe(1);
    const cells = await row.evaluate((tr) => [...tr.children].map((cell) => (cell as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    expect(cells.slice(0, 7)).toEqual([
      `${DEPLOYMENT} Churn scores for the console`,
      `${MODEL} version 1`,
      'running',
      'v1 80 % · v2 20 %',
      'v3',
      'on, 100 % of rows',
      '1',
    ]);
    expect(cells[7]).toMatch(/^[\d.,]+ ms$/);
    await expect(row.getByRole('link', { name: DEPLOYMENT }).getAttribute('href')).resolves.toBe(`/deployments/${DEPLOYMENT}`);
    await expect(row.getByRole('link', { name: `${MODEL} version 1` }).getAttribute('href')).resolves.toBe(`/models/${MODEL}?version=1`);
    await h.screenshot(page, 'deployments-list');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('try it predicts what the API and the KServe endpoint answer, the log shows the request, and stop and start change the state', async () => {
    const { page, problems } = await h.newPage();
    await openDeployment(page);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe(`${DEPLOYMENT} running`);
    const traffic = page.getByRole('table', { name: `Traffic of ${DEPLOYMENT}` });
    expect(await rows(traffic)).toEqual([
      [`${MODEL} version 1`, '—', '80', '80 %'],
      [`${MODEL} version 2`, '—', '20', '20 %'],
    ]);

    // The box starts with a customer of the view's left group; here three entries, one unknown.
    const entries = [...customers, { customerid: '0000-NOBODY' }];
    const box = page.getByLabel(/^Entries/);
    await expect(box.inputValue().then((text) => Object.keys((JSON.parse(text) as object[])[0]!))).resolves.toEqual(['customerid']);
    await box.fill(JSON.stringify(entries));
    await page.getByRole('button', { name: 'Predict' }).click();
    const table = page.getByRole('table', { name: `Predictions of ${DEPLOYMENT}`, exact: true });
    await table.waitFor();

    const api = dataOf(await h.srv.gql(PREDICT, { deployment: DEPLOYMENT, entries })).predict.predictions;
    expect(await rows(table)).toEqual(
      api.map((p, i) => [
        JSON.stringify(entries[i]),
        p.prediction === null ? 'null' : String(p.prediction),
        p.probabilities ? p.probabilities.map(shown).join(', ') : '—',
        String(p.modelVersion),
        p.missing.length === 0 ? '—' : p.missing.join(', '),
      ]),
    );
    // The unknown customer has no features and no prediction; the known ones are scored.
    expect(api[3]!.prediction).toBeNull();
    expect(api[3]!.missing.length).toBeGreaterThan(0);
    expect(api.slice(0, 3).every((p) => p.missing.length === 0 && p.probabilities !== null)).toBe(true);

    // The same request as KServe V1 over curl: the endpoint answers the same predictions.
    const curl = await page.locator('pre.request').last().innerText();
    expect(curl).toContain(`${h.url}/v1/models/${DEPLOYMENT}:predict`);
    expect(curl).toContain('-H "Authorization: Bearer $GRANARY_API_KEY"');
    const body = /--data '(.*)'$/s.exec(curl)![1]!;
    expect(JSON.parse(body)).toEqual({ instances: entries });
    const kserve = await fetch(`${h.url}/v1/models/${DEPLOYMENT}:predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' },
      body,
    });
    expect(((await kserve.json()) as { predictions: unknown[] }).predictions).toEqual(api.map((p) => p.prediction));
    await expect(page.locator('pre.request').first().innerText()).resolves.toContain(`predict(deployment: "${DEPLOYMENT}", entries: $entries)`);
    expect(await page.content()).not.toContain(h.adminKey);

    // The page's request in the log: one served row per entry (and the shadow's rows), newest last.
    const requestId = await page
      .locator('p', { hasText: /^Request / })
      .locator('code')
      .innerText();
    const log = page.getByRole('table', { name: `Logged predictions of ${DEPLOYMENT}`, exact: true });
    const logged = log.locator('tbody tr', { hasText: requestId });
    await expect
      .poll(async () => {
        if ((await logged.count()) < entries.length) await page.getByRole('button', { name: 'Read the log again' }).click();
        return logged.count();
      })
      .toBeGreaterThanOrEqual(entries.length);
    const requests = (await rows(log)).map((cells) => cells[6]);
    expect(requests[0]).toBe(firstRequest);
    expect(requests.indexOf(requestId)).toBeGreaterThan(requests.lastIndexOf(firstRequest));
    await expect(page.getByRole('link', { name: `${DEPLOYMENT}_predictions` }).getAttribute('href')).resolves.toBe(
      `/feature-groups/${DEPLOYMENT}_predictions/overview?version=1`,
    );
    await h.screenshot(page, 'deployment-page');
    expect(await h.axe(page)).toEqual([]);

    // Stop, then start again: the page and the API agree.
    const start = page.getByRole('button', { name: `Start ${DEPLOYMENT}` });
    const stop = page.getByRole('button', { name: `Stop ${DEPLOYMENT}` });
    await expect(start.isDisabled()).resolves.toBe(true);
    await stop.click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe(`${DEPLOYMENT} stopped`);
    expect(dataOf(await h.srv.gql(STATE, { name: DEPLOYMENT })).deployment!.state).toBe('STOPPED');
    await expect(stop.isDisabled()).resolves.toBe(true);
    await start.click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe(`${DEPLOYMENT} running`);
    expect(dataOf(await h.srv.gql(STATE, { name: DEPLOYMENT })).deployment!.state).toBe('RUNNING');
    expect(problems).toEqual([]);
  });

  it('a READ key sees start and stop disabled, with the reason, and may still try it', async () => {
    const { page, problems } = await h.newPage(h.readKey);
    await openDeployment(page);
    for (const name of [`Start ${DEPLOYMENT}`, `Stop ${DEPLOYMENT}`]) {
      const button = page.getByRole('button', { name });
      await expect(button.isDisabled()).resolves.toBe(true);
      await expect(button.getAttribute('title')).resolves.toBe(READ_ONLY_REASON);
    }
    await expect(page.getByText(READ_ONLY_REASON).isVisible()).resolves.toBe(true);
    // The box starts with a known customer: predicting it as it is gives a prediction.
    await page.getByRole('button', { name: 'Predict' }).click();
    const row = page.getByRole('table', { name: `Predictions of ${DEPLOYMENT}`, exact: true }).locator('tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    await expect(row.locator('td').nth(2).innerText()).resolves.toMatch(/^[12]$/);
    await h.screenshot(page, 'deployment-read-only');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('deep links survive a reload, and the model page lists the deployment serving it', async () => {
    const { page, problems } = await h.newPage();
    for (const [path, heading] of [
      ['/deployments', 'Deployments'],
      [`/deployments/${DEPLOYMENT}`, `${DEPLOYMENT} running`],
    ] as const) {
      await page.goto(`${h.url}${path}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe(heading);
      await page.reload();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe(heading);
      expect(new URL(page.url()).pathname).toBe(path);
      await expect(page.title()).resolves.toBe(path === '/deployments' ? 'deployments · Granary' : `${DEPLOYMENT} · deployments · Granary`);
    }

    await page
      .getByRole('link', { name: `${MODEL} version 1` })
      .first()
      .click();
    const list = page.getByRole('list', { name: `Deployments of ${MODEL}` });
    await expect.poll(() => list.innerText().catch(() => '')).toMatch(new RegExp(`^${DEPLOYMENT}\\s+running\\s+v1 80 % · v2 20 % — serves this version$`));
    await list.getByRole('link', { name: DEPLOYMENT }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/deployments/${DEPLOYMENT}`);
    expect(problems).toEqual([]);
  });
});
