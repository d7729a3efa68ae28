/**
 * bench/predict: the deployment predict path, each measurement a ratio to a baseline measured in
 * the same run on the same server.
 *
 *   npm run bench:predict -- [--entities 10000] [--duration 5] [--logged-duration 15] [--reps 4] [--connections 10]
 *                            [--rate 500] [--open-duration 10] [--open-reps 2] [--batch 100]
 *                            [--batch-rate 50] [--fields "values missing"]
 *                            [--only saturation,logged,p99,batch] [--json FILE]
 *                            [--node-flags "..."] [--cpu-prof DIR] [--server-log FILE]
 *
 * Setup over GraphQL, as a user would, on a server started as `npm start` does on a fresh data
 * directory: bench/lib/serving-view.ts's project (three online groups of `--entities` rows, a view
 * of 50 served features with 16 transformations, training dataset 1); a logistic regression (ONNX,
 * src/client/onnx-model.ts) over the view's numeric served features, its input schema those names
 * as `double`, registered with the view and training dataset by a multipart createModel; and two
 * deployments of it: bench_plain (no logging) and bench_logged (every prediction logged).
 *
 * Measurements (the keys are the same random ones, in the same order, for every target):
 *   S1  saturation, closed loop, `--connections` connections: predict(bench_plain) of one entity
 *       ÷ featureVector of the same entity, req/s ≥ 0.70
 *   S2  saturation: predict(bench_logged) ÷ predict(bench_plain), req/s ≥ 0.85; both run for
 *       `--logged-duration` seconds, three of the log's 5 s flush intervals, so that the log's
 *       commits fall inside the measurement rather than after it
 *   O1  open loop at `--rate` req/s: predict(bench_plain) p99 ≤ 1.5 × featureVector p99
 *   O2  open loop, `--batch` entities per request at `--batch-rate` req/s: predict p99 ≤ 15 ms
 *       (featureVectors of the same entries printed as the baseline)
 * Saturation runs are interleaved (`--reps`, median; plain and logged alternate which goes first,
 * so an even number of reps balances drift of the machine's speed); open loops too (`--open-reps`, median of the
 * p99s). Server CPU time per request is printed beside each, of the whole process and of its main
 * thread (the one that saturates: JavaScript and the online store's reads): unlike req/s it
 * hardly moves with other work on the machine. Afterwards bench_logged's log must hold one row per request it
 * answered. `--json` writes every number to a file.
 *
 * featureVector selects `--fields` (default `values missing`, what a caller scoring the vector
 * itself needs, as bench:serving); predict selects what the client's predict selects.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { GranaryClient } from '../src/client/client.ts';
import { logisticRegressionOnnx } from '../src/client/onnx-model.ts';
import { expectType, graphql } from './lib/graphql.ts';
import { int, load, median, ms, sleep, table } from './lib/load.ts';
import { gitState, startFlags, startGranary, stopGranary } from './lib/process.ts';
import { SERVED, setUp, TRANSFORMATIONS, VIEW } from './lib/serving-view.ts';
import { lowerPriority, measureOpenLoop, type OpenLoop, type Saturation, saturate, type Target } from './lib/targets.ts';

const { values: args } = parseArgs({
  options: {
    entities: { type: 'string', default: '10000' },
    'logged-duration': { type: 'string', default: '15' },
    duration: { type: 'string', default: '5' },
    reps: { type: 'string', default: '4' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' },
    'open-duration': { type: 'string', default: '10' },
    'open-reps': { type: 'string', default: '2' },
    batch: { type: 'string', default: '100' },
    'batch-rate': { type: 'string', default: '50' },
    fields: { type: 'string', default: 'values missing' },
    only: { type: 'string', default: 'saturation,logged,p99,batch' },
    json: { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
    'server-log': { type: 'string' },
  },
});

const MODEL = 'bench_churn';
const PLAIN = 'bench_plain';
const LOGGED = 'bench_logged';
const FV = { name: VIEW, version: 1 };

/** Targets. */
const S1_RATIO = 0.7;
const S2_RATIO = 0.85;
const O1_RATIO = 1.5;
const O2_P99_MS = 15;

// ---------------------------------------------------------------------------------------------
// GraphQL documents, as a client sends them: variables, no inlined values

