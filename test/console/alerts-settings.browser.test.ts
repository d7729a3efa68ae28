import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/client/graphql.ts';
import { dataOf, ofType } from '../helpers/server.ts';
import { type ConsoleHarness, runBrowser, startConsoleHarness } from './harness.ts';

// The Alerts page and the Settings pages of the console, in Chromium, on the churn quickstart: a
// webhook this test listens on receives the test alert the page sends; an ADMIN key mints and
// revokes a key from the page (the secret is used against the API in between); a WRITE key is
// not offered the keys section; a READ key is offered no change at all.

const MINT_KEY = graphql(`
  mutation AlertsSettingsMintKey($name: String!, $scopes: [Scope!]!) {
    createApiKey(input: { name: $name, scopes: $scopes }) {
      __typename
      ... on CreateApiKeyPayload { secret }
      ... on Error { message }
    }
  }
`);

const CREATE_RECEIVER = graphql(`
  mutation AlertsSettingsReceiver($input: CreateAlertReceiverInput!) {
    createAlertReceiver(input: $input) {
      __typename
      ... on ValidationError { issues { path message } }
      ... on Error { message }
    }
  }
`);

const ALERTS = graphql(`
  query AlertsSettingsAlerts {
    alertReceivers { name webhookUrl }
    alertRoutes { eventTypes receiver { name } subject { kind name version } }
    alertDeliveries(first: 10) { edges { node { eventType state attempts receiver { name } } } }
  }
`);

const TEST_ALERT = graphql(`
  mutation AlertsSettingsTestAlert($name: String!) {
    testAlertReceiver(name: $name) { __typename ... on Error { message } }
  }
`);

const DELIVERY_IDS = graphql(`
  query AlertsSettingsDeliveryIds { alertDeliveries(first: 100) { edges { node { deliveryId } } } }
`);

const CREATE_TAG_SCHEMA = graphql(`
  mutation AlertsSettingsTagSchema($name: String!, $schema: JSON!) {
    createTagSchema(name: $name, schema: $schema) { __typename ... on Error { message } }
  }
`);

const TAG_SCHEMAS = graphql(`
  query AlertsSettingsTagSchemas { tagSchemas { name schema } }
`);

const PROJECT = graphql(`
  query AlertsSettingsProject { viewer { project { name } } }
`);

/** What the webhook received: one entry per POST. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const SECRET = 'console-webhook-secret-0123456789';

let h: ConsoleHarness;
let hook: Server;
let hookUrl: string;
let writeKey: string;
const received: Received[] = [];

async function mint(name: string, scopes: ('READ' | 'WRITE' | 'ADMIN')[]): Promise<string> {
  return ofType(dataOf(await h.srv.gql(MINT_KEY, { name, scopes })).createApiKey, 'CreateApiKeyPayload').secret;
}

/** The name a person hears for a control: its aria-label, else its label, else its text. */
async function enabledControls(page: Page): Promise<string[]> {
  return page
    .locator('main')
    .locator('button:enabled, input:enabled, textarea:enabled, select:enabled')
    .evaluateAll((els) =>
      els.map((el) => {
        const labelled = (el as HTMLInputElement).labels?.[0]?.innerText;
        return (el.getAttribute('aria-label') ?? labelled ?? (el as HTMLElement).innerText ?? el.tagName).trim();
      }),
    );
}

/** Whether a request of the page is a GraphQL mutation (they go as POST; queries as GET). */
function mutationName(request: Request): string | null {
  if (new URL(request.url()).pathname !== '/graphql' || request.method() !== 'POST') return null;
  const query = (JSON.parse(request.postData() ?? '{}') as { query?: string }).query ?? '';
  return /^\s*mutation\s+(\w+)/.exec(query)?.[1] ?? null;
}

function watchMutations(page: Page): string[] {
  const sent: string[] = [];
  page.on('request', (request) => {
    const name = mutationName(request);
    if (name !== null) sent.push(name);
  });
  return sent;
}

