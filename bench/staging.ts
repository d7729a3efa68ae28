/**
 * Where inserts are staged, in one run (`npx tsx bench/staging.ts`): the same server started with
 * `GRANARY_STAGING=main` (DuckDB staging on the thread that answers requests) and `worker` (the
 * default: a staging thread), one after the other, `--rounds` times in alternation.
 *
 *   npx tsx bench/staging.ts [--rounds 1] [--entities 10000] [--connections 20] [--seconds 10]
 *                            [--read-rate 1000] [--big-rows 100000] [--stream-rate 5000]
 *                            [--modes main,worker] [--cpu-prof DIR]
 *
 * Per server (fresh data directory, NODE_ENV=production, group `bench_stream` of bench/lib/stream-traffic.ts):
 * 1. `featureVector` at `--read-rate` req/s (open loop) alone, then while each of these writes runs:
 *    a. `insertFeatureGroupData` of 10 rows, closed loop at 4 connections;
 *    b. `insertFeatureGroupData` of 10 000 JSON rows each, back to back, up to `--big-rows` rows
 *       (the request's JSON parse is on the serving thread whatever the staging);
 *    c. `--stream-rate` rows/s through `ingestFeatureGroupRows` with the group's commit every 2 s,
 *       so materialized commits of ≈ 10 000 rows are staged while the reads run.
 *    Reported: read p50/p99/max and the p99 ratio to reads alone.
 * 2. `insertFeatureGroupData` of 10 rows, closed loop at `--connections`: req/s and p50/p99.
 * 3. 85 % `featureVector` / 15 % 10-row inserts at `--connections`: req/s, read and insert p99.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { closedLoop, int, JsonClient, load, ms, openLoop, percentiles, sleep, table } from './lib/load.ts';
import { baseEnv, gitState, startChild, startFlags, stopChild } from './lib/process.ts';
import { expectType, graphql } from './lib/graphql.ts';
import { INGEST, INSERT, mixed, type MixedResult, reads, type ReadResult, row, setUp } from './lib/stream-traffic.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    entities: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    'read-rate': { type: 'string', default: '1000' },
    'big-rows': { type: 'string', default: '100000' },
    'stream-rate': { type: 'string', default: '5000' },
    modes: { type: 'string', default: 'main,worker' },
    'cpu-prof': { type: 'string' },
  },
});

const entities = Number(args.entities);
const connections = Number(args.connections);
const seconds = Number(args.seconds);
const readRate = Number(args['read-rate']);
const bigRows = Number(args['big-rows']);
const streamRate = Number(args['stream-rate']);
const GROUP = { name: 'bench_stream' };
const tenRows = () => Array.from({ length: 10 }, () => row(Math.floor(Math.random() * entities)));
const insertBody = () => JSON.stringify({ query: INSERT, variables: { fg: GROUP, rows: tenRows() } });

interface ServerResult {
  readonly staging: string;
  readonly alone: ReadResult;
  readonly during: [string, ReadResult, string][];
  readonly inserts: MixedResult;
  readonly mix: MixedResult;
}

/** Runs `write` until the reads are done; returns what it reports. */
async function whileReading(client: JsonClient, write: (until: () => boolean) => Promise<string>): Promise<[ReadResult, string]> {
  let done = false;
  const writing = write(() => done);
  const result = await reads(client, entities, readRate, seconds);
  done = true;
  return [result, await writing];
}

