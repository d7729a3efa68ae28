/**
 * P7 cold start (`npm run bench:cold-start`): how long `granary serve` takes from being spawned to
 * answering its first query, beside how long Node itself takes to start (`node -e 0`), measured
 * in the same run on the same machine.
 *
 *   npx tsx bench/cold-start.ts [--reps 5]
 *
 * Each repetition, interleaved so load on the machine hits all figures alike:
 * - node: `node -e 0`, spawn to exit (Node's own start-up and shutdown, nothing of Granary);
 * - first start: `node <npm start flags> bin/granary.js serve` on a fresh temporary data directory
 *   (PORT=0, NODE_ENV=production, LOG_LEVEL=warn): migrations, project "default" and its admin key,
 *   then listening. Measured from spawn until `{ viewer { project { name } } }`, POSTed with the
 *   admin key as soon as the server prints its URL, is answered;
 * - restart: the same on the data directory the first start left (migrations already applied).
 * Printed: the median of each (the fastest in brackets) and the ratio of each start to `node -e 0`.
 * The load average is printed before and after: rerun when it is high.
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

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUERY = JSON.stringify({ query: '{ viewer { project { name } } }' });

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name]) env[name] = process.env[name]!;
  return env;
}

/** Milliseconds from spawning `node -e 0` until it exits. */
async function nodeStartup(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { env: baseEnv(), stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`node -e 0 exited with ${String(code)}`);
  return performance.now() - started;
}

/** Milliseconds from spawning `granary serve` on `dataDir` until its first query is answered; stops it after. */
async function serveToFirstAnswer(dataDir: string): Promise<number> {
  const env = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
  const started = performance.now();
  const child = spawn(process.execPath, [...startFlags(), 'bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = once(child, 'exit');
  try {
    const url = await waitForPrintedUrl(
      child,
      exited,
      /serving GraphQL at (http:\/\/\S+?\/graphql)/,
      'granary serve',
      () => out,
      () => err,
    );
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: QUERY,
    });
    const body = (await res.json()) as { data?: { viewer?: { project?: { name?: string } } } };
    if (body.data?.viewer?.project?.name !== 'default') throw new Error(`unexpected answer: ${JSON.stringify(body)}`);
    return performance.now() - started;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

console.log(`P7 cold start: spawn → first answered query, ${reps} repetitions`);
console.log(`  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; server at ${gitState()}`);
console.log(`  load average before: ${load()}`);

const node: number[] = [];
const first: number[] = [];
const restart: number[] = [];
for (let i = 0; i < reps; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'granary-cold-start-'));
  try {
    node.push(await nodeStartup());
    first.push(await serveToFirstAnswer(dataDir));
    restart.push(await serveToFirstAnswer(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`  rep ${i + 1}: node -e 0 ${node[i]!.toFixed(0)} ms, first start ${first[i]!.toFixed(0)} ms, restart ${restart[i]!.toFixed(0)} ms`);
}

const row = (label: string, xs: number[]) =>
  `  ${label.padEnd(36)} ${median(xs).toFixed(0).padStart(6)} ms  [${Math.min(...xs).toFixed(0)}]` +
  (xs === node ? '' : `   ${(median(xs) / median(node)).toFixed(1)} × node -e 0`);
console.log('');
console.log(row('node -e 0 (spawn → exit)', node));
console.log(row('first start (spawn → first answer)', first));
console.log(row('restart (spawn → first answer)', restart));
console.log(`  load average after: ${load()}`);
