/**
 * Insert throughput through the real server (`npx tsx bench/insert.ts`), beside baselines measured
 * in the same run on the same machine.
 *
 *   npx tsx bench/insert.ts [--rows 1000000] [--sizes 1000000,5000000] [--offline-reps 3] [--reps 1]
 *                           [--json-requests 20] [--json-batch 10000] [--cpu-prof DIR] [--phases]
 *                           [--only offline,both,json]
 *
 * For each size, a fresh server started as `npm start` starts it (`node <flags> bin/granary.js serve`,
 * PORT=0, LOG_LEVEL=warn, NODE_ENV=production)
 * on a fresh temporary GRANARY_DATA_DIR, and a Parquet file of N rows × 20 mixed columns generated
 * by DuckDB in this process. Then, each pair interleaved so noise hits both sides:
 * 1. --offline-reps times (cheap, so 3 by default):
 *    baseline (a): DuckDB in this process, COPY (SELECT * FROM read_parquet(file)) TO … (FORMAT parquet);
 *    then the file uploaded (multipart, streamed from disk) to insertFeatureGroupData(…, storage: OFFLINE)
 *    of an offline-only group, timed end to end (first byte sent → response read); target ≥ 0.5 of (a);
 * 2. --reps times (1 by default):
 *    baseline (b): better-sqlite3 bulk INSERT of the same rows (read from the Parquet through DuckDB
 *    in chunks, untimed) into a 20-column table, one transaction, one prepared statement, timing
 *    only the INSERTs and the COMMIT; then the file uploaded to insertFeatureGroupData(…,
 *    storage: BOTH) of an online-enabled group; target ≥ 0.6 of (b).
 * Each repetition uses a new group, so every insert is a first insert (no existing commits). The groups
 * have statistics disabled: the statistics job that follows each commit would compete with the next
 * measurement.
 * At the first size only: JSON rows, --json-requests requests of --json-batch rows each (objects
 * keyed by feature name; bodies built before timing), into an offline-only group and an
 * online-enabled one; target ≥ 50 k rows/s. Beside them, baseline (c): the same requests to a bare
 * graphql-yoga (same Node flags) whose mutation only counts the rows, the cost of receiving,
 * parsing and coercing a request before any store is touched.
 * The server's RSS is polled every 50 ms (/proc/<pid>/status VmRSS) during each measurement; the
 * peak is reported per measurement and, with several sizes, its ratio between the largest and the
 * smallest (target ≤ 1.3: memory flat in the file size).
 *
 * With several repetitions, rates are medians and the ratio of the best runs is shown too (on a shared
 * machine contention only slows a run down). The store writes zstd Parquet; DuckDB's COPY with
 * COMPRESSION zstd is printed beside baseline (a) (which uses DuckDB's default, snappy) for reference.
 *
 * --cpu-prof DIR: the server runs as `node --cpu-prof --cpu-prof-dir DIR bin/granary.js serve` (one
 *   .cpuprofile per server, written when it stops; Node 20 refuses --cpu-prof in NODE_OPTIONS).
 * --only: run only these measurements (comma-separated: offline, both, json; default all), e.g. to
 *   profile one of them; the memory ratio is printed for those that ran.
 * --phases: the server preloads bench/insert-phases.ts, which wraps store and service methods and
 *   prints where each insert's time went (server stderr, shown here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { gitState, serveBaseline, startFlags, waitForPrintedUrl } from './lib/process.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    sizes: { type: 'string' },
    reps: { type: 'string', default: '1' },
    'offline-reps': { type: 'string', default: '3' },
    'json-requests': { type: 'string', default: '20' },
    'json-batch': { type: 'string', default: '10000' },
    'cpu-prof': { type: 'string' },
    phases: { type: 'boolean', default: false },
    'bare-json': { type: 'boolean', default: false },
    only: { type: 'string', default: 'offline,both,json' },
  },
});
const SIZES = (args.sizes ?? args.rows!).split(',').map((s) => Number(s.replaceAll('_', '').trim()));
const ONLY = new Set(args.only!.split(',').map((s) => s.trim()));
if ([...ONLY].some((part) => !['offline', 'both', 'json'].includes(part))) throw new Error('--only takes offline, both and json');
const REPS = ONLY.has('both') ? Math.max(1, Number(args.reps)) : 0;
const OFFLINE_REPS = ONLY.has('offline') ? Math.max(1, Number(args['offline-reps'])) : 0;
const MULTI = REPS > 1 || OFFLINE_REPS > 1;
const JSON_REQUESTS = ONLY.has('json') ? Number(args['json-requests']) : 0;
const JSON_BATCH = Number(args['json-batch']);
if (SIZES.some((n) => !Number.isInteger(n) || n <= 0) || !Number.isInteger(JSON_REQUESTS) || !Number.isInteger(JSON_BATCH)) {
  throw new Error('--rows, --sizes, --json-requests and --json-batch take positive integers');
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHASES_PRELOAD = fileURLToPath(new URL('./insert-phases.ts', import.meta.url));

// With --bare-json this process is baseline (c)'s server, until SIGTERM.
if (args['bare-json']) {
  await serveBareJson();
  await new Promise(() => {});
}
const RSS_POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// The data: 20 columns, realistic types and cardinalities

const FEATURES: [name: string, type: string][] = [
  ['customer_id', 'BIGINT'], // unique per row, in scrambled order
  ['event_time', 'TIMESTAMP'], // spread over 90 days, microseconds
  ['age', 'INT'], // 18–87
  ['tenure_days', 'INT'], // 0–3649
  ['orders_30d', 'INT'], // skewed to 0
  ['clicks_7d', 'BIGINT'], // skewed, 0–4999
  ['spend_30d', 'DOUBLE'], // log-uniform 0–8100, cents
  ['avg_basket', 'DOUBLE'],
  ['conversion_rate', 'FLOAT'],
  ['score', 'FLOAT'],
  ['balance', 'DECIMAL(10,2)'], // −20 000.00 … 180 000.00
  ['country', 'STRING'], // 30 values, skewed
  ['city', 'STRING'], // 2 000 values
  ['device', 'STRING'], // 4 values
  ['email', 'STRING'], // unique
  ['is_active', 'BOOLEAN'],
  ['has_subscription', 'BOOLEAN'],
  ['signup_date', 'DATE'], // 10 years
  ['last_login', 'TIMESTAMP'], // 10 % null
  ['segment', 'STRING'], // 12 values, 12.5 % null
];
const COUNTRIES = [
  'US',
  'GB',
  'DE',
  'FR',
  'IN',
  'BR',
  'CA',
  'AU',
  'ES',
  'IT',
  'NL',
  'SE',
  'PL',
  'MX',
  'JP',
  'KR',
  'TR',
  'AR',
  'ZA',
  'NG',
  'EG',
  'ID',
  'PH',
  'VN',
  'TH',
  'CH',
  'AT',
  'BE',
  'DK',
  'NO',
];
const DEVICES = ['ios', 'android', 'web', 'other'];
const EVENT_START_US = Date.UTC(2025, 0, 1) * 1000;
const DAY_US = 86_400_000_000;
/** Multiplier of the key scramble: odd and not a multiple of 5, so i ↦ i·K mod N permutes 0…N−1 for the sizes used. */
const SCRAMBLE = 2_654_435_761;

