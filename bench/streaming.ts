/**
 * Streaming ingestion through the real server (`npx tsx bench/streaming.ts`), beside a baseline
 * without Granary measured in the same run.
 *
 *   npx tsx bench/streaming.ts [--log embedded|nats] [--nats-url nats://127.0.0.1:4222]
 *                              [--rates 1000,5000] [--duration 5] [--steps 2000,3000,5000,7500,10000,…]
 *                              [--sustain-seconds 10] [--read-rate 1000] [--read-seconds 10]
 *                              [--write-rate 5000] [--connections 20] [--insert-seconds 10]
 *                              [--mixed-seconds 30] [--lag-rate 5000] [--lag-seconds 20]
 *                              [--commit-interval-ms 10000] [--materialize-tick-ms N]
 *                              [--entities 10000] [--pollers 1] [--poll-gap-ms 2] [--publish-rows 100]
 *                              [--producers graphql,publish,publish-many,baseline] [--apply worker|main] [--only freshness,sustain,reads,lag,mixed]
 *                              [--cpu-prof DIR] [--server-log FILE]
 *
 * Processes: the server under test (`node <start flags> bin/granary.js serve`, PORT=0,
 * NODE_ENV=production, LOG_LEVEL=warn, a fresh GRANARY_DATA_DIR, STREAM_URL under `--log nats`);
 * the baseline consumer (this file with `--baseline-consumer`: NATS JetStream → better-sqlite3
 * upserts, see lib/stream-baseline.ts); and this process, which sets up a project of its own over
 * GraphQL, produces the load, and polls. NATS streams it made are deleted at the end.
 *
 * Data: group `bench_stream` (id BIGINT key, ts TIMESTAMP event time, v DOUBLE, n INT, s STRING;
 * online), `--entities` rows inserted first, view `bench_stream_view` on v, n, s; group `bench_lag`,
 * the same shape, for the offline lag. Streamed rows have new keys; a row's value v is its key + 0.5.
 *
 * Measurements (open loops send on a fixed schedule whatever the answers do, and time from the
 * scheduled send, so queueing counts: no coordinated omission):
 * 1. Freshness: rows offered at each of `--rates` rows/s for `--duration` s by each producer:
 *    GraphQL `ingestFeatureGroupRows` (10 rows a request, waitFor ACCEPTED), a direct NATS publish of
 *    one row a message to the group's `streamSubject` and one of `--publish-rows` rows a message (an
 *    array; `--log nats` only), and the baseline (NATS
 *    publish → consumer process → SQLite). A row's freshness is the time from its scheduled send
 *    until `--pollers` tight pollers (closed loops reading the keys sent and not yet seen, oldest
 *    first, up to 300 per read: `featureVectors` for Granary, a SELECT for the baseline) see its
 *    value. A row not seen within 5 s after the last send counts as infinitely late. Then the rate is
 *    stepped up through `--steps` (from the highest of `--rates` that passed), `--sustain-seconds`
 *    each: the highest rate with p99 ≤ 250 ms, every row seen and no error.
 * 2. Reads while writing: `featureVector` (random existing key) at `--read-rate` req/s for
 *    `--read-seconds`, alone, then while `--write-rate` rows/s stream in through each producer;
 *    the p99 ratio (target ≤ 2×).
 * 3. Small inserts, closed loop at `--connections`: `insertFeatureGroupData` of 10 rows; then 85 %
 *    `featureVector` / 15 % 10-row inserts for `--mixed-seconds`; then the same with
 *    `ingestFeatureGroupRows` (waitFor ACCEPTED) as the writes.
 * 4. Offline lag: `bench_lag` with `streamCommitIntervalMs` = `--commit-interval-ms`, `--lag-rate`
 *    rows/s through GraphQL for `--lag-seconds`; `freshness { offlineLagMs pendingRows }` sampled
 *    every 250 ms, and each request's rows timed from its send to the `committedAt` of the commit
 *    whose `logRange` holds its sequence. Target: both at most the interval + 5 s.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

import { expectType, graphql } from './lib/graphql.ts';
import { FreshnessTracker, int, JsonClient, load, ms, openLoop, type Percentiles, percentiles, sleep, table } from './lib/load.ts';
import { baseEnv, type Child, cpuSeconds, gitState, startChild, startFlags, stopChild } from './lib/process.ts';
import { BaselineReader, runBaselineConsumer } from './lib/stream-baseline.ts';
import {
  baselineReader,
  granaryReader,
  graphqlProducer,
  INGEST,
  INSERT,
  mixed,
  type MixedResult,
  natsProducer,
  type Producer,
  ROWS_PER_REQUEST,
  type Reader,
  type ReadResult,
  reads,
  row,
  setUp,
} from './lib/stream-traffic.ts';

const { values: args } = parseArgs({
  options: {
    log: { type: 'string', default: 'embedded' },
    'nats-url': { type: 'string', default: 'nats://127.0.0.1:4222' },
    rates: { type: 'string', default: '1000,5000' },
    duration: { type: 'string', default: '5' },
    steps: { type: 'string', default: '2000,3000,5000,7500,10000,15000,20000,30000,40000' },
    'sustain-seconds': { type: 'string', default: '10' },
    'read-rate': { type: 'string', default: '1000' },
    'read-seconds': { type: 'string', default: '10' },
    'write-rate': { type: 'string', default: '5000' },
    connections: { type: 'string', default: '20' },
    'insert-seconds': { type: 'string', default: '10' },
    'mixed-seconds': { type: 'string', default: '30' },
    'lag-rate': { type: 'string', default: '5000' },
    'lag-seconds': { type: 'string', default: '20' },
    'commit-interval-ms': { type: 'string', default: '10000' },
    'materialize-tick-ms': { type: 'string' },
    entities: { type: 'string', default: '10000' },
    pollers: { type: 'string', default: '1' },
    'publish-rows': { type: 'string', default: '100' },
    producers: { type: 'string', default: 'graphql,publish,publish-many,baseline' },
    apply: { type: 'string', default: 'worker' },
    'poll-gap-ms': { type: 'string', default: '2' },
    only: { type: 'string', default: 'freshness,sustain,reads,lag,mixed' },
    'cpu-prof': { type: 'string' },
    'server-log': { type: 'string' },
    'baseline-consumer': { type: 'boolean', default: false },
    'baseline-stream': { type: 'string' },
    'baseline-subject': { type: 'string' },
    'baseline-file': { type: 'string' },
  },
});

const P99_TARGET_MS = 250;
const POLL_KEYS = 300;
const DRAIN_MS = 5000;

// ---------------------------------------------------------------------------------------------
// 1. Freshness

let nextKey = 1_000_000_000;

interface FreshnessResult {
  readonly label: string;
  readonly offered: number;
  readonly seenPerSecond: number;
  readonly freshness: Percentiles;
  readonly unseen: number;
  readonly errors: number;
  readonly sendP99: number;
  readonly lateP99: number;
  readonly pollP50: number;
  /** CPU the system's process (the server, or the baseline's consumer) used meanwhile, % of one core. */
  readonly cpuPercent: number;
}

