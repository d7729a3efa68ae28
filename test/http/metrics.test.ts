import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPERATION_NAMES } from '../../src/observability/metrics.ts';
import { dataOf, startTestServer, type TestServer, type UntypedData } from '../helpers/server.ts';

// /metrics as a Prometheus scraper sees it: exact counts after known operations, bounded labels,
// and who may scrape (an ADMIN key of the first project on the API port; anyone on METRICS_PORT).

let srv: TestServer;
let baseUrl: string;
let metricsUrl: string;
let webhook: Server;
let webhookUrl: string;

beforeAll(async () => {
  srv = await startTestServer({ env: { METRICS_PORT: '0' } });
  baseUrl = await srv.listen();
  const address = srv.server.metricsServer!.address() as AddressInfo;
  metricsUrl = `http://127.0.0.1:${address.port}/metrics`;
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await srv?.close();
  await new Promise((resolve) => webhook?.close(resolve));
});

/** One scrape from the keyless listener. */
async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series (0 when absent): `name` and its exact labels. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (have === wanted) return Number(m[3]);
  }
  return 0;
}

/** Every series (name and labels) of the scrape, values left out; the Node process's own (handles by type) left out. */
function series(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#') && !/^granary_(nodejs|process)_/.test(line))
      .map((line) => line.slice(0, line.lastIndexOf(' '))),
  );
}

async function onlineGroup(prefix: string) {
  const p = await srv.newProject(prefix);
  const gql = srv.as(p.key);
  dataOf(
    await gql(
      `mutation { createFeatureGroup(input: { name: "meters", primaryKey: ["id"], onlineEnabled: true, statisticsConfig: { enabled: false },
        features: [{ name: "id", type: "INT" }, { name: "reading", type: "DOUBLE" }] }) { __typename ... on Error { message } } }`,
    ),
  );
  return { ...p, gql };
}

const INSERT = `mutation Insert($rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: { name: "meters" }, rows: $rows) { __typename ... on InsertFeatureGroupDataPayload { commit { rowsInserted } } ... on Error { message } }
}`;

