import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, getPriority, loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';
import { baseEnv, cpuSeconds, gitState, serveBaseline, startChild, startFlags, stopChild } from './lib/process.ts';

const { values: args } = parseArgs({
  options: {
    entities: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '5' },
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10,50' },
    rate: { type: 'string', default: '1000' },
    'open-duration': { type: 'string', default: '20' },
    batch: { type: 'string', default: '100' },
    'batch-rate': { type: 'string', default: '100' },
    fields: { type: 'string', default: 'values missing' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    'server-log': { type: 'string' },
    only: { type: 'string', default: 'saturation,p1,p2' },
    'bare-yoga': { type: 'boolean', default: false },
  },
});

const _ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// The baseline: graphql-yoga with its defaults, `{ hello }`

async function serveBareYoga(): Promise<void> {
  const { createSchema, createYoga } = await import('graphql-yoga');
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
  });
  serveBaseline(yoga, 'bare yoga');
}

// ---------------------------------------------------------------------------------------------
// Processes

// ---------------------------------------------------------------------------------------------
// Setup over GraphQL

type Spec = readonly (readonly [name: string, type: string])[];

/** 20 + 15 + 15 served features; `churned` is the view's label. */
const GROUPS: readonly { name: string; eventTime: boolean; features: Spec }[] = [
  {
    name: 'bench_profile',
    eventTime: true,
    features: [
      ['churned', 'INT'],
      ...Array.from({ length: 10 }, (_, i) => [`p_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 3 }, (_, i) => [`p_i${i}`, 'INT'] as const),
      ...Array.from({ length: 2 }, (_, i) => [`p_b${i}`, 'BIGINT'] as const),
      ...Array.from({ length: 5 }, (_, i) => [`p_s${i}`, 'STRING'] as const),
    ],
  },
  {
    name: 'bench_activity',
    eventTime: true,
    features: [
      ...Array.from({ length: 8 }, (_, i) => [`a_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 3 }, (_, i) => [`a_i${i}`, 'INT'] as const),
      ...Array.from({ length: 4 }, (_, i) => [`a_s${i}`, 'STRING'] as const),
    ],
  },
  {
    name: 'bench_account',
    eventTime: false,
    features: [
      ...Array.from({ length: 7 }, (_, i) => [`c_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 2 }, (_, i) => [`c_b${i}`, 'BIGINT'] as const),
      ...Array.from({ length: 6 }, (_, i) => [`c_s${i}`, 'STRING'] as const),
    ],
  },
];
const SERVED = GROUPS.reduce((n, g) => n + g.features.length, 0) - 1;

const TRANSFORMATIONS = [
  ...['p_d0', 'p_d1', 'p_d2', 'p_i0', 'a_d0', 'a_d1', 'a_i0', 'c_d0', 'c_d1', 'c_b0'].map((feature) => ({ function: 'min_max_scaler', feature })),
  ...['p_s0', 'p_s1', 'a_s0', 'a_s1', 'c_s0', 'c_s1'].map((feature) => ({ function: 'label_encoder', feature })),
];

const VIEW = 'bench_view';

/** Deterministic pseudo-random values: a row of a group for entity `id`. */
function row(features: Spec, id: number, eventTime: boolean): Record<string, unknown> {
  let s = (id * 2654435761) % 2 ** 31 || 1;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  const out: Record<string, unknown> = { customer_id: id };
  if (eventTime) out.event_time = new Date(Date.UTC(2026, 0, 1) + (next() % (90 * 86_400)) * 1000).toISOString();
  for (const [name, type] of features) {
    const r = next();
    if (type === 'DOUBLE') out[name] = (r % 1_000_000) / 100;
    else if (type === 'STRING') out[name] = `category_${r % 12}`;
    else if (name === 'churned') out[name] = r % 2;
    else out[name] = r % 100_000;
  }
  return out;
}

async function graphql(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 2000)}`);
  return body.data;
}

function expectType(data: any, field: string, typename: string): void {
  if (data?.[field]?.__typename !== typename) throw new Error(`${field}: ${JSON.stringify(data).slice(0, 2000)}`);
}

async function setUp(url: string, key: string, entities: number): Promise<void> {
  for (const group of GROUPS) {
    const created = await graphql(
      url,
      key,
      `mutation ($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
      {
        input: {
          name: group.name,
          version: 1,
          primaryKey: ['customer_id'],
          ...(group.eventTime ? { eventTime: 'event_time' } : {}),
          onlineEnabled: true,
          features: [
            { name: 'customer_id', type: 'BIGINT' },
            ...(group.eventTime ? [{ name: 'event_time', type: 'TIMESTAMP' }] : []),
            ...group.features.map(([name, type]) => ({ name, type })),
          ],
        },
      },
    );
    expectType(created, 'createFeatureGroup', 'CreateFeatureGroupPayload');
    for (let from = 0; from < entities; from += 5000) {
      const rows = [];
      for (let id = from; id < Math.min(entities, from + 5000); id++) rows.push(row(group.features, id, group.eventTime));
      const inserted = await graphql(
        url,
        key,
        `mutation ($fg: FeatureGroupRef!, $rows: [JSON!]) {
          insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } }
        }`,
        { fg: { name: group.name, version: 1 }, rows },
      );
      expectType(inserted, 'insertFeatureGroupData', 'InsertFeatureGroupDataPayload');
    }
  }
  const view = await graphql(
    url,
    key,
    `mutation ($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`,
    {
      input: {
        name: VIEW,
        version: 1,
        labels: ['churned'],
        query: {
          featureGroup: { name: GROUPS[0]!.name, version: 1 },
          exceptFeatures: ['customer_id', 'event_time'],
          joins: GROUPS.slice(1).map((g) => ({
            featureGroup: { name: g.name, version: 1 },
            exceptFeatures: g.eventTime ? ['customer_id', 'event_time'] : ['customer_id'],
          })),
        },
        transformations: TRANSFORMATIONS,
      },
    },
  );
  expectType(view, 'createFeatureView', 'CreateFeatureViewPayload');
  const td = await graphql(
    url,
    key,
    `mutation ($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
      createTrainingDataset(featureView: $fv, input: $input) { __typename ... on Error { message } }
    }`,
    { fv: { name: VIEW, version: 1 }, input: { split: 'RANDOM', testSize: 0.2, seed: 7 } },
  );
  expectType(td, 'createTrainingDataset', 'CreateTrainingDatasetPayload');
}

// ---------------------------------------------------------------------------------------------
// Load

interface Target {
  readonly url: string;
  /** The server process, whose CPU time per request is reported. */
  readonly pid: number;
  readonly headers: Record<string, string>;
  /** A request body; called per request, so keys vary. */
  body(): string;
}

interface Saturation {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Server CPU time per request, µs: robust to other work on the machine, unlike req/s. */
  readonly cpuUs: number;
}

async function saturate(target: Target, connections: number, seconds: number): Promise<Saturation> {
  const cpuBefore = cpuSeconds(target.pid);
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: target.headers,
    requests: [{ setupRequest: (req) => ({ ...req, body: target.body() }) }],
  });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuUs: ((cpuSeconds(target.pid) - cpuBefore) / result.requests.total) * 1e6,
  };
}

interface OpenLoop {
  readonly offered: number;
  readonly completed: number;
  readonly achieved: number;
  readonly errors: number;
  /** Milliseconds from the scheduled time. */
  readonly scheduled: Percentiles;
  /** Milliseconds from the actual send. */
  readonly sent: Percentiles;
  readonly maxSockets: number;
  /** Server CPU time per request, µs. */
  readonly cpuUs: number;
}

interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

function percentiles(samples: Float64Array): Percentiles {
  const sorted = samples.slice().sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? NaN };
}

/**
 * Sends `rate` requests a second on a fixed schedule for `seconds`, whatever the responses do.
 * Between due times it waits with a timer when the next is far, and polls with setImmediate in the
 * last 1.5 ms, so a request leaves within a few microseconds of its time unless this process is
 * busy. Polling keeps a core busy: the caller lowers this process's priority meanwhile, so the
 * poll yields to the servers (a nap instead, Atomics.wait, delays taking in responses by the VM's
 * wake-up latency, ≈ 0.3 ms measured).
 */
async function openLoop(target: Target, rate: number, seconds: number, check: (body: string) => boolean): Promise<OpenLoop> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const fromScheduled = new Float64Array(total);
  const fromSent = new Float64Array(total);
  const { hostname, port, pathname } = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  let completed = 0;
  let errors = 0;
  let maxSockets = 0;
  let next = 0;
  const start = performance.now() + 50;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const send = (i: number, scheduled: number) => {
    const body = target.body();
    const sentAt = performance.now();
    const req = httpRequest(
      { agent, hostname, port, path: pathname, method: 'POST', headers: { ...target.headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const end = performance.now();
          fromScheduled[i] = end - scheduled;
          fromSent[i] = end - sentAt;
          if (res.statusCode !== 200 || !check(Buffer.concat(chunks).toString('utf8'))) errors++;
          if (++completed === total) finish();
        });
      },
    );
    req.on('error', () => {
      errors++;
      fromScheduled[i] = fromSent[i] = performance.now() - scheduled;
      if (++completed === total) finish();
    });
    req.end(body);
    const sockets = Object.values(agent.sockets).reduce((n, s) => n + (s?.length ?? 0), 0);
    if (sockets > maxSockets) maxSockets = sockets;
  };

  const tick = () => {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      send(next, start + next * interval);
      next++;
    }
    if (next >= total) return;
    const wait = start + next * interval - performance.now();
    if (wait > 1.5) {
      setTimeout(tick, wait - 1.5);
      return;
    }
    setImmediate(tick);
  };
  const cpuBefore = cpuSeconds(target.pid);
  setTimeout(tick, 40);
  await done;
  const cpuUs = ((cpuSeconds(target.pid) - cpuBefore) / total) * 1e6;
  if (process.env.BENCH_DUMP) {
    const perSecond: string[] = [];
    for (let sec = 0; sec < seconds; sec++) {
      const slice = fromScheduled.slice(sec * rate, (sec + 1) * rate);
      perSecond.push(`${sec}s: p50 ${ms(percentiles(slice).p50)} max ${ms(percentiles(slice).max)}`);
    }
    console.log(perSecond.join('\n'));
  }
  agent.destroy();
  return {
    offered: rate,
    completed,
    achieved: completed / seconds,
    errors,
    scheduled: percentiles(fromScheduled),
    sent: percentiles(fromSent),
    maxSockets,
    cpuUs,
  };
}

// ---------------------------------------------------------------------------------------------
// Reporting

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const int = (x: number) => Math.round(x).toLocaleString('en-US');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const entities = Number(args.entities);
  const duration = Number(args.duration);
  const reps = Math.max(1, Number(args.reps));
  const connections = args.connections!.split(',').map((c) => Number(c.trim()));
  const rate = Number(args.rate);
  const openDuration = Number(args['open-duration']);
  const batch = Number(args.batch);
  const batchRate = Number(args['batch-rate']);
  const fields = args.fields!;

  console.log(`bench/serving: ${entities} entities, ${SERVED} served features (20 + 15 + 15), ${TRANSFORMATIONS.length} transformed`);
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; server at ${gitState()}`);
  console.log(`  load average at start: ${load()}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'granary-bench-serving-'));
  const env = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  const nodeFlags = [...startFlags(), ...args['node-flags']!.split(' ').filter(Boolean)];
  if (args['cpu-prof']) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  const granary = await startChild([...nodeFlags, 'bin/granary.js', 'serve'], env, /serving GraphQL at (http:\/\/\S+?\/graphql)/);
  const bare = await startChild(
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--bare-yoga'],
    { ...baseEnv(), NODE_ENV: 'production' },
    /bare yoga at (http:\/\/\S+?\/graphql)/,
  );
  try {
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const setupStart = performance.now();
    await setUp(granary.url, key, entities);
    console.log(`  setup over GraphQL: ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const randomId = () => Math.floor(Math.random() * entities);
    const vectorQuery = `query Vector($fv: FeatureViewRef!, $entry: JSON!) { featureVector(featureView: $fv, entry: $entry) { ${fields} } }`;
    const vectorsQuery = `query Vectors($fv: FeatureViewRef!, $entries: [JSON!]!) { featureVectors(featureView: $fv, entries: $entries) { ${fields} } }`;
    const fv = { name: VIEW, version: 1 };
    const vector: Target = {
      url: granary.url,
      pid: granary.child.pid!,
      headers,
      body: () => JSON.stringify({ query: vectorQuery, variables: { fv, entry: { customer_id: randomId() } } }),
    };
    const vectors: Target = {
      url: granary.url,
      pid: granary.child.pid!,
      headers,
      body: () =>
        JSON.stringify({
          query: vectorsQuery,
          variables: { fv, entries: Array.from({ length: batch }, () => ({ customer_id: randomId() })) },
        }),
    };
    const hello: Target = { url: bare.url, pid: bare.child.pid!, headers: { 'content-type': 'application/json' }, body: () => '{"query":"{ hello }"}' };

    // Correctness first: a full vector, 50 values, transformed, nothing missing.
    const sample = await graphql(
      granary.url,
      key,
      `query ($fv: FeatureViewRef!, $entry: JSON!) { featureVector(featureView: $fv, entry: $entry) { features values record missing } }`,
      {
        fv,
        entry: { customer_id: 1 },
      },
    );
    const v = sample.featureVector;
    if (v.values.length !== SERVED || v.missing.length !== 0 || !('min_max_scaler_p_d0_' in v.record) || !('label_encoder_c_s1_' in v.record)) {
      throw new Error(`unexpected vector: ${JSON.stringify(v)}`);
    }
    const ok = (body: string) => body.startsWith('{"data":{"featureVector') && !body.includes('"errors"');
    const okBatch = (body: string) => body.startsWith('{"data":{"featureVectors') && !body.includes('"errors"');
    console.log(`  vector: ${v.values.length} values; selection { ${fields} }: ${vector.body().length} B request`);

    const only = new Set(args.only!.split(',').map((x) => x.trim()));
    // Warm-up: both servers compile their hot paths.
    if (only.has('saturation')) await saturate(hello, 10, 2);
    await saturate(vector, 10, 3);

    if (only.has('saturation')) {
      const runs = new Map<string, Saturation[]>();
      const push = (k: string, s: Saturation) => runs.set(k, [...(runs.get(k) ?? []), s]);
      for (let r = 0; r < reps; r++) {
        for (const c of connections) {
          push(`yoga ${c}`, await saturate(hello, c, duration));
          push(`granary ${c}`, await saturate(vector, c, duration));
        }
      }
      console.log('');
      console.log(`P1 saturation (autocannon, ${reps} × ${duration} s, interleaved; median [best]); load average after: ${load()}`);
      const rows: string[][] = [];
      for (const c of connections) {
        const y = runs.get(`yoga ${c}`)!;
        const g = runs.get(`granary ${c}`)!;
        const of = (xs: Saturation[], f: (s: Saturation) => number) => median(xs.map(f));
        const ratio = of(g, (s) => s.rps) / of(y, (s) => s.rps);
        const best = Math.max(...g.map((s) => s.rps)) / Math.max(...y.map((s) => s.rps));
        rows.push([
          `featureVector, ${c} connections`,
          `${int(of(g, (s) => s.rps))} [${int(Math.max(...g.map((s) => s.rps)))}]`,
          `${of(g, (s) => s.p50)} / ${of(g, (s) => s.p99)}`,
          `${int(of(g, (s) => s.cpuUs))}`,
          `${int(of(y, (s) => s.rps))} [${int(Math.max(...y.map((s) => s.rps)))}]`,
          `${of(y, (s) => s.p50)} / ${of(y, (s) => s.p99)}`,
          `${int(of(y, (s) => s.cpuUs))}`,
          `${ratio.toFixed(2)} [${best.toFixed(2)}]`,
          `${(of(y, (s) => s.cpuUs) / of(g, (s) => s.cpuUs)).toFixed(2)}`,
          '≥ 1.00',
          ratio >= 1 ? 'ok' : 'MISSED',
          String(g.reduce((n, s) => n + s.errors, 0) + y.reduce((n, s) => n + s.errors, 0)),
        ]);
      }
      console.log(
        table(
          [
            'measurement',
            'req/s',
            'p50/p99 ms',
            'CPU µs/req',
            'bare yoga req/s',
            'p50/p99 ms',
            'CPU µs/req',
            'ratio req/s',
            'ratio CPU',
            'target',
            '',
            'errors',
          ],
          rows,
        ),
      );
    }

    const openRows: string[][] = [];
    const openRow = (label: string, o: OpenLoop, target: number) => [
      label,
      `${int(o.offered)} / ${int(o.achieved)}`,
      `${ms(o.scheduled.p50)} [${ms(o.sent.p50)}]`,
      `${ms(o.scheduled.p90)} [${ms(o.sent.p90)}]`,
      `${ms(o.scheduled.p99)} [${ms(o.sent.p99)}]`,
      `${ms(o.scheduled.p999)} [${ms(o.sent.p999)}]`,
      `${ms(o.scheduled.max)}`,
      `${int(o.cpuUs)}`,
      `≤ ${target}`,
      o.scheduled.p99 <= target ? 'ok' : 'MISSED',
      `${o.errors}`,
      `${o.maxSockets}`,
      load(),
    ];
    // Open loop: this process polls (see openLoop) at a lower priority than the servers.
    const priority = getPriority();
    if (only.has('p1') || only.has('p2')) setPriority(Math.min(19, priority + 10));
    const restorePriority = () => {
      try {
        setPriority(priority);
      } catch {
        // raising it back needs privileges: the rest of the run is open loop or reporting
      }
    };
    if (only.has('p1')) openRows.push(openRow(`P1 featureVector, 1 entity`, await openLoop(vector, rate, openDuration, ok), 2));
    if (only.has('p2')) openRows.push(openRow(`P2 featureVectors, ${batch} entities`, await openLoop(vectors, batchRate, openDuration, okBatch), 10));
    restorePriority();
    if (openRows.length > 0) {
      console.log('');
      console.log(`Open loop, ${openDuration} s each (latency in ms from the scheduled time; from the actual send in brackets)`);
      console.log(
        table(
          ['measurement', 'offered/done req/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'CPU µs/req', 'p99 target', '', 'errors', 'sockets', 'load avg after'],
          openRows,
        ),
      );
    }
    console.log(`\nbaseline: bare graphql-yoga { hello } (doc: ≈ 4.7 k req/s at 10 connections); load average at end: ${load()}`);
    const errors = granary.stderr().trim();
    if (errors) console.log(`server stderr:\n${errors.slice(0, 4000)}`);
  } finally {
    await Promise.all([stopChild(granary), stopChild(bare)]);
    if (args['server-log']) writeFileSync(args['server-log'], granary.stdout() + granary.stderr());
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args['bare-yoga']) await serveBareYoga();
else await main();
