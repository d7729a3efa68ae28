import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/services/alert/alert-event.ts';
import { startTestServer, testMetadataProvider, type TestServer } from '../helpers/server.ts';

/** Fast retries so a retried delivery takes milliseconds, not seconds. */
const ENV = { GRANARY_ALERT_RETRY_BASE_MS: '20', GRANARY_ALERT_TIMEOUT_MS: '1000', GRANARY_ALERT_MAX_ATTEMPTS: '4' };
const SECRET = 'whsec_correct-horse-battery-staple';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: ENV });
});
afterAll(async () => {
  await srv?.close();
});

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

/** A webhook on a loopback port: answers each request with the next scripted answer (then 200). */
async function receiver(...answers: Answer[]) {
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = answers.shift() ?? 200;
      if (answer === 'hang') {
        hanging.push(() => res.destroy());
        return;
      }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      res.writeHead(status, headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    async close() {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a receiver does: recompute the HMAC over "<timestamp>.<raw body>" and compare in constant time. */
function verify(secret: string, request: Received): boolean {
  const timestamp = String(request.headers['x-granary-timestamp'] ?? '');
  const signature = String(request.headers['x-granary-signature'] ?? '');
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && given.length === expected.length && timingSafeEqual(given, expected);
}

const CREATE_RECEIVER = `mutation($input: CreateAlertReceiverInput!) {
  createAlertReceiver(input: $input) {
    __typename
    ... on CreateAlertReceiverPayload { alertReceiver { id name webhookUrl description createdAt } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const CREATE_ROUTE = `mutation($input: CreateAlertRouteInput!) {
  createAlertRoute(input: $input) {
    __typename
    ... on CreateAlertRoutePayload { alertRoute { id eventTypes enabled subject { kind name version } receiver { name } } }
    ... on Error { message }
  }
}`;

const DELIVERIES = `query($receiver: String, $state: AlertDeliveryState, $first: Int, $after: String) {
  alertDeliveries(receiver: $receiver, state: $state, first: $first, after: $after) {
    edges { node { id deliveryId eventType state attempts lastStatus lastError payload deliveredAt nextAttemptAt receiver { name } route { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const jobFailed: AlertEvent = {
  type: 'JOB_FAILED',
  subject: { kind: 'Job', name: 'nightly_statistics' },
  message: 'Job nightly_statistics failed',
  details: { executionId: 'exec-1', state: 'FAILED' },
};

async function project() {
  const p = await srv.newProject('alert');
  const gql = (q: string, v?: Record<string, unknown>) => srv.gql(q, v, p.key);
  const { id } = await srv.app.prisma.project.findUniqueOrThrow({ where: { name: p.name } });
  return { ...p, id, gql };
}

type Project = Awaited<ReturnType<typeof project>>;

async function addReceiver(p: Project, name: string, url: string, eventTypes: string[] = ['JOB_FAILED'], subject?: object) {
  const created = await p.gql(CREATE_RECEIVER, { input: { name, webhookUrl: url, secret: SECRET, description: `${name} hook` } });
  expect(created.data?.createAlertReceiver.__typename, JSON.stringify(created)).toBe('CreateAlertReceiverPayload');
  const route = await p.gql(CREATE_ROUTE, { input: { receiver: name, eventTypes, subject } });
  expect(route.data?.createAlertRoute.__typename, JSON.stringify(route)).toBe('CreateAlertRoutePayload');
  return { receiver: created.data.createAlertReceiver.alertReceiver, route: route.data.createAlertRoute.alertRoute };
}

async function deliveries(p: Project, receiver?: string) {
  const res = await p.gql(DELIVERIES, { receiver, first: 100 });
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  return res.data.alertDeliveries.edges.map((e: any) => e.node);
}

/** Polls until every delivery of the project has left PENDING (and there are `count`). */
async function settled(p: Project, count: number, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = await srv.app.prisma.alertDelivery.findMany({ where: { projectId: p.id } });
    if (rows.length === count && rows.every((r) => r.state !== 'PENDING')) return deliveries(p);
    if (Date.now() > deadline) throw new Error(`deliveries did not settle: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('alert deliveries', () => {
  it('POSTs the signed alert of a raised JOB_FAILED event to a loopback webhook, and the signature verifies', async () => {
    const p = await project();
    const hook = await receiver();
    try {
      await addReceiver(p, 'ops', hook.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      const [delivery] = await settled(p, 1);
      expect(delivery).toMatchObject({ state: 'DELIVERED', attempts: 1, lastStatus: 200, lastError: null, eventType: 'JOB_FAILED' });
      expect(hook.received).toHaveLength(1);
      const request = hook.received[0]!;
      expect(verify(SECRET, request)).toBe(true);
      expect(verify('another-secret-of-16+chars', request)).toBe(false);
      // A changed body no longer verifies.
      expect(verify(SECRET, { ...request, body: request.body.replace('nightly', 'daily') })).toBe(false);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-granary-event']).toBe('JOB_FAILED');
      expect(request.headers['x-granary-delivery']).toBe(delivery.deliveryId);
      const body = JSON.parse(request.body);
      expect(body).toEqual({
        id: expect.any(String),
        type: 'JOB_FAILED',
        project: p.name,
        subject: { kind: 'Job', name: 'nightly_statistics', version: null },
        message: 'Job nightly_statistics failed',
        details: { executionId: 'exec-1', state: 'FAILED' },
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(delivery.payload).toEqual(body);
    } finally {
      await hook.close();
    }
  });

  it('a job whose run fails sends its signed JOB_FAILED alert, naming the job and the execution', async () => {
    const p = await project();
    const hook = await receiver();
    try {
      await addReceiver(p, 'oncall', hook.url, ['JOB_FAILED'], { kind: 'JOB', name: 'nightly_export' });
      const created = await p.gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
        input: { name: 'nightly_export', type: 'COMMAND', config: { command: process.execPath, args: ['-e', 'process.exit(3)'] } },
      });
      expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
      const run = await p.gql(`mutation { runJob(name: "nightly_export") { ... on RunJobPayload { execution { id } } ... on Error { message } } }`);
      const executionId = run.data.runJob.execution.id;
      const [delivery] = await settled(p, 1, 20_000);
      expect(delivery).toMatchObject({ state: 'DELIVERED', eventType: 'JOB_FAILED', attempts: 1 });
      const request = hook.received[0]!;
      expect(verify(SECRET, request)).toBe(true);
      const body = JSON.parse(request.body);
      expect(body).toMatchObject({ type: 'JOB_FAILED', project: p.name, subject: { kind: 'Job', name: 'nightly_export' } });
      const execution = await p.gql(`query($id: ID!) { execution(id: $id) { id finalStatus } }`, { id: executionId });
      expect(execution.data.execution.finalStatus).toBe('FAILED');
      // The execution's API id: what `execution(id:)` takes.
      expect(body.details).toEqual({ executionId, state: 'FAILED' });
    } finally {
      await hook.close();
    }
  });

  it('retries a receiver answering 500 twice, then 200: DELIVERED after 3 attempts, same delivery id each time', async () => {
    const p = await project();
    const hook = await receiver(500, 503);
    try {
      await addReceiver(p, 'flaky', hook.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      const [delivery] = await settled(p, 1);
      expect(delivery).toMatchObject({ state: 'DELIVERED', attempts: 3, lastStatus: 200, nextAttemptAt: null });
      expect(hook.received).toHaveLength(3);
      // Backoff: at least half of 20 ms, then of 40 ms (jitter scales each delay by 0.5–1).
      const [a, b, c] = hook.received.map((r) => r.at) as [number, number, number];
      expect(b - a).toBeGreaterThanOrEqual(10);
      expect(c - b).toBeGreaterThanOrEqual(20);
      expect(new Set(hook.received.map((r) => r.headers['x-granary-delivery']))).toEqual(new Set([delivery.deliveryId]));
      for (const request of hook.received) expect(verify(SECRET, request)).toBe(true);
    } finally {
      await hook.close();
    }
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const p = await project();
    const hook = await receiver({ status: 429, headers: { 'retry-after': '1' } });
    try {
      await addReceiver(p, 'limited', hook.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      const [delivery] = await settled(p, 1);
      expect(delivery).toMatchObject({ state: 'DELIVERED', attempts: 2 });
      expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(900);
    } finally {
      await hook.close();
    }
  });

  it('fails at once on a 400, and gives up on a 5xx after the allowed attempts', async () => {
    const p = await project();
    const rejecting = await receiver(400);
    const broken = await receiver(500, 500, 500, 500, 500);
    try {
      await addReceiver(p, 'rejecting', rejecting.url);
      await addReceiver(p, 'broken', broken.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      const rows = await settled(p, 2);
      expect(rows.find((d: any) => d.receiver.name === 'rejecting')).toMatchObject({ state: 'FAILED', attempts: 1, lastStatus: 400, lastError: 'HTTP 400' });
      expect(rejecting.received).toHaveLength(1);
      const gaveUp = rows.find((d: any) => d.receiver.name === 'broken');
      expect(gaveUp).toMatchObject({ state: 'FAILED', attempts: 4, lastStatus: 500 });
      expect(gaveUp.lastError).toMatch(/gave up after 4 attempts/);
      expect(broken.received).toHaveLength(4);
      const failed = await p.gql(DELIVERIES, { state: 'FAILED' });
      expect(failed.data.alertDeliveries.edges).toHaveLength(2);
      expect((await p.gql(DELIVERIES, { state: 'DELIVERED' })).data.alertDeliveries.edges).toHaveLength(0);
    } finally {
      await rejecting.close();
      await broken.close();
    }
  });

  it('retries when the receiver does not answer in time', async () => {
    const p = await project();
    const hook = await receiver('hang');
    try {
      await addReceiver(p, 'slow', hook.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      const [delivery] = await settled(p, 1, 8000);
      expect(delivery).toMatchObject({ state: 'DELIVERED', attempts: 2 });
      expect(hook.received).toHaveLength(2);
    } finally {
      await hook.close();
    }
  });

  it('testAlertReceiver sends a signed TEST event at once and returns the answer', async () => {
    const p = await project();
    const hook = await receiver(200, 418);
    try {
      await addReceiver(p, 'ops', hook.url);
      const TEST = `mutation($name: String!) { testAlertReceiver(name: $name) {
        __typename ... on TestAlertReceiverPayload { ok status error delivery { eventType state attempts } } ... on Error { message } } }`;
      const ok = await p.gql(TEST, { name: 'ops' });
      expect(ok.data.testAlertReceiver).toMatchObject({ ok: true, status: 200, error: null, delivery: { eventType: 'TEST', state: 'DELIVERED', attempts: 1 } });
      expect(verify(SECRET, hook.received[0]!)).toBe(true);
      expect(hook.received[0]!.headers['x-granary-event']).toBe('TEST');
      expect(JSON.parse(hook.received[0]!.body)).toMatchObject({ type: 'TEST', project: p.name, subject: null });
      const teapot = await p.gql(TEST, { name: 'ops' });
      expect(teapot.data.testAlertReceiver).toMatchObject({ ok: false, status: 418, error: 'HTTP 418', delivery: { state: 'FAILED' } });
      const missing = await p.gql(TEST, { name: 'nobody' });
      expect(missing.data.testAlertReceiver).toMatchObject({ __typename: 'NotFoundError' });
    } finally {
      await hook.close();
    }
  });
});

describe('alert receivers and routes', () => {
  it('refuses a webhook host that is not loopback nor allowed, and stores nothing', async () => {
    const p = await project();
    for (const webhookUrl of ['http://example.com/hook', 'https://10.0.0.8/hook', 'ftp://127.0.0.1/hook', 'not a url']) {
      const res = await p.gql(CREATE_RECEIVER, { input: { name: 'outside', webhookUrl, secret: SECRET } });
      expect(res.data.createAlertReceiver.__typename, webhookUrl).toBe('ValidationError');
      expect(res.data.createAlertReceiver.issues[0].path).toEqual(['input', 'webhookUrl']);
    }
    const short = await p.gql(CREATE_RECEIVER, { input: { name: 'short', webhookUrl: 'http://localhost:1/x', secret: 'short' } });
    expect(short.data.createAlertReceiver.issues[0].path).toEqual(['input', 'secret']);
    for (const webhookUrl of ['http://localhost:9/hook', 'http://127.0.0.2:9/hook', 'http://[::1]:9/hook']) {
      const res = await p.gql(CREATE_RECEIVER, { input: { name: `ok${Math.random().toString(36).slice(2, 8)}`, webhookUrl, secret: SECRET } });
      expect(res.data.createAlertReceiver.__typename, webhookUrl).toBe('CreateAlertReceiverPayload');
    }
    const names = (await p.gql(`{ alertReceivers { name } }`)).data.alertReceivers;
    expect(names).toHaveLength(3);
    expect(names.some((r: any) => r.name === 'outside' || r.name === 'short')).toBe(false);
  });

  it('checks the host again at delivery: a receiver whose URL is no longer allowed fails without a request', async () => {
    const p = await project();
    const { receiver: r } = await addReceiver(p, 'moved', 'http://127.0.0.1:9/hook');
    // As if the allowed hosts were narrowed after the receiver was created.
    await srv.app.prisma.alertReceiver.updateMany({ where: { projectId: p.id, name: 'moved' }, data: { webhookUrl: 'http://192.0.2.10/hook' } });
    srv.app.services.alerts.raise(p.id, jobFailed);
    const [delivery] = await settled(p, 1);
    expect(r.name).toBe('moved');
    expect(delivery).toMatchObject({ state: 'FAILED', attempts: 1, lastStatus: null });
    expect(delivery.lastError).toMatch(/192\.0\.2\.10 is not allowed/);
  });

  it('never returns the secret, and stores it sealed only', async () => {
    const p = await project();
    const hook = await receiver();
    try {
      const created = await addReceiver(p, 'sealed', hook.url);
      srv.app.services.alerts.raise(p.id, jobFailed);
      await settled(p, 1);
      const everything = await p.gql(`{
        alertReceivers { id name description webhookUrl createdAt routes { id eventTypes receiver { name webhookUrl } } }
        alertRoutes { id receiver { name } }
        alertDeliveries(first: 10) { edges { node { payload lastError receiver { name } } } }
        registryChanges(since: "2000-01-01T00:00:00Z") { kind name action }
      }`);
      expect(everything.errors).toBeUndefined();
      const responses = JSON.stringify([created, everything]);
      expect(responses).not.toContain(SECRET);
      expect(everything.data.registryChanges.filter((e: any) => e.kind.startsWith('Alert'))).toEqual([
        expect.objectContaining({ kind: 'AlertReceiver', name: 'sealed', action: 'CREATED' }),
        expect.objectContaining({ kind: 'AlertRoute', name: 'sealed', action: 'CREATED' }),
      ]);
      const rows = await srv.app.prisma.alertReceiver.findMany({ where: { projectId: p.id } });
      expect(JSON.stringify(rows)).not.toContain(SECRET);
      expect(rows[0]!.sealedSecret).toMatch(/^v1:/);
      expect(srv.app.services.secrets.open(rows[0]!.sealedSecret)).toBe(SECRET);
      if (testMetadataProvider() === 'sqlite') {
        for (const file of ['metadata.db', 'metadata.db-wal']) {
          const path = join(srv.dataDir, file);
          if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(SECRET)), file).toBe(false);
        }
      }
    } finally {
      await hook.close();
    }
  });

  it('routes by event type and subject; disabled routes and other subjects get nothing', async () => {
    const p = await project();
    const hook = await receiver();
    try {
      const { route: jobs } = await addReceiver(p, 'jobs', hook.url, ['JOB_FAILED', 'JOB_LONG_RUNNING']);
      const { route: stats } = await addReceiver(p, 'stats', hook.url, ['STATISTICS_COMPUTED'], { kind: 'FEATURE_GROUP', name: 'customers', version: 2 });
      expect(stats.subject).toEqual({ kind: 'FEATURE_GROUP', name: 'customers', version: 2 });
      expect(jobs.subject).toBeNull();
      await addReceiver(p, 'nightly', hook.url, ['JOB_FAILED'], { kind: 'JOB', name: 'nightly' });
      const off = await p.gql(CREATE_ROUTE, { input: { receiver: 'stats', eventTypes: ['JOB_SUCCEEDED'], enabled: false } });
      expect(off.data.createAlertRoute.alertRoute.enabled).toBe(false);
      const SET_ENABLED = `mutation($id: ID!, $enabled: Boolean!) { setAlertRouteEnabled(id: $id, enabled: $enabled) {
        __typename ... on SetAlertRouteEnabledPayload { alertRoute { enabled } } } }`;
      const offId = off.data.createAlertRoute.alertRoute.id;
      await p.gql(SET_ENABLED, { id: offId, enabled: true });
      expect(await srv.app.services.alerts.record(p.id, { ...jobFailed, type: 'JOB_SUCCEEDED' })).toBe(1);
      const disabled = await p.gql(SET_ENABLED, { id: offId, enabled: false });
      expect(disabled.data.setAlertRouteEnabled.alertRoute.enabled).toBe(false);
      // A second matching route to the same receiver does not send twice.
      await p.gql(CREATE_ROUTE, { input: { receiver: 'jobs', eventTypes: ['JOB_FAILED'] } });

      const alerts = srv.app.services.alerts;
      const stat = (version: number): AlertEvent => ({
        type: 'STATISTICS_COMPUTED',
        subject: { kind: 'FeatureGroup', name: 'customers', version },
        message: 's',
      });
      expect(await alerts.record(p.id, { ...jobFailed, type: 'JOB_SUCCEEDED' })).toBe(0);
      expect(await alerts.record(p.id, stat(1))).toBe(0);
      expect(await alerts.record(p.id, { ...stat(2), subject: { kind: 'FeatureGroup', name: 'orders', version: 2 } })).toBe(0);
      expect(await alerts.record(p.id, stat(2))).toBe(1);
      expect(await alerts.record(p.id, jobFailed)).toBe(1);
      expect(await alerts.record(p.id, { ...jobFailed, subject: { kind: 'Job', name: 'nightly' } })).toBe(2);
      expect(await alerts.record(p.id, { ...jobFailed, type: 'JOB_LONG_RUNNING' })).toBe(1);
      alerts.start();
      const rows = await settled(p, 6);
      const byReceiver = (name: string) =>
        rows
          .filter((d: any) => d.receiver.name === name)
          .map((d: any) => d.eventType)
          .sort();
      expect(byReceiver('jobs')).toEqual(['JOB_FAILED', 'JOB_FAILED', 'JOB_LONG_RUNNING']);
      expect(byReceiver('stats')).toEqual(['JOB_SUCCEEDED', 'STATISTICS_COMPUTED']);
      expect(byReceiver('nightly')).toEqual(['JOB_FAILED']);
      expect(rows.every((d: any) => d.state === 'DELIVERED')).toBe(true);
      expect(hook.received).toHaveLength(6);

      // Paging through the connection.
      const page = await p.gql(DELIVERIES, { first: 2 });
      expect(page.data.alertDeliveries.pageInfo.hasNextPage).toBe(true);
      const next = await p.gql(DELIVERIES, { first: 10, after: page.data.alertDeliveries.pageInfo.endCursor });
      expect(next.data.alertDeliveries.edges).toHaveLength(4);

      // Deleting the route stops it; deleting the receiver removes its routes and deliveries.
      const del = await p.gql(`mutation($id: ID!) { deleteAlertRoute(id: $id) { __typename } }`, { id: stats.id });
      expect(del.data.deleteAlertRoute.__typename).toBe('DeleteAlertRoutePayload');
      expect(await alerts.record(p.id, stat(2))).toBe(0);
      const gone = await p.gql(`mutation { deleteAlertReceiver(name: "jobs") { __typename ... on DeleteAlertReceiverPayload { name } } }`);
      expect(gone.data.deleteAlertReceiver).toEqual({ __typename: 'DeleteAlertReceiverPayload', name: 'jobs' });
      expect(await alerts.record(p.id, { ...jobFailed, type: 'JOB_LONG_RUNNING' })).toBe(0);
      expect((await deliveries(p, 'jobs')).length).toBe(0);
      const again = await p.gql(`mutation { deleteAlertReceiver(name: "jobs") { __typename } }`);
      expect(again.data.deleteAlertReceiver.__typename).toBe('NotFoundError');
    } finally {
      await hook.close();
    }
  });

  it('refuses bad routes with typed errors', async () => {
    const p = await project();
    await addReceiver(p, 'ops', 'http://127.0.0.1:9/hook');
    const none = await p.gql(CREATE_ROUTE, { input: { receiver: 'ops', eventTypes: [] } });
    expect(none.data.createAlertRoute.__typename).toBe('ValidationError');
    const unknown = await p.gql(CREATE_ROUTE, { input: { receiver: 'nobody', eventTypes: ['JOB_FAILED'] } });
    expect(unknown.data.createAlertRoute.__typename).toBe('NotFoundError');
    const dup = await p.gql(CREATE_RECEIVER, { input: { name: 'ops', webhookUrl: 'http://127.0.0.1:9/x', secret: SECRET } });
    expect(dup.data.createAlertReceiver.__typename).toBe('ConflictError');
    expect((await p.gql(`{ alertRoutes { id } }`)).data.alertRoutes).toHaveLength(1);
  });

  it('keeps projects apart: another project’s events never reach this project’s receivers, nor its lists', async () => {
    const mine = await project();
    const theirs = await project();
    const hook = await receiver();
    try {
      const { route } = await addReceiver(mine, 'ops', hook.url, ['JOB_FAILED']);
      expect(await srv.app.services.alerts.record(theirs.id, jobFailed)).toBe(0);
      // raise never throws at its caller, whatever it is given.
      expect(() => srv.app.services.alerts.raise(mine.id, { type: 'NOT_A_TYPE' } as unknown as AlertEvent)).not.toThrow();
      expect(() => srv.app.services.alerts.raise('no-such-project', jobFailed)).not.toThrow();
      srv.app.services.alerts.raise(theirs.id, jobFailed);
      srv.app.services.alerts.raise(mine.id, { ...jobFailed, message: 'mine' });
      await settled(mine, 1);
      expect(hook.received.map((r) => JSON.parse(r.body).message)).toEqual(['mine']);
      expect(await srv.app.prisma.alertDelivery.count({ where: { projectId: theirs.id } })).toBe(0);
      const seen = await theirs.gql(`{ alertReceivers { name } alertRoutes { id } alertDeliveries { edges { node { id } } } }`);
      expect(seen.data).toEqual({ alertReceivers: [], alertRoutes: [], alertDeliveries: { edges: [] } });
      const del = await theirs.gql(`mutation($id: ID!) { deleteAlertRoute(id: $id) { __typename } }`, { id: route.id });
      expect(del.data.deleteAlertRoute.__typename).toBe('NotFoundError');
      const routeNode = await theirs.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: route.id });
      expect(routeNode.data.node).toBeNull();
    } finally {
      await hook.close();
    }
  });

  it('needs ADMIN for receivers; a READ key lists them', async () => {
    const p = await project();
    const key = await p.gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreateApiKeyPayload { secret } } }`);
    const reader = key.data.createApiKey.secret;
    const res = await srv.gql(CREATE_RECEIVER, { input: { name: 'ops', webhookUrl: 'http://127.0.0.1:9/x', secret: SECRET } }, reader);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await srv.gql(`{ alertReceivers { name } }`, {}, reader)).data.alertReceivers).toEqual([]);
  });
});

describe('alert delivery across processes', () => {
  it('resumes deliveries a stopped process left pending, and two processes send each delivery once', async () => {
    const p = await project();
    const hook = await receiver('hang');
    const other = await startTestServer({ env: ENV, shareWith: srv });
    try {
      await addReceiver(p, 'ops', hook.url);
      // The other process takes the first attempt, then stops with it in flight.
      other.app.services.alerts.raise(p.id, jobFailed);
      const deadline = Date.now() + 5000;
      while (hook.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(hook.received).toHaveLength(1);
      // Stopping puts the attempt in flight back, uncounted (every delivery below ends with attempts 1).
      await other.app.services.alerts.stop();
      const left = await srv.app.prisma.alertDelivery.findFirstOrThrow({ where: { projectId: p.id } });
      expect(left.state === 'PENDING' ? left.attempts : left.state).toBe(left.state === 'PENDING' ? 0 : 'DELIVERED');
      // Events recorded by one process, while both workers run, are each sent once.
      const third = await startTestServer({ env: ENV, shareWith: srv });
      try {
        for (let i = 0; i < 6; i++) await third.app.services.alerts.record(p.id, { ...jobFailed, message: `m${i}` });
        third.app.services.alerts.start();
        srv.app.services.alerts.start();
        const rows = await settled(p, 7);
        expect(rows.every((d: any) => d.state === 'DELIVERED' && d.attempts === 1)).toBe(true);
        const ids = hook.received.slice(1).map((r) => r.headers['x-granary-delivery']);
        expect(ids).toHaveLength(7);
        expect(new Set(ids).size).toBe(7);
      } finally {
        await third.close();
      }
    } finally {
      await other.close();
      await hook.close();
    }
  });
});
