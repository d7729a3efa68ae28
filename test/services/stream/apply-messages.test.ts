import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { InlineMessageApplier, type MessageApplier } from '../../../src/services/stream/apply-messages.ts';
import { ThreadMessageApplier } from '../../../src/services/stream/apply-thread.ts';
import { openOnlineStore, type OnlineStore } from '../../../src/stores/online/index.ts';

// The apply consumer's check-and-write step, on the serving thread and on the apply thread: the
// same outcome, and rows the thread writes through its own connection are read by the server's.

const schema: GroupSchema = {
  features: [
    { name: 'id', type: 'BIGINT', description: '' },
    { name: 'ts', type: 'TIMESTAMP', description: '' },
    { name: 'x', type: 'DOUBLE', description: '' },
  ],
  primaryKey: ['id'],
  eventTime: 'ts',
};
const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

let dir: string;
let online: OnlineStore;
const appliers: [string, MessageApplier][] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'granary-apply-'));
  online = openOnlineStore({ dataDir: dir });
  appliers.push(['the serving thread', new InlineMessageApplier(online)], ['the apply thread', new ThreadMessageApplier({ dataDir: dir })]);
});
afterAll(async () => {
  for (const [, a] of appliers) await a.close();
  await online.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each([0, 1])('applying log messages', (which) => {
  it(`on ${which === 0 ? 'the serving thread' : 'the apply thread'}: refuses bad messages whole with why, writes the rest online, newest event winning`, async () => {
    const [, applier] = appliers[which]!;
    const table = { id: `group-${which}`, schema };
    const outcome = await applier.apply(table, true, [
      body([
        { id: 1, ts: '2026-01-01T00:05:00Z', x: 1.5 },
        { id: 2, ts: '2026-01-01T00:05:00Z', x: 2.5 },
      ]),
      body('{not json'),
      body({ id: 1, ts: '2026-01-01T00:01:00Z', x: 99 }),
      body([
        { id: 3, ts: '2026-01-01T00:00:00Z', x: 3 },
        { id: 4, ts: 'yesterday', x: 4 },
      ]),
      body({ id: 2, ts: '2026-01-01T00:09:00Z', x: 7 }),
    ]);
    expect(outcome.rows).toBe(4);
    expect(outcome.newestEventTime).toBe(Date.UTC(2026, 0, 1, 0, 9) * 1000);
    expect(outcome.refused.map((r) => r.index)).toEqual([1, 3]);
    expect(outcome.refused[0]!.reason).toMatch(/not JSON/);
    expect(outcome.refused[1]!.reason).toMatch(/row 2, column "ts"/);
    // Read through the server's own store: the thread's writes are visible to it.
    const read = await online.read(table, [[1], [2], [3], [4]]);
    expect(read.map((r) => r?.x ?? null)).toEqual([1.5, 7, null, null]);
    const nothing = await applier.apply({ id: `group-${which}-off`, schema }, false, [body({ id: 5, ts: '2026-01-01T00:00:00Z', x: 5 })]);
    expect(nothing.rows).toBe(1);
    expect(await online.read({ id: `group-${which}-off`, schema }, [[5]])).toEqual([null]);
  });
});