const PREDICT = `query Predict($deployment: String!, $entries: [JSON!]!, $passedFeatures: [JSON], $requestParameters: [JSON], $options: PredictOptions) {
  predict(deployment: $deployment, entries: $entries, passedFeatures: $passedFeatures, requestParameters: $requestParameters, options: $options) {
    requestId
    deployment
    predictions { prediction probabilities modelVersion trainingDatasetVersion missing vector { features values } }
  }
}`;
const vectorQuery = (fields: string) => `query FeatureVector($featureView: FeatureViewRef!, $entry: JSON!) {
  featureVector(featureView: $featureView, entry: $entry) { ${fields} }
}`;
const vectorsQuery = (fields: string) => `query FeatureVectors($featureView: FeatureViewRef!, $entries: [JSON!]!) {
  featureVectors(featureView: $featureView, entries: $entries) { ${fields} }
}`;
const CREATE_DEPLOYMENT = `mutation CreateDeployment($input: CreateDeploymentInput!) {
  createDeployment(input: $input) {
    __typename
    ... on CreateDeploymentPayload { deployment { name state logging { enabled sampleRate featureGroup } } }
    ... on Error { message }
  }
}`;

// ---------------------------------------------------------------------------------------------
// Setup: the model and its deployments

/** Weights of the regression: small, so the logit of raw values up to 100 000 stays in range. */
const weight = (i: number) => ((i % 5) - 2) * 1e-5;
const INTERCEPT = 0.1;

/**
 * The view's numeric served features (what a matrix model can take: the untransformed text
 * features are left out), read from entity 0's vector, where nothing is missing.
 */
async function numericFeatures(url: string, key: string): Promise<string[]> {
  const data = await graphql(url, key, vectorQuery('features values missing'), { featureView: FV, entry: { customer_id: 0 } });
  const v = data.featureVector as { features: string[]; values: unknown[]; missing: string[] };
  if (v.values.length !== SERVED || v.missing.length > 0) throw new Error(`unexpected vector: ${JSON.stringify(v)}`);
  return v.features.filter((_, i) => typeof v.values[i] === 'number');
}

/** Registers the regression over `columns` (multipart createModel) and deploys it twice: plain and logged. */
async function deploy(url: string, key: string, columns: readonly string[]): Promise<void> {
  const client = new GranaryClient({ url, apiKey: key });
  const onnx = logisticRegressionOnnx({ features: columns.length, weights: columns.map((_, i) => weight(i)), intercept: INTERCEPT });
  await client.createModel(
    {
      name: MODEL,
      framework: 'ONNX',
      featureView: FV,
      trainingDatasetVersion: 1,
      modelSchema: { inputSchema: { columnarSchema: columns.map((name) => ({ name, type: 'double' })) } },
      inputExample: Object.fromEntries(columns.map((c) => [c, 0.5])),
    },
    [{ path: 'model.onnx', file: onnx }],
  );
  for (const input of [
    { name: PLAIN, model: { name: MODEL, version: 1 } },
    { name: LOGGED, model: { name: MODEL, version: 1 }, logging: { enabled: true, sampleRate: 1 } },
  ]) {
    expectType(await graphql(url, key, CREATE_DEPLOYMENT, { input }), 'createDeployment', 'CreateDeploymentPayload');
  }
}

/**
 * Correctness first: entity 1's prediction through bench_plain is the regression of its served
 * vector (float32 tolerance), nothing missing.
 */
async function checkPrediction(url: string, key: string, columns: readonly string[]): Promise<void> {
  const data = await graphql(url, key, PREDICT, { deployment: PLAIN, entries: [{ customer_id: 1 }], options: { includeVector: true } });
  const p = data.predict.predictions[0] as { prediction: number; probabilities: number[]; missing: string[]; vector: { features: string[]; values: number[] } };
  const at = new Map(p.vector.features.map((f, i) => [f, p.vector.values[i]!]));
  const logit = columns.reduce((sum, c, i) => sum + weight(i) * at.get(c)!, INTERCEPT);
  const expected = 1 / (1 + Math.exp(-logit));
  if (p.missing.length > 0 || p.probabilities.length !== 2 || Math.abs(p.probabilities[1]! - expected) > 1e-4 || p.prediction !== (expected >= 0.5 ? 1 : 0)) {
    throw new Error(`unexpected prediction (expected P(1) ≈ ${expected}): ${JSON.stringify(p)}`);
  }
}

/** Requests bench_logged answered, and the rows its log holds (readLog flushes the log's queue first). */
async function loggedCounts(url: string, key: string): Promise<{ requests: number; errors: number; rows: number }> {
  const data = await graphql(
    url,
    key,
    `query Logged($deployment: String!) {
      readLog(deployment: $deployment, first: 1) { rowCount }
      deployment(name: $deployment) { stats { requests errors } }
    }`,
    { deployment: LOGGED },
  );
  const rows = await graphql(url, key, `query Rows($group: String!) { featureGroup(name: $group, version: 1) { rowCount } }`, {
    group: `${LOGGED}_predictions`,
  });
  if (data.readLog.rowCount < 1) throw new Error(`${LOGGED} logged nothing`);
  return { ...data.deployment.stats, rows: rows.featureGroup.rowCount };
}