const passed = (r: FreshnessResult) => r.freshness.p99 <= P99_TARGET_MS && r.unseen === 0 && r.errors === 0;

/**
 * Offers `rate` rows/s through the system's producer for `seconds` while `o.pollers` pollers read
 * the keys sent through its reader, each pausing `o.pollGapMs` between reads (so the polling does
 * not take the whole server).
 */
async function freshness(system: System, rate: number, seconds: number, o: Pick<Options, 'pollers' | 'pollGapMs'>): Promise<FreshnessResult> {
  const { producer, reader } = system;
  const tracker = new FreshnessTracker();
  const sendTimes: number[] = [];
  const pollTimes: number[] = [];
  let producing = true;
  let drainUntil = Number.POSITIVE_INFINITY;
  let errors = 0;
  const poll = async () => {
    while (producing || (tracker.unseen > 0 && performance.now() < drainUntil)) {
      const keys = tracker.keys(POLL_KEYS);
      if (keys.length === 0) {
        await sleep(1);
        continue;
      }
      const t0 = performance.now();
      const values = await reader(keys);
      const now = performance.now();
      pollTimes.push(now - t0);
      for (let i = 0; i < keys.length; i++) tracker.seen(keys[i]!, values[i], now);
      if (o.pollGapMs > 0) await sleep(o.pollGapMs);
    }
  };
  const polling = Array.from({ length: o.pollers }, poll);
  const cpuBefore = cpuSeconds(system.pid);
  const started = performance.now();
  const schedule = await openLoop(rate / producer.rowsPerSend, seconds, async (_i, at) => {
    const rows = Array.from({ length: producer.rowsPerSend }, () => row(nextKey++));
    for (const r of rows) tracker.sent(r.id, r.v, at);
    const sequence = await producer.send(rows);
    sendTimes.push(performance.now() - at);
    if (sequence === null) {
      errors++;
      for (const r of rows) tracker.cancel(r.id);
    }
  });
  drainUntil = performance.now() + DRAIN_MS;
  producing = false;
  await Promise.all(polling);
  const cpuPercent = ((cpuSeconds(system.pid) - cpuBefore) / ((performance.now() - started) / 1000)) * 100;
  const unseen = tracker.unseen;
  const samples = [...tracker.samples, ...Array.from({ length: unseen }, () => Number.POSITIVE_INFINITY)];
  return {
    label: producer.label,
    offered: rate,
    seenPerSecond: tracker.samples.length / seconds,
    freshness: percentiles(samples),
    unseen,
    errors,
    sendP99: percentiles(sendTimes).p99,
    lateP99: schedule.lateP99,
    pollP50: percentiles(pollTimes).p50,
    cpuPercent,
  };
}

