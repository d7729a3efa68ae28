import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { ValidationError } from '../../../src/errors.ts';
import { DuckDbOfflineStore } from '../../../src/stores/offline/duckdb/index.ts';
import type { GroupLocation, StagedCommit } from '../../../src/stores/offline/offline-store.ts';
import { SqliteOnlineStore } from '../../../src/stores/online/sqlite.ts';

// JSON rows are loaded column-wise and their online rows prepared from the input where the
// coercion is the identity: these tests hold that path to what the files give (the staged Parquet
// file read back for the online store, and the NDJSON upload path for the offline rows).

let root: string;
let store: DuckDbOfflineStore;
let groups = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'granary-json-rows-'));
  store = await DuckDbOfflineStore.open(join(root, 'offline'), { memoryLimit: '1GB' });
});

afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

const schema: GroupSchema = {
  primaryKey: ['id'],
  eventTime: 'ts',
  features: Object.entries({
    id: 'BIGINT',
    ts: 'TIMESTAMP',
    i: 'INT',
    d: 'DOUBLE',
    f: 'FLOAT',
    dec: 'DECIMAL(10,2)',
    s: 'STRING',
    b: 'BOOLEAN',
    day: 'DATE',
    tags: 'ARRAY<STRING>',
  }).map(([name, type]) => ({ name, type, description: '' })),
};

const newGroup = (): GroupLocation => ({ project: 'json', name: `g${++groups}`, version: 1 });

const isoTimestamp = fc
  .record({
    ms: fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
    micros: fc.integer({ min: 0, max: 999 }),
    form: fc.constantFrom('Z3', 'Z6', 'Z0', 'space', 'offset', 'epoch-s', 'epoch-ms'),
  })
  .map(({ ms, micros, form }) => {
    const iso = new Date(ms).toISOString();
    switch (form) {
      case 'Z3':
        return iso;
      case 'Z6':
        return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
      case 'Z0':
        return `${iso.slice(0, 19)}Z`;
      case 'space':
        return iso.slice(0, 19).replace('T', ' ');
      case 'offset':
        return `${iso.slice(0, 19)}+02:00`;
      case 'epoch-s':
        return Math.floor(ms / 1000);
      default:
        return ms;
    }
  });

const text = fc.oneof(fc.string(), fc.constantFrom('', 'a\u001fb', '\u001e', 'plain', 'ünïcødé ✓', 'line\nbreak', '"quoted"'));

const row = fc.record(
  {
    id: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }).map(String)),
    ts: isoTimestamp,
    i: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constant(null), fc.integer({ min: 0, max: 99 }).map(String)),
    d: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.constant('2.5'), fc.integer()),
    f: fc.oneof(
      { arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }), weight: 5 },
      { arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }).map(Number), weight: 3 },
      { arbitrary: fc.constant(null), weight: 1 },
      { arbitrary: fc.constant('0.25'), weight: 1 },
    ),
    dec: fc.oneof(
      fc.integer({ min: -99999, max: 99999 }).map((n) => (n / 100).toFixed(2)),
      fc.constant(1.005),
      fc.constant(null),
    ),
    s: fc.oneof(text, fc.integer(), fc.constant(true), fc.constant(null), fc.constant({ nested: [1, 'x'] })),
    b: fc.oneof(fc.boolean(), fc.constant(null), fc.constantFrom('true', 'false')),
    day: fc.oneof(
      fc.integer({ min: 0, max: 20000 }).map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)),
      fc.constant(null),
    ),
    tags: fc.oneof(fc.array(text, { maxLength: 3 }), fc.constant(null)),
  },
  { requiredKeys: ['id', 'ts'] },
);

/** Every key's online row after writing the staged commit's online columns to a fresh SQLite store. */
async function onlineRows(batches: AsyncIterable<import('../../../src/stores/online/online-store.ts').OnlineColumns>, commitId: string) {
  const online = new SqliteOnlineStore({ file: ':memory:' });
  try {
    const table = { id: 'g', schema };
    await online.ensure(table);
    for await (const batch of batches) await online.writeColumns(table, batch, commitId);
    const keys = Array.from({ length: 12 }, (_, k) => [k + 1]);
    return await online.read(table, keys);
  } finally {
    await online.close();
  }
}

describe('JSON rows', () => {
  it('give the online store the rows that reading the staged file gives, for every type and representation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 40 }), async (rows) => {
        const commitId = uuidv7();
        let prepared: StagedCommit | undefined;
        try {
          prepared = await store.stage(
            newGroup(),
            schema,
            commitId,
            { kind: 'rows', rows },
            { operation: 'UPSERT', existing: [], online: true, fillMissing: true },
          );
        } catch (error) {
          // A rejected insert is rejected the same way without the online preparation.
          expect(error).toBeInstanceOf(ValidationError);
          await expect(
            store.stage(newGroup(), schema, uuidv7(), { kind: 'rows', rows }, { operation: 'UPSERT', existing: [], fillMissing: true }),
          ).rejects.toThrow((error as Error).message);
          return;
        }
        const fromFile = await store.stage(newGroup(), schema, commitId, { kind: 'rows', rows }, { operation: 'UPSERT', existing: [], fillMissing: true });
        try {
          expect(await onlineRows(prepared.onlineColumns(7), commitId)).toEqual(await onlineRows(fromFile.onlineColumns(7), commitId));
        } finally {
          await prepared.discard();
          await fromFile.discard();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('store the values an NDJSON upload of the same rows stores', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), async (rows) => {
        const ndjson = join(root, `rows-${uuidv7()}.ndjson`);
        await import('node:fs/promises').then((fs) => fs.writeFile(ndjson, rows.map((r) => JSON.stringify(r)).join('\n')));
        const a = newGroup();
        const b = newGroup();
        const outcome = async (location: GroupLocation, source: Parameters<DuckDbOfflineStore['stage']>[3]) => {
          const id = uuidv7();
          try {
            const staged = await store.stage(location, schema, id, source, { operation: 'UPSERT', existing: [], fillMissing: true });
            await staged.publish();
            const frame = await store.read(location, schema, [{ id, files: staged.files }]);
            return { rows: frame.rows };
          } catch (error) {
            return { error: (error as ValidationError).issues?.map((i) => i.path.slice(1)) ?? String(error) };
          }
        };
        const fromRows = await outcome(a, { kind: 'rows', rows });
        const fromFile = await outcome(b, { kind: 'file', path: ndjson, format: 'NDJSON' });
        expect(fromRows).toEqual(fromFile);
      }),
      { numRuns: 40 },
    );
  });

  it('name the row and column of a rejected value, quoting it as given', async () => {
    const location = newGroup();
    const rows = [
      { id: 1, ts: '2026-01-01T00:00:00Z', i: 5 },
      { id: 2, ts: '2026-01-01T00:00:00Z', i: 3_000_000_000 },
      { id: 3, ts: '2026-01-01T00:00:00Z', i: 1.5, b: 'maybe' },
    ];
    const error = await store
      .stage(location, schema, uuidv7(), { kind: 'rows', rows }, { operation: 'UPSERT', existing: [], online: true, fillMissing: true })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.message)).toEqual([
      'row 2, column "i": "3000000000" is not a valid INT',
      'row 3, column "i": "1.5" is not a valid INT',
      'row 3, column "b": "maybe" is not a valid BOOLEAN',
    ]);
  });
});