function generatorSql(n: number): string {
  const u = (k: number) => `((hash(i, ${k}) % 1000000) / 1e6)`; // uniform [0, 1)
  const m = (k: number, mod: number) => `CAST(hash(i, ${k}) % ${mod} AS BIGINT)`;
  const list = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  return `SELECT customer_id, event_time, age, tenure_days, orders_30d, clicks_7d, spend_30d, avg_basket, conversion_rate,
      score, balance, country, city, device, 'user' || customer_id || '@example.com' AS email, is_active, has_subscription,
      signup_date, last_login, segment
    FROM (SELECT
      i,
      CAST(100000000 + (i * ${SCRAMBLE}) % ${n} AS BIGINT) AS customer_id,
      make_timestamp(${EVENT_START_US} + ${m(1, 90 * DAY_US)}) AS event_time,
      CAST(18 + ${m(2, 70)} AS INTEGER) AS age,
      CAST(${m(3, 3650)} AS INTEGER) AS tenure_days,
      CAST(floor(pow(${u(4)}, 4) * 60) AS INTEGER) AS orders_30d,
      CAST(floor(pow(${u(5)}, 2) * 5000) AS BIGINT) AS clicks_7d,
      round(exp(${u(6)} * 9) - 1, 2) AS spend_30d,
      ${m(7, 100000)} / 317.0 AS avg_basket,
      CAST(${u(8)} * 0.2 AS FLOAT) AS conversion_rate,
      CAST(${u(9)} AS FLOAT) AS score,
      CAST((${m(10, 20000000)} - 2000000) / 100 AS DECIMAL(10,2)) AS balance,
      ${list(COUNTRIES)}[1 + CAST(floor(pow(${u(11)}, 2) * ${COUNTRIES.length}) AS INTEGER)] AS country,
      'city_' || ${m(12, 2000)} AS city,
      ${list(DEVICES)}[1 + ${m(13, DEVICES.length)}] AS device,
      ${m(14, 10)} < 7 AS is_active,
      ${m(15, 4)} = 0 AS has_subscription,
      DATE '2015-01-01' + CAST(${m(16, 3650)} AS INTEGER) AS signup_date,
      CASE WHEN ${m(17, 10)} = 0 THEN NULL ELSE make_timestamp(${EVENT_START_US} - ${m(17, 30 * DAY_US)}) END AS last_login,
      CASE WHEN ${m(18, 8)} = 0 THEN NULL ELSE 'segment_' || ${m(19, 12)} END AS segment
    FROM range(${n}) t(i))`;
}