async function measure(staging: 'main' | 'worker'): Promise<ServerResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'granary-bench-staging-'));
  const env = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production', GRANARY_STAGING: staging };
  const flags = startFlags();
  if (args['cpu-prof']) flags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}/${staging}`);
  const server = await startChild([...flags, 'bin/granary.js', 'serve'], env, /serving GraphQL at (http:\/\/\S+?\/graphql)/);
  try {
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const { key } = await setUp(server.url, adminKey, 'bench_staging', entities);
    const client = new JsonClient(server.url, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    const update = `mutation { updateFeatureGroup(featureGroup: { name: "bench_stream" }, input: { streamCommitIntervalMs: 2000 }) { __typename ... on Error { message } } }`;
    expectType(await graphql(server.url, key, update), 'updateFeatureGroup', 'UpdateFeatureGroupPayload');
    // Warm-up: both paths compile (and the staging thread starts) before anything is measured.
    await mixed(client, 4, entities, 0.5, 3, insertBody, 'InsertFeatureGroupDataPayload');
    const alone = await reads(client, entities, readRate, seconds);
    const during: [string, ReadResult, string][] = [];
    const small = await whileReading(client, async (until) => {
      let n = 0;
      await closedLoop(4, seconds, async () => {
        if (until()) return sleep(10);
        n++;
        await client.post(insertBody());
      });
      return `${int(n / seconds)} inserts/s`;
    });
    during.push(['10-row inserts, 4 connections', ...small]);
    const big = await whileReading(client, async (until) => {
      let next = entities;
      let inserted = 0;
      const start = performance.now();
      while (!until() && inserted < bigRows) {
        const rows = Array.from({ length: 10_000 }, () => row(next++));
        const data = await graphql(server.url, key, INSERT, { fg: GROUP, rows });
        expectType(data, 'insertFeatureGroupData', 'InsertFeatureGroupDataPayload');
        inserted += rows.length;
      }
      return `${int(inserted / ((performance.now() - start) / 1000))} rows/s`;
    });
    during.push(['10 000-row inserts, back to back', ...big]);
    const streamed = await whileReading(client, async (until) => {
      let next = 10_000_000;
      let errors = 0;
      await openLoop(streamRate / 10, seconds, async () => {
        if (until()) return;
        const rows = Array.from({ length: 10 }, () => row(next++));
        const { status, text } = await client.post(JSON.stringify({ query: INGEST, variables: { fg: GROUP, rows } }));
        if (status !== 200 || !text.includes('IngestFeatureGroupRowsPayload')) errors++;
      });
      return `${int(streamRate)} rows/s, commits every 2 s, ${errors} errors`;
    });
    during.push([`ingest ${int(streamRate)} rows/s, materialized every 2 s`, ...streamed]);
    await sleep(3000);
    const inserts = await mixed(client, connections, entities, 1, seconds, insertBody, 'InsertFeatureGroupDataPayload');
    const mix = await mixed(client, connections, entities, 0.15, seconds * 1.5, insertBody, 'InsertFeatureGroupDataPayload');
    client.close();
    return { staging, alone, during, inserts, mix };
  } finally {
    await stopChild(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(results: ServerResult[]): string {
  const readRows: string[][] = [];
  for (const r of results) {
    readRows.push([`${r.staging}: alone`, ms(r.alone.latency.p50), ms(r.alone.latency.p99), ms(r.alone.latency.max), '', '', `${r.alone.errors}`]);
    for (const [label, d, note] of r.during) {
      readRows.push([
        `${r.staging}: while ${label}`,
        ms(d.latency.p50),
        ms(d.latency.p99),
        ms(d.latency.max),
        `${(d.latency.p99 / r.alone.latency.p99).toFixed(2)}×`,
        note,
        `${d.errors}`,
      ]);
    }
  }
  const loadRows = results.flatMap((r) =>
    (
      [
        [`${r.staging}: insertFeatureGroupData 10 rows`, r.inserts],
        [`${r.staging}: mixed 85 % reads / 15 % inserts`, r.mix],
      ] as const
    ).map(([label, m]) => {
      const w = percentiles(m.writes);
      const rd = percentiles(m.reads);
      return [
        label,
        int((m.reads.length + m.writes.length) / m.seconds),
        int(m.writes.length / m.seconds),
        ms(w.p50),
        ms(w.p99),
        m.reads.length ? ms(rd.p50) : '',
        m.reads.length ? ms(rd.p99) : '',
        `${m.errors}`,
      ];
    }),
  );
  return [
    `1. featureVector at ${int(readRate)} req/s, ${seconds} s (ms from the scheduled send)`,
    table(['staging: reads', 'p50', 'p99', 'max', 'p99 ratio', 'writes', 'errors'], readRows),
    '',
    `2–3. Closed loops at ${connections} connections (ms from send to answer)`,
    table(['staging: load', 'req/s', 'inserts/s', 'insert p50', 'insert p99', 'read p50', 'read p99', 'errors'], loadRows),
  ].join('\n');
}

console.log(`bench/staging: server at ${gitState()}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; load average ${load()}`);
const results: ServerResult[] = [];
for (let round = 0; round < Number(args.rounds); round++) {
  for (const staging of args.modes!.split(',') as ('main' | 'worker')[]) results.push(await measure(staging));
}
console.log(report(results));
console.log(`load average at end: ${load()}`);
