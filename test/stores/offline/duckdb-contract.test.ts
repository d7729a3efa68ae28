import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';

import { duckdbType } from '../../../src/domain/feature-types.ts';
import { ident } from '../../../src/domain/sql.ts';
import { FileRoots } from '../../../src/stores/external/file-roots.ts';
import { FilesSource, type FileFormat } from '../../../src/stores/external/files.ts';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';
import { relationRows, type CommitRef } from '../../../src/stores/offline/offline-store.ts';
import { BASIC, groupRowsContract, offlineStoreContract, visible, type Row } from './offline-store.contract.ts';

const temp = () => mkdtemp(join(tmpdir(), 'granary-offline-contract-'));

// The store as the server runs it, staging on a worker thread, and staging on the caller's thread.
for (const stagingThread of [true, false]) {
  offlineStoreContract(stagingThread ? 'duckdb (staging thread)' : 'duckdb', async () => {
    const root = await temp();
    const store = new DuckDbOfflineStore(join(root, 'offline'), { threads: 2, memoryLimit: '512MB', stagingThread });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      await rm(root, { recursive: true, force: true });
    };
    return store;
  });
}

groupRowsContract('duckdb commits', async () => {
  const root = await temp();
  const store = new DuckDbOfflineStore(join(root, 'offline'), { threads: 2, memoryLimit: '512MB' });
  let groups = 0;
  return {
    store,
    async write(commits: Row[][]) {
      const location = { project: 'contract', name: `rows${++groups}`, version: 1 };
      const refs: CommitRef[] = [];
      for (const rows of commits) {
        const id = uuidv7();
        const staged = await store.stage(location, BASIC, id, { kind: 'rows', rows }, { operation: 'UPSERT', existing: refs });
        await staged.publish();
        refs.push({ id, files: staged.files, rowsUpdated: staged.rowsUpdated });
      }
      return store.rows(location, BASIC, refs);
    },
    async close() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

/**
 * An external group over a FILES data source: the source holds the visible rows (it has no
 * commits), in a CSV or Parquet file read in place, each column cast to its feature's type as
 * ExternalGroupService reads it.
 */
for (const format of ['CSV', 'PARQUET'] as const satisfies readonly FileFormat[]) {
  groupRowsContract(`external FILES source (${format})`, async () => {
    const root = await temp();
    const store = new DuckDbOfflineStore(join(root, 'offline'), { threads: 2, memoryLimit: '512MB' });
    const base = join(root, 'files');
    const source = new FilesSource('contract', base, new FileRoots([root]));
    let files = 0;
    await mkdir(base, { recursive: true });
    return {
      store,
      async write(commits: Row[][]) {
        const rows = visible(commits);
        const name = `rows${++files}`;
        const csv = join(base, `${name}.csv`);
        const quote = (v: unknown) => (v === null ? '' : `"${String(v).replaceAll('"', '""')}"`);
        await writeFile(csv, [BASIC.features.map((f) => f.name).join(','), ...rows.map((r) => [r.id, r.ts, r.x, r.s].map(quote).join(','))].join('\n') + '\n');
        let path = `${name}.csv`;
        if (format === 'PARQUET') {
          path = `${name}.parquet`;
          const typed = BASIC.features.map((f) => `CAST(${ident(f.name)} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`).join(', ');
          await store.exportQuery(`SELECT ${typed} FROM read_csv('${csv}', header = true, all_varchar = true)`, { format: 'PARQUET', path: join(base, path) });
          await rm(csv);
        }
        const reader = await source.reader(path, format);
        const select = BASIC.features.map((f) => `CAST(${ident(f.name)} AS ${duckdbType(f.type)}) AS ${ident(f.name)}`).join(', ');
        return relationRows(`SELECT ${select} FROM ${reader}`);
      },
      async close() {
        await store.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  });
}
