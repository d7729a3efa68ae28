/**
 * Phase timing for `bench/insert.ts --phases`: preloaded into the server process
 * (`node --import tsx --import bench/insert-phases.ts bin/granary.js serve`), it wraps methods of the stores
 * and the feature-group service (without changing src/) and prints, after each insert, where its
 * time went, to stderr:
 *
 *   request → service   from the request's arrival to FeatureGroupService.insert (multipart spool
 *                       or JSON body parse, GraphQL parse/validate/variable coercion, auth)
 *   stage               DuckDbOfflineStore.stage, split into its DuckDB statements (each named by
 *                       the start of its SQL) and the JavaScript around them (JSON rows into columns)
 *   publish, commit row, online writes
 *   onlineColumns       DuckDB (each part's sorted scan, fetchChunk) vs JavaScript (vectors → columns)
 *   online.writeColumns SqliteOnlineStore.writeColumns (32-row upserts filled from the columns, one
 *                       transaction per call; the service calls it per 20 000-row batch), with
 *                       its SQLite statements by kind (BEGIN, INSERT … ON CONFLICT, COMMIT)
 *   after service       FeatureGroupService.insert returned → response written
 *
 * With PHASES_GAP=1 in the environment it also prints the time between one response and the next
 * request's arrival (time the server spends outside requests, e.g. collecting garbage, plus the
 * client's turn-around).
 *
 * RSS and JS heap are polled every 20 ms and charged to the innermost phase running at the time,
 * so each phase line shows the peak memory seen while it ran.
 */
import { type IncomingMessage, Server } from 'node:http';

import { DuckDBConnection, DuckDBResult } from '@duckdb/node-api';
import Database from 'better-sqlite3';

import { FeatureGroupService } from '../src/services/feature-group/feature-group.service.ts';
import { DuckDbOfflineStore } from '../src/stores/offline/duckdb/index.ts';
import { SqliteOnlineStore } from '../src/stores/online/sqlite.ts';

type Phases = Map<string, number>;
let current: Phases | null = null;
let requestStart = 0;
let lastFinish = 0;
let serviceEnd = 0;
let lastInsertLine: string | null = null;
/** Inside a `next()` of a staged commit's onlineColumns: its fetchChunk calls are the online scan. */
let inOnlineRows = false;

const add = (name: string, ms: number) => {
  if (current) current.set(name, (current.get(name) ?? 0) + ms);
};

/** Innermost phases running now; the RSS poller charges its samples to the top one. */
const active: string[] = [];
/** Per insert: the largest RSS (and JS heap used) sampled while each phase was innermost. */
let peaks = new Map<string, { rss: number; heap: number }>();
const sampleMemory = () => {
  if (!current) return;
  const label = active.at(-1) ?? 'service (other)';
  const { rss, heapUsed } = process.memoryUsage();
  const peak = peaks.get(label);
  if (!peak) peaks.set(label, { rss, heap: heapUsed });
  else {
    peak.rss = Math.max(peak.rss, rss);
    peak.heap = Math.max(peak.heap, heapUsed);
  }
};
setInterval(sampleMemory, 20).unref();

/** Wraps an async method so its time is added to phase `name` (`name(args)` may derive it). */
function timeMethod(proto: any, method: string, name: string | ((...args: any[]) => string)): void {
  const original = proto[method] as (...args: unknown[]) => Promise<unknown>;
  if (typeof original !== 'function') throw new Error(`insert-phases: ${method} is not a method`);
  proto[method] = async function (this: unknown, ...args: unknown[]) {
    const label = typeof name === 'string' ? name : name(...args);
    const t = performance.now();
    active.push(label);
    try {
      return await original.apply(this, args);
    } finally {
      sampleMemory();
      active.splice(active.lastIndexOf(label), 1);
      add(label, performance.now() - t);
    }
  };
}

const sqlLabel = (sql: unknown) =>
  `  duckdb: ${String(sql)
    .replace(/\s+/g, ' ')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 90)}`;

// Request arrival: the first 'request' listener of every HTTP server.
const emit = Server.prototype.emit;
Server.prototype.emit = function (this: Server, event: string, ...rest: unknown[]) {
  if (event === 'request') {
    const req = rest[0] as IncomingMessage;
    if (req.method === 'POST') {
      if (process.env.PHASES_GAP && lastFinish > 0)
        process.stderr.write(`[phases] gap since last response ${(performance.now() - lastFinish).toFixed(0)} ms\n`);
      requestStart = performance.now();
      const res = rest[1] as { once(e: string, f: () => void): void };
      res.once('finish', () => {
        lastFinish = performance.now();
        if (lastInsertLine !== null) {
          process.stderr.write(
            `${lastInsertLine} | after service ${(performance.now() - serviceEnd).toFixed(0)} ms | request total ${(performance.now() - requestStart).toFixed(0)} ms\n`,
          );
          lastInsertLine = null;
        }
      });
    }
  }
  return Reflect.apply(emit, this, [event, ...rest]) as boolean;
} as typeof Server.prototype.emit;

