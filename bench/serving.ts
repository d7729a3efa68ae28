import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { graphql } from './lib/graphql.ts';
import { int, load, median, ms, table } from './lib/load.ts';
import { baseEnv, gitState, serveBaseline, startChild, startFlags, startGranary, stopChild, stopGranary } from './lib/process.ts';
import { SERVED, setUp, TRANSFORMATIONS, VIEW } from './lib/serving-view.ts';
import { lowerPriority, measureOpenLoop, type OpenLoop, type Saturation, saturate, type Target } from './lib/targets.ts';

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

  const nodeFlags = [...startFlags(), ...args['node-flags']!.split(' ').filter(Boolean)];
  if (args['cpu-prof']) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  const granary = await startGranary('granary-bench-serving-', nodeFlags);
  const bare = await startChild(
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--bare-yoga'],
    { ...baseEnv(), NODE_ENV: 'production' },
    /bare yoga at (http:\/\/\S+?\/graphql)/,
  );
  try {
    const key = granary.key;
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
    // Open loop: this process polls (see measureOpenLoop) at a lower priority than the servers.
    const restorePriority = only.has('p1') || only.has('p2') ? lowerPriority() : () => {};
    if (only.has('p1')) openRows.push(openRow(`P1 featureVector, 1 entity`, await measureOpenLoop(vector, rate, openDuration, ok), 2));
    if (only.has('p2')) openRows.push(openRow(`P2 featureVectors, ${batch} entities`, await measureOpenLoop(vectors, batchRate, openDuration, okBatch), 10));
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
    await Promise.all([stopGranary(granary), stopChild(bare)]);
    if (args['server-log']) writeFileSync(args['server-log'], granary.stdout() + granary.stderr());
  }
}

if (args['bare-yoga']) await serveBareYoga();
else await main();
