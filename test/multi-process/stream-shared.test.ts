import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NatsStreamLog } from '../../src/stores/log/nats.ts';
import { clonePostgresTemplate } from '../helpers/postgres.ts';
import { spawnServer, type ServedProcess } from '../helpers/process.ts';
import {
  checkOnlineAnswer,
  createStreamGroup,
  createStreamProject,
  type IngestWait,
  sendBatch,
  settle,
  StreamLoad,
  verifyStream,
} from '../helpers/stream-load.ts';

// Two real `granary serve` processes of one deployment (one data directory, PostgreSQL metadata,
// Redis online store and pub/sub) consuming one NATS JetStream stream under the shared apply
// consumer, both materializing it. Rows are ingested through both; then one is killed (SIGKILL)
// and the other carries on alone. Once everything is applied and committed: every row offline
// exactly once, the streamed commits covering contiguous, non-overlapping log ranges, online the
// newest row per key, and every answer with `onlineAt` readable online at once. Runs in the
// postgresql project with TEST_NATS_URL, TEST_DATABASE_URL and TEST_REDIS_URL all set.
const natsUrl = process.env.TEST_NATS_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const enabled = process.env.GRANARY_TEST_METADATA === 'postgresql' && !!natsUrl && !!process.env.TEST_DATABASE_URL && !!redisUrl;
const GROUP = 'events';
const WAITS: readonly IngestWait[] = ['ACCEPTED', 'ONLINE', 'OFFLINE'];
/** Requests in flight at once per server. */
const WRITERS = 3;

const servers: ServedProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const served of servers) await served.kill();
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe.skipIf(!enabled)('two processes sharing one NATS stream', () => {
  it('apply and materialize every row once, and one carries on when the other is killed', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'granary-stream-shared-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const project = `ss_${process.pid}_${Date.now().toString(36)}`;
    cleanups.push(async () => {
      const log = await NatsStreamLog.connect(natsUrl!);
      await log.remove(`granary_${project}`);
      await log.close();
    });
    const env = {
      DATABASE_URL: await clonePostgresTemplate(process.env.TEST_DATABASE_URL!, inject('postgresTemplate')!, inject('runPrefix')),
      ONLINE_STORE_URL: redisUrl!,
      PUBSUB_URL: redisUrl!,
      STREAM_URL: natsUrl!,
      GRANARY_STREAM_MATERIALIZE_TICK_MS: '100',
    };
    const a = await spawnServer(dataDir, env);
    servers.push(a);
    const b = await spawnServer(dataDir, env);
    servers.push(b);
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const key = await createStreamProject(a.url, adminKey, project);
    await createStreamGroup(a.url, key, GROUP);

    const load = new StreamLoad(project);
    const problems: string[] = [];
    const answeredBy = new Map<string, number>([
      [a.url, 0],
      [b.url, 0],
    ]);
    const killed = new Set<string>();
    const write = (url: string, stopped: () => boolean) => async () => {
      while (!stopped()) {
        const batch = load.next(WAITS[load.batches.length % WAITS.length]!);
        const answer = await sendBatch(url, key, GROUP, batch);
        if (answer === null) {
          if (killed.has(url)) return;
          continue;
        }
        answeredBy.set(url, answeredBy.get(url)! + 1);
        if (answer.onlineAt !== null) problems.push(...(await checkOnlineAnswer(url, key, GROUP, batch)));
      }
    };
    const run = (urls: string[], ms: number) => {
      let stop = false;
      const done = Promise.all(
        urls.flatMap((url) =>
          Array.from(
            { length: WRITERS },
            write(url, () => stop),
          ),
        ),
      );
      return new Promise((r) => setTimeout(r, ms)).then(() => {
        stop = true;
        return done;
      });
    };

    // Both ingest and apply; B is killed mid-stream while its writers are in flight.
    const both = run([a.url, b.url], 6000);
    await new Promise((r) => setTimeout(r, 4000));
    killed.add(b.url);
    b.child.kill('SIGKILL');
    await b.exited;
    await both;
    const beforeAlone = answeredBy.get(a.url)!;
    // A alone: it goes on answering, and takes over what B left unacknowledged.
    await run([a.url], 3000);
    await settle(a.url, key, GROUP, load.next('OFFLINE'), 90_000);
    problems.push(...(await verifyStream(a.url, key, GROUP, load.batches)));

    const summary = `${load.batches.length} batches; answered by A ${answeredBy.get(a.url)} (${answeredBy.get(a.url)! - beforeAlone} alone), by B ${answeredBy.get(b.url)}`;
    expect(problems, `${summary}\n${problems.join('\n')}`).toEqual([]);
    expect(answeredBy.get(b.url)).toBeGreaterThan(0);
    expect(answeredBy.get(a.url)! - beforeAlone).toBeGreaterThan(0);
  });
});
