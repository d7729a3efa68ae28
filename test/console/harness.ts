import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { GranaryClient } from 'granary/client';
import { generateChurnData } from '../../examples/churn/data.ts';
import { runFeaturePipeline } from '../../examples/churn/feature-pipeline.ts';
import { runTrainingPipeline } from '../../examples/churn/training-pipeline.ts';
import { graphql } from '../../src/client/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The shared harness of the console's browser tests (test/console/*.browser.test.ts): a test
 * server listening on a real port, optionally holding the churn quickstart's data, and one
 * headless Chromium driving the built console (dist/console, built by `npm install` or
 * `npm run build:console`; the server reads the build when it starts).
 *
 *   const h = await startConsoleHarness();          // quickstart data (the default)
 *   const { page, problems } = await h.newPage();   // signed in with the admin key, shell shown
 *   …
 *   expect(problems).toEqual([]);
 *   await h.close();
 *
 * Wrap browser tests in `describe.skipIf(!runBrowser)`.
 */

const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser tests run: Chromium is installed, or this is CI (which installs it and must run them). */
export const runBrowser: boolean = existsSync(CHROMIUM) || !!process.env.CI;

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Where {@link ConsoleHarness.screenshot} writes (ignored by git). */
export const SCREENSHOT_DIR = join(REPO, 'test-screenshots');
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * Customers of the quickstart data: enough for every group to have statistics and for the
 * training pipeline to split and fit, few enough to load in a few seconds.
 */
export const QUICKSTART_CUSTOMERS = 300;

export interface ConsoleHarness {
  /** The server's base URL (`http://127.0.0.1:<port>`), the console at `/`. */
  url: string;
  srv: TestServer;
  /**
   * A key with ADMIN and WRITE scopes of the project holding the data (the server's first
   * project: `srv.gql` runs as its bootstrap admin key by default, in the same project).
   */
  adminKey: string;
  /** A READ-only key of the same project. */
  readKey: string;
  browser: Browser;
  /**
   * A fresh page (in a context of its own: its own session storage) opened at `${url}/#key=<key>`
   * (adminKey by default), once the shell (or, for a refused key, the sign-in box) is shown.
   * `problems` collects, as they happen, console errors, uncaught page errors, failed requests and
   * responses with status >= 400. Requests aborted by a navigation or an unmount (net::ERR_ABORTED)
   * are not problems.
   */
  newPage(key?: string): Promise<{ page: Page; problems: string[] }>;
  /** Writes a full-page screenshot to <repo>/test-screenshots/<name>.png. */
  screenshot(page: Page, name: string): Promise<void>;
  /** Runs axe-core on the page; the violations of impact serious or critical. */
  axe(page: Page): Promise<{ id: string; impact: string; help: string; nodes: number }[]>;
  close(): Promise<void>;
}

const KEYS = graphql(`
  mutation ConsoleHarnessKeys {
    admin: createApiKey(input: { name: "console-admin", scopes: [ADMIN, WRITE] }) {
      __typename
      ... on CreateApiKeyPayload { secret }
      ... on Error { message }
    }
    read: createApiKey(input: { name: "console-read", scopes: [READ] }) {
      __typename
      ... on CreateApiKeyPayload { secret }
      ... on Error { message }
    }
  }
`);

/** The churn quickstart's feature and training pipelines: feature groups, a feature view, a training dataset and a model. */
async function loadQuickstart(url: string, apiKey: string): Promise<void> {
  const client = new GranaryClient({ url, apiKey });
  const workDir = mkdtempSync(join(tmpdir(), 'granary-console-quickstart-'));
  try {
    const ctx = { client, workDir, log: () => {} };
    await runFeaturePipeline(ctx, generateChurnData({ customers: QUICKSTART_CUSTOMERS, seed: 7 }));
    // Few gradient steps: the model only has to exist.
    await runTrainingPipeline(ctx, { steps: 20 });
  } finally {
    await client.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Starts a test server (the data in its first project, the admin key's) and Chromium.
 * `quickstart` (default true) loads the churn quickstart's data; false leaves the project empty.
 */
export async function startConsoleHarness(options: { quickstart?: boolean } = {}): Promise<ConsoleHarness> {
  const [srv, browser] = await Promise.all([
    startTestServer(),
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    }),
  ]);
  const contexts = new Set<BrowserContext>();
  try {
    const url = await srv.listen();
    // The console decides what a key may change from the scopes it lists (viewer.scopes), so the
    // admin key names WRITE as well as ADMIN.
    const created = await srv.gql(KEYS);
    const { admin, read } = created.data ?? {};
    if (admin?.__typename !== 'CreateApiKeyPayload' || read?.__typename !== 'CreateApiKeyPayload') {
      throw new Error(`could not create the console's keys: ${JSON.stringify(created)}`);
    }
    const adminKey = admin.secret;
    const readKey = read.secret;
    if (options.quickstart ?? true) await loadQuickstart(url, adminKey);

    return {
      url,
      srv,
      adminKey,
      readKey,
      browser,
      async newPage(key = adminKey) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        contexts.add(context);
        context.on('close', () => contexts.delete(context));
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('requestfailed', (request) => {
          const failure = request.failure()?.errorText ?? 'failed';
          if (failure !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.method()} ${request.url()} ${failure}`);
        });
        page.on('response', (response) => {
          if (response.status() >= 400) problems.push(`response ${response.status()}: ${response.request().method()} ${response.url()}`);
        });
        await page.goto(`${url}/#key=${encodeURIComponent(key)}`);
        // The shell's header once the key is accepted; the sign-in box when it is refused.
        await page.locator('header.top, main.sign-in').first().waitFor({ timeout: 15_000 });
        return { page, problems };
      },
      async screenshot(page, name) {
        mkdirSync(SCREENSHOT_DIR, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
      },
      async axe(page) {
        // Evaluated through the DevTools protocol, not as a <script> of the page: the console's
        // Content-Security-Policy (script-src 'self') stays in force and is tested with the rest.
        const source = readFileSync(AXE_PATH, 'utf8');
        await page.evaluate(source);
        const violations = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResults> } }).axe;
          const results = await axe.run(document, { resultTypes: ['violations'] });
          return results.violations.map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, nodes: v.nodes.length }));
        });
        return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      },
      async close() {
        await Promise.allSettled([...contexts].map((c) => c.close()));
        await browser.close();
        await srv.close();
      },
    };
  } catch (error) {
    await browser.close();
    await srv.close();
    throw error;
  }
}

/** The part of axe-core's results read here (the page's copy of axe is not typed in Node). */
interface AxeResults {
  violations: { id: string; impact?: string | null; help: string; nodes: unknown[] }[];
}
