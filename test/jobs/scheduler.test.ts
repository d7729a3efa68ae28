import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { gqlAt, spawnServer, type ServedProcess } from '../helpers/process.ts';
import { clonePostgresTemplate } from '../helpers/postgres.ts';

// Two `granary serve` processes of one deployment (one data directory, one metadata database:
// SQLite in the sqlite project, PostgreSQL in the postgresql one) both keep the schedule; each
// scheduled time must run exactly once.
const servers: ServedProcess[] = [];
let dataDir: string | undefined;
afterAll(async () => {
  for (const served of servers) await served.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function metadataEnv(): Promise<Record<string, string>> {
  if (process.env.GRANARY_TEST_METADATA !== 'postgresql') return {};
  const template = inject('postgresTemplate');
  const base = process.env.TEST_DATABASE_URL;
  if (!template || !base) throw new Error('the postgresql test project needs TEST_DATABASE_URL');
  return { DATABASE_URL: await clonePostgresTemplate(base, template, inject('runPrefix')) };
}

const EXECUTIONS = `{ job(name: "tick") { executions(first: 100) { edges { node { trigger scheduledAt finalStatus } } } } }`;

describe('scheduled runs with two server processes', () => {
  it('runs each time of an every-second schedule for 10 s exactly once', { timeout: 90_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-jobs-schedule-'));
    const env = await metadataEnv();
    const a = await spawnServer(dataDir, env);
    servers.push(a);
    const b = await spawnServer(dataDir, env);
    servers.push(b);
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();

    const created = await gqlAt(a.url, key, `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
      input: { name: 'tick', type: 'COMMAND', config: { command: 'false' }, schedule: { cron: '* * * * * *' } },
    });
    expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const stopped = await gqlAt(b.url, key, `mutation { unscheduleJob(name: "tick") { __typename } }`);
    expect(stopped.data.unscheduleJob.__typename).toBe('UnscheduleJobPayload');
    const elapsed = (Date.now() - started) / 1000;
    // Runs already claimed finish; let them.
    await new Promise((r) => setTimeout(r, 2000));

    const { data } = await gqlAt(a.url, key, EXECUTIONS);
    const executions = data.job.executions.edges.map((e: any) => e.node);
    const perTime = new Map<number, number>();
    for (const e of executions) {
      expect(e.trigger).toBe('SCHEDULE');
      const at = Date.parse(e.scheduledAt);
      perTime.set(at, (perTime.get(at) ?? 0) + 1);
    }
    expect(
      [...perTime.values()].every((n) => n === 1),
      JSON.stringify([...perTime]),
    ).toBe(true);
    // Every second of the window ran (allowing for the first and last, and a loaded machine).
    expect(perTime.size).toBeGreaterThanOrEqual(Math.floor(elapsed) - 3);
    expect([...perTime.keys()].every((t) => t % 1000 === 0)).toBe(true);
    // `false` exits 1: every run ended FAILED, none was left behind.
    expect(
      executions.every((e: any) => e.finalStatus === 'FAILED'),
      JSON.stringify(executions),
    ).toBe(true);
  });
});