describe('/metrics', () => {
  it('counts offline commits, their rows and durations exactly: 3 inserts add 3', async () => {
    const { gql } = await onlineGroup('mcommit');
    const before = await scrape();
    for (const rows of [
      [{ id: 1, reading: 1 }],
      [
        { id: 2, reading: 2 },
        { id: 3, reading: 3 },
      ],
      [{ id: 4, reading: 4 }],
    ]) {
      const inserted: UntypedData = dataOf(await gql(INSERT, { rows }));
      expect(inserted.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('granary_offline_commits_total', { source: 'insert' })).toBe(3);
    expect(delta('granary_offline_commit_rows_total', { source: 'insert' })).toBe(4);
    expect(delta('granary_offline_commit_duration_seconds_count', { source: 'insert' })).toBe(3);
    expect(delta('granary_offline_commit_duration_seconds_sum', { source: 'insert' })).toBeGreaterThan(0);
    // The inserts themselves, as GraphQL operations by name, root field, type and outcome.
    expect(delta('granary_graphql_operations_total', { operation: 'Insert', root_field: 'insertFeatureGroupData', type: 'mutation', outcome: 'success' })).toBe(
      3,
    );
    expect(
      delta('granary_graphql_operation_duration_seconds_count', {
        operation: 'Insert',
        root_field: 'insertFeatureGroupData',
        type: 'mutation',
        outcome: 'success',
      }),
    ).toBe(3);
  });

  it('counts operations with errors apart, over HTTP (the fast path) as through yoga', async () => {
    const before = await scrape();
    const post = (body: unknown) =>
      fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}` },
        body: JSON.stringify(body),
      });
    expect((await post({ query: 'query Who { viewer { scopes } }' })).status).toBe(200);
    expect((await post({ query: 'query Who { viewer { scopes } }' })).status).toBe(200);
    await post({ query: 'query Missing { featureVector(featureView: { name: "nope" }, entry: { id: 1 }) { values } }' });
    await srv.gql('{ viewer { scopes } }');
    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      value(after, 'granary_graphql_operations_total', labels) - value(before, 'granary_graphql_operations_total', labels);
    expect(delta({ operation: 'Who', root_field: 'viewer', type: 'query', outcome: 'success' })).toBe(2);
    expect(delta({ operation: 'Missing', root_field: 'featureVector', type: 'query', outcome: 'error' })).toBe(1);
    expect(delta({ operation: 'anonymous', root_field: 'viewer', type: 'query', outcome: 'success' })).toBe(1);
  });

  it('times online reads by backend and keeps labels bounded when 10 000 distinct keys are read', async () => {
    const { gql } = await onlineGroup('mkeys');
    const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, reading: i }));
    dataOf(await gql(INSERT, { rows }));
    const read = `query Rows($entries: [JSON!]!) { featureGroup(name: "meters") { onlineRows(entries: $entries) { found } } }`;
    // One round first, so that every series the reads create exists before the count.
    dataOf(await gql(read, { entries: [{ id: 0 }] }));
    const before = await scrape();
    for (let batch = 0; batch < 10; batch++) {
      const entries = Array.from({ length: 1000 }, (_, i) => ({ id: 1_000_000 + batch * 1000 + i }));
      dataOf(await gql(read, { entries }));
    }
    const after = await scrape();
    const backend = srv.app.config.onlineStoreUrl ? 'redis' : 'sqlite';
    expect(value(after, 'granary_online_read_keys_total', { backend }) - value(before, 'granary_online_read_keys_total', { backend })).toBe(10_000);
    expect(
      value(after, 'granary_online_read_duration_seconds_count', { backend }) - value(before, 'granary_online_read_duration_seconds_count', { backend }),
    ).toBe(10);
    // The same series before and after: no key became a label value.
    const added = [...series(after)].filter((s) => !series(before).has(s));
    expect(added).toEqual([]);
    expect(after).not.toContain('1000500');
  });

  it('shows streaming freshness per feature group and the consumer lag per project', async () => {
    const p = await onlineGroup('mstream');
    const ingested: UntypedData = dataOf(
      await p.gql(
        `mutation { ingestFeatureGroupRows(featureGroup: { name: "meters" }, rows: [{ id: 1, reading: 2.5 }], waitFor: ONLINE) { __typename ... on Error { message } } }`,
      ),
    );
    expect(ingested.ingestFeatureGroupRows.__typename).not.toMatch(/Error$/);
    const text = await scrape();
    const written = value(text, 'granary_stream_last_online_write_timestamp_seconds', { project: p.name, feature_group: 'meters_v1' });
    expect(written).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(written).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(text).toMatch(new RegExp(`^granary_stream_pending_offline_rows\\{project="${p.name}",feature_group="meters_v1"\\} [01]$`, 'm'));
    expect(text).toMatch(new RegExp(`^granary_stream_consumer_pending_messages\\{project="${p.name}"\\} \\d+$`, 'm'));
  });

  it('keeps at most a bounded number of client operation names; later ones count as other', async () => {
    for (let i = 0; i < MAX_OPERATION_NAMES + 20; i++) await srv.gql(`query Named${i} { viewer { scopes } }`);
    const text = await scrape();
    const names = new Set([...text.matchAll(/^granary_graphql_operations_total\{operation="([^"]*)"/gm)].map((m) => m[1]));
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 2);
    expect(names.has('other')).toBe(true);
  });

  it('counts job executions by type and final state', async () => {
    const p = await srv.newProject('mjob');
    const gql = srv.as(p.key);
    const before = await scrape();
    for (const [name, code] of [
      ['ok_job', 0],
      ['bad_job', 3],
    ] as const) {
      dataOf(
        await gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
          input: { name, type: 'COMMAND', config: { command: process.execPath, args: ['-e', `process.exit(${code})`] } },
        }),
      );
      const run: UntypedData = dataOf(
        await gql(`mutation($n: String!) { runJob(name: $n) { ... on RunJobPayload { execution { id } } ... on Error { message } } }`, { n: name }),
      );
      const id = run.runJob.execution.id;
      await expect
        .poll(async () => dataOf<UntypedData>(await gql(`query($id: ID!) { execution(id: $id) { finalStatus } }`, { id })).execution.finalStatus, {
          timeout: 20_000,
        })
        .not.toBeNull();
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('granary_job_executions_total', { type: 'COMMAND', state: 'SUCCEEDED' })).toBe(1);
    expect(delta('granary_job_executions_total', { type: 'COMMAND', state: 'FAILED' })).toBe(1);
    expect(delta('granary_job_execution_duration_seconds_count', { type: 'COMMAND', state: 'FAILED' })).toBe(1);
    expect(after).toMatch(/^granary_job_queue_depth|^# TYPE granary_job_queue_depth gauge/m);
  });

  it('counts alert delivery attempts by the state they left', async () => {
    const p = await srv.newProject('malert');
    const gql = srv.as(p.key);
    dataOf(
      await gql(`mutation($input: CreateAlertReceiverInput!) { createAlertReceiver(input: $input) { __typename ... on Error { message } } }`, {
        input: { name: 'hook', webhookUrl, secret: 'a-secret-of-16-chars-or-more' },
      }),
    );
    const before = await scrape();
    const tested: UntypedData = dataOf(await gql(`mutation { testAlertReceiver(name: "hook") { __typename ... on Error { message } } }`));
    expect(tested.testAlertReceiver.__typename).not.toMatch(/Error$/);
    const after = await scrape();
    expect(
      value(after, 'granary_alert_delivery_attempts_total', { state: 'DELIVERED' }) -
        value(before, 'granary_alert_delivery_attempts_total', { state: 'DELIVERED' }),
    ).toBe(1);
  });

  it('shows open subscriptions and includes the Node process metrics', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${srv.adminKey}` },
      body: JSON.stringify({ query: 'subscription { executionUpdated { id } }' }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await expect.poll(async () => value(await scrape(), 'granary_subscriptions_active'), { timeout: 5000 }).toBe(1);
    controller.abort();
    await expect.poll(async () => value(await scrape(), 'granary_subscriptions_active'), { timeout: 5000 }).toBe(0);
    const text = await scrape();
    expect(text).toMatch(/^granary_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^granary_nodejs_eventloop_lag_p99_seconds /m);
  });

  it('answers on the API port only to an ADMIN key of the first project; the metrics listener needs none', async () => {
    const get = (key?: string) => fetch(`${baseUrl}/metrics`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    expect((await get()).status).toBe(401);
    expect((await get('gra_not_a_key')).status).toBe(401);
    const other = await srv.newProject('mother');
    expect((await get(other.key)).status).toBe(403);
    const admin = await get(srv.adminKey);
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('granary_graphql_operations_total');
    // The listener of METRICS_PORT serves /metrics and nothing else.
    expect((await fetch(metricsUrl.replace('/metrics', '/graphql'))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
  });
});