function freshnessRow(system: string, r: FreshnessResult, seconds: number): string[] {
  return [
    `${system}: ${r.label}`,
    `${int(r.offered)} / ${int(r.seenPerSecond)}`,
    `${seconds}`,
    ms(r.freshness.p50),
    ms(r.freshness.p90),
    ms(r.freshness.p99),
    ms(r.freshness.max),
    `${r.unseen}`,
    `${r.errors}`,
    ms(r.sendP99),
    ms(r.pollP50),
    ms(r.lateP99),
    `${r.cpuPercent.toFixed(0)} %`,
    passed(r) ? 'ok' : 'MISSED',
  ];
}

const FRESHNESS_HEADER = [
  'producer',
  'offered/seen rows/s',
  's',
  'p50 ms',
  'p90',
  'p99',
  'max',
  'unseen',
  'errors',
  'send p99',
  'poll p50',
  'late p99',
  'CPU',
  `p99 ≤ ${P99_TARGET_MS}`,
];

interface System {
  readonly name: string;
  readonly producer: Producer;
  readonly reader: Reader;
  /** The process doing the work: the server, or the baseline's consumer. */
  readonly pid: number;
}

/** Steps the rate up from the highest passing rate of `start` until a step misses; returns the table rows and the best rate. */
async function sustain(system: System, steps: number[], o: Options): Promise<{ rows: string[][]; best: number }> {
  const seconds = o.sustainSeconds;
  const rows: string[][] = [];
  let best = 0;
  for (const rate of steps) {
    const r = await freshness(system, rate, seconds, o);
    rows.push(freshnessRow(system.name, r, seconds));
    process.stdout.write(`  sustain ${system.name} ${rate} rows/s: p99 ${ms(r.freshness.p99)} ms${passed(r) ? '' : ' (missed)'}\n`);
    if (!passed(r)) break;
    best = rate;
  }
  return { rows, best };
}

// ---------------------------------------------------------------------------------------------
// 2. Reads while writing

/** Writes `rate` rows/s through `producer` for `seconds` (open loop); resolves with the failed sends. */
async function write(producer: Producer, rate: number, seconds: number): Promise<number> {
  let errors = 0;
  await openLoop(rate / producer.rowsPerSend, seconds, async () => {
    const rows = Array.from({ length: producer.rowsPerSend }, () => row(nextKey++));
    if ((await producer.send(rows)) === null) errors++;
  });
  return errors;
}

