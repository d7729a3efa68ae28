/**
 * Online store benchmark: 100 k rows × 20 columns written in one call, then point and batch reads,
 * on SQLite and Redis, each beside bare-driver baselines measured in the same run.
 *
 *   npx tsx bench/online-store.ts [--rows 100000] [--reps 5] [--redis redis://127.0.0.1:6379]
 *
 * Rates are medians over repetitions (each on a fresh file / key prefix), with the best in brackets
 * (on a shared machine contention only slows a run down); latencies are p50 over many calls. Baselines (the architecture doc's figures, this run's measurements beside ours):
 * - bare better-sqlite3: plain INSERT of the same rows (bindable values prepared beforehand) into
 *   a 20-column table in one transaction; point read of a row as an object.
 * - bare ioredis: one pipeline of SET <key> <JSON>; GET + JSON.parse one in flight; MGET + parse.
 * The alternatives the SQLite layout was chosen against are measured too (bare): one JSON value per
 * key, and one `json_each` statement for a batch of keys instead of point reads in a transaction.
 * Run with `node --expose-gc --import tsx bench/online-store.ts` to collect garbage between phases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';
import { Redis } from 'ioredis';

import type { FeatureDef, GroupSchema } from '../src/domain/feature-types.ts';
import type { OnlineRow, OnlineStore, OnlineTable } from '../src/stores/online/online-store.ts';
import { RedisOnlineStore } from '../src/stores/online/redis.ts';
import { SqliteOnlineStore } from '../src/stores/online/sqlite.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '5' },
    redis: { type: 'string', default: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const ROWS = Number(args.rows);
const REPS = Number(args.reps);
const REDIS_URL = args.redis!;
const POINT_READS = 30_000;

// ---- data: 20 columns (key, event time, 8 DOUBLE, 4 BIGINT, 4 STRING, BOOLEAN, DATE) ----
const features: FeatureDef[] = [
  { name: 'id', type: 'BIGINT', description: '' },
  { name: 'event_time', type: 'TIMESTAMP', description: '' },
];
for (let i = 0; i < 8; i++) features.push({ name: `d${i}`, type: 'DOUBLE', description: '' });
for (let i = 0; i < 4; i++) features.push({ name: `n${i}`, type: 'BIGINT', description: '' });
for (let i = 0; i < 4; i++) features.push({ name: `s${i}`, type: 'STRING', description: '' });
features.push({ name: 'flag', type: 'BOOLEAN', description: '' }, { name: 'day', type: 'DATE', description: '' });
const schema: GroupSchema = { features, primaryKey: ['id'], eventTime: 'event_time' };
const names = features.map((f) => f.name);

function makeRows(count: number, minutes: number): OnlineRow[] {
  const rows: OnlineRow[] = [];
  for (let id = 0; id < count; id++) {
    const eventTime = (Date.UTC(2026, 0, 1) + (minutes + (id % 1000)) * 60_000) * 1000;
    const values: Record<string, unknown> = { id, event_time: new Date(eventTime / 1000).toISOString() };
    for (let i = 0; i < 8; i++) values[`d${i}`] = Math.random() * 1000;
    for (let i = 0; i < 4; i++) values[`n${i}`] = (id * 31 + i) % 1_000_003;
    for (let i = 0; i < 4; i++) values[`s${i}`] = `value ${id}.${i}`;
    values.flag = id % 2 === 0;
    values.day = `2026-01-${String(1 + (id % 28)).padStart(2, '0')}`;
    rows.push({ key: [id], eventTime, values });
  }
  return rows;
}
const rows = makeRows(ROWS, 0);
const newerRows = makeRows(ROWS, 10_000);
const commit = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

// ---- measuring ----
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const now = () => process.hrtime.bigint();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const randomKeys = (count: number) => Array.from({ length: count }, (_, i) => (i * 7919 + 13) % ROWS);

async function rate(run: () => unknown, count: number): Promise<number> {
  gc();
  const start = now();
  await run();
  return count / (Number(now() - start) / 1e9);
}

/** p50 in µs of `run(i)`, each call awaited before the next (one in flight). */
async function p50(calls: number, run: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(2000, calls); i++) await run(i);
  gc();
  const samples = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const start = now();
    await run(i);
    samples[i] = Number(now() - start) / 1000;
  }
  return median(samples);
}