// ---------------------------------------------------------------------------------------------
// Load

/** Random entity ids, the same for every target: each target reads them from the start, in order. */
function keyStream(entities: number): () => () => number {
  const keys = new Int32Array(1 << 17);
  // mulberry32, seeded: the same keys in every run.
  let s = 12345;
  for (let i = 0; i < keys.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    keys[i] = Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * entities);
  }
  return () => {
    let i = 0;
    return () => keys[i++ & (keys.length - 1)]!;
  };
}

interface SaturationResult {
  readonly connections: number;
  readonly runs: Record<'featureVector' | 'plain' | 'logged', Saturation[]>;
}

interface OpenResult {
  readonly label: string;
  readonly runs: OpenLoop[];
}

const p99 = (r: OpenResult) => median(r.runs.map((o) => o.scheduled.p99));

// ---------------------------------------------------------------------------------------------
// Reporting

interface Verdict {
  readonly measurement: string;
  readonly value: number;
  readonly target: string;
  /** Null for a number printed for information, with no target. */
  readonly ok: boolean | null;
}

function saturationTable(results: readonly SaturationResult[], reps: number, duration: string, only: ReadonlySet<string>): string {
  const of = (xs: Saturation[], f: (s: Saturation) => number) => median(xs.map(f));
  const row = (label: string, xs: Saturation[]) => [
    label,
    `${int(of(xs, (s) => s.rps))} [${int(Math.max(...xs.map((s) => s.rps)))}]`,
    `${of(xs, (s) => s.p50)} / ${of(xs, (s) => s.p99)}`,
    int(of(xs, (s) => s.cpuUs)),
    int(of(xs, (s) => s.mainUs)),
    String(xs.reduce((n, s) => n + s.errors, 0)),
  ];
  const rows = results.flatMap((r) => [
    row(`featureVector, ${r.connections} connections`, r.runs.featureVector),
    row(`predict ${PLAIN}, ${r.connections} connections`, r.runs.plain),
    ...(only.has('logged') ? [row(`predict ${LOGGED}, ${r.connections} connections`, r.runs.logged)] : []),
  ]);
  return [
    `Saturation (autocannon, ${reps} × ${duration}, interleaved; median [best])`,
    table(['measurement', 'req/s', 'p50/p99 ms', 'CPU µs/req', 'main thread', 'errors'], rows),
  ].join('\n');
}