/** The same columns as JSON values (what a pipeline would send): TIMESTAMP ISO text, DATE `YYYY-MM-DD`, DECIMAL text. */
function jsonRow(i: number, salt: number): Record<string, unknown> {
  // xorshift-multiply hash of (i, salt): deterministic, cheap
  let s = (i * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
  const id = 500_000_000 + salt * 10_000_000 + i;
  const eventMs = EVENT_START_US / 1000 + Math.floor(next() * 90 * 86_400_000);
  return {
    customer_id: id,
    event_time: new Date(eventMs).toISOString(),
    age: 18 + Math.floor(next() * 70),
    tenure_days: Math.floor(next() * 3650),
    orders_30d: Math.floor(next() ** 4 * 60),
    clicks_7d: Math.floor(next() ** 2 * 5000),
    spend_30d: Math.round((Math.exp(next() * 9) - 1) * 100) / 100,
    avg_basket: Math.floor(next() * 100_000) / 317,
    conversion_rate: Math.fround(next() * 0.2),
    score: Math.fround(next()),
    balance: ((Math.floor(next() * 20_000_000) - 2_000_000) / 100).toFixed(2),
    country: COUNTRIES[Math.floor(next() ** 2 * COUNTRIES.length)],
    city: `city_${Math.floor(next() * 2000)}`,
    device: DEVICES[Math.floor(next() * DEVICES.length)],
    email: `user${id}@example.com`,
    is_active: next() < 0.7,
    has_subscription: next() < 0.25,
    signup_date: new Date(Date.UTC(2015, 0, 1) + Math.floor(next() * 3650) * 86_400_000).toISOString().slice(0, 10),
    last_login: next() < 0.1 ? null : new Date(eventMs - Math.floor(next() * 30 * 86_400_000)).toISOString(),
    segment: next() < 0.125 ? null : `segment_${Math.floor(next() * 12)}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Polls a process's VmRSS every 50 ms; `stop()` returns the peak seen (bytes), VmHWM at that moment, and the RSS when polling began. */
function sampleRss(pid: number) {
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
    } catch {
      return { rss: 0, hwm: 0 };
    }
  };
  const start = read();
  let peak = start.rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, read().rss);
  }, RSS_POLL_MS);
  return {
    stop() {
      clearInterval(timer);
      const end = read();
      return { before: start.rss, peak: Math.max(peak, end.rss), hwm: end.hwm };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The server

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly key: string;
  readonly pid: number;
  readonly exited: Promise<unknown>;
  stderr(): string;
}

/** Servers still running, stopped if this process is interrupted or exits early. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

async function startServer(dataDir: string): Promise<Server> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'PHASES_GAP']) if (process.env[name]) env[name] = process.env[name]!;
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production' });
  // Node flags on the command line: Node 20 refuses --cpu-prof in NODE_OPTIONS.
  const nodeFlags: string[] = startFlags();
  if (args['cpu-prof']) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  if (args.phases) nodeFlags.push('--import', 'tsx', '--import', PHASES_PRELOAD);
  const child = spawn(process.execPath, [...nodeFlags, 'bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    if (!args.phases) return;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const l of lines) console.log(`      server: ${l}`);
  });
  live.add(child);
  const exited = once(child, 'exit');
  void exited.then(() => live.delete(child));
  const url = await waitForPrintedUrl(
    child,
    exited,
    /serving GraphQL at (http:\/\/\S+?\/graphql)/,
    'the server',
    () => out,
    () => err,
  );
  const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  return { child, url, key, pid: child.pid!, exited, stderr: () => err };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
  await server.exited;
  clearTimeout(timer);
}

async function graphql(server: Server, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function createGroup(server: Server, name: string, onlineEnabled: boolean): Promise<void> {
  const data = await graphql(
    server,
    `mutation ($input: CreateFeatureGroupInput!) {
      createFeatureGroup(input: $input) { __typename ... on Error { message } }
    }`,
    {
      input: {
        name,
        version: 1,
        primaryKey: ['customer_id'],
        eventTime: 'event_time',
        onlineEnabled,
        features: FEATURES.map(([n, type]) => ({ name: n, type })),
        // Statistics after each commit run as a background job; off so they do not compete with
        // the next measurement (this bench times the insert itself).
        statisticsConfig: { enabled: false },
      },
    },
  );
  if (data.createFeatureGroup.__typename !== 'CreateFeatureGroupPayload') throw new Error(`createFeatureGroup ${name}: ${JSON.stringify(data)}`);
}

const INSERT_RESULT = `__typename
  ... on InsertFeatureGroupDataPayload { commit { rowCount rowsInserted onlineWritten } }
  ... on ValidationError { message issues { path message } }
  ... on Error { message }`;

function checkInsert(data: any, rows: number, online: boolean): void {
  const result = data?.insertFeatureGroupData;
  if (result?.__typename !== 'InsertFeatureGroupDataPayload') throw new Error(`insert failed: ${JSON.stringify(data).slice(0, 2000)}`);
  if (result.commit.rowCount !== rows) throw new Error(`insert wrote ${result.commit.rowCount} rows, not ${rows}`);
  if (online && !result.commit.onlineWritten) throw new Error('the online write failed (onlineWritten: false); see the server log');
}

interface Upload {
  /** First byte sent → response read. */
  readonly ms: number;
  /** First byte sent → last byte of the body handed to the socket. */
  readonly sentMs: number;
  readonly rss: { before: number; peak: number; hwm: number };
}

/** Uploads `path` to insertFeatureGroupData as a GraphQL multipart request, streamed from disk. */
async function uploadFile(server: Server, group: string, storage: 'OFFLINE' | 'BOTH', path: string, rows: number): Promise<Upload> {
  const boundary = `----granary-bench-${Date.now().toString(36)}`;
  const operations = JSON.stringify({
    query: `mutation ($group: FeatureGroupRef!, $file: File!, $storage: Storage!) {
      insertFeatureGroupData(featureGroup: $group, file: $file, format: PARQUET, storage: $storage) { ${INSERT_RESULT} }
    }`,
    variables: { group: { name: group, version: 1 }, file: null, storage },
  });
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\nContent-Type: application/json\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\nContent-Type: application/json\r\n\r\n{"0":["variables.file"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="input.parquet"\r\nContent-Type: application/vnd.apache.parquet\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = statSync(path).size;
  async function* body() {
    yield head;
    yield* createReadStream(path, { highWaterMark: 1 << 20 });
    yield tail;
  }
  const sampler = sampleRss(server.pid);
  const started = performance.now();
  let sentAt = started;
  try {
    const req = httpRequest(server.url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
        authorization: `Bearer ${server.key}`,
        'x-graphql-yoga-csrf': '1',
      },
    });
    const response = once(req, 'response') as Promise<[IncomingMessage]>;
    req.once('finish', () => (sentAt = performance.now()));
    await pipeline(Readable.from(body()), req);
    const [res] = await response;
    let text = '';
    res.setEncoding('utf8');
    for await (const chunk of res) text += chunk;
    const ms = performance.now() - started;
    const rss = sampler.stop();
    const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown };
    if (parsed.errors) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 2000)}`);
    checkInsert(parsed.data, rows, storage === 'BOTH');
    return { ms, sentMs: sentAt - started, rss };
  } finally {
    sampler.stop();
  }
}