interface Line {
  readonly what: string;
  /** Medians; for rates, the lists of repetitions (best-of is printed too: contention only slows a run). */
  readonly ours: number | number[];
  readonly base: number | number[];
  readonly unit: 'rows/s' | 'µs' | 'ops/s';
  readonly note?: string;
}
const lines: { section: string; lines: Line[] }[] = [];

function print(): void {
  const mid = (v: number | number[]) => (typeof v === 'number' ? v : median(v));
  const best = (v: number | number[]) => (typeof v === 'number' ? v : Math.max(...v));
  const fmt = (v: number | number[], unit: Line['unit']) =>
    unit === 'µs'
      ? `${mid(v).toFixed(1)} µs`
      : typeof v === 'number'
        ? `${Math.round(v / 1000)} k`
        : `${Math.round(mid(v) / 1000)} k (${Math.round(best(v) / 1000)} k)`;
  for (const { section, lines: ls } of lines) {
    console.log(`\n${section}`);
    console.log(`  ${'measure'.padEnd(58)}${'store'.padStart(17)}${'baseline'.padStart(17)}${'ratio'.padStart(14)}  note`);
    for (const l of ls) {
      const ratio = `${(mid(l.ours) / mid(l.base)).toFixed(2)}${typeof l.ours === 'number' ? '' : ` (${(best(l.ours) / best(l.base)).toFixed(2)})`}`;
      console.log(
        `  ${`${l.what}, ${l.unit}`.padEnd(58)}${fmt(l.ours, l.unit).padStart(17)}${fmt(l.base, l.unit).padStart(17)}${ratio.padStart(14)}  ${l.note ?? ''}`,
      );
    }
  }
}

