import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsStreamLog } from '../../src/stores/log/nats.ts';
import { spawnServer, type ServedProcess } from '../helpers/process.ts';
import {
  checkOnlineAnswer,
  createStreamGroup,
  createStreamProject,
  type IngestWait,
  sendBatch,
  settle,
  type StreamBatch,
  StreamLoad,
  verifyStream,
} from '../helpers/stream-load.ts';

// The real `granary serve` streaming rows (ingestFeatureGroupRows, waitFor ACCEPTED, ONLINE and
// OFFLINE in turn) killed with SIGKILL at random moments, then started again on the same data
// directory, where the writers resend some of the cut-off batches under their idempotency keys.
// After the last restart, once everything is applied and committed: every acknowledged row online
// (newest event per key) and offline once, cut-off batches whole or absent, each key appended once,
// the streamed commits covering contiguous log ranges. GRANARY_STREAM_KILL_CYCLES sets the number
// of kills (20 by default). On the embedded log always; on NATS JetStream too with TEST_NATS_URL.
const CYCLES = Math.max(1, Number(process.env.GRANARY_STREAM_KILL_CYCLES ?? 20));
/** Requests in flight at once. */
const WRITERS = 3;
/** The kill comes at a random moment up to this long after the cycle's first answer. */
const KILL_WINDOW_MS = 1500;
const WAITS: readonly IngestWait[] = ['ACCEPTED', 'ONLINE', 'OFFLINE'];
const GROUP = 'events';

/** Where the server's log lives: the embedded file, or NATS JetStream at `natsUrl`. */
export interface KillBackend {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly natsUrl: string | undefined;
}

const servers: ServedProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const served of servers) await served.kill();
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

/** One cycle's writers: new batches, and now and then a cut-off one again, until `stopped()`. */
function writers(url: string, key: string, load: StreamLoad, resend: StreamBatch[], problems: string[], stopped: () => boolean) {
  const state = { answered: 0 };
  const writer = async () => {
    while (!stopped()) {
      const batch = resend.length > 0 && Math.random() < 0.5 ? resend.shift()! : load.next(WAITS[load.batches.length % WAITS.length]!);
      const answer = await sendBatch(url, key, GROUP, batch);
      if (answer === null) {
        if (stopped()) return;
        continue;
      }
      state.answered++;
      if (answer.onlineAt !== null) problems.push(...(await checkOnlineAnswer(url, key, GROUP, batch)));
    }
  };
  return { state, done: Promise.all(Array.from({ length: WRITERS }, writer)) };
}

/** The suite on one backend (a file of its own per backend, so that the two run side by side). */
export function streamKillSuite(backend: KillBackend): void {
  describe.skipIf(process.env.GRANARY_TEST_METADATA === 'postgresql')('a streaming server killed with SIGKILL', () => {
    it(`keeps every acknowledged row, once, on ${backend.name} (${CYCLES} kills)`, { timeout: 60_000 + CYCLES * 15_000 }, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'granary-stream-kill-'));
      cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const project = `sk_${process.pid}_${Date.now().toString(36)}`;
      if (backend.natsUrl) {
        const natsUrl = backend.natsUrl;
        cleanups.push(async () => {
          const log = await NatsStreamLog.connect(natsUrl);
          await log.remove(`granary_${project}`);
          await log.close();
        });
      }
      const env = { ...backend.env, GRANARY_STREAM_MATERIALIZE_TICK_MS: '100' };
      let served = await spawnServer(dataDir, env);
      servers.push(served);
      const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
      const key = await createStreamProject(served.url, adminKey, project);
      await createStreamGroup(served.url, key, GROUP);

      const load = new StreamLoad(project);
      const problems: string[] = [];
      const log: string[] = [];
      let resend: StreamBatch[] = [];
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        let stop = false;
        const run = writers(served.url, key, load, resend, problems, () => stop);
        while (run.state.answered === 0) await new Promise((r) => setTimeout(r, 10));
        const delay = Math.floor(Math.random() * KILL_WINDOW_MS);
        await new Promise((r) => setTimeout(r, delay));
        served.child.kill('SIGKILL');
        stop = true;
        await served.exited;
        await run.done;
        log.push(`cycle ${cycle}: killed ${delay} ms after the first answer; ${run.state.answered} answered`);
        // Half of the batches cut off so far are sent again after the restart; the others never.
        resend = load.unanswered().filter((b) => b.sends === 1 && Math.random() < 0.5);
        served = await spawnServer(dataDir, env);
        servers.push(served);
      }
      for (const batch of resend) await sendBatch(served.url, key, GROUP, batch);
      await settle(served.url, key, GROUP, load.next('OFFLINE'), backend.natsUrl ? 90_000 : 30_000);
      problems.push(...(await verifyStream(served.url, key, GROUP, load.batches)));
      const answered = load.batches.filter((b) => b.answers.length > 0);
      const resent = answered.filter((b) => b.sends > 1);
      log.push(
        `${load.batches.length} batches, ${answered.length} answered (${resent.length} after a resend, ${resent.filter((b) => b.answers.some((a) => a.duplicate)).length} of them duplicates)`,
      );
      expect(problems, `${log.join('\n')}\n${problems.join('\n')}`).toEqual([]);
      expect(answered.length).toBeGreaterThanOrEqual(CYCLES);
      served.child.kill('SIGTERM');
      await served.exited;
    });
  });
}