async function readsWhileWriting(client: JsonClient, producers: Producer[], o: Options): Promise<string> {
  const alone = await reads(client, o.entities, o.readRate, o.readSeconds);
  const line = (label: string, r: ReadResult, writeErrors: string, ratio: string, verdict: string) => [
    label,
    ms(r.latency.p50),
    ms(r.latency.p90),
    ms(r.latency.p99),
    ms(r.latency.max),
    `${r.errors}`,
    writeErrors,
    ratio,
    verdict,
  ];
  const rows = [line(`featureVector ${int(o.readRate)} req/s alone`, alone, '', '', '')];
  const results: ReadResult[] = [];
  for (const producer of producers) {
    const [withWrites, writeErrors] = await Promise.all([
      reads(client, o.entities, o.readRate, o.readSeconds),
      write(producer, o.writeRate, o.readSeconds + 0.5),
    ]);
    results.push(withWrites);
    const ratio = withWrites.latency.p99 / alone.latency.p99;
    rows.push(
      line(
        `  while ${int(o.writeRate)} rows/s stream in (${producer.label})`,
        withWrites,
        `${writeErrors}`,
        `${ratio.toFixed(2)}×`,
        ratio <= 2 ? 'ok' : 'MISSED',
      ),
    );
  }
  const firstError = [alone, ...results].find((r) => r.firstError !== null)?.firstError;
  return `2. Reads while writing: featureVector open loop, ${o.readSeconds} s each (ms from the scheduled send)\n${table(
    ['reads', 'p50', 'p90', 'p99', 'max', 'read errors', 'write errors', 'p99 ratio', '≤ 2×'],
    rows,
  )}${firstError ? `\n  first read error: ${firstError}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// 3. Small inserts and the mixed load

async function smallInserts(client: JsonClient, o: Options): Promise<string> {
  const tenRows = () => Array.from({ length: ROWS_PER_REQUEST }, () => row(Math.floor(Math.random() * o.entities)));
  const insertBody = () => JSON.stringify({ query: INSERT, variables: { fg: { name: 'bench_stream' }, rows: tenRows() } });
  const ingestBody = () => JSON.stringify({ query: INGEST, variables: { fg: { name: 'bench_stream' }, rows: tenRows() } });
  const runs: [string, MixedResult][] = [
    [
      `insertFeatureGroupData 10 rows, ${o.connections} connections`,
      await mixed(client, o.connections, o.entities, 1, o.insertSeconds, insertBody, 'InsertFeatureGroupDataPayload'),
    ],
    [
      `mixed 85 % featureVector / 15 % insert`,
      await mixed(client, o.connections, o.entities, 0.15, o.mixedSeconds, insertBody, 'InsertFeatureGroupDataPayload'),
    ],
    [
      `mixed 85 % featureVector / 15 % ingest (ACCEPTED)`,
      await mixed(client, o.connections, o.entities, 0.15, o.mixedSeconds, ingestBody, 'IngestFeatureGroupRowsPayload'),
    ],
  ];
  const rows = runs.map(([label, r]) => {
    const reads = percentiles(r.reads);
    const writes = percentiles(r.writes);
    return [
      label,
      `${r.seconds}`,
      int((r.reads.length + r.writes.length) / r.seconds),
      int(r.writes.length / r.seconds),
      ms(writes.p50),
      ms(writes.p99),
      r.reads.length > 0 ? int(r.reads.length / r.seconds) : '',
      r.reads.length > 0 ? ms(reads.p50) : '',
      r.reads.length > 0 ? ms(reads.p99) : '',
      `${r.errors}`,
    ];
  });
  const errors = runs.filter(([, r]) => r.firstError !== null).map(([label, r]) => `  first error in ${label}: ${r.firstError}`);
  return [
    `3. Small writes, closed loop at ${o.connections} connections (ms from send to answer)`,
    table(['load', 's', 'req/s', 'writes/s', 'write p50', 'write p99', 'reads/s', 'read p50', 'read p99', 'errors'], rows),
    ...errors,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 4. Offline lag

const LAG_QUERY = `{ featureGroup(name: "bench_lag") {
  freshness { offlineLagMs pendingRows lastOfflineCommitAt }
  commits(first: 100) { committedAt rowCount logRange { from to } }
} }`;

interface LagCommit {
  readonly committedAt: string;
  readonly rowCount: number;
  readonly logRange: { from: number; to: number } | null;
}

async function offlineLag(url: string, key: string, client: JsonClient, o: Options): Promise<string> {
  const update = `mutation ($ms: Int!) { updateFeatureGroup(featureGroup: { name: "bench_lag" }, input: { streamCommitIntervalMs: $ms }) { __typename ... on Error { message } } }`;
  expectType(await graphql(url, key, update, { ms: o.commitIntervalMs }), 'updateFeatureGroup', 'UpdateFeatureGroupPayload');
  const producer = graphqlProducer(client, 'bench_lag');
  const sends: { sequence: number; at: number }[] = [];
  let errors = 0;
  let streaming = true;
  const lags: number[] = [];
  let maxPending = 0;
  const commits = new Map<number, LagCommit>();
  const sample = async () => {
    const { featureGroup } = await graphql(url, key, LAG_QUERY);
    lags.push(featureGroup.freshness.offlineLagMs as number);
    maxPending = Math.max(maxPending, featureGroup.freshness.pendingRows as number);
    for (const c of featureGroup.commits as LagCommit[]) if (c.logRange) commits.set(c.logRange.from, c);
    return featureGroup.freshness.pendingRows as number;
  };
  const sampling = (async () => {
    const deadline = () => performance.now() + o.commitIntervalMs + 20_000;
    let until = Number.POSITIVE_INFINITY;
    while (performance.now() < until) {
      const pending = await sample();
      if (!streaming && until === Number.POSITIVE_INFINITY) until = deadline();
      if (!streaming && pending === 0 && sends.every((s) => covered(s.sequence))) break;
      await sleep(250);
    }
  })();
  const covered = (sequence: number) => [...commits.values()].some((c) => c.logRange!.from <= sequence && sequence <= c.logRange!.to);
  await openLoop(o.lagRate / producer.rowsPerSend, o.lagSeconds, async (_i, at) => {
    const sequence = await producer.send(Array.from({ length: producer.rowsPerSend }, () => row(nextKey++)));
    if (sequence === null) errors++;
    else sends.push({ sequence, at: performance.timeOrigin + at });
  });
  streaming = false;
  await sampling;
  const ranges = [...commits.values()];
  const delays: number[] = [];
  let uncommitted = 0;
  for (const s of sends) {
    const c = ranges.find((r) => r.logRange!.from <= s.sequence && s.sequence <= r.logRange!.to);
    if (c) delays.push(Date.parse(c.committedAt) - s.at);
    else uncommitted += producer.rowsPerSend;
  }
  const lag = percentiles(lags);
  const commit = percentiles(delays);
  const target = o.commitIntervalMs + 5000;
  const verdict = (x: number) => (x <= target ? 'ok' : 'MISSED');
  return [
    `4. Offline lag: ${int(o.lagRate)} rows/s for ${o.lagSeconds} s through GraphQL ingest, streamCommitIntervalMs ${int(o.commitIntervalMs)}; target ≤ ${int(target)} ms`,
    table(
      ['measurement', 'p50 ms', 'p99', 'max', `max ≤ ${int(target)}`],
      [
        ['freshness.offlineLagMs, sampled every 250 ms', int(lag.p50), int(lag.p99), int(lag.max), verdict(lag.max)],
        [
          'row sent → in an offline commit (committedAt)',
          int(commit.p50),
          int(commit.p99),
          int(commit.max),
          uncommitted === 0 ? verdict(commit.max) : 'MISSED',
        ],
      ],
    ),
    `  ${ranges.length} streamed commits (rows: ${ranges.map((c) => c.rowCount).join(', ')}); most pendingRows seen ${int(maxPending)}; rows in no commit at the end ${int(uncommitted)}; failed sends ${errors}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Options {
  readonly nats: boolean;
  readonly rates: number[];
  readonly duration: number;
  readonly steps: number[];
  readonly sustainSeconds: number;
  readonly readRate: number;
  readonly readSeconds: number;
  readonly writeRate: number;
  readonly connections: number;
  readonly insertSeconds: number;
  readonly mixedSeconds: number;
  readonly lagRate: number;
  readonly lagSeconds: number;
  readonly commitIntervalMs: number;
  readonly entities: number;
  readonly pollers: number;
  /** Under --log nats, also a producer publishing this many rows per message (an array), when more than 1. */
  readonly publishRows: number;
  readonly pollGapMs: number;
  readonly only: Set<string>;
}

function options(): Options {
  const list = (s: string) => s.split(',').map((x) => Number(x.trim()));
  if (args.log !== 'embedded' && args.log !== 'nats') throw new Error(`--log is embedded or nats, not ${args.log}`);
  return {
    nats: args.log === 'nats',
    rates: list(args.rates!),
    duration: Number(args.duration),
    steps: list(args.steps!),
    sustainSeconds: Number(args['sustain-seconds']),
    readRate: Number(args['read-rate']),
    readSeconds: Number(args['read-seconds']),
    writeRate: Number(args['write-rate']),
    connections: Number(args.connections),
    insertSeconds: Number(args['insert-seconds']),
    mixedSeconds: Number(args['mixed-seconds']),
    lagRate: Number(args['lag-rate']),
    lagSeconds: Number(args['lag-seconds']),
    commitIntervalMs: Number(args['commit-interval-ms']),
    entities: Number(args.entities),
    pollers: Number(args.pollers),
    publishRows: Number(args['publish-rows']),
    pollGapMs: Number(args['poll-gap-ms']),
    only: new Set(args.only!.split(',').map((x) => x.trim())),
  };
}

const id = (system: System) => `${system.name}: ${system.producer.label}`;

/** Section 1: every system at every rate, then the sustained rate of each. */
async function freshnessSections(systems: System[], o: Options): Promise<string[]> {
  const out: string[] = [];
  const best = new Map<string, number>();
  if (o.only.has('freshness')) {
    const rows: string[][] = [];
    for (const rate of o.rates) {
      for (const system of systems) {
        const r = await freshness(system, rate, o.duration, o);
        rows.push(freshnessRow(system.name, r, o.duration));
        if (passed(r)) best.set(id(system), Math.max(best.get(id(system)) ?? 0, rate));
      }
    }
    out.push(
      `1. Freshness, append → readable (ms from the scheduled send until a poller saw the value; load average ${load()})\n${table(FRESHNESS_HEADER, rows)}`,
    );
  }
  if (o.only.has('sustain')) {
    const rows: string[][] = [];
    const summary: string[] = [];
    for (const system of systems) {
      const from = best.get(id(system)) ?? 0;
      const steps = o.steps.filter((s) => s > from);
      const sustained = await sustain(system, steps, o);
      rows.push(...sustained.rows);
      summary.push(`  ${system.name} (${system.producer.label}): ${int(Math.max(from, sustained.best))} rows/s`);
    }
    out.push(
      [
        `1b. Highest rate sustained ${o.sustainSeconds} s with p99 ≤ ${P99_TARGET_MS} ms (steps ${o.steps.join(', ')} from the best rate above)`,
        table(FRESHNESS_HEADER, rows),
        ...summary,
      ].join('\n'),
    );
  }
  return out;
}

/**
 * Waits (at most 60 s) until the groups' streamed rows are all applied and in offline commits, so
 * one measurement's backlog (applying, a large offline commit) does not run into the next.
 */
async function settle(url: string, key: string, groups: string[]): Promise<string> {
  const start = performance.now();
  const query = `{ ${groups.map((g, i) => `g${i}: featureGroup(name: "${g}") { freshness { pendingRows onlineLagMs offlineLagMs } }`).join(' ')} }`;
  while (performance.now() - start < 60_000) {
    const data = await graphql(url, key, query);
    const busy = Object.values(data as Record<string, { freshness: { pendingRows: number; onlineLagMs: number; offlineLagMs: number } }>).some(
      (g) => g.freshness.pendingRows > 0 || g.freshness.onlineLagMs > 0 || g.freshness.offlineLagMs > 0,
    );
    if (!busy) break;
    await sleep(250);
  }
  await sleep(1000);
  return `(settled: ${((performance.now() - start) / 1000).toFixed(1)} s waiting for the backlog to be applied and committed)`;
}

async function main(): Promise<void> {
  const o = options();
  console.log(
    `bench/streaming: log ${o.nats ? `NATS JetStream (${args['nats-url']})` : 'embedded (SQLite)'}; server at ${gitState()}; apply thread: ${args.apply}`,
  );
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; load average at start: ${load()}`);
  const natsUrl = args['nats-url']!;
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const project = `bench_stream_${tag}`;
  const baselineStream = `bench_baseline_${tag}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'granary-bench-streaming-'));
  const env: Record<string, string> = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  if (o.nats) env.STREAM_URL = natsUrl;
  if (args['materialize-tick-ms']) env.GRANARY_STREAM_MATERIALIZE_TICK_MS = args['materialize-tick-ms'];
  env.GRANARY_STREAM_APPLY = args.apply!;
  const nodeFlags = startFlags();
  if (args['cpu-prof']) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  const nc: NatsConnection = await connect({ servers: natsUrl });
  const children: Child[] = [];
  try {
    const granary = await startChild([...nodeFlags, 'bin/granary.js', 'serve'], env, /serving GraphQL at (http:\/\/\S+?\/graphql)/);
    children.push(granary);
    const baselineFile = join(dataDir, 'baseline.db');
    const self = fileURLToPath(import.meta.url);
    const baselineArgs = ['--baseline-stream', baselineStream, '--baseline-subject', `${baselineStream}.rows`, '--baseline-file', baselineFile];
    children.push(
      await startChild(['--import', 'tsx', self, '--baseline-consumer', '--nats-url', natsUrl, ...baselineArgs], baseEnv(), /baseline consumer at (\S+)/),
    );
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const setupStart = performance.now();
    const { key, subject } = await setUp(granary.url, adminKey, project, o.entities);
    console.log(`  setup: project ${project}, ${int(o.entities)} rows prefilled, ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);
    const client = new JsonClient(granary.url, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    const pollClient = new JsonClient(granary.url, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    const js = jetstream(nc);
    const baseline = new BaselineReader(baselineFile);
    const granaryRead = granaryReader(pollClient);
    const pid = granary.child.pid!;
    const systems: System[] = [{ name: 'Granary', producer: graphqlProducer(client, 'bench_stream'), reader: granaryRead, pid }];
    if (o.nats) {
      systems.push({ name: 'Granary', producer: natsProducer(js, subject, 'NATS publish to streamSubject, 1 row/message'), reader: granaryRead, pid });
      if (o.publishRows > 1) {
        const label = `NATS publish to streamSubject, ${o.publishRows} rows/message`;
        systems.push({ name: 'Granary', producer: natsProducer(js, subject, label, o.publishRows), reader: granaryRead, pid });
      }
    }
    systems.push({
      pid: children[1]!.child.pid!,
      name: 'baseline',
      producer: natsProducer(js, `${baselineStream}.rows`, 'NATS → consumer process → SQLite, 1 row/message'),
      reader: baselineReader(baseline),
    });
    const kinds = ['graphql', ...(o.nats ? ['publish', ...(o.publishRows > 1 ? ['publish-many'] : [])] : []), 'baseline'];
    const wanted = new Set(args.producers!.split(',').map((x) => x.trim()));
    const chosen = systems.filter((_, i) => wanted.has(kinds[i]!));
    systems.splice(0, systems.length, ...chosen);
    // Warm-up: every path compiles before anything is measured.
    for (const system of systems) await freshness(system, 500, 2, o);
    // This process polls: it yields to the server and the consumer.
    const priority = getPriority();
    setPriority(Math.min(19, priority + 10));
    const sections = await freshnessSections(systems, o);
    for (const s of sections) console.log(`\n${s}`);
    const groups = ['bench_stream', 'bench_lag'];
    if (o.only.has('reads')) console.log(`\n${await settle(granary.url, key, groups)}`);
    if (o.only.has('reads'))
      console.log(
        `\n${await readsWhileWriting(
          client,
          systems.filter((s) => s.name === 'Granary').map((s) => s.producer),
          o,
        )}`,
      );
    if (o.only.has('lag')) console.log(`\n${await settle(granary.url, key, groups)}`);
    if (o.only.has('lag')) console.log(`\n${await offlineLag(granary.url, key, client, o)}`);
    if (o.only.has('mixed')) console.log(`\n${await settle(granary.url, key, groups)}`);
    if (o.only.has('mixed')) console.log(`\n${await smallInserts(client, o)}`);
    console.log(`\nload average at end: ${load()}`);
    for (const s of systems) if (s.producer.failures.length > 0) console.log(`first failures of ${s.producer.label}:\n  ${s.producer.failures.join('\n  ')}`);
    baseline.close();
    client.close();
    pollClient.close();
    const errors = granary.stderr().trim();
    if (errors) console.log(`server stderr:\n${errors.slice(0, 4000)}`);
  } finally {
    await Promise.all(children.map(stopChild));
    if (args['server-log'] && children[0]) writeFileSync(args['server-log'], children[0].stdout() + children[0].stderr());
    const jsm = await jetstreamManager(nc);
    for (const stream of [baselineStream, `granary_${project}`]) await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args['baseline-consumer']) await runBaselineConsumer(args['nats-url']!, args['baseline-stream']!, args['baseline-subject']!, args['baseline-file']!);
else await main();
