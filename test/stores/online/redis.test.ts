import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { RedisOnlineStore } from '../../../src/stores/online/redis.ts';
import { commitId, onlineStoreContract } from './online-store.contract.ts';

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `granary-test:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;

/** Without TEST_REDIS_URL a missing server skips these tests; with it (CI), they must run. */
async function reachable(): Promise<boolean> {
  if (process.env.TEST_REDIS_URL) return true;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const available = await reachable();

/** Removes whatever this run left under its prefix. */
async function cleanup(): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

if (available) {
  afterAll(cleanup);

  onlineStoreContract('redis', () => new RedisOnlineStore({ url, keyPrefix: `${prefix}a:` }));
  // Small script batches and MGETs, so writes and reads span many of them in one pipeline.
  onlineStoreContract('redis, batches of 7', () => new RedisOnlineStore({ url, keyPrefix: `${prefix}b:`, batchSize: 7 }));

  const schema: GroupSchema = {
    features: [
      { name: 'id', type: 'BIGINT', description: '' },
      { name: 'x', type: 'DOUBLE', description: '' },
    ],
    primaryKey: ['id'],
    eventTime: null,
  };

  describe('RedisOnlineStore', () => {
    it('stores one key per row under the prefix and table id', async () => {
      const keyPrefix = `${prefix}c:`;
      const store = new RedisOnlineStore({ url, keyPrefix });
      const table = { id: 'proj/group:1', schema };
      await store.write(table, [{ key: [7], eventTime: null, values: { id: 7, x: 1.5 } }], commitId(1));
      const redis = new Redis(url);
      expect(await redis.keys(`${keyPrefix}*`)).toStrictEqual([`${keyPrefix}proj/group%3A1:[7]`]);
      expect(await redis.get(`${keyPrefix}proj/group%3A1:[7]`)).toBe(`|${commitId(1)}|[7,1.5]`);
      await store.drop(table);
      expect(await redis.keys(`${keyPrefix}*`)).toStrictEqual([]);
      await redis.quit();
      await store.close();
    });

    it('reloads its script when Redis lost it', async () => {
      const store = new RedisOnlineStore({ url, keyPrefix: `${prefix}d:` });
      const table = { id: 'p/noscript_1', schema };
      await store.write(table, [{ key: [1], eventTime: null, values: { id: 1, x: 1 } }], commitId(1));
      const redis = new Redis(url);
      await redis.script('FLUSH');
      await redis.quit();
      await store.write(table, [{ key: [1], eventTime: null, values: { id: 1, x: 2 } }], commitId(2));
      await store.write(table, [{ key: [1], eventTime: null, values: { id: 1, x: 0 } }], commitId(0));
      expect(await store.read(table, [[1]])).toStrictEqual([{ id: 1, x: 2 }]);
      await store.drop(table);
      await store.close();
    });
  });
} else {
  describe.skip(`RedisOnlineStore (no Redis at ${url}; set TEST_REDIS_URL)`, () => {
    it('runs the contract', () => {});
  });
}
