/**
 * Alert delivery benchmark: events raised through `AlertSink.raise` until every one is DELIVERED to
 * a loopback webhook, beside a baseline measured in the same run: the same number of signed POSTs
 * sent straight to the same webhook (one fresh connection each, 20 in flight, as the worker does).
 *
 *   npx tsx bench/alerts.ts [--events 500] [--reps 3]
 *
 * Reports deliveries per second (median of reps, best in brackets) for both and their ratio, and
 * the caller's cost of `raise` (it must not block: microseconds per call). Metadata is embedded
 * SQLite in a temporary data directory; set DATABASE_URL for PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { HostPolicy, postOnce, signBody } from '../src/services/alert/webhook.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '500' }, reps: { type: 'string', default: '3' } } });
const EVENTS = Number(args.events);
const REPS = Number(args.reps);
const SECRET = 'bench-secret-0123456789';

const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

const dataDir = mkdtempSync(join(tmpdir(), 'granary-bench-alerts-'));
const app = await createApp(loadConfig({ GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: process.env.DATABASE_URL }), { migrate: true });
await app.services.projects.bootstrap();
const project = await app.prisma.project.findUniqueOrThrow({ where: { name: 'default' } });
const viewer = { apiKeyId: 'bench', projectId: project.id, projectName: project.name, scopes: ['ADMIN' as const], serverAdmin: true };
await app.services.alerts.createReceiver(viewer, { name: 'bench', webhookUrl: url, secret: SECRET });
await app.services.alerts.createRoute(viewer, { receiver: 'bench', eventTypes: ['JOB_FAILED'] });

async function baseline(): Promise<number> {
  const policy = new HostPolicy([]);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < EVENTS) {
      const i = next++;
      const body = JSON.stringify({ id: String(i), type: 'JOB_FAILED', message: `run ${i} failed` });
      const ts = String(Math.floor(Date.now() / 1000));
      await postOnce(url, { 'content-type': 'application/json', 'x-granary-timestamp': ts, 'x-granary-signature': signBody(SECRET, ts, body) }, body, {
        policy,
        timeoutMs: 5000,
      });
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return EVENTS / ((performance.now() - started) / 1000);
}

async function ours(): Promise<{ rate: number; raiseMicros: number; recordedMs: number }> {
  const before = await app.prisma.alertDelivery.count({ where: { state: 'DELIVERED' } });
  const total = await app.prisma.alertDelivery.count();
  let recordedMs = 0;
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    app.services.alerts.raise(project.id, { type: 'JOB_FAILED', subject: { kind: 'Job', name: 'nightly' }, message: `run ${i} failed`, details: { i } });
  }
  const raiseMicros = ((performance.now() - started) * 1000) / EVENTS;
  for (;;) {
    if (!recordedMs && (await app.prisma.alertDelivery.count()) - total >= EVENTS) recordedMs = performance.now() - started;
    const delivered = (await app.prisma.alertDelivery.count({ where: { state: 'DELIVERED' } })) - before;
    if (delivered >= EVENTS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { rate: EVENTS / ((performance.now() - started) / 1000), raiseMicros, recordedMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base: number[] = [];
const mine: number[] = [];
const raise: number[] = [];
const recorded: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  base.push(await baseline());
  const r = await ours();
  mine.push(r.rate);
  raise.push(r.raiseMicros);
  recorded.push(r.recordedMs);
}
const failed = await app.prisma.alertDelivery.count({ where: { state: { not: 'DELIVERED' } } });
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${EVENTS} events × ${REPS} reps; metadata ${app.config.databaseUrl ? 'PostgreSQL' : 'SQLite'}`,
);
console.log(`baseline: signed POSTs straight to the webhook  ${median(base).toFixed(0)} /s [best ${Math.max(...base).toFixed(0)}]`);
console.log(`raise → recorded → DELIVERED                    ${median(mine).toFixed(0)} /s [best ${Math.max(...mine).toFixed(0)}]`);
console.log(`ratio (ours / baseline)                          ${(median(mine) / median(base)).toFixed(2)}`);
console.log(`of which: all ${EVENTS} recorded after                ${median(recorded).toFixed(0)} ms`);
console.log(`raise() cost to the caller                       ${median(raise).toFixed(1)} µs per call`);
if (failed > 0) console.log(`WARNING: ${failed} deliveries not DELIVERED`);
await app.close();
server.close();
rmSync(dataDir, { recursive: true, force: true });