// ---- SQLite ----
const dir = mkdtempSync(join(tmpdir(), 'granary-bench-online-'));
let files = 0;
function bareDb(): Database.Database {
  const db = new Database(join(dir, `bare-${++files}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}
const q = (name: string) => `"${name}"`;
const bindable = rows.map((r) => names.map((n) => (typeof r.values[n] === 'boolean' ? (r.values[n] ? 1 : 0) : r.values[n])));

async function benchSqlite(): Promise<void> {
  const table: OnlineTable = { id: 'bench/online_1', schema };
  const insert: number[] = [];
  const update: number[] = [];
  const baseInsert: number[] = [];
  const kvInsert: number[] = [];
  let store: SqliteOnlineStore | null = null;
  for (let rep = 0; rep < REPS; rep++) {
    {
      const db = bareDb();
      db.exec(`CREATE TABLE b (id INTEGER PRIMARY KEY, ${names.slice(1).map(q).join(', ')})`);
      const st = db.prepare(`INSERT INTO b VALUES (${names.map(() => '?').join(', ')})`);
      baseInsert.push(
        await rate(
          () =>
            db.transaction(() => {
              for (const p of bindable) st.run(p);
            })(),
          ROWS,
        ),
      );
      db.close();
    }
    {
      // The rejected layout: one table of key → JSON array, newest-event-wins upsert.
      const db = bareDb();
      db.exec('CREATE TABLE kv (k PRIMARY KEY, et, cid TEXT, v TEXT) WITHOUT ROWID');
      const st = db.prepare(
        `INSERT INTO kv AS t VALUES (?, ?, ?, ?) ON CONFLICT (k) DO UPDATE SET et = excluded.et, cid = excluded.cid, v = excluded.v
         WHERE excluded.et > t.et OR (excluded.et IS t.et AND excluded.cid >= t.cid)`,
      );
      const write = () =>
        db.transaction(() => {
          for (const r of rows) st.run(JSON.stringify(r.key), r.eventTime, commit(1), JSON.stringify(names.map((n) => r.values[n] ?? null)));
        })();
      kvInsert.push(await rate(write, ROWS));
      db.close();
    }
    await store?.close();
    store = new SqliteOnlineStore({ file: join(dir, `store-${++files}.db`) });
    await store.ensure(table);
    insert.push(await rate(() => store!.write(table, rows, commit(1)), ROWS));
    update.push(await rate(() => store!.write(table, newerRows, commit(2)), ROWS));
  }
  const s = store!;

  // Reads: the store's last file against a bare copy of the same rows.
  const db = bareDb();
  db.exec(`CREATE TABLE b (id INTEGER PRIMARY KEY, ${names.slice(1).map(q).join(', ')})`);
  const ins = db.prepare(`INSERT INTO b VALUES (${names.map(() => '?').join(', ')})`);
  db.transaction(() => {
    for (const p of bindable) ins.run(p);
  })();
  const get = db.prepare('SELECT * FROM b WHERE id = ?');
  const getRaw = db.prepare('SELECT * FROM b WHERE id = ?').raw();
  const keys = randomKeys(POINT_READS);
  const bareLoop = db.transaction((ks: number[]) => ks.map((k) => get.get(k) ?? null));
  const jsonEach = db.prepare(`SELECT b.* FROM json_each(?) j LEFT JOIN b ON b.id = j.value ORDER BY j.key`);

  const pointOurs = await p50(POINT_READS, (i) => s.read(table, [[keys[i]!]]));
  const pointBase = await p50(POINT_READS, (i) => get.get(keys[i]!));
  const pointRaw = await p50(POINT_READS, (i) => getRaw.get(keys[i]!));
  const batch = async (n: number) => {
    const calls = Math.max(300, Math.floor(30_000 / n));
    const sets = Array.from({ length: calls }, (_, i) => Array.from({ length: n }, (_, j) => keys[(i * n + j) % keys.length]!));
    return {
      ours: await p50(calls, (i) =>
        s.read(
          table,
          sets[i]!.map((k) => [k]),
        ),
      ),
      loop: await p50(calls, (i) => bareLoop(sets[i]!)),
      json: await p50(calls, (i) => jsonEach.all(JSON.stringify(sets[i]!))),
    };
  };
  const b10 = await batch(10);
  const b100 = await batch(100);
  db.close();
  await s.close();

  lines.push({
    section: `SQLite (better-sqlite3, WAL, synchronous=NORMAL), ${ROWS} rows × ${names.length} columns, median of ${REPS}`,
    lines: [
      { what: 'write, new keys, one call (bare: plain INSERT)', ours: insert, base: baseInsert, unit: 'rows/s', note: 'target ≥ 0.60 of bare (≈ 340 k)' },
      { what: 'write, newer events over every key', ours: update, base: baseInsert, unit: 'rows/s' },
      { what: 'rejected layout: key → JSON, bare upsert', ours: kvInsert, base: baseInsert, unit: 'rows/s', note: 'typed columns chosen' },
      {
        what: 'point read, 1 key (bare: object row)',
        ours: pointOurs,
        base: pointBase,
        unit: 'µs',
        note: `bare raw row ${pointRaw.toFixed(1)} µs; doc ≈ 7.7 µs`,
      },
      { what: 'batch read, 10 keys (bare: get() loop in tx)', ours: b10.ours, base: b10.loop, unit: 'µs', note: `bare json_each ${b10.json.toFixed(1)} µs` },
      {
        what: 'batch read, 100 keys (bare: get() loop in tx)',
        ours: b100.ours,
        base: b100.loop,
        unit: 'µs',
        note: `bare json_each ${b100.json.toFixed(1)} µs`,
      },
    ],
  });
}

// ---- Redis ----
async function benchRedis(): Promise<void> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
  } catch {
    console.log(`\nRedis: no server at ${REDIS_URL}; skipped`);
    return;
  }
  const prefix = `granary-bench:${process.pid}:${Date.now().toString(36)}:`;
  const bare = probe;
  const table: OnlineTable = { id: 'bench/online_1', schema };
  const insert: number[] = [];
  const update: number[] = [];
  const baseInsert: number[] = [];
  const stores: OnlineStore[] = [];
  let store!: RedisOnlineStore;
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const basePrefix = `${prefix}bare${rep}:`;
      baseInsert.push(
        await rate(async () => {
          const pipeline = bare.pipeline();
          for (const r of rows) pipeline.set(basePrefix + String(r.key[0]), JSON.stringify(r.values));
          await pipeline.exec();
        }, ROWS),
      );
      store = new RedisOnlineStore({ url: REDIS_URL, keyPrefix: `${prefix}store${rep}:` });
      stores.push(store);
      await store.ensure(table);
      insert.push(await rate(() => store.write(table, rows, commit(1)), ROWS));
      update.push(await rate(() => store.write(table, newerRows, commit(2)), ROWS));
    }
    const basePrefix = `${prefix}bare0:`;
    const keys = randomKeys(POINT_READS / 3);
    const reads = keys.length;
    const pointOurs = await p50(reads, (i) => store.read(table, [[keys[i]!]]));
    const pointBase = await p50(reads, async (i) => JSON.parse((await bare.get(basePrefix + String(keys[i]!)))!));
    const inFlight = async (read: (k: number) => Promise<unknown>) =>
      rate(
        () =>
          Promise.all(
            Array.from({ length: 64 }, async (_, w) => {
              for (let i = w; i < reads; i += 64) await read(keys[i]!);
            }),
          ),
        reads,
      );
    const flightOurs = await inFlight((k) => store.read(table, [[k]]));
    const flightBase = await inFlight(async (k) => JSON.parse((await bare.get(basePrefix + String(k)))!));
    const batch = async (n: number) => {
      const calls = Math.max(200, Math.floor(10_000 / n));
      const sets = Array.from({ length: calls }, (_, i) => Array.from({ length: n }, (_, j) => keys[(i * n + j) % keys.length]!));
      return {
        ours: await p50(calls, (i) =>
          store.read(
            table,
            sets[i]!.map((k) => [k]),
          ),
        ),
        base: await p50(calls, async (i) => (await bare.mget(sets[i]!.map((k) => basePrefix + String(k)))).map((v) => (v === null ? null : JSON.parse(v)))),
      };
    };
    const b10 = await batch(10);
    const b100 = await batch(100);
    lines.push({
      section: `Redis (ioredis, ${REDIS_URL.replace(/\/\/[^@]*@/, '//')}), ${ROWS} rows × ${names.length} columns, median of ${REPS}`,
      lines: [
        {
          what: 'write, new keys, one call (bare: pipelined SET)',
          ours: insert,
          base: baseInsert,
          unit: 'rows/s',
          note: 'ours checks newest-event-wins in Lua',
        },
        { what: 'write, newer events over every key', ours: update, base: baseInsert, unit: 'rows/s' },
        { what: 'point read, one in flight (bare: GET+parse)', ours: pointOurs, base: pointBase, unit: 'µs', note: 'doc ≈ 86 µs' },
        { what: 'point reads, 64 in flight (bare: GET+parse)', ours: flightOurs, base: flightBase, unit: 'ops/s', note: 'doc ≈ 134 k pipelined' },
        { what: 'batch read, 10 keys (bare: MGET+parse)', ours: b10.ours, base: b10.base, unit: 'µs' },
        { what: 'batch read, 100 keys (bare: MGET+parse)', ours: b100.ours, base: b100.base, unit: 'µs' },
      ],
    });
  } finally {
    for (const s of stores) {
      await s.drop(table);
      await s.close();
    }
    let cursor = '0';
    do {
      const [next, found] = await bare.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (found.length > 0) await bare.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
    await bare.quit();
  }
}

try {
  await benchSqlite();
  await benchRedis();
  print();
  console.log('\nRates: median (best) of the repetitions, higher is better. Latencies: p50, lower is better. Ratio = store / baseline.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
