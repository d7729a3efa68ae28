import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';

import { HashSet64 } from '../../../src/stores/offline/duckdb/identity-index.ts';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';
import type { CommitRef } from '../../../src/stores/offline/offline-store.ts';
import { BASIC, row, type Row } from './offline-store.contract.ts';

// rowsUpdated of an insert comes from the index of committed identities (small inserts) or from a
// scan of the commits' files (large ones, or an index that would be too large). Both must agree.

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function open(identityIndexRows: number) {
  const root = await mkdtemp(join(tmpdir(), 'granary-identity-index-'));
  roots.push(root);
  return new DuckDbOfflineStore(join(root, 'offline'), { threads: 2, memoryLimit: '512MB', identityIndexRows });
}

/** Commits `batches` one after another; returns each commit's rowsUpdated. */
async function commitAll(store: DuckDbOfflineStore, batches: Row[][], existing: CommitRef[] = []): Promise<number[]> {
  const location = { project: 'p', name: 'g', version: 1 };
  const updated: number[] = [];
  for (const rows of batches) {
    const id = uuidv7();
    const staged = await store.stage(location, BASIC, id, { kind: 'rows', rows }, { operation: 'UPSERT', existing });
    await staged.publish();
    existing.push({ id: staged.commitId, files: staged.files, rowsUpdated: staged.rowsUpdated });
    updated.push(staged.rowsUpdated);
  }
  return updated;
}

describe('identities superseded by an insert', () => {
  // 40 commits of 5 rows drawn from 30 identities (id, minute): many repeat earlier commits.
  const batches = Array.from({ length: 40 }, (_, c) => Array.from({ length: 5 }, (_, i) => row((c * 7 + i * 11) % 15, ((c + i) % 2) * 5, c)));
  const expected: number[] = [];
  const seen = new Set<string>();
  for (const rows of batches) {
    expected.push(rows.filter((r) => seen.has(`${r.id}/${r.ts}`)).length);
    for (const r of rows) seen.add(`${r.id}/${r.ts}`);
  }

  it('are counted the same through the index and by scanning every commit', async () => {
    const indexed = await open(1_000_000);
    const scanned = await open(0);
    try {
      expect(await commitAll(indexed, batches)).toEqual(expected);
      expect(await commitAll(scanned, batches)).toEqual(expected);
      expect(expected.some((n) => n > 0) && expected.some((n) => n === 0)).toBe(true);
    } finally {
      await indexed.close();
      await scanned.close();
    }
  });

  it('are counted against the commits given, also when one the index read is no longer among them', async () => {
    const store = await open(1_000_000);
    try {
      const existing: CommitRef[] = [];
      await commitAll(store, [[row(1, 0, 1), row(2, 0, 2)], [row(3, 0, 3)]], existing);
      // Without the first commit, only id 3 exists: the index starts over from the commits given.
      const [updated] = await commitAll(store, [[row(1, 0, 9), row(3, 0, 9)]], [existing[1]!]);
      expect(updated).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('HashSet64', () => {
  it('holds exactly the values added, through growth, including zero halves', () => {
    const set = new HashSet64();
    const values: [number, number][] = [];
    for (let i = 0; i < 5000; i++) values.push([(i * 2654435761) >>> 0, i % 3 === 0 ? 0 : (i * 40503) >>> 0]);
    for (const [hi, lo] of values) set.add(hi, lo);
    for (const [hi, lo] of values) set.add(hi, lo);
    expect(set.size).toBe(new Set(values.map(([hi, lo]) => `${hi}:${lo}`)).size);
    expect(values.every(([hi, lo]) => set.has(hi, lo))).toBe(true);
    expect(set.has(1, 1) === values.some(([hi, lo]) => hi === 1 && lo === 1)).toBe(true);
    expect(set.has(0, 7)).toBe(false);
  });
});