const FETCH = 'onlineColumns: DuckDB fetchChunk (sorted scan of a part)';
const CONVERT = 'onlineColumns: JS conversion to columns';
const ONLINE_TOTAL = 'onlineColumns (total: DuckDB + JS conversion)';
const WRITE = 'online.writeColumns (SQLite)';

// DuckDB statements (run covers runAndReadAll), streams and their chunks.
timeMethod(DuckDBConnection.prototype, 'run', (sql) => sqlLabel(sql));
timeMethod(DuckDBConnection.prototype, 'stream', (sql) => sqlLabel(sql));
const fetchChunk = DuckDBResult.prototype.fetchChunk;
DuckDBResult.prototype.fetchChunk = async function (this: DuckDBResult) {
  if (!inOnlineRows) return fetchChunk.call(this);
  const label = FETCH;
  const t = performance.now();
  active.push(label);
  try {
    return await fetchChunk.call(this);
  } finally {
    sampleMemory();
    active.splice(active.lastIndexOf(label), 1);
    add(label, performance.now() - t);
  }
};

// The offline store. Its staging steps are module functions of src/stores/offline/duckdb/ingest.ts
// (not methods, so they cannot be wrapped from here): stage shows as its total and its DuckDB statements.
const stage = DuckDbOfflineStore.prototype.stage;
DuckDbOfflineStore.prototype.stage = async function (this: DuckDbOfflineStore, ...args: Parameters<typeof stage>) {
  const t = performance.now();
  const staged = await stage.apply(this, args);
  add('stage (total)', performance.now() - t);
  const proto = Object.getPrototypeOf(staged);
  if (!proto.__phased) {
    proto.__phased = true;
    timeMethod(proto, 'publish', 'publish');
    const onlineColumns = proto.onlineColumns as (batch?: number) => AsyncIterator<unknown>;
    proto.onlineColumns = function (this: unknown, batch?: number) {
      const it = onlineColumns.call(this, batch);
      return {
        async next() {
          const t0 = performance.now();
          inOnlineRows = true;
          active.push(CONVERT);
          try {
            return await it.next();
          } finally {
            sampleMemory();
            active.pop();
            inOnlineRows = false;
            add(ONLINE_TOTAL, performance.now() - t0);
          }
        },
        return: (value?: unknown) => it.return!(value),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    };
  }
  return staged;
} as typeof stage;

// The online store, and its SQLite statements by kind (COMMIT includes the WAL writes and checkpoints).
timeMethod(SqliteOnlineStore.prototype, 'writeColumns', WRITE);
{
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run: (...args: unknown[]) => unknown };
  probe.close();
  const run = statementProto.run;
  statementProto.run = function (this: { source: string }, ...params: unknown[]) {
    // Only the online store's statements (Prisma's metadata statements run through better-sqlite3 too).
    if (!current || !active.includes(WRITE)) return run.apply(this, params);
    const t = performance.now();
    try {
      return run.apply(this, params);
    } finally {
      const kind = /^\s*(\w+)/.exec(this.source)?.[1]?.toUpperCase() ?? '?';
      add(`  sqlite: ${kind === 'INSERT' ? 'INSERT … ON CONFLICT (upserts)' : kind}`, performance.now() - t);
    }
  };
}

// The service: one report per insert.
const insert = FeatureGroupService.prototype.insert;
FeatureGroupService.prototype.insert = async function (this: FeatureGroupService, ...args: Parameters<typeof insert>) {
  current = new Map();
  peaks = new Map();
  const beforeService = performance.now() - requestStart;
  const t = performance.now();
  try {
    return await insert.apply(this, args);
  } finally {
    const total = performance.now() - t;
    serviceEnd = performance.now();
    const phases = current;
    current = null;
    const fetch = phases.get(FETCH) ?? 0;
    const rows = phases.get(ONLINE_TOTAL);
    if (rows !== undefined) phases.set(CONVERT, rows - fetch);
    const stageTotal = phases.get('stage (total)') ?? 0;
    const inStage = [...phases].filter(([k]) => k.startsWith('stage: ')).reduce((s, [, v]) => s + v, 0);
    const counted = stageTotal + (phases.get('publish') ?? 0) + (rows ?? 0) + (phases.get(WRITE) ?? 0);
    const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)}`.padStart(6);
    const lines = [...phases].map(([k, v]) => {
      const peak = peaks.get(k);
      return `    ${v.toFixed(0).padStart(7)} ms  ${peak ? `peak RSS ${mb(peak.rss)} MB (JS heap ${mb(peak.heap)} MB)` : ''.padEnd(36)}  ${k}`;
    });
    lines.push(`    ${(stageTotal - inStage).toFixed(0).padStart(7)} ms  stage: the rest (findDuplicates, countExisting, stat, mkdir)`);
    lines.push(`    ${(total - counted).toFixed(0).padStart(7)} ms  service: metadata (get group, commits, commit row, onlineState) and other`);
    process.stderr.write(`[phases] insert ${JSON.stringify(args[1])} ${args[2].kind}:\n${lines.join('\n')}\n`);
    lastInsertLine = `[phases] request → service ${beforeService.toFixed(0)} ms | service ${total.toFixed(0)} ms`;
  }
} as typeof insert;