interface JsonRun {
  readonly rowsPerSecond: number;
  readonly p50Ms: number;
  readonly maxMs: number;
  readonly rss: { before: number; peak: number; hwm: number };
}

/** Sends JSON_REQUESTS requests of JSON_BATCH row objects, one after the other (bodies built beforehand). */
async function insertJsonRows(server: Server, group: string, salt: number, online: boolean): Promise<JsonRun> {
  const query = `mutation ($group: FeatureGroupRef!, $rows: [JSON!]!) {
    insertFeatureGroupData(featureGroup: $group, rows: $rows, storage: BOTH) { ${INSERT_RESULT} }
  }`;
  return sendJsonRows(
    server,
    salt,
    (rows) => ({ query, variables: { group: { name: group, version: 1 }, rows } }),
    (data) => checkInsert(data, JSON_BATCH, online),
  );
}

async function sendJsonRows(
  server: Server,
  salt: number,
  request: (rows: Record<string, unknown>[]) => { query: string; variables: Record<string, unknown> },
  check: (data: any) => void,
): Promise<JsonRun> {
  const bodies = Array.from({ length: JSON_REQUESTS }, (_, r) =>
    JSON.stringify(request(Array.from({ length: JSON_BATCH }, (_, k) => jsonRow(r * JSON_BATCH + k, salt)))),
  );
  const latencies: number[] = [];
  const sampler = sampleRss(server.pid);
  const started = performance.now();
  try {
    for (const body of bodies) {
      const t = performance.now();
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(server.key ? { authorization: `Bearer ${server.key}` } : {}) },
        body,
      });
      const parsed = (await res.json()) as { data?: unknown; errors?: unknown };
      latencies.push(performance.now() - t);
      if (parsed.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(parsed.errors).slice(0, 2000)}`);
      check(parsed.data);
    }
    const ms = performance.now() - started;
    return { rowsPerSecond: (JSON_REQUESTS * JSON_BATCH) / (ms / 1000), p50Ms: median(latencies), maxMs: Math.max(...latencies), rss: sampler.stop() };
  } finally {
    sampler.stop();
  }
}

/**
 * Baseline (c) of JSON rows: a bare graphql-yoga (`createYoga` defaults, the server's Node flags) whose
 * mutation `insert(rows: [JSON!]!): Int!` answers the row count: what receiving, parsing and
 * coercing the same request costs before any store is touched. This file with `--bare-json`.
 */
async function serveBareJson(): Promise<void> {
  const { createSchema, createYoga } = await import('graphql-yoga');
  const { GraphQLScalarType } = await import('graphql');
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'scalar JSON type Query { ok: Boolean! } type Mutation { insert(rows: [JSON!]!): Int! }',
      resolvers: {
        JSON: new GraphQLScalarType({ name: 'JSON', parseValue: (v) => v, serialize: (v) => v }),
        Query: { ok: () => true },
        Mutation: { insert: (_: unknown, { rows }: { rows: unknown[] }) => rows.length },
      },
    }),
  });
  serveBaseline(yoga, 'serving GraphQL');
}

/** Sends JSON_REQUESTS bodies of JSON_BATCH rows to the bare server (c), as insertJsonRows does to ours. */
async function bareJsonRows(): Promise<JsonRun> {
  const child = spawn(process.execPath, [...startFlags(), '--import', 'tsx', fileURLToPath(import.meta.url), '--bare-json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = once(child, 'exit');
  const url = await waitForPrintedUrl(
    child,
    exited,
    /serving GraphQL at (http:\/\/\S+?\/graphql)/,
    'the bare yoga',
    () => out,
    () => err,
  );
  const server: Server = { child, url, key: '', pid: child.pid!, exited, stderr: () => err };
  try {
    const query = 'mutation ($rows: [JSON!]!) { insert(rows: $rows) }';
    return await sendJsonRows(
      server,
      3,
      (r) => ({ query, variables: { rows: r } }),
      (data) => {
        if (data?.insert !== JSON_BATCH) throw new Error(`bare yoga answered ${JSON.stringify(data)}`);
      },
    );
  } finally {
    await stopServer(server);
    live.delete(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Baselines

/** (a) DuckDB copying the file to another Parquet file (`options`: e.g. `, COMPRESSION zstd`). */
async function duckdbCopy(connection: DuckDBConnection, input: string, output: string, options = ''): Promise<number> {
  const t = performance.now();
  await connection.run(`COPY (SELECT * FROM read_parquet(${sqlString(input)})) TO ${sqlString(output)} (FORMAT parquet${options})`);
  const ms = performance.now() - t;
  rmSync(output, { force: true });
  return ms;
}

/**
 * (b) better-sqlite3 bulk INSERT of the file's rows into a 20-column table (WAL, synchronous=NORMAL,
 * as the online store), one transaction, one prepared statement. Rows are read from the Parquet
 * through DuckDB in blocks of ~100 k rows (untimed), as the values the online store binds (TIMESTAMP
 * ISO text, DATE and DECIMAL text, BOOLEAN 0/1); only the INSERTs and the COMMIT are timed. Returns ms.
 */
async function sqliteInsert(connection: DuckDBConnection, input: string, file: string): Promise<number> {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const q = (name: string) => `"${name}"`;
    const names = FEATURES.map(([n]) => n);
    db.exec(`CREATE TABLE b (${q(names[0]!)} INTEGER PRIMARY KEY, ${names.slice(1).map(q).join(', ')})`);
    const insert = db.prepare(`INSERT INTO b VALUES (${names.map(() => '?').join(', ')})`);
    const select = FEATURES.map(([n, type]) => {
      if (type === 'TIMESTAMP') return `strftime(${q(n)}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
      if (type === 'DATE' || type.startsWith('DECIMAL')) return `CAST(${q(n)} AS VARCHAR)`;
      if (type === 'BOOLEAN') return `CAST(${q(n)} AS INTEGER)`;
      if (type === 'BIGINT') return `CAST(${q(n)} AS DOUBLE)`; // a JS number, as the store binds safe integers
      return q(n);
    });
    const result = await connection.stream(`SELECT ${select.join(', ')} FROM read_parquet(${sqlString(input)})`);
    let timed = 0;
    db.exec('BEGIN');
    for (let done = false; !done; ) {
      const block: unknown[][] = [];
      while (block.length < 100_000) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) {
          done = true;
          break;
        }
        for (const row of chunk.getRows()) block.push(row);
      }
      const t = performance.now();
      for (const row of block) insert.run(row);
      timed += performance.now() - t;
    }
    const t = performance.now();
    db.exec('COMMIT');
    timed += performance.now() - t;
    return timed;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Run

