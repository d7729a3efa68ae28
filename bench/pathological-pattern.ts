/**
 * P8 pathological pattern (`npm run bench:pathological-pattern`): does a user's catastrophic
 * regular expression slow anyone else down? A tag schema in project A carries `^(a+)+$`
 * (exponential on a backtracking engine for `aaa…a!`); while WRITE requests keep adding tags with
 * that value, the benchmark times `/healthz` and another project's query, beside the same two
 * measured idle in the same run on the same server.
 *
 *   npx tsx bench/pathological-pattern.ts [--samples 300] [--attackers 4] [--length 40]
 *
 * The server is `granary serve` as `npm start` runs it, on a fresh temporary data directory
 * (NODE_ENV=production, LOG_LEVEL=warn). Printed: p50, p99 and max of each probe idle and under
 * attack, their ratio, and how long the attacking requests took and what they answered (a
 * ValidationError: the value does not match). The security target: under attack both probes stay
 * within 100 ms.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { gitState, startFlags, waitForPrintedUrl } from './lib/process.ts';

const { values: args } = parseArgs({
  options: { samples: { type: 'string', default: '300' }, attackers: { type: 'string', default: '4' }, length: { type: 'string', default: '40' } },
});
const samples = Number(args.samples);
const attackers = Number(args.attackers);
const length = Number(args.length);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'granary-pattern-'));
const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name]) env[name] = process.env[name]!;
const child = spawn(process.execPath, [...startFlags(), 'bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
const exited = once(child, 'exit');

async function gql(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

try {
  const url = await waitForPrintedUrl(
    child,
    exited,
    /serving GraphQL at (http:\/\/\S+?\/graphql)/,
    'granary serve',
    () => out,
    () => err,
  );
  const base = url.replace(/\/graphql$/, '');
  const admin = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();

  // Project A: a group to tag and the catastrophic schema; a WRITE key attacks. Project B: the bystander.
  await gql(url, admin, 'mutation($s: JSON!) { createTagSchema(name: "code", schema: $s) { __typename } }', {
    s: { type: 'string', pattern: '^(a+)+$' },
  });
  const group = await gql(
    url,
    admin,
    `mutation { createFeatureGroup(input: { name: "g", primaryKey: ["k"], features: [{ name: "k", type: "STRING" }] }) {
       ... on CreateFeatureGroupPayload { featureGroup { id } } } }`,
  );
  const target = group.data.createFeatureGroup.featureGroup.id as string;
  const writer = await gql(url, admin, 'mutation { createApiKey(input: { name: "w", scopes: [WRITE] }) { ... on CreateApiKeyPayload { secret } } }');
  const writeKey = writer.data.createApiKey.secret as string;
  await gql(url, admin, 'mutation { createProject(input: { name: "bystander" }) { __typename } }');
  const other = await gql(
    url,
    admin,
    'mutation { createApiKey(input: { name: "b", scopes: [READ], project: "bystander" }) { ... on CreateApiKeyPayload { secret } } }',
  );
  const otherKey = other.data.createApiKey.secret as string;

  const probe = async () => {
    const h0 = performance.now();
    const h = await fetch(`${base}/healthz`);
    await h.text();
    const healthz = performance.now() - h0;
    const q0 = performance.now();
    const answer = await gql(url, otherKey, '{ viewer { project { name } } }');
    if (answer.data?.viewer?.project?.name !== 'bystander') throw new Error(`bystander query failed: ${JSON.stringify(answer)}`);
    return { healthz, query: performance.now() - q0 };
  };
  const measure = async () => {
    const healthz: number[] = [];
    const query: number[] = [];
    for (let i = 0; i < samples; i++) {
      const p = await probe();
      healthz.push(p.healthz);
      query.push(p.query);
    }
    return { healthz, query };
  };

  console.log(`P8 pathological pattern ^(a+)+$ against ${'a'.repeat(length)}!: ${samples} probes each, ${attackers} attackers`);
  console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; server at ${gitState()}`);
  console.log(`  load average before: ${load()}`);
  for (let i = 0; i < 20; i++) await probe(); // warm up
  const idle = await measure();

  let attacking = true;
  const attackTimes: number[] = [];
  const answers = new Map<string, number>();
  const attack = async () => {
    while (attacking) {
      const t0 = performance.now();
      const r = await gql(url, writeKey, 'mutation($t: ID!, $v: JSON!) { addTag(name: "code", target: $t, value: $v) { __typename } }', {
        t: target,
        v: `${'a'.repeat(length)}!`,
      });
      attackTimes.push(performance.now() - t0);
      const kind = String(r.data?.addTag?.__typename ?? r.errors?.[0]?.extensions?.code ?? 'none');
      answers.set(kind, (answers.get(kind) ?? 0) + 1);
    }
  };
  const running = Array.from({ length: attackers }, attack);
  const attacked = await measure();
  attacking = false;
  await Promise.all(running);

  const row = (label: string, a: number[], b: number[]) =>
    `  ${label.padEnd(30)} idle p50 ${quantile(a, 0.5).toFixed(2)} p99 ${quantile(a, 0.99).toFixed(2)} max ${Math.max(...a).toFixed(2)} ms | ` +
    `attacked p50 ${quantile(b, 0.5).toFixed(2)} p99 ${quantile(b, 0.99).toFixed(2)} max ${Math.max(...b).toFixed(2)} ms | ` +
    `p99 ratio ${(quantile(b, 0.99) / quantile(a, 0.99)).toFixed(2)}`;
  console.log('');
  console.log(row('/healthz', idle.healthz, attacked.healthz));
  console.log(row("another project's query", idle.query, attacked.query));
  console.log(
    `  attacking addTag: ${attackTimes.length} requests, p50 ${quantile(attackTimes, 0.5).toFixed(2)} ms, max ${Math.max(...attackTimes).toFixed(2)} ms; ` +
      `answers ${[...answers].map(([k, n]) => `${k} × ${n}`).join(', ')}`,
  );
  const worst = Math.max(...attacked.healthz, ...attacked.query);
  console.log(`  target: every probe under attack within 100 ms — ${worst <= 100 ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)} ms)`);
  console.log(`  load average after: ${load()}`);
} finally {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  rmSync(dataDir, { recursive: true, force: true });
}
