import type { JetStreamClient } from '@nats-io/jetstream';

import { expectType, graphql } from './graphql.ts';
import { closedLoop, openLoop, type JsonClient, type Percentiles, percentiles, sleep } from './load.ts';
import type { BaselineReader } from './stream-baseline.ts';

/**
 * What the streaming benchmark sends and reads: its GraphQL operations, the project it sets up,
 * the rows it streams, the producers that send them (GraphQL ingest, NATS publish) and the readers
 * that poll for them (featureVectors, the baseline's table).
 */
// ---------------------------------------------------------------------------------------------
// GraphQL

export const VECTOR = 'query ($fv: FeatureViewRef!, $entry: JSON!) { featureVector(featureView: $fv, entry: $entry) { values } }';
export const VECTORS = 'query ($fv: FeatureViewRef!, $entries: [JSON!]!) { featureVectors(featureView: $fv, entries: $entries) { values } }';
export const INGEST = `mutation ($fg: FeatureGroupRef!, $rows: [JSON!]!) {
  ingestFeatureGroupRows(featureGroup: $fg, rows: $rows, waitFor: ACCEPTED) {
    __typename ... on IngestFeatureGroupRowsPayload { sequence } ... on Error { message }
  }
}`;
export const INSERT = `mutation ($fg: FeatureGroupRef!, $rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } }
}`;
export const FV = { name: 'bench_stream_view', version: 1 };
/** Rows per GraphQL ingest or insert request. */
export const ROWS_PER_REQUEST = 10;

export interface Row {
  readonly id: number;
  readonly ts: string;
  readonly v: number;
  readonly n: number;
  readonly s: string;
}

export const row = (id: number): Row => ({ id, ts: new Date().toISOString(), v: id + 0.5, n: id % 1000, s: `c${id % 50}` });

/** A project of its own with a READ + WRITE key, the two groups, the prefilled rows and the view; returns the key and subjects. */
export async function setUp(url: string, adminKey: string, project: string, entities: number): Promise<{ key: string; subject: string }> {
  expectType(
    await graphql(url, adminKey, 'mutation ($name: String!) { createProject(input: { name: $name }) { __typename ... on Error { message } } }', {
      name: project,
    }),
    'createProject',
    'CreateProjectPayload',
  );
  const minted = expectType(
    await graphql(
      url,
      adminKey,
      `mutation ($p: String!) { createApiKey(input: { name: "bench", project: $p, scopes: [READ, WRITE] }) { __typename ... on CreateApiKeyPayload { secret } ... on Error { message } } }`,
      { p: project },
    ),
    'createApiKey',
    'CreateApiKeyPayload',
  );
  const key = minted.secret as string;
  for (const name of ['bench_stream', 'bench_lag']) {
    const input = {
      name,
      version: 1,
      primaryKey: ['id'],
      eventTime: 'ts',
      onlineEnabled: true,
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'v', type: 'DOUBLE' },
        { name: 'n', type: 'INT' },
        { name: 's', type: 'STRING' },
      ],
    };
    const q = 'mutation ($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }';
    expectType(await graphql(url, key, q, { input }), 'createFeatureGroup', 'CreateFeatureGroupPayload');
  }
  for (let from = 0; from < entities; from += 5000) {
    const rows = Array.from({ length: Math.min(5000, entities - from) }, (_, i) => row(from + i));
    expectType(await graphql(url, key, INSERT, { fg: { name: 'bench_stream' }, rows }), 'insertFeatureGroupData', 'InsertFeatureGroupDataPayload');
  }
  const view =
    'mutation { createFeatureView(input: { name: "bench_stream_view", version: 1, query: { featureGroup: { name: "bench_stream" }, features: ["v", "n", "s"] } }) { __typename ... on Error { message } } }';
  expectType(await graphql(url, key, view), 'createFeatureView', 'CreateFeatureViewPayload');
  const { featureGroup } = await graphql(url, key, '{ featureGroup(name: "bench_stream") { streamSubject } }');
  return { key, subject: featureGroup.streamSubject as string };
}

// ---------------------------------------------------------------------------------------------
// Producers and readers

/** Sends rows; resolves with the log sequence of the message holding them, or null when refused or failed. */
export interface Producer {
  readonly label: string;
  readonly rowsPerSend: number;
  /** The first few failures' answers, for the report. */
  readonly failures: string[];
  send(rows: readonly Row[]): Promise<number | null>;
}

