import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startTestServer, type TestServer, type UntypedData } from '../helpers/server.ts';

// OpenTelemetry traces as a collector receives them: an in-memory OTLP/HTTP receiver (JSON bodies,
// OTEL_EXPORTER_OTLP_PROTOCOL=http/json) stands in for the collector, configured through the
// standard OTEL_* variables.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string } }[];
  links?: { traceId: string; spanId: string }[];
}

let srv: TestServer;
let baseUrl: string;
let receiver: Server;
let received: OtlpSpan[] = [];
const serviceNames = new Set<string>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resourceSpans of body.resourceSpans) {
          const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
          if (service) serviceNames.add(service);
          for (const scope of resourceSpans.scopeSpans) received.push(...scope.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  srv = await startTestServer({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'granary-under-test',
    },
  });
  baseUrl = await srv.listen();
});
afterAll(async () => {
  await srv?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** The spans exported while `work` ran (everything ended before is flushed and dropped first). */
async function spansOf(work: () => Promise<void>): Promise<OtlpSpan[]> {
  await srv.app.tracing!.flush();
  received = [];
  await work();
  await srv.app.tracing!.flush();
  return received;
}

async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.adminKey}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

const VECTOR = 'query Vector($entry: JSON!) { featureVector(featureView: { name: "meter_view" }, entry: $entry) { values } }';

describe('tracing', () => {
  beforeAll(async () => {
    dataOf(
      await srv.gql(
        `mutation { createFeatureGroup(input: { name: "meters", primaryKey: ["id"], onlineEnabled: true, statisticsConfig: { enabled: false },
          features: [{ name: "id", type: "INT" }, { name: "reading", type: "DOUBLE" }] }) { __typename ... on Error { message } } }`,
      ),
    );
    dataOf(await srv.gql(`mutation { insertFeatureGroupData(featureGroup: { name: "meters" }, rows: [{ id: 1, reading: 2.5 }]) { __typename } }`));
    dataOf(
      await srv.gql(
        `mutation { createFeatureView(input: { name: "meter_view", query: { featureGroup: { name: "meters" } } }) { __typename ... on Error { message } } }`,
      ),
    );
  });

  it('gives one featureVector request one trace: the operation span and an online-store child span', async () => {
    const spans = await spansOf(async () => {
      expect(await post(VECTOR, { entry: { id: 1 } })).toEqual({ featureVector: { values: [1, 2.5] } });
    });
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    const operation = roots[0]!;
    expect(operation.name).toBe('query Vector');
    expect(operation.kind).toBe(2); // SERVER
    const online = spans.filter((s) => s.name === 'online.read');
    expect(online).toHaveLength(1);
    expect(online[0]!.parentSpanId).toBe(operation.spanId);
    expect(online[0]!.attributes?.find((a) => a.key === 'granary.store')?.value.stringValue).toBe('online');
    expect(serviceNames).toContain('granary-under-test');
  });

  it("continues the caller's trace from a traceparent header", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const spans = await spansOf(async () => {
      await post(VECTOR, { entry: { id: 1 } }, { traceparent: `00-${traceId}-${parent}-01` });
    });
    const operation = spans.find((s) => s.name === 'query Vector')!;
    expect(operation.traceId).toBe(traceId);
    expect(operation.parentSpanId).toBe(parent);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
  });

  it('traces the metadata and offline stores under a mutation', async () => {
    const spans = await spansOf(async () => {
      await post('mutation Add($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "meters" }, rows: $rows) { __typename } }', {
        rows: [{ id: 2, reading: 4 }],
      });
    });
    const operation = spans.find((s) => s.name === 'mutation Add')!;
    expect(operation).toBeDefined();
    const names = spans.map((s) => s.name);
    expect(names).toContain('offline.stage');
    expect(names.some((n) => n.startsWith('metadata.Commit.'))).toBe(true);
    expect(names).toContain('online.writeColumns');
    expect(spans.every((s) => s.traceId === operation.traceId)).toBe(true);
  });

  it('gives a job run a trace of its own, linked to the request that started it', async () => {
    dataOf(
      await srv.gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
        input: { name: 'traced_job', type: 'COMMAND', config: { command: process.execPath, args: ['-e', ''] } },
      }),
    );
    const spans = await spansOf(async () => {
      const run: UntypedData = dataOf(await srv.gql(`mutation { runJob(name: "traced_job") { ... on RunJobPayload { execution { id } } } }`));
      const id = run.runJob.execution.id;
      await expect
        .poll(async () => dataOf<UntypedData>(await srv.gql(`query($id: ID!) { execution(id: $id) { finalStatus } }`, { id })).execution.finalStatus, {
          timeout: 20_000,
        })
        .toBe('SUCCEEDED');
    });
    const job = spans.find((s) => s.name === 'job COMMAND');
    expect(job).toBeDefined();
    expect(job!.parentSpanId ?? '').toBe('');
    const request = spans.find((s) => s.name === 'mutation runJob')!;
    expect(job!.traceId).not.toBe(request.traceId);
    expect(job!.links).toEqual([expect.objectContaining({ traceId: request.traceId, spanId: request.spanId })]);
    expect(job!.attributes?.find((a) => a.key === 'granary.job.type')?.value.stringValue).toBe('COMMAND');
  });
});