interface SizeResult {
  readonly rows: number;
  readonly fileBytes: number;
  readonly duckdbMs: number[];
  readonly duckdbZstdMs: number[];
  readonly offline: Upload[];
  readonly sqliteMs: number[];
  readonly both: Upload[];
  readonly idleRss: number;
  readonly hwm: number;
}

const work = mkdtempSync(join(tmpdir(), 'granary-bench-insert-'));
/** Interrupted (a signal, or stdout closed, e.g. piped to `head`): stop the servers, remove the files. */
const abort = () => {
  for (const child of live) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
};
process.once('SIGINT', abort).once('SIGTERM', abort);
process.stdout.on('error', abort);
const startedAt = performance.now();
const loadAtStart = load();
console.log(
  `bench/insert: sizes ${SIZES.map(fmt).join(', ')} rows × ${FEATURES.length} columns, ${OFFLINE_REPS} OFFLINE rep(s), ${REPS} BOTH rep(s); ` +
    `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'}), ${mb(totalmem())} RAM, node ${process.version}`,
);
console.log(`server code: ${gitState()}; load average at start (1, 5, 15 min): ${loadAtStart}`);

const instance = await DuckDBInstance.create(':memory:', { threads: String(availableParallelism()) });
const duck = await instance.connect();
await duck.run(`SET TimeZone = 'UTC'`);