function openTable(results: readonly OpenResult[], seconds: number): string {
  const rows = results.flatMap((r) =>
    r.runs.map((o, i) => [
      `${r.label}${r.runs.length > 1 ? ` (${i + 1})` : ''}`,
      `${int(o.offered)} / ${int(o.achieved)}`,
      `${ms(o.scheduled.p50)} [${ms(o.sent.p50)}]`,
      `${ms(o.scheduled.p90)} [${ms(o.sent.p90)}]`,
      `${ms(o.scheduled.p99)} [${ms(o.sent.p99)}]`,
      `${ms(o.scheduled.p999)} [${ms(o.sent.p999)}]`,
      ms(o.scheduled.max),
      int(o.cpuUs),
      String(o.errors),
      String(o.maxSockets),
    ]),
  );
  return [
    `Open loop, ${seconds} s each, interleaved (latency in ms from the scheduled time; from the actual send in brackets)`,
    table(['measurement', 'offered/done req/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'CPU µs/req', 'errors', 'sockets'], rows),
  ].join('\n');
}

function verdictTable(verdicts: readonly Verdict[]): string {
  return table(
    ['measurement', 'value', 'target', ''],
    verdicts.map((v) => [v.measurement, v.value.toFixed(2), v.target, v.ok === null ? '' : v.ok ? 'ok' : 'MISSED']),
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const entities = Number(args.entities);
  const duration = Number(args.duration);
  const loggedDuration = Number(args['logged-duration']);
  const reps = Math.max(1, Number(args.reps));
  const connections = args.connections!.split(',').map((c) => Number(c.trim()));
  const rate = Number(args.rate);
  const openDuration = Number(args['open-duration']);
  const openReps = Math.max(1, Number(args['open-reps']));
  const batch = Number(args.batch);
  const batchRate = Number(args['batch-rate']);
  const fields = args.fields!;
  const only = new Set(args.only!.split(',').map((x) => x.trim()));
  for (const part of only) if (!['saturation', 'logged', 'p99', 'batch'].includes(part)) throw new Error('--only takes saturation, logged, p99 and batch');

  console.log(`bench/predict: ${entities} entities, ${SERVED} served features (20 + 15 + 15), ${TRANSFORMATIONS.length} transformed`);
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; server at ${gitState()}`);
  console.log(`  load average at start: ${load()}`);

  const nodeFlags = [...startFlags(), ...args['node-flags']!.split(' ').filter(Boolean)];
  if (args['cpu-prof']) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  const granary = await startGranary('granary-bench-predict-', nodeFlags);
  try {
    const { url, key } = granary;
    const setupStart = performance.now();
    await setUp(url, key, entities);
    const columns = await numericFeatures(url, key);
    await deploy(url, key, columns);
    await checkPrediction(url, key, columns);
    console.log(`  setup over GraphQL: ${((performance.now() - setupStart) / 1000).toFixed(1)} s; model over ${columns.length} numeric served features`);

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const keys = keyStream(entities);
    const target = (body: (next: () => number) => unknown): Target => {
      const next = keys();
      return { url, pid: granary.child.pid!, headers, body: () => JSON.stringify(body(next)) };
    };
    const entries = (next: () => number, n: number) => Array.from({ length: n }, () => ({ customer_id: next() }));
    const vector = () => target((next) => ({ query: vectorQuery(fields), variables: { featureView: FV, entry: { customer_id: next() } } }));
    const vectors = () => target((next) => ({ query: vectorsQuery(fields), variables: { featureView: FV, entries: entries(next, batch) } }));
    const predict = (deployment: string, n: number) => target((next) => ({ query: PREDICT, variables: { deployment, entries: entries(next, n) } }));

    // Answers must be data, and every entity scored.
    const okVector = (body: string) => body.startsWith('{"data":{"featureVector":') && !body.includes('"errors"');
    const okVectors = (body: string) => body.startsWith('{"data":{"featureVectors":') && !body.includes('"errors"');
    const okPredict = (body: string) => body.startsWith('{"data":{"predict"') && !body.includes('"errors"') && !body.includes('"prediction":null');

    // Warm-up: the hot paths compile.
    await saturate(vector(), 10, 3);
    await saturate(predict(PLAIN, 1), 10, 3);
    // The logged warm-up spans a flush of the log (5 s), so its buffer has grown to a busy interval's size.
    if (only.has('logged')) await saturate(predict(LOGGED, 1), 10, 6);
    await sleep(2000);

    const saturation: SaturationResult[] = [];
    if (only.has('saturation') || only.has('logged')) {
      for (const c of connections) saturation.push({ connections: c, runs: { featureVector: [], plain: [], logged: [] } });
      for (let r = 0; r < reps; r++) {
        for (const s of saturation) {
          s.runs.featureVector.push(await saturate(vector(), s.connections, duration));
          const plain = async () => s.runs.plain.push(await saturate(predict(PLAIN, 1), s.connections, only.has('logged') ? loggedDuration : duration));
          const logged = async () => {
            s.runs.logged.push(await saturate(predict(LOGGED, 1), s.connections, loggedDuration));
            // The log's last rows are written within its 5 s flush interval: not during the next run.
            await sleep(6000);
          };
          if (!only.has('logged')) await plain();
          // Plain and logged take turns going first (ABBA over the reps), so a machine that slows or
          // speeds up during the run does not favour either.
          else if (r % 2 === 0) await plain().then(logged);
          else await logged().then(plain);
        }
      }
      console.log(
        `\n${saturationTable(saturation, reps, only.has('logged') ? `${duration} s (predicts ${loggedDuration} s)` : `${duration} s`, only)}\n  load average after: ${load()}`,
      );
    }

    const open: OpenResult[] = [];
    if (only.has('p99') || only.has('batch')) {
      // This process polls (see measureOpenLoop) at a lower priority than the server.
      const restorePriority = lowerPriority();
      const interleaved = async (at: number, pairs: [label: string, make: () => Target, check: (body: string) => boolean][]) => {
        const results = pairs.map(([label]) => ({ label, runs: [] as OpenLoop[] }));
        for (let r = 0; r < openReps; r++) {
          for (const [i, [, make, check]] of pairs.entries()) results[i]!.runs.push(await measureOpenLoop(make(), at, openDuration, check));
        }
        open.push(...results);
      };
      if (only.has('p99')) {
        await interleaved(rate, [
          ['featureVector, 1 entity', vector, okVector],
          [`predict ${PLAIN}, 1 entity`, () => predict(PLAIN, 1), okPredict],
        ]);
      }
      if (only.has('batch')) {
        await interleaved(batchRate, [
          [`featureVectors, ${batch} entities`, vectors, okVectors],
          [`predict ${PLAIN}, ${batch} entities`, () => predict(PLAIN, batch), okPredict],
        ]);
      }
      restorePriority();
      console.log(`\n${openTable(open, openDuration)}\n  load average after: ${load()}`);
    }

    const logged = only.has('logged') ? await loggedCounts(url, key) : null;

    const verdicts: Verdict[] = [];
    const rps = (xs: Saturation[]) => median(xs.map((s) => s.rps));
    const cpu = (xs: Saturation[]) => median(xs.map((s) => s.cpuUs));
    const mainCpu = (xs: Saturation[]) => median(xs.map((s) => s.mainUs));
    for (const s of saturation) {
      const { featureVector, plain, logged: withLog } = s.runs;
      if (only.has('saturation')) {
        const ratio = rps(plain) / rps(featureVector);
        verdicts.push({
          measurement: `S1 predict ÷ featureVector req/s, ${s.connections} conn.`,
          value: ratio,
          target: `≥ ${S1_RATIO}`,
          ok: ratio >= S1_RATIO,
        });
        verdicts.push({ measurement: `   the same by server CPU/req (featureVector ÷ predict)`, value: cpu(featureVector) / cpu(plain), target: '', ok: null });
        verdicts.push({ measurement: `   the same by main-thread CPU/req`, value: mainCpu(featureVector) / mainCpu(plain), target: '', ok: null });
      }
      if (only.has('logged')) {
        const ratio = rps(withLog) / rps(plain);
        verdicts.push({ measurement: `S2 logged ÷ plain req/s, ${s.connections} conn.`, value: ratio, target: `≥ ${S2_RATIO}`, ok: ratio >= S2_RATIO });
        verdicts.push({ measurement: `   the same by server CPU/req (plain ÷ logged)`, value: cpu(plain) / cpu(withLog), target: '', ok: null });
        verdicts.push({ measurement: `   the same by main-thread CPU/req`, value: mainCpu(plain) / mainCpu(withLog), target: '', ok: null });
      }
    }
    const openBy = (label: string) => open.find((o) => o.label === label)!;
    if (only.has('p99')) {
      const ratio = p99(openBy(`predict ${PLAIN}, 1 entity`)) / p99(openBy('featureVector, 1 entity'));
      verdicts.push({ measurement: `O1 predict p99 ÷ featureVector p99, ${rate} req/s`, value: ratio, target: `≤ ${O1_RATIO}`, ok: ratio <= O1_RATIO });
    }
    if (only.has('batch')) {
      const value = p99(openBy(`predict ${PLAIN}, ${batch} entities`));
      const base = p99(openBy(`featureVectors, ${batch} entities`));
      verdicts.push({ measurement: `O2 predict ${batch} entities p99 ms, ${batchRate} req/s`, value, target: `≤ ${O2_P99_MS}`, ok: value <= O2_P99_MS });
      verdicts.push({ measurement: `   featureVectors ${batch} entities p99 ms (baseline)`, value: base, target: '', ok: null });
    }
    if (logged) {
      verdicts.push({
        measurement: `   ${LOGGED}: logged rows ÷ requests answered`,
        value: logged.rows / logged.requests,
        target: '= 1',
        ok: logged.rows === logged.requests && logged.errors === 0,
      });
    }
    console.log(`\nVerdicts (medians of the runs above)\n${verdictTable(verdicts)}`);
    if (logged) console.log(`  ${LOGGED}: ${int(logged.requests)} requests (${logged.errors} failed), ${int(logged.rows)} rows logged`);
    console.log(`  load average at end: ${load()}`);
    const errors = granary.stderr().trim();
    if (errors) console.log(`server stderr:\n${errors.slice(0, 4000)}`);

    if (args.json) {
      const result = {
        bench: 'predict',
        at: new Date().toISOString(),
        server: gitState(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, node: process.version },
        options: { entities, duration, loggedDuration, reps, connections, rate, openDuration, openReps, batch, batchRate, fields, only: [...only] },
        model: { features: columns.length },
        saturation,
        open,
        logged,
        verdicts,
        loadAverageAtEnd: load(),
      };
      writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`  results: ${args.json}`);
    }
  } finally {
    await stopGranary(granary);
    if (args['server-log']) writeFileSync(args['server-log'], granary.stdout() + granary.stderr());
  }
}

await main();
