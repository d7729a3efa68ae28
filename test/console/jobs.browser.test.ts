import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf, ofType } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The jobs pages of the console, in Chromium, on the churn quickstart plus jobs made for them: a
// command printing a line every half second, one that sleeps a minute, a daily scheduled one, a
// paused statistics job every 15 minutes, one with a pattern that has no words, and a quick one.

const CREATE_JOB = graphql(`
  mutation JobsPagesCreate($input: CreateJobInput!) {
    createJob(input: $input) {
      __typename
      ... on CreateJobPayload { job { name } }
      ... on Error { message }
    }
  }
`);

const RUN_JOB = graphql(`
  mutation JobsPagesRun($name: String!) {
    runJob(name: $name) {
      __typename
      ... on RunJobPayload { execution { id } }
      ... on Error { message }
    }
  }
`);

const STOP = graphql(`
  mutation JobsPagesStop($id: ID!) { stopExecution(id: $id) { __typename ... on Error { message } } }
`);

const EXECUTION = graphql(`
  query JobsPagesExecution($id: ID!) { execution(id: $id) { state logs } }
`);

const SCHEDULE = graphql(`
  query JobsPagesSchedule($name: String!) { job(name: $name) { nextRunAt schedule { paused } } }
`);

const WRITE_KEY = graphql(`
  mutation JobsPagesWriteKey {
    createApiKey(input: { name: "console-write", scopes: [WRITE] }) {
      __typename
      ... on CreateApiKeyPayload { secret }
      ... on Error { message }
    }
  }
`);

const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });

/** Five lines half a second apart (about 2.5 s), each with the run's extra arguments. */
const PRINTER = `const extra = process.argv.slice(1).join(' '); let i = 0;
const t = setInterval(() => { i++; console.log('line ' + i + ' ' + extra); if (i === 5) clearInterval(t); }, 500);`;

const SECRET = 's3cret-value';
const DAILY = '0 2 * * *';
const UNUSUAL = '0 2 L * *';

let h: ConsoleHarness;

async function createJob(input: Record<string, unknown>): Promise<void> {
  ofType(dataOf(await h.srv.gql(CREATE_JOB, { input: input as never })).createJob, 'CreateJobPayload');
}

async function runJob(name: string): Promise<string> {
  return ofType(dataOf(await h.srv.gql(RUN_JOB, { name })).runJob, 'RunJobPayload').execution.id;
}

