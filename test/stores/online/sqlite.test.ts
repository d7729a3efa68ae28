import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { ConflictError, ValidationError } from '../../../src/errors.ts';
import { openOnlineStore, RedisOnlineStore, SqliteOnlineStore } from '../../../src/stores/online/index.ts';
import { SqliteCheckpointer } from '../../../src/stores/online/sqlite-checkpointer.ts';
import { commitId, onlineStoreContract } from './online-store.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'granary-online-'));
let files = 0;
const newFile = () => join(dir, `online-${++files}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

onlineStoreContract('sqlite', () => new SqliteOnlineStore({ file: newFile() }));
// Small statements, so batches cross multi-row statement boundaries at many places.
onlineStoreContract('sqlite, 3 rows per statement', () => new SqliteOnlineStore({ file: newFile(), rowsPerStatement: 3 }));

const schema: GroupSchema = {
  features: [
    { name: 'id', type: 'BIGINT', description: '' },
    { name: 'ts', type: 'TIMESTAMP', description: '' },
    { name: 'x', type: 'DOUBLE', description: '' },
  ],
  primaryKey: ['id'],
  eventTime: 'ts',
};
const row = (id: number, et: number, x: number) => ({ key: [id], eventTime: et, values: { id, ts: null, x } });

describe('SqliteOnlineStore', () => {
  it('uses WAL with synchronous=NORMAL in its own file, and keeps rows across reopening', async () => {
    const file = newFile();
    const table = { id: 'p/reopen_1', schema };
    const store = new SqliteOnlineStore({ file });
    await store.write(table, [row(1, 10, 1)], commitId(1));
    await store.close();
    await store.close();

    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    const again = new SqliteOnlineStore({ file });
    expect(await again.read(table, [[1]])).toStrictEqual([{ id: 1, ts: null, x: 1 }]);
    await again.write(table, [row(1, 5, 2)], commitId(2));
    expect(await again.read(table, [[1]])).toStrictEqual([{ id: 1, ts: null, x: 1 }]);
    await again.close();
  });

  it('rejects a changed key, event time or feature type as a conflict', async () => {
    const store = new SqliteOnlineStore({ file: ':memory:' });
    const id = 'p/conflict_1';
    await store.ensure({ id, schema });
    await expect(store.ensure({ id, schema: { ...schema, primaryKey: ['x'] } })).rejects.toBeInstanceOf(ConflictError);
    await expect(store.ensure({ id, schema: { ...schema, eventTime: null } })).rejects.toBeInstanceOf(ConflictError);
    const retyped = { ...schema, features: schema.features.map((f) => (f.name === 'x' ? { ...f, type: 'STRING' } : f)) };
    await expect(store.ensure({ id, schema: retyped })).rejects.toBeInstanceOf(ConflictError);
    await expect(store.write({ id, schema: retyped }, [row(1, 1, 1)], commitId(1))).rejects.toBeInstanceOf(ConflictError);
    await expect(store.ensure({ id: 'p/bad_1', schema: { ...schema, primaryKey: ['nope'] } })).rejects.toBeInstanceOf(ValidationError);
    await store.close();
  });

  it('rolls back a whole write when one row fails', async () => {
    const store = new SqliteOnlineStore({ file: ':memory:' });
    const table = { id: 'p/atomic_1', schema };
    const rows = Array.from({ length: 100 }, (_, i) => row(i, 1, i));
    await expect(store.write(table, [...rows, { key: [null], eventTime: 1, values: {} }], commitId(1))).rejects.toThrow();
    expect(await store.read(table, [[0], [99]])).toStrictEqual([null, null]);
    await store.close();
  });
});

describe('SqliteCheckpointer', () => {
  it('copies committed WAL frames into the database file on its worker, coalescing requests', async () => {
    const file = newFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const checkpointer = new SqliteCheckpointer(file);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 5_000; i++) insert.run('x'.repeat(100));
    })();
    // Without a checkpoint the rows live in the WAL only.
    const before = statSync(file).size;
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(500_000);
    for (let i = 0; i < 5; i++) checkpointer.request();
    await checkpointer.idle();
    expect(checkpointer.lastError).toBeNull();
    expect(statSync(file).size).toBeGreaterThan(before + 500_000);
    await checkpointer.close();
    await checkpointer.close();
    checkpointer.request();
    await checkpointer.idle();
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toStrictEqual({ n: 5_000 });
    db.close();
  });

  it('leaves requests as no-ops when its connection cannot open', async () => {
    const checkpointer = new SqliteCheckpointer(join(dir, 'missing', 'nested', 'online.db'));
    checkpointer.request();
    await checkpointer.idle();
    await checkpointer.close();
    expect(checkpointer.lastError).toMatch(/directory|open/i);
  });
});

describe('openOnlineStore', () => {
  it('opens SQLite in <dataDir>/online.db by default', async () => {
    const dataDir = join(dir, 'data', 'nested');
    const store = openOnlineStore({ dataDir });
    expect(store).toBeInstanceOf(SqliteOnlineStore);
    expect(existsSync(join(dataDir, 'online.db'))).toBe(true);
    await store.close();
  });

  it('opens Redis for redis:// and rediss:// URLs and rejects other schemes without echoing the URL', async () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://user:secret@127.0.0.1:6380/2']) {
      const store = openOnlineStore({ dataDir: dir, url });
      expect(store).toBeInstanceOf(RedisOnlineStore);
      await store.close(); // never used: no connection was made
    }
    expect(() => openOnlineStore({ dataDir: dir, url: 'memcached://user:secret@host' })).toThrow(ValidationError);
    expect(() => openOnlineStore({ dataDir: dir, url: 'memcached://user:secret@host' })).not.toThrow(/secret/);
  });
});
