import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../../../src/errors.ts';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';
import { BASIC } from './offline-store.contract.ts';

// What the server relies on when inserts are staged on the worker thread, beyond the contract
// suite (which runs on both): typed errors arrive as the same class with their issues, large
// inputs arrive whole, and the store closes its thread.

let root: string;
let store: DuckDbOfflineStore;
const location = { project: 'p', name: 'g', version: 1 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'granary-staging-thread-'));
  store = new DuckDbOfflineStore(join(root, 'offline'), { threads: 2, memoryLimit: '512MB', stagingThread: true });
});
afterAll(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('staging on a worker thread', () => {
  it('refuses a bad row with a ValidationError naming its row and column, and writes nothing', async () => {
    const rows = [
      { id: 1, ts: '2026-01-01T00:00:00Z', x: 1.5, s: 'a' },
      { id: 2, ts: '2026-01-01T00:00:00Z', x: 'not a number', s: 'b' },
    ];
    const error = await store.stage(location, BASIC, uuidv7(), { kind: 'rows', rows }, { operation: 'UPSERT', existing: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues[0]?.path).toEqual(['rows', 2, 'x']);
    expect((error as Error).message).not.toMatch(/staging-worker|duckdb|\/tmp\//i);
    const files = await readdir(join(root, 'offline', 'p', 'g_1')).catch(() => []);
    expect(files).toEqual([]);
  });

  it('stages columns the server built, numbers and codes moved to the thread as copies: the caller keeps its arrays', async () => {
    const at = Date.UTC(2026, 0, 1);
    const ids = Float64Array.from({ length: 3000 }, (_, i) => 50_000 + i);
    const x = Float64Array.from({ length: 3000 }, (_, i) => i / 4);
    const s = { codes: Int32Array.from({ length: 3000 }, (_, i) => (i % 3) - 1), dictionary: ['p', 'q'] };
    const source = { kind: 'columns' as const, rowCount: 3000, names: ['id', 'ts', 'x', 's'], values: [ids, Float64Array.from(ids, () => at), x, s] };
    const staged = await store.stage({ ...location, name: 'columns' }, BASIC, uuidv7(), source, { operation: 'UPSERT', existing: [] });
    const [[sum, nulls, q]] = (await staged.query((r) => [`SELECT sum(x), count(*) FILTER (s IS NULL), count(*) FILTER (s = 'q') FROM (${r})`]))[0] as [
      [number, bigint, bigint],
    ];
    expect(sum).toBe(x.reduce((t, v) => t + v, 0));
    expect([Number(nulls), Number(q)]).toEqual([1000, 1000]);
    // Nothing the caller holds was moved away: a commit that fails is sent again from the same arrays.
    expect(ids.length).toBe(3000);
    expect(s.codes.length).toBe(3000);
    expect(x[2999]).toBe(2999 / 4);
  });

  it('stages many rows sent in parts as one commit, with rows for the online store and validation queries', async () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => ({ id: i, ts: '2026-01-01T00:00:00Z', x: i / 2, s: `s${i % 7}` }));
    const staged = await store.stage(location, BASIC, uuidv7(), { kind: 'rows', rows }, { operation: 'UPSERT', existing: [], online: true });
    expect(staged.rowCount).toBe(10_001);
    const [[sum]] = (await staged.query((r) => [`SELECT sum(x) FROM (${r})`]))[0] as number[][] as [[number]];
    expect(sum).toBe(rows.reduce((t, r) => t + r.x, 0));
    let online = 0;
    for await (const batch of staged.onlineColumns(3000)) online += batch.rowCount;
    expect(online).toBe(10_001);
    await staged.publish();
    const read = await store.read(location, BASIC, [{ id: staged.commitId, files: staged.files, rowsUpdated: 0 }], { first: 1 });
    expect(read.rows).toEqual([[0, '2026-01-01T00:00:00.000000Z', 0, 's0']]);
    const other = await store.stage(
      location,
      BASIC,
      uuidv7(),
      { kind: 'rows', rows: rows.slice(0, 10) },
      {
        operation: 'UPSERT',
        existing: [{ id: staged.commitId, files: staged.files, rowsUpdated: 0 }],
      },
    );
    expect(other.rowsUpdated).toBe(10);
    await other.discard();
  });

  it('stages a range of log messages, sent in parts: bad ones add nothing, messages taken whole until maxRows, as on the calling thread', async () => {
    const long = 'y'.repeat(1500);
    const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    // 3 000 messages of ~1.5 KB (more than one part), every 100th not JSON, every 7th holding two rows.
    const messages = Array.from({ length: 3000 }, (_, i) =>
      i % 100 === 99
        ? body('{not json')
        : body(
            i % 7 === 0
              ? [
                  { id: 2 * i, ts: '2026-01-01T00:00:00Z', x: i, s: long },
                  { id: 2 * i + 1, ts: '2026-01-01T00:00:00Z', x: i, s: 'b' },
                ]
              : { id: 2 * i, ts: '2026-01-01T00:00:00Z', x: i, s: long },
          ),
    );
    const good = (n: number) => messages.slice(0, n).reduce((rows, _m, i) => rows + (i % 100 === 99 ? 0 : i % 7 === 0 ? 2 : 1), 0);
    let taken = 0;
    while (good(taken) < 2000) taken++;
    const onCaller = new DuckDbOfflineStore(join(root, 'offline-main'), { threads: 1, memoryLimit: '256MB' });
    try {
      for (const s of [store, onCaller]) {
        const staged = await s.stage(location, BASIC, uuidv7(), { kind: 'messages', messages, maxRows: 2000 }, { operation: 'UPSERT', existing: [] });
        expect({ rows: staged.rowCount, messages: staged.sourceMessages }).toEqual({ rows: good(taken), messages: taken });
        const [[[ids, longs]]] = (await staged.query((r) => [`SELECT count(DISTINCT id), count(*) FILTER (s = '${long}') FROM (${r})`])) as [
          [[unknown, unknown]],
        ];
        expect(Number(ids)).toBe(good(taken));
        expect(Number(longs)).toBe(taken - Math.floor(taken / 100));
        await staged.discard();
      }
      const all = await store.stage(location, BASIC, uuidv7(), { kind: 'messages', messages, maxRows: 1_000_000 }, { operation: 'UPSERT', existing: [] });
      expect({ rows: all.rowCount, messages: all.sourceMessages }).toEqual({ rows: good(3000), messages: 3000 });
      await all.discard();
    } finally {
      await onCaller.close();
    }
  });
});
