import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FeatureDef, GroupSchema } from '../../../src/domain/feature-types.ts';
import type { CommitRef, GroupLocation, GroupRows, OfflineStore } from '../../../src/stores/offline/offline-store.ts';

const feature = (name: string, type: string): FeatureDef => ({ name, type, description: '' });

/** Group: id BIGINT key, ts TIMESTAMP event time, x DOUBLE, s STRING. */
export const BASIC: GroupSchema = {
  features: [feature('id', 'BIGINT'), feature('ts', 'TIMESTAMP'), feature('x', 'DOUBLE'), feature('s', 'STRING')],
  primaryKey: ['id'],
  eventTime: 'ts',
};

export type Row = { id: number; ts: string; x: number | null; s: string | null };
export const row = (id: number, minute: number, x: number, s: string | null = `x=${x}`): Row => ({
  id,
  ts: `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000000Z`,
  x,
  s,
});
const values = (r: Row) => [r.id, r.ts, r.x, r.s];
const byIdentity = (a: unknown[], b: unknown[]) => (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1]));

/** The visible rows of commits (oldest first): per identity (id, ts), the latest commit's row. */
export function visible(commits: readonly (readonly Row[])[]): Row[] {
  const rows = new Map<string, Row>();
  for (const commit of commits) for (const r of commit) rows.set(`${r.id}\u0000${r.ts}`, r);
  return [...rows.values()];
}

/** Reads a GroupRows relation (all of BASIC's features, or `columns`) through the store. */
async function readRows(store: OfflineStore, rows: GroupRows, columns?: string[]): Promise<unknown[][]> {
  const names = columns ?? BASIC.features.map((f) => f.name);
  const frame = await store.query(
    rows.sql({ columns, latest: true }),
    names.map((n) => ({ name: n, type: BASIC.features.find((f) => f.name === n)!.type })),
  );
  return frame.rows.map((r) => [...r]);
}

/**
 * Rules of a group's rows as any reader sees them (`GroupRows`), whatever holds them: an offline
 * backend's commits or an external source. `write` makes a group of BASIC whose rows are those
 * given commits' visible rows (an external source holds just those) and returns its rows.
 */
export function groupRowsContract(
  name: string,
  open: () => Promise<{ store: OfflineStore; write(commits: Row[][]): Promise<GroupRows>; close(): Promise<void> }>,
): void {
  describe(`GroupRows contract: ${name}`, () => {
    let subject: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject?.close();
    });

    it('gives one row per identity, the newest commit winning, composable as SQL', async () => {
      const commits = [[row(1, 0, 1), row(2, 0, 2), row(3, 0, 3)], [row(2, 0, 20), row(2, 5, 25)], [row(3, 0, 30, null)]];
      const rows = await subject.write(commits);
      expect((await readRows(subject.store, rows)).sort(byIdentity)).toEqual(visible(commits).map(values).sort(byIdentity));
      const counted = await subject.store.query(`SELECT count(*) AS n FROM (${rows.sql({ latest: true })})`, [{ name: 'n', type: 'BIGINT' }]);
      expect(counted.rows).toEqual([[4]]);
    });

    it('projects the columns asked for, in their order', async () => {
      const rows = await subject.write([[row(1, 0, 1.5), row(2, 1, 2.5)]]);
      expect((await readRows(subject.store, rows, ['x', 'id'])).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([
        [1.5, 1],
        [2.5, 2],
      ]);
    });

    it('gives no rows for a group without rows', async () => {
      const rows = await subject.write([[]]);
      expect(await readRows(subject.store, rows)).toEqual([]);
    });
  });
}

/**
 * The OfflineStore contract: every backend runs it. `open` gives a store over an empty folder;
 * each test writes its own group (unique names).
 */