const results: SizeResult[] = [];
const json: { offline?: JsonRun; online?: JsonRun; bare?: JsonRun } = {};
try {
  for (const [s, n] of SIZES.entries()) {
    const dir = join(work, `size-${n}`);
    const input = join(dir, 'input.parquet');
    mkdirSync(dir, { recursive: true });
    const t = performance.now();
    await duck.run(`COPY (${generatorSql(n)}) TO ${sqlString(input)} (FORMAT parquet)`);
    const fileBytes = statSync(input).size;
    console.log(`\n[${fmt(n)} rows] generated ${mb(fileBytes)} of Parquet in ${secs(performance.now() - t)}; starting the server`);

    const server = await startServer(join(dir, 'data'));
    const result: SizeResult = { rows: n, fileBytes, duckdbMs: [], duckdbZstdMs: [], offline: [], sqliteMs: [], both: [], idleRss: 0, hwm: 0 };
    try {
      for (let rep = 0; rep < OFFLINE_REPS; rep++) await createGroup(server, `offline_${rep}`, false);
      for (let rep = 0; rep < REPS; rep++) await createGroup(server, `online_${rep}`, true);
      (result as { idleRss: number }).idleRss = sampleRss(server.pid).stop().before;
      for (let rep = 0; rep < OFFLINE_REPS; rep++) {
        const tag = OFFLINE_REPS > 1 ? ` (rep ${rep + 1})` : '';
        result.duckdbMs.push(await duckdbCopy(duck, input, join(dir, 'copy.parquet')));
        result.duckdbZstdMs.push(await duckdbCopy(duck, input, join(dir, 'copy.parquet'), ', COMPRESSION zstd'));
        console.log(`  baseline DuckDB COPY parquet → parquet${tag}: ${secs(result.duckdbMs.at(-1)!)} (with zstd: ${secs(result.duckdbZstdMs.at(-1)!)})`);
        const offline = await uploadFile(server, `offline_${rep}`, 'OFFLINE', input, n);
        result.offline.push(offline);
        console.log(`  upload → OFFLINE${tag}: ${secs(offline.ms)} (body sent ${secs(offline.sentMs)}), server peak RSS ${mb(offline.rss.peak)}`);
      }
      for (let rep = 0; rep < REPS; rep++) {
        const tag = REPS > 1 ? ` (rep ${rep + 1})` : '';
        result.sqliteMs.push(await sqliteInsert(duck, input, join(dir, `bare-${rep}.db`)));
        rmSync(join(dir, `bare-${rep}.db`), { force: true });
        for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `bare-${rep}.db${suffix}`), { force: true });
        console.log(`  baseline better-sqlite3 bulk INSERT${tag}: ${secs(result.sqliteMs.at(-1)!)}`);
        const both = await uploadFile(server, `online_${rep}`, 'BOTH', input, n);
        result.both.push(both);
        console.log(`  upload → BOTH${tag}: ${secs(both.ms)} (body sent ${secs(both.sentMs)}), server peak RSS ${mb(both.rss.peak)}`);
      }
      if (s === 0 && JSON_REQUESTS > 0) {
        await createGroup(server, 'json_offline', false);
        await createGroup(server, 'json_online', true);
        json.offline = await insertJsonRows(server, 'json_offline', 1, false);
        console.log(`  JSON rows → offline-only group: ${fmt(json.offline.rowsPerSecond)} rows/s`);
        json.online = await insertJsonRows(server, 'json_online', 2, true);
        console.log(`  JSON rows → online-enabled group (BOTH): ${fmt(json.online.rowsPerSecond)} rows/s`);
        json.bare = await bareJsonRows();
        console.log(`  baseline (c) bare graphql-yoga, the same requests: ${fmt(json.bare.rowsPerSecond)} rows/s`);
      }
      (result as { hwm: number }).hwm = sampleRss(server.pid).stop().hwm;
    } finally {
      await stopServer(server);
    }
    results.push(result);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  duck.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Report

