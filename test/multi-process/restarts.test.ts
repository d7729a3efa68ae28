import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { clonePostgresTemplate } from '../helpers/postgres.ts';
import { gqlAt, spawnServer, type ServedProcess } from '../helpers/process.ts';

// Two real `granary serve` processes of one deployment on PostgreSQL, Redis and one data
// directory: A keeps inserting (JSON rows and CSV uploads) and registering models with files
// while B is restarted five times (SIGTERM and SIGKILL in turn). B's start-up recovery must never
// take A's work: every acknowledged commit stays readable with its rows, every registered model
// version keeps its file, and a start after a graceful stop logs no recovery. Runs in the postgresql project only (TEST_DATABASE_URL set).
const postgres = process.env.GRANARY_TEST_METADATA === 'postgresql';
const servers: ServedProcess[] = [];
let dataDir: string | undefined;
afterAll(async () => {
  for (const served of servers) await served.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const GROUP = {
  name: 'events',
  primaryKey: ['k'],
  eventTime: 'ts',
  onlineEnabled: true,
  features: [
    { name: 'k', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'v', type: 'DOUBLE' },
  ],
};
const RESULT = `__typename ... on InsertFeatureGroupDataPayload { commit { id rowCount } } ... on Error { message }`;

async function upload(url: string, key: string, csv: string): Promise<any> {
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($file: File) { insertFeatureGroupData(featureGroup: { name: "events" }, file: $file, format: CSV) { ${RESULT} } }`,
      variables: { file: null },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv]), 'events.csv');
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' }, body: form });
  return (await res.json()) as any;
}

async function createModel(url: string, key: string, content: string): Promise<any> {
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($input: CreateModelInput!) { createModel(input: $input) { __typename ... on CreateModelPayload { model { version } } ... on Error { message } } }`,
      variables: { input: { name: 'churn', framework: 'PYTHON', files: [{ path: 'model.bin', file: null }] } },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.input.files.0.file'] }));
  form.set('0', new Blob([content]), 'model.bin');
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' }, body: form });
  return (await res.json()) as any;
}

describe.skipIf(!postgres)('restarting one process while another inserts', () => {
  it('loses no acknowledged commit and logs no recovery after a graceful stop', { timeout: 90_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'granary-restarts-'));
    const template = inject('postgresTemplate');
    const base = process.env.TEST_DATABASE_URL!;
    const redis = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const env = {
      DATABASE_URL: await clonePostgresTemplate(base, template!, inject('runPrefix')),
      ONLINE_STORE_URL: redis,
      PUBSUB_URL: redis,
      LOG_LEVEL: 'info',
    };
    const a = await spawnServer(dataDir, env);
    servers.push(a);
    let b = await spawnServer(dataDir, env);
    servers.push(b);
    const key = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const created = await gqlAt(
      a.url,
      key,
      `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
      {
        input: GROUP,
      },
    );
    expect(created.data.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');

    const acknowledged: string[] = [];
    /** Registered model versions and their file's content. */
    const models = new Map<number, string>();
    const failures: string[] = [];
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        const i = n++;
        const keys = [`k${i}a`, `k${i}b`];
        if (i % 3 === 2) {
          const registered = await createModel(a.url, key, `weights ${i}`);
          const model = registered.data?.createModel;
          if (model?.__typename === 'CreateModelPayload') models.set(model.model.version, `weights ${i}`);
          else failures.push(JSON.stringify(registered));
        }
        const answer =
          i % 2 === 0
            ? await gqlAt(a.url, key, `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "events" }, rows: $rows) { ${RESULT} } }`, {
                rows: keys.map((k) => ({ k, ts: '2026-01-01T00:00:00Z', v: i })),
              })
            : await upload(a.url, key, `k,ts,v\n${keys.map((k) => `${k},2026-01-01T00:00:00Z,${i}`).join('\n')}\n`);
        const payload = answer.data?.insertFeatureGroupData;
        if (payload?.__typename === 'InsertFeatureGroupDataPayload') acknowledged.push(...keys);
        else failures.push(JSON.stringify(answer));
      }
    })();

    const cleanStarts: string[] = [];
    for (let restart = 0; restart < 5; restart++) {
      const graceful = restart % 2 === 0;
      b.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await b.exited;
      b = await spawnServer(dataDir, env);
      servers.push(b);
      if (graceful) cleanStarts.push(b.output());
      // Let A write a while beside the new B.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    writing = false;
    await writer;

    expect(failures).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    // Every row: `read` gives the first 1 000 unless asked for more, and a fast machine acknowledges more.
    const read = await gqlAt(b.url, key, `{ featureGroup(name: "events") { rowCount read(first: 100000) { rowCount records } } }`);
    expect(read.errors).toBeUndefined();
    const keys = new Set(read.data.featureGroup.read.records.map((r: any) => r.k));
    expect(acknowledged.filter((k) => !keys.has(k))).toEqual([]);
    expect(read.data.featureGroup.read.rowCount).toBe(acknowledged.length);
    expect(read.data.featureGroup.rowCount).toBe(acknowledged.length);
    // Every registered model version keeps its file.
    expect(models.size).toBeGreaterThan(0);
    for (const [version, content] of models) {
      const path = join(dataDir, 'artifacts', 'models', 'default', 'churn', String(version), 'model.bin');
      expect(existsSync(path) ? readFileSync(path, 'utf8') : null, `model version ${version}`).toBe(content);
    }
    // A start after a graceful stop found nothing to recover.
    for (const output of cleanStarts) expect(output).not.toMatch(/recovered after an unclean stop/);
  });
});