describe.skipIf(!runBrowser)('the alerts and settings pages', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/granary`;
    h = await startConsoleHarness({ quickstart: true });
    writeKey = await mint('console-write', ['WRITE']);
    // A second receiver, for the page to delete.
    ofType(
      dataOf(await h.srv.gql(CREATE_RECEIVER, { input: { name: 'spare', webhookUrl: `${hookUrl}/spare`, secret: SECRET } })).createAlertReceiver,
      'CreateAlertReceiverPayload',
    );
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => hook?.close(resolve));
  });

  it('an ADMIN key creates a webhook receiver and a route, sends a test alert and sees it delivered in the history, and deletes', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/alerts`);
    await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();

    // A host the server does not allow: the API's ValidationError is shown at the URL field.
    const refusedHost = 'http://example.com/hook';
    const refusal = ofType(
      dataOf(await h.srv.gql(CREATE_RECEIVER, { input: { name: 'ops', webhookUrl: refusedHost, secret: SECRET } })).createAlertReceiver,
      'ValidationError',
    );
    const form = page.getByRole('form', { name: 'New receiver (webhook)' });
    await form.getByLabel('Name').fill('ops');
    await form.getByLabel('Webhook URL').fill(refusedHost);
    await form.getByLabel('Signing secret').fill(SECRET);
    await form.getByLabel('Description (optional)').fill('On-call webhook');
    await form.getByRole('button', { name: 'Create receiver' }).click();
    const urlField = form.getByLabel('Webhook URL');
    await expect.poll(() => urlField.getAttribute('aria-invalid')).toBe('true');
    await expect(form.locator('ul.field-issues').innerText()).resolves.toBe(refusal.issues[0]!.message);
    await expect(form.getByRole('alert').innerText()).resolves.toContain(refusal.message);

    await urlField.fill(hookUrl);
    await form.getByRole('button', { name: 'Create receiver' }).click();
    const receivers = page.getByRole('table', { name: 'Alert receivers, by name' });
    const ops = receivers.locator('tr[data-receiver="ops"]');
    await ops.waitFor();
    await expect(ops.locator('code').innerText()).resolves.toBe(hookUrl);
    await expect(form.getByLabel('Signing secret').inputValue()).resolves.toBe('');
    await expect(page.content()).resolves.not.toContain(SECRET);

    // A route of two event types about one feature group.
    const routeForm = page.getByRole('form', { name: 'New route' });
    await routeForm.getByLabel('Send to receiver').selectOption('ops');
    await routeForm.getByLabel('VALIDATION_FAILED').check();
    await routeForm.getByLabel('Subject').selectOption('FEATURE_GROUP');
    await routeForm.getByLabel('Feature group name').fill('customer_info');
    await routeForm.getByRole('button', { name: 'Create route' }).click();
    const routes = page.getByRole('table', { name: 'Alert routes, oldest first' });
    await routes.waitFor();
    await expect(routes.locator('tbody tr').innerText()).resolves.toMatch(/JOB_FAILED\s*VALIDATION_FAILED\s+feature group customer_info\s+ops\s+enabled/);
    const api = dataOf(await h.srv.gql(ALERTS));
    expect(api.alertRoutes).toEqual([
      { eventTypes: ['JOB_FAILED', 'VALIDATION_FAILED'], receiver: { name: 'ops' }, subject: { kind: 'FEATURE_GROUP', name: 'customer_info', version: null } },
    ]);

    // The test alert reaches the webhook, signed with the secret typed in the form, and shows in the history.
    const before = received.length;
    await ops.getByRole('button', { name: 'Send a test alert to ops' }).click();
    await expect.poll(() => ops.getByRole('status').innerText()).toBe('Test alert delivered (HTTP 200).');
    expect(received.length).toBe(before + 1);
    const post = received[before]!;
    expect(post.headers['x-granary-event']).toBe('TEST');
    const signed = `sha256=${createHmac('sha256', SECRET).update(`${post.headers['x-granary-timestamp']}.${post.body}`).digest('hex')}`;
    expect(post.headers['x-granary-signature']).toBe(signed);
    const history = page.getByRole('table', { name: 'Alert deliveries, newest first' });
    const delivery = history.locator(`tr[data-delivery="${post.headers['x-granary-delivery']}"]`);
    await delivery.waitFor();
    await expect(delivery.locator('th, td').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/^TEST\s+Test event for alert receiver ops$/),
      'ops',
      'DELIVERED',
      '1',
      'HTTP 200',
      expect.any(String),
      expect.any(String),
    ]);
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'alerts-admin');

    // Deleting asks first: the route, then the other receiver.
    await routes.getByRole('button', { name: 'Delete the route of JOB_FAILED, VALIDATION_FAILED to ops' }).click();
    await routes
      .getByRole('group', { name: /^Delete this route\?/ })
      .getByRole('button', { name: 'Delete the route' })
      .click();
    await page.getByText('No route yet: no event is sent anywhere.').waitFor();
    await receivers.getByRole('button', { name: 'Delete receiver spare' }).click();
    await receivers.getByRole('button', { name: 'Cancel' }).click();
    await expect(receivers.getByRole('button', { name: 'Delete receiver spare' }).evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await receivers.getByRole('button', { name: 'Delete receiver spare' }).click();
    await receivers.getByRole('button', { name: 'Delete spare' }).click();
    await receivers.locator('tr[data-receiver="spare"]').waitFor({ state: 'detached' });
    const after = dataOf(await h.srv.gql(ALERTS));
    expect(after.alertRoutes).toEqual([]);
    expect(after.alertReceivers.map((r) => r.name)).toEqual(['ops']);
    expect(after.alertDeliveries.edges.map((e) => e.node)).toEqual([{ eventType: 'TEST', state: 'DELIVERED', attempts: 1, receiver: { name: 'ops' } }]);
    expect(problems).toEqual([]);
  });

  it('the delivery history shows the newest page first, older pages on demand, and filters by state', async () => {
    // More deliveries than a page (20): test alerts sent through the API.
    for (let i = 0; i < 21; i++) ofType(dataOf(await h.srv.gql(TEST_ALERT, { name: 'ops' })).testAlertReceiver, 'TestAlertReceiverPayload');
    const newestFirst = dataOf(await h.srv.gql(DELIVERY_IDS)).alertDeliveries.edges.map((e) => e.node.deliveryId);
    expect(newestFirst.length).toBeGreaterThan(20);
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/alerts`);
    const history = page.getByRole('table', { name: 'Alert deliveries, newest first' });
    const rows = history.locator('tbody tr[data-delivery]');
    await expect.poll(() => rows.count()).toBe(20);
    await expect(rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-delivery')))).resolves.toEqual(newestFirst.slice(0, 20));
    await page.getByRole('button', { name: 'Show older deliveries' }).click();
    await expect.poll(() => rows.count()).toBe(newestFirst.length);
    await expect(rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-delivery')))).resolves.toEqual(newestFirst);
    await expect(page.getByRole('button', { name: 'Show older deliveries' }).count()).resolves.toBe(0);
    await page.getByLabel('State').selectOption('FAILED');
    await history.getByText('No delivery matches these filters.').waitFor();
    await page.getByLabel('State').selectOption('DELIVERED');
    await expect.poll(() => rows.count()).toBe(20);
    expect(problems).toEqual([]);
  });

  it('an ADMIN key creates a key from the settings, sees its secret once, the secret works, then revokes it and the API refuses it', async () => {
    const { page, problems } = await h.newPage();
    await page.goto(`${h.url}/settings`);
    const project = dataOf(await h.srv.gql(PROJECT)).viewer.project.name;
    const settingsNav = page.getByRole('navigation', { name: 'Settings' });
    await settingsNav.getByRole('link', { name: 'Project' }).waitFor();
    await expect(settingsNav.getByRole('link').allInnerTexts()).resolves.toEqual(['Project', 'API keys', 'Tag schemas']);
    const facts = page.locator('dl.facts');
    await expect(facts.first().innerText()).resolves.toMatch(new RegExp(`Name\\s+${project}\\b`));
    await expect(facts.nth(1).innerText()).resolves.toMatch(/Name\s+console-admin\s+Prefix\s+gra_\w{12}_…\s+Scopes\s+WRITE\s*ADMIN/);
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'settings-project');

    await settingsNav.getByRole('link', { name: 'API keys' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/settings/keys');
    const keys = page.getByRole('table', { name: 'API keys of the project, newest first' });
    const own = keys.getByRole('button', { name: 'Revoke key console-admin' });
    await expect(own.isDisabled()).resolves.toBe(true);
    await expect(own.getAttribute('title')).resolves.toMatch(/the key you are signed in with/);

    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByLabel('Name').fill('ci-reader');
    await form.getByLabel('WRITE').check();
    const expiry = new Date(Date.now() + 30 * 24 * 3600_000);
    const local = new Date(expiry.getTime() - expiry.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await form.getByLabel(/^Expires/).fill(local);
    await form.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByRole('region', { name: 'Key ci-reader created' });
    await shown.waitFor();
    await expect(shown.innerText()).resolves.toContain('it will not be shown again');
    const secret = await shown.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^gra_\w{12}_/);
    await expect(keys.locator('tbody tr', { hasText: 'ci-reader' }).innerText()).resolves.toMatch(/ci-reader\s+gra_\w{12}_…\s+READ\s*WRITE/);
    await h.screenshot(page, 'settings-keys-secret-once');

    const asNew = await h.srv.gql<{ viewer: { apiKey: { name: string; expiresAt: string }; scopes: string[] } }>(
      '{ viewer { apiKey { name expiresAt } scopes } }',
      {},
      secret,
    );
    expect(asNew.errors).toBeUndefined();
    expect(asNew.data?.viewer.apiKey.name).toBe('ci-reader');
    expect([...(asNew.data?.viewer.scopes ?? [])].sort()).toEqual(['READ', 'WRITE']);
    expect(Math.abs(new Date(asNew.data!.viewer.apiKey.expiresAt).getTime() - expiry.getTime())).toBeLessThan(60_000);

    // Dismissed, the secret is gone from the page for good.
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    await expect(page.content()).resolves.not.toContain(secret);

    const row = keys.locator('tbody tr', { hasText: 'ci-reader' });
    await row.getByRole('button', { name: 'Revoke key ci-reader' }).click();
    await row.getByRole('group', { name: /^Revoke ci-reader\?/ }).waitFor();
    // Asked, not yet revoked: the key still works.
    expect(dataOf(await h.srv.gql<{ viewer: { apiKey: { name: string } } }>('{ viewer { apiKey { name } } }', {}, secret)).viewer.apiKey.name).toBe(
      'ci-reader',
    );
    await row.getByRole('button', { name: 'Revoke ci-reader' }).click();
    await expect.poll(() => row.locator('td').nth(5).innerText()).not.toBe('active');
    await expect(row.getByRole('button').count()).resolves.toBe(0);
    const refused = await h.srv.gql('{ viewer { apiKey { name } } }', {}, secret);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'settings-keys');
    expect(problems).toEqual([]);
  });

  it('tag schemas: text that is not JSON is refused before sending, the API’s conflict is shown, and a schema is created and deleted', async () => {
    const { page, problems } = await h.newPage();
    const sent = watchMutations(page);
    await page.goto(`${h.url}/settings/tags`);
    const form = page.getByRole('form', { name: 'New tag schema' });
    await form.getByLabel('Tag name').fill('owner');
    const schemaField = form.getByLabel('JSON Schema');
    await schemaField.fill('{ "type": "object", ');
    await form.getByRole('button', { name: 'Create tag schema' }).click();
    await expect.poll(() => schemaField.getAttribute('aria-invalid')).toBe('true');
    await expect(form.locator('ul.field-issues').innerText()).resolves.toMatch(/^not valid JSON/);
    expect(sent).toEqual([]);

    const schema = { type: 'object', properties: { team: { type: 'string' } }, required: ['team'] };
    await schemaField.fill(JSON.stringify(schema));
    await form.getByRole('button', { name: 'Create tag schema' }).click();
    const table = page.getByRole('table', { name: 'Tag schemas, by name' });
    const row = table.locator('tr[data-tag-schema="owner"]');
    await row.waitFor();
    const stored = dataOf(await h.srv.gql(TAG_SCHEMAS)).tagSchemas;
    expect(stored).toEqual([{ name: 'owner', schema }]);
    // Pretty-printed as the API returns it.
    await expect(row.locator('pre').innerText()).resolves.toBe(JSON.stringify(stored[0]!.schema, null, 2));

    // The same name with another schema: the API's ConflictError, where the form is.
    const other = { type: 'string' };
    const conflict = ofType(dataOf(await h.srv.gql(CREATE_TAG_SCHEMA, { name: 'owner', schema: other })).createTagSchema, 'ConflictError');
    await form.getByLabel('Tag name').fill('owner');
    await schemaField.fill(JSON.stringify(other));
    await form.getByRole('button', { name: 'Create tag schema' }).click();
    await expect.poll(() => form.getByRole('alert').innerText()).toContain(conflict.message);
    expect(sent).toEqual(['ConsoleCreateTagSchema', 'ConsoleCreateTagSchema']);
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'settings-tags');

    await row.getByRole('button', { name: 'Delete tag schema owner' }).click();
    await row.getByRole('button', { name: 'Delete owner' }).click();
    await page.getByText('No tag schema yet.').waitFor();
    expect(dataOf(await h.srv.gql(TAG_SCHEMAS)).tagSchemas).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a WRITE key sees no keys section, gets a note at its URL, and only the controls its scope allows', async () => {
    const { page, problems } = await h.newPage(writeKey);
    const sent: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql') sent.push(request.url() + (request.postData() ?? ''));
    });
    await page.goto(`${h.url}/settings`);
    const settingsNav = page.getByRole('navigation', { name: 'Settings' });
    await settingsNav.getByRole('link', { name: 'Project' }).waitFor();
    await expect(settingsNav.getByRole('link').allInnerTexts()).resolves.toEqual(['Project', 'Tag schemas']);
    await page.goto(`${h.url}/settings/keys`);
    const note = page.getByRole('note');
    await expect(note.innerText()).resolves.toMatch(/^Managing API keys needs an ADMIN key\. The key you are signed in with \(console-write\)/);
    expect(sent.filter((s) => s.includes('apiKeys'))).toEqual([]);
    expect(await h.axe(page)).toEqual([]);
    await h.screenshot(page, 'settings-keys-write-key');

    // Alerts: receivers need ADMIN (disabled, with the reason), routes WRITE (offered).
    await page.goto(`${h.url}/alerts`);
    const ops = page.locator('tr[data-receiver="ops"]');
    await ops.waitFor();
    const test = ops.getByRole('button', { name: 'Send a test alert to ops' });
    await expect(test.isDisabled()).resolves.toBe(true);
    await expect(test.getAttribute('title')).resolves.toMatch(/Only an ADMIN key/);
    await expect(page.getByRole('form', { name: 'New receiver (webhook)' }).getByRole('button', { name: 'Create receiver' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('form', { name: 'New route' }).getByRole('button', { name: 'Create route' }).isEnabled()).resolves.toBe(true);
    expect(problems).toEqual([]);
  });

  it('a READ key is offered no enabled control that changes anything on these pages, and sends no mutation', async () => {
    ofType(
      dataOf(await h.srv.gql(CREATE_TAG_SCHEMA, { name: 'team', schema: { type: 'string' } })).createTagSchema,
      'CreateTagSchemaPayload',
      'a tag schema for the READ key to see',
    );
    const { page, problems } = await h.newPage(h.readKey);
    const sent = watchMutations(page);
    // The delivery filters and older pages only read.
    const reading = ['Receiver', 'State', 'Show older deliveries'];
    for (const path of ['/alerts', '/settings', '/settings/keys', '/settings/tags']) {
      await page.goto(`${h.url}${path}`);
      await page.locator('main#content h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      const offered = (await enabledControls(page)).filter((name) => !reading.includes(name));
      expect(offered, `enabled controls on ${path}`).toEqual([]);
      if (path === '/alerts') {
        await expect(page.locator('tr[data-receiver="ops"]').getByRole('button', { name: 'Send a test alert to ops' }).getAttribute('title')).resolves.toMatch(
          /can only read/,
        );
        expect(await h.axe(page)).toEqual([]);
        await h.screenshot(page, 'alerts-read-only');
      }
      if (path === '/settings/keys') await expect(page.getByRole('note').innerText()).resolves.toMatch(/needs an ADMIN key/);
      if (path === '/settings/tags') {
        await page.locator('tr[data-tag-schema="team"]').waitFor();
        expect(await h.axe(page)).toEqual([]);
      }
    }
    expect(sent).toEqual([]);
    expect(problems).toEqual([]);
  });
});