export function offlineStoreContract(name: string, open: () => Promise<OfflineStore>): void {
  describe(`OfflineStore contract: ${name}`, () => {
    let store: OfflineStore;
    let groups = 0;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    const location = (): GroupLocation => ({ project: 'contract', name: `g${++groups}`, version: 1 });

    /** Commits `commits` in order through stage and publish; returns their refs with `rowsUpdated`. */
    async function commit(at: GroupLocation, commits: readonly Row[][]): Promise<CommitRef[]> {
      const refs: CommitRef[] = [];
      for (const rows of commits) {
        const id = uuidv7();
        const staged = await store.stage(at, BASIC, id, { kind: 'rows', rows }, { operation: 'UPSERT', existing: refs });
        await staged.publish();
        refs.push({ id, files: staged.files, rowsUpdated: staged.rowsUpdated });
      }
      return refs;
    }

    const frameRows = async (at: GroupLocation, refs: readonly CommitRef[], first?: number) =>
      (await store.read(at, BASIC, refs, first === undefined ? {} : { first })).rows.map((r) => [...r]);
    const plain = (refs: readonly CommitRef[]) => refs.map(({ id, files }) => ({ id, files }));

    it('reads per identity the row of the newest commit, in identity order; rows() agrees with and without rowsUpdated', async () => {
      const at = location();
      const commits = [[row(1, 0, 1), row(2, 0, 2)], [row(1, 0, 10), row(1, 3, 13)], [row(2, 0, 20)], [row(1, 0, 100)]];
      const refs = await commit(at, commits);
      const expected = visible(commits).map(values).sort(byIdentity);
      expect(await frameRows(at, refs)).toEqual(expected);
      expect((await readRows(store, store.rows(at, BASIC, refs))).sort(byIdentity)).toEqual(expected);
      expect(store.rows(at, BASIC, refs).superseded).toBe(false);
      const unstated = store.rows(at, BASIC, plain(refs));
      expect(unstated.superseded).toBe(true);
      expect((await readRows(store, unstated)).sort(byIdentity)).toEqual(expected);
    });

    it('counts rowsUpdated: identities that earlier commits hold', async () => {
      const at = location();
      const refs = await commit(at, [
        [row(1, 0, 1), row(2, 0, 2)],
        [row(1, 0, 10), row(3, 0, 3)],
      ]);
      expect(refs.map((r) => r.rowsUpdated)).toEqual([0, 1]);
    });

    it('sees as of a commit only the commits given (time travel); a commit left out is invisible', async () => {
      const at = location();
      const commits = [[row(1, 0, 1)], [row(1, 0, 2), row(2, 0, 2)], [row(1, 0, 3)]];
      const refs = await commit(at, commits);
      for (let n = 0; n <= refs.length; n++) {
        expect(await frameRows(at, refs.slice(0, n))).toEqual(visible(commits.slice(0, n)).map(values).sort(byIdentity));
      }
      // The middle commit left out (as an ONLINE-only commit, which keeps no offline rows, is).
      const without = [refs[0]!, refs[2]!];
      expect(await frameRows(at, without)).toEqual(visible([commits[0]!, commits[2]!]).map(values).sort(byIdentity));
      expect((await readRows(store, store.rows(at, BASIC, plain(without)))).sort(byIdentity)).toEqual(
        visible([commits[0]!, commits[2]!]).map(values).sort(byIdentity),
      );
    });

    it('limits read to the first rows in identity order', async () => {
      const at = location();
      const refs = await commit(at, [[row(3, 0, 3), row(1, 0, 1), row(2, 0, 2)]]);
      expect(await frameRows(at, refs, 2)).toEqual([values(row(1, 0, 1)), values(row(2, 0, 2))]);
      expect(await frameRows(at, refs, 0)).toEqual([]);
    });

    it('keeps a staged commit invisible until published, and discard leaves nothing behind', async () => {
      const at = location();
      const refs = await commit(at, [[row(1, 0, 1)]]);
      const id = uuidv7();
      const staged = await store.stage(at, BASIC, id, { kind: 'rows', rows: [row(1, 0, 2)] }, { operation: 'UPSERT', existing: refs });
      expect(await frameRows(at, refs)).toEqual([values(row(1, 0, 1))]);
      await staged.discard();
      const swept = await store.sweep(at, async () => refs, { live: async () => () => false, graceMs: 0 });
      expect(swept).toEqual([]);
      expect(await frameRows(at, refs)).toEqual([values(row(1, 0, 1))]);
    });

    it('orders a renumbered commit by its new id: it supersedes commits recorded before it', async () => {
      const at = location();
      const id = uuidv7();
      const staged = await store.stage(at, BASIC, id, { kind: 'rows', rows: [row(1, 0, 2)] }, { operation: 'UPSERT', existing: [] });
      const earlier = await commit(at, [[row(1, 0, 1)]]);
      await staged.renumber(uuidv7());
      await staged.recount(earlier);
      await staged.publish();
      expect(staged.rowsUpdated).toBe(1);
      const refs = [...earlier, { id: staged.commitId, files: staged.files, rowsUpdated: staged.rowsUpdated }];
      expect(await frameRows(at, refs)).toEqual([values(row(1, 0, 2))]);
      expect(await readRows(store, store.rows(at, BASIC, refs))).toEqual([values(row(1, 0, 2))]);
    });

    it('exports the rows read gives', async () => {
      const at = location();
      const refs = await commit(at, [[row(2, 0, 2), row(1, 0, 1)], [row(2, 0, 20)]]);
      const dir = await mkdtemp(join(tmpdir(), 'granary-export-'));
      try {
        const path = join(dir, 'rows.parquet');
        await store.exportTo(at, BASIC, refs, { format: 'PARQUET', path });
        const columns = BASIC.features.map((f) => ({ name: f.name, type: f.type }));
        const exported = await store.query(`SELECT * FROM read_parquet('${path}')`, columns);
        expect(exported.rows.map((r) => [...r])).toEqual(await frameRows(at, refs));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('projects rows() to the columns asked for, in their order', async () => {
      const at = location();
      const refs = await commit(at, [[row(1, 0, 1.5, 'a')], [row(1, 0, 2.5, 'b')]]);
      expect(await readRows(store, store.rows(at, BASIC, refs), ['s', 'id'])).toEqual([['b', 1]]);
    });
  });
}