/** Waits (up to 20 s) until the API reads the execution as `done` says. */
async function waitForState(id: string, done: (state: string, logs: readonly string[]) => boolean): Promise<void> {
  let last: unknown = null;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const e = dataOf(await h.srv.gql(EXECUTION, { id })).execution;
    last = e;
    if (e && done(e.state, e.logs)) return;
  }
  throw new Error(`execution ${id} did not get there: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  h = await startConsoleHarness({ quickstart: true });
  await createJob({ name: 'printer', type: 'COMMAND', config: { ...node(PRINTER), secretEnv: { TOKEN: SECRET } } });
  await createJob({ name: 'sleeper', type: 'COMMAND', config: node(`console.log('started'); setTimeout(() => {}, 60000)`) });
  await createJob({ name: 'quick', type: 'COMMAND', config: node(`console.log('hello')`) });
  await createJob({ name: 'nightly', type: 'COMMAND', config: node(''), schedule: { cron: DAILY } });
  await createJob({ name: 'odd_days', type: 'COMMAND', config: node(''), schedule: { cron: UNUSUAL, paused: true } });
  await createJob({
    name: 'info_statistics',
    type: 'COMPUTE_STATISTICS',
    config: { featureGroup: { name: 'customer_info', version: 1 } },
    schedule: { cron: '0 */15 * * * *', paused: true },
  });
  const quick = await runJob('quick');
  await waitForState(quick, (state) => state === 'SUCCEEDED');
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** The row of a job in the jobs list. */
const jobRow = (page: Page, name: string) => page.locator(`table.jobs tbody tr[data-job="${name}"]`);

/** Buttons, text boxes and selects of the page's main part that can be used (the header's Sign out aside). */
async function enabledControls(page: Page): Promise<string[]> {
  return page
    .locator('main')
    .locator('button:enabled, input:enabled, textarea:enabled, select:enabled')
    .evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? el.tagName));
}

// Each test drives several pages and waits for runs: more than the suite's 30 s on a busy machine.
describe.skipIf(!runBrowser)('the jobs pages', { timeout: 90_000 }, () => {
  it("a job's page runs a command with arguments and shows it RUNNING, its log growing, then SUCCEEDED, without a reload", async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/jobs/printer`);
    await page.getByRole('heading', { level: 1, name: /printer/ }).waitFor();

    // The config as the API gives it: the secret masked, never shown.
    const config = page.locator('.card', { has: page.getByRole('heading', { name: 'Configuration' }) });
    await expect(config.innerText()).resolves.toMatch(/secretEnv\s+\{ ?"TOKEN": ?"\*\*\*" ?\}/);
    await expect(page.content()).resolves.not.toContain(SECRET);
    await expect(page.locator('.card', { has: page.getByRole('heading', { name: 'Schedule' }) }).innerText()).resolves.toContain('Runs only on demand.');

    await page.evaluate(() => {
      (window as unknown as { jobsMarker: string }).jobsMarker = 'same page';
    });
    await page.getByLabel(/^Arguments/).fill('["alpha"]');
    await page.getByRole('button', { name: 'Run now' }).click();

    // What the run's panel shows, read every 100 ms until it ends.
    const panel = page.locator('.started-run');
    const log = panel.getByRole('region', { name: 'Log of this run' });
    const seen: { state: string; lines: number }[] = [];
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = await panel
        .locator('.toolbar .badge')
        .innerText({ timeout: 1000 })
        .catch(() => '');
      const text = await log.innerText({ timeout: 1000 }).catch(() => '');
      seen.push({ state, lines: text.split('\n').filter((l) => /^line \d alpha$/.test(l)).length });
      if (state === 'SUCCEEDED' || state === 'FAILED' || Date.now() > deadline) break;
      await page.waitForTimeout(100);
    }
    expect(seen.at(-1)).toEqual({ state: 'SUCCEEDED', lines: 5 });
    // The log grew while it ran: some lines, not yet all, under RUNNING.
    expect(
      seen.some((s) => s.state === 'RUNNING' && s.lines > 0 && s.lines < 5),
      JSON.stringify(seen),
    ).toBe(true);
    await expect(log.innerText()).resolves.toMatch(/line 5 alpha\n.*exited with code 0/);
    await expect(panel.innerText()).resolves.toMatch(/Arguments\s+\["alpha"\]/);
    await expect(panel.getByRole('progressbar', { name: 'Progress of this run' }).getAttribute('value')).resolves.toBe('1');

    // The runs table has it at the top, ended, manual.
    const runs = page.getByRole('table', { name: 'Runs of printer, newest first' });
    await expect.poll(() => runs.locator('tbody tr').first().locator('td').first().innerText()).toBe('SUCCEEDED');
    await expect(runs.locator('tbody tr').first().innerText()).resolves.toMatch(/SUCCEEDED\s+manual/);
    await expect(runs.locator('tbody tr').first().getByRole('button', { name: /^Stop/ }).count()).resolves.toBe(0);

    // No reload, no navigation.
    expect(new URL(page.url()).pathname).toBe('/jobs/printer');
    await expect(page.evaluate(() => (window as unknown as { jobsMarker?: string }).jobsMarker)).resolves.toBe('same page');
    await h.screenshot(page, 'job-run');
    expect(await h.axe(page)).toEqual([]);

    // Its own page, by the table's link.
    await runs.locator('tbody tr').first().getByRole('link').click();
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/jobs\/printer\/runs\/[^/]+$/);
    await page.getByRole('heading', { level: 1, name: /Run of printer/ }).waitFor();
    await expect(page.getByRole('region', { name: 'Log of this run' }).innerText()).resolves.toContain('line 3 alpha');
    await expect(page.locator('.execution .toolbar .badge').innerText()).resolves.toBe('SUCCEEDED');
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Final status\s+SUCCEEDED\s+Trigger\s+manual/);
    await expect(page.evaluate(() => (window as unknown as { jobsMarker?: string }).jobsMarker)).resolves.toBe('same page');
    expect(problems).toEqual([]);
  });

  it("stops a long command from its run's page: KILLED", async () => {
    const id = await runJob('sleeper');
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/jobs/sleeper/runs/${encodeURIComponent(id)}`);
    const state = page.locator('.execution .toolbar .badge');
    await expect.poll(() => state.innerText().catch(() => ''), { timeout: 15_000 }).toBe('RUNNING');
    const log = page.getByRole('region', { name: 'Log of this run' });
    await expect.poll(() => log.innerText(), { timeout: 15_000 }).toContain('started');
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Final status\s+not ended yet/);
    await h.screenshot(page, 'execution-running');
    expect(await h.axe(page)).toEqual([]);

    await page.getByRole('button', { name: 'Stop this run' }).click();
    await expect.poll(() => state.innerText(), { timeout: 15_000 }).toBe('KILLED');
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Final status\s+KILLED/);
    await expect.poll(() => log.innerText()).toMatch(/killed: stopped/);
    await expect(page.getByRole('button', { name: 'Stop this run' }).count()).resolves.toBe(0);
    expect(dataOf(await h.srv.gql(EXECUTION, { id })).execution?.state).toBe('KILLED');
    await h.screenshot(page, 'execution-killed');

    // The job's page lists it as killed.
    await page.getByRole('link', { name: 'sleeper' }).click();
    const runs = page.getByRole('table', { name: 'Runs of sleeper, newest first' });
    await expect.poll(() => runs.locator(`tbody tr[data-execution="${id}"] td`).first().innerText()).toBe('KILLED');
    expect(problems).toEqual([]);
  });

  it('the list shows schedules in words, next and last runs, runs a job and pauses and resumes a schedule', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/jobs`);
    const table = page.getByRole('table', { name: 'Jobs, by name' });
    await table.waitFor();
    // By name: the quickstart's statistics jobs (run after each commit) and this file's.
    await expect(table.locator('tbody th').allInnerTexts()).resolves.toEqual([
      'customer_demography_info_1_compute_stats',
      'customer_info_1_compute_stats',
      'customer_subscription_info_1_compute_stats',
      'info_statistics',
      'nightly',
      'odd_days',
      'printer',
      'quick',
      'sleeper',
    ]);
    // A statistics job run by the quickstart's commit.
    await expect(jobRow(page, 'customer_info_1_compute_stats').locator('td').nth(3).innerText()).resolves.toMatch(/^SUCCEEDED /);

    const nightly = jobRow(page, 'nightly');
    await expect(nightly.locator('.cron-words').innerText()).resolves.toBe('every day at 02:00 UTC');
    await expect(nightly.locator('.cron code').innerText()).resolves.toBe(DAILY);
    await expect(nightly.locator('td').nth(2).innerText()).resolves.not.toBe('—');
    await expect(nightly.locator('td').nth(3).innerText()).resolves.toBe('never run');
    const stats = jobRow(page, 'info_statistics');
    await expect(stats.innerText()).resolves.toMatch(/COMPUTE_STATISTICS\s+every 15 minutes\s+0 \*\/15 \* \* \* \*\s+paused\s+—/);
    // A pattern without words is shown as it is.
    await expect(jobRow(page, 'odd_days').locator('.cron-words').count()).resolves.toBe(0);
    await expect(jobRow(page, 'odd_days').locator('.cron code').innerText()).resolves.toBe(UNUSUAL);
    await expect(jobRow(page, 'printer').locator('td').nth(1).innerText()).resolves.toBe('on demand');

    // The last run, and a new one started from the list replacing it as it happens.
    const quick = jobRow(page, 'quick');
    await expect(quick.locator('td').nth(3).locator('.badge').innerText()).resolves.toBe('SUCCEEDED');
    const before = await quick.locator('td').nth(3).getByRole('link').getAttribute('href');
    await h.screenshot(page, 'jobs-list');
    expect(await h.axe(page)).toEqual([]);
    await quick.getByRole('button', { name: 'Run quick now' }).click();
    await expect.poll(() => quick.locator('td').nth(3).getByRole('link').getAttribute('href')).not.toBe(before);
    await expect.poll(() => quick.locator('td').nth(3).locator('.badge').innerText(), { timeout: 15_000 }).toBe('SUCCEEDED');

    // Pause and resume the daily schedule.
    await nightly.getByRole('button', { name: 'Pause schedule of nightly' }).click();
    await nightly.getByRole('button', { name: 'Resume schedule of nightly' }).waitFor();
    await expect(nightly.locator('.badge.paused').innerText()).resolves.toBe('paused');
    await expect(nightly.locator('td').nth(2).innerText()).resolves.toBe('—');
    expect(dataOf(await h.srv.gql(SCHEDULE, { name: 'nightly' })).job).toMatchObject({ nextRunAt: null, schedule: { paused: true } });
    await nightly.getByRole('button', { name: 'Resume schedule of nightly' }).click();
    await nightly.getByRole('button', { name: 'Pause schedule of nightly' }).waitFor();
    await expect(nightly.locator('.badge.paused').count()).resolves.toBe(0);
    await expect(nightly.locator('td').nth(2).innerText()).resolves.not.toBe('—');
    expect(dataOf(await h.srv.gql(SCHEDULE, { name: 'nightly' })).job?.schedule?.paused).toBe(false);
    expect(problems).toEqual([]);
  });

  it("a job's page changes the schedule, and shows the API's refusal of a bad pattern where it happens", async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/jobs/odd_days`);
    const card = page.locator('.card', { has: page.getByRole('heading', { name: 'Schedule' }) });
    await expect(card.innerText()).resolves.toMatch(/Status\s+paused\s+Next run\s+none while paused/);
    const cron = page.getByLabel(/^Cron pattern/);
    await cron.fill('not a cron');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await expect
      .poll(() =>
        card
          .getByRole('alert')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/Could not save the schedule: .*cron/i);
    await cron.fill('30 9 * * 1');
    await expect(card.locator('.status').innerText()).resolves.toContain('every Monday at 09:30 UTC');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await expect.poll(() => card.locator('.cron-words').innerText()).toBe('every Monday at 09:30 UTC');
    // Still paused: changing the pattern keeps the schedule's state.
    await expect(card.innerText()).resolves.toMatch(/Status\s+paused/);
    await expect(card.getByRole('alert').count()).resolves.toBe(0);
    await h.screenshot(page, 'job-schedule');
    expect(await h.axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("a run's bad arguments are refused where they are typed: not JSON, or the API's ValidationError", async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/jobs/quick`);
    const args = page.getByLabel(/^Arguments/);
    const form = page.locator('form.run-form');
    await args.fill('["unclosed"');
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect
      .poll(() =>
        form
          .getByRole('alert')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^Could not start a run: the arguments are not JSON/);
    // An array of args is appended to the command line: strings only.
    await args.fill('[1]');
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect
      .poll(() =>
        form
          .getByRole('alert')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^Could not start a run: .*strings only/);
    await expect(page.locator('.started-run').count()).resolves.toBe(0);
    expect(problems).toEqual([]);
  });

  it('a WRITE key may run built-in jobs but not commands (ADMIN), and says why', async () => {
    const key = ofType(dataOf(await h.srv.gql(WRITE_KEY)).createApiKey, 'CreateApiKeyPayload').secret;
    const { page, problems } = await h.newPage(key);
    await page.goto(`${h.url}/jobs`);
    await page.getByRole('table', { name: 'Jobs, by name' }).waitFor();
    const command = page.getByRole('button', { name: 'Run quick now' });
    await expect.poll(() => command.isDisabled()).toBe(true);
    await expect(command.getAttribute('title')).resolves.toMatch(/only an ADMIN key may run them/);
    await expect(page.getByRole('button', { name: 'Run customer_info_1_compute_stats now' }).isEnabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Pause schedule of nightly' }).isEnabled()).resolves.toBe(true);
    expect(problems).toEqual([]);
  });

  it('a READ key sees every mutating control disabled, with the reason', async () => {
    const id = await runJob('sleeper');
    try {
      await waitForState(id, (state) => state === 'RUNNING');
      const { page, problems } = await h.newPage(h.readKey);
      await page.goto(`${h.url}/jobs`);
      await page.getByRole('table', { name: 'Jobs, by name' }).waitFor();
      await expect(page.getByRole('button', { name: 'Run quick now' }).isDisabled()).resolves.toBe(true);
      await expect(page.getByRole('button', { name: 'Run quick now' }).getAttribute('title')).resolves.toMatch(/can only read/);
      await expect(page.getByRole('button', { name: 'Pause schedule of nightly' }).isDisabled()).resolves.toBe(true);
      await expect(enabledControls(page)).resolves.toEqual([]);

      await page.getByRole('link', { name: 'sleeper', exact: true }).click();
      const runs = page.getByRole('table', { name: 'Runs of sleeper, newest first' });
      await expect.poll(() => runs.locator(`tbody tr[data-execution="${id}"] td`).first().innerText()).toBe('RUNNING');
      await expect(page.getByRole('button', { name: 'Run now' }).isDisabled()).resolves.toBe(true);
      await expect(runs.getByRole('button', { name: /^Stop the run/ }).isDisabled()).resolves.toBe(true);
      await expect(enabledControls(page)).resolves.toEqual([]);
      await h.screenshot(page, 'job-read-only');
      expect(await h.axe(page)).toEqual([]);

      await runs.locator(`tbody tr[data-execution="${id}"]`).getByRole('link').click();
      const stop = page.getByRole('button', { name: 'Stop this run' });
      await stop.waitFor();
      await expect(stop.isDisabled()).resolves.toBe(true);
      await expect(stop.getAttribute('title')).resolves.toMatch(/can only read/);
      await expect(enabledControls(page)).resolves.toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await h.srv.gql(STOP, { id });
    }
  });
});