const rate = (rows: number, ms: number[]) => rows / (median(ms) / 1000);
const bestRate = (rows: number, ms: number[]) => rows / (Math.min(...ms) / 1000);
const peakOf = (uploads: Upload[]) => Math.max(...uploads.map((u) => u.rss.peak));
const header = `${'measurement'.padEnd(50)}${'rows/s'.padStart(12)}  ${'baseline'.padEnd(30)}${'rows/s'.padStart(12)}${'ratio'.padStart(MULTI ? 20 : 8)}  ${'target'.padEnd(9)}${'ok'.padEnd(5)}${'peak RSS'.padStart(9)}`;
const line = (what: string, ours: number, base: string, baseRate: number | null, target: string, ok: boolean, peak: number, bestRatio?: number) => {
  const ratio = baseRate === null ? '—' : `${(ours / baseRate).toFixed(2)}${bestRatio === undefined ? '' : ` (best ${bestRatio.toFixed(2)})`}`;
  return `${what.padEnd(50)}${fmt(ours).padStart(12)}  ${base.padEnd(30)}${(baseRate === null ? '—' : fmt(baseRate)).padStart(12)}${ratio.padStart(MULTI ? 20 : 8)}  ${target.padEnd(9)}${(ok ? 'yes' : 'NO').padEnd(5)}${mb(peak).padStart(9)}`;
};

