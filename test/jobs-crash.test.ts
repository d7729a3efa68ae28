import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The real `granary serve` process killed with SIGKILL mid-run, then started again on the same
// data directory: the run it left RUNNING must end, with a log line saying why. Embedded SQLite
// only (the process-level tests run once).
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<unknown>;
}

async function spawnServer(dataDir: string): Promise<Served> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
  const child = spawn(process.execPath, ['bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const match = /serving GraphQL at (http:\/\/\S+?)\/graphql/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`exited before serving:\n${out}`)));
  });
  return { child, url, exited };
}

const servers: Served[] = [];
let dataDir: string | undefined;
afterAll(async () => {
  for (const served of servers) {
    if (served.child.exitCode === null && served.child.signalCode === null) {
      served.child.kill('SIGKILL');
      await served.exited;
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

const EXECUTION = `query($id: ID!) { execution(id: $id) { state finalStatus finishedAt logs } }`;

describe.skipIf(process.env.GRANARY_TEST_METADATA === 'postgresql')('a server killed mid-run', () => {
  it('leaves no execution RUNNING after a restart: it is FAILED with the reason in its log', { timeout: 90_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-jobs-crash-'));

    const first = await spawnServer(dataDir);
    servers.push(first);
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    // Exits by itself once its parent (the killed server) is gone, so nothing outlives the test.
    const script = `const p = process.ppid; console.log('working'); setInterval(() => { try { process.kill(p, 0) } catch { process.exit(0) } }, 200)`;
    const created = await gql(first.url, key, `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename } }`, {
      input: { name: 'long', type: 'COMMAND', config: { command: process.execPath, args: ['-e', script] } },
    });
    expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    const run = await gql(first.url, key, `mutation { runJob(name: "long") { ... on RunJobPayload { execution { id } } } }`);
    const id = run.data.runJob.execution.id as string;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { data } = await gql(first.url, key, EXECUTION, { id });
      if (data.execution.state === 'RUNNING' && data.execution.logs.includes('working')) break;
      if (Date.now() > deadline) throw new Error(`never running: ${JSON.stringify(data)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(dataDir);
    servers.push(second);
    // Recovery runs before the server listens: the answer is final at once.
    const { data } = await gql(second.url, key, EXECUTION, { id });
    expect(data.execution).toMatchObject({ state: 'FAILED', finalStatus: 'FAILED' });
    expect(data.execution.finishedAt).not.toBeNull();
    expect(data.execution.logs.at(-1)).toMatch(/server process running it \(.+\) stopped before it finished/);
    const live = await gql(second.url, key, `{ jobs(first: 5) { edges { node { executions(first: 5) { edges { node { state } } } } } } }`);
    const states = live.data.jobs.edges.flatMap((j: any) => j.node.executions.edges.map((e: any) => e.node.state));
    expect(states).not.toContain('RUNNING');
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