export function graphqlProducer(client: JsonClient, group: string): Producer {
  const fg = { name: group };
  const failures: string[] = [];
  return {
    label: `GraphQL ingest, ${ROWS_PER_REQUEST} rows/request`,
    rowsPerSend: ROWS_PER_REQUEST,
    failures,
    send: async (rows) => {
      const { status, text } = await client.post(JSON.stringify({ query: INGEST, variables: { fg, rows } }));
      const m = status === 200 ? /"sequence":(\d+)/.exec(text) : null;
      if (m) return Number(m[1]);
      if (failures.length < 3) failures.push(`${status} ${text.slice(0, 300)}`);
      return null;
    },
  };
}

/** Publishes `rowsPerMessage` rows per message (a row object, or an array of them) to `subject`. */
export function natsProducer(js: JetStreamClient, subject: string, label: string, rowsPerMessage = 1): Producer {
  const failures: string[] = [];
  return {
    label,
    rowsPerSend: rowsPerMessage,
    failures,
    send: async (rows) => {
      try {
        return (await js.publish(subject, JSON.stringify(rows.length === 1 ? rows[0] : rows))).seq;
      } catch (error) {
        if (failures.length < 3) failures.push((error as Error).message);
        return null;
      }
    },
  };
}

/** Reads keys; resolves with the value each key has now (undefined for none). */
export type Reader = (keys: readonly number[]) => Promise<unknown[]>;

export function granaryReader(client: JsonClient): Reader {
  return async (keys) => {
    const { status, text } = await client.post(JSON.stringify({ query: VECTORS, variables: { fv: FV, entries: keys.map((id) => ({ id })) } }));
    if (status !== 200) return [];
    const vectors = (JSON.parse(text) as { data?: { featureVectors?: { values: unknown[] }[] } }).data?.featureVectors ?? [];
    return vectors.map((v) => v.values[0]);
  };
}

export function baselineReader(reader: BaselineReader): Reader {
  return async (keys) => {
    const found = new Map(reader.read(keys).map((r) => [r.id, r.v]));
    // Yield to the timers (≥ 1 ms): a synchronous read in a tight loop would starve the producer.
    await sleep(0);
    return keys.map((k) => found.get(k));
  };
}

// ---------------------------------------------------------------------------------------------
// Reads and mixed loads

export interface ReadResult {
  readonly latency: Percentiles;
  readonly errors: number;
  readonly firstError: string | null;
}

/** `featureVector` of a random prefilled key at `rate` req/s for `seconds`, timed from the scheduled send. */
export async function reads(client: JsonClient, entities: number, rate: number, seconds: number): Promise<ReadResult> {
  const times: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  await openLoop(rate, seconds, async (_i, at) => {
    const id = Math.floor(Math.random() * entities);
    const { status, text } = await client.post(JSON.stringify({ query: VECTOR, variables: { fv: FV, entry: { id } } }));
    times.push(performance.now() - at);
    if (status !== 200 || !text.startsWith('{"data":{"featureVector"')) {
      errors++;
      firstError ??= `${status} ${text.slice(0, 300)}`;
    }
  });
  return { latency: percentiles(times), errors, firstError };
}

export interface MixedResult {
  readonly seconds: number;
  readonly reads: number[];
  readonly writes: number[];
  readonly errors: number;
  readonly firstError: string | null;
}

/** A closed loop at `connections`: each request a write with probability `writeShare`, else a `featureVector`. */
export async function mixed(
  client: JsonClient,
  connections: number,
  entities: number,
  writeShare: number,
  seconds: number,
  writeBody: () => string,
  writeType: string,
): Promise<MixedResult> {
  const result: MixedResult = { seconds, reads: [], writes: [], errors: 0, firstError: null };
  let errors = 0;
  let firstError: string | null = null;
  await closedLoop(connections, seconds, async () => {
    const isWrite = Math.random() < writeShare;
    const body = isWrite ? writeBody() : JSON.stringify({ query: VECTOR, variables: { fv: FV, entry: { id: Math.floor(Math.random() * entities) } } });
    const t0 = performance.now();
    const { status, text } = await client.post(body);
    (isWrite ? result.writes : result.reads).push(performance.now() - t0);
    const ok = status === 200 && (isWrite ? text.includes(`"__typename":"${writeType}"`) : text.startsWith('{"data":{"featureVector"'));
    if (!ok) {
      errors++;
      firstError ??= text.slice(0, 300);
    }
  });
  return { ...result, errors, firstError };
}