console.log(`\n${'='.repeat(header.length)}`);
console.log(
  `Inserts through the server (node bin/granary.js serve, embedded SQLite + DuckDB), end to end per request; ` +
    `OFFLINE and (a): ${OFFLINE_REPS > 1 ? `median of ${OFFLINE_REPS} runs` : '1 run'}, BOTH and (b): ${REPS > 1 ? `median of ${REPS} runs` : '1 run'}`,
);
for (const r of results) {
  const best = (ours: Upload[], base: number[]) =>
    ours.length > 1
      ? bestRate(
          r.rows,
          ours.map((u) => u.ms),
        ) / bestRate(r.rows, base)
      : undefined;
  const phase = (u: Upload[]) => `body sent in ${secs(median(u.map((x) => x.sentMs)))}, then ${secs(median(u.map((x) => x.ms - x.sentMs)))} until the response`;
  console.log(`\n${fmt(r.rows)} rows × ${FEATURES.length} columns, Parquet ${mb(r.fileBytes)}; server RSS idle ${mb(r.idleRss)}, VmHWM at end ${mb(r.hwm)}`);
  console.log(header);
  if (r.offline.length > 0) {
    const duck = rate(r.rows, r.duckdbMs);
    const offline = rate(
      r.rows,
      r.offline.map((u) => u.ms),
    );
    console.log(
      line(
        'Parquet upload → storage: OFFLINE',
        offline,
        '(a) DuckDB COPY parquet→parquet',
        duck,
        '≥ 0.50',
        offline / duck >= 0.5,
        peakOf(r.offline),
        best(r.offline, r.duckdbMs),
      ),
    );
  }
  if (r.both.length > 0) {
    const sqlite = rate(r.rows, r.sqliteMs);
    const both = rate(
      r.rows,
      r.both.map((u) => u.ms),
    );
    console.log(
      line(
        'Parquet upload → storage: BOTH (online-enabled)',
        both,
        '(b) better-sqlite3 bulk INSERT',
        sqlite,
        '≥ 0.60',
        both / sqlite >= 0.6,
        peakOf(r.both),
        best(r.both, r.sqliteMs),
      ),
    );
  }
  console.log(`  ${[...(r.offline.length > 0 ? [`OFFLINE: ${phase(r.offline)}`] : []), ...(r.both.length > 0 ? [`BOTH: ${phase(r.both)}`] : [])].join('; ')}`);
  if (r.offline.length > 0) {
    const zstd = rate(r.rows, r.duckdbZstdMs);
    const offline = rate(
      r.rows,
      r.offline.map((u) => u.ms),
    );
    console.log(`  reference: DuckDB COPY with COMPRESSION zstd (the store's codec) ${fmt(zstd)} rows/s; OFFLINE / that = ${(offline / zstd).toFixed(2)}`);
  }
}
if (json.offline && json.online) {
  console.log(`\nJSON rows: ${JSON_REQUESTS} requests × ${fmt(JSON_BATCH)} rows (objects), one at a time, at ${fmt(results[0]!.rows)}-row size's server`);
  console.log(header);
  const bare = json.bare?.rowsPerSecond ?? null;
  const baseline = bare === null ? '—' : '(c) bare graphql-yoga, same requests';
  console.log(
    line('JSON rows → offline-only group', json.offline.rowsPerSecond, baseline, bare, '≥ 50 k/s', json.offline.rowsPerSecond >= 50_000, json.offline.rss.peak),
  );
  console.log(
    line(
      'JSON rows → online-enabled group (BOTH)',
      json.online.rowsPerSecond,
      baseline,
      bare,
      '≥ 50 k/s',
      json.online.rowsPerSecond >= 50_000,
      json.online.rss.peak,
    ),
  );
  console.log(
    `  per request: offline p50 ${json.offline.p50Ms.toFixed(0)} ms (max ${json.offline.maxMs.toFixed(0)}); BOTH p50 ${json.online.p50Ms.toFixed(0)} ms (max ${json.online.maxMs.toFixed(0)})`,
  );
}
if (results.length > 1) {
  const first = results[0]!;
  const last = results.at(-1)!;
  console.log(
    `\nPeak server RSS, ${fmt(last.rows)} vs ${fmt(first.rows)} rows (file ${(last.fileBytes / first.fileBytes).toFixed(1)}× larger); target ≤ 1.3 (flat)`,
  );
  for (const [what, pick] of [
    ['OFFLINE', (r: SizeResult) => peakOf(r.offline)],
    ['BOTH', (r: SizeResult) => peakOf(r.both)],
  ] as const) {
    if ((what === 'OFFLINE' ? OFFLINE_REPS : REPS) === 0) continue;
    const ratio = pick(last) / pick(first);
    console.log(
      `  ${what.padEnd(8)} ${mb(pick(first)).padStart(8)} → ${mb(pick(last)).padStart(8)}   ratio ${ratio.toFixed(2)}  ${ratio <= 1.3 ? 'yes' : 'NO'}`,
    );
  }
}
console.log(`\nload average at start: ${loadAtStart}; at end: ${load()} (2 cores shared with other work: compare ratios, not rates)`);
console.log(`total ${secs(performance.now() - startedAt)}`);
