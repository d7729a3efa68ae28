import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FeatureDef, GroupSchema } from '../../../src/domain/feature-types.ts';
import type { OnlineRow, OnlineStore, OnlineTable } from '../../../src/stores/online/online-store.ts';

const feature = (name: string, type: string): FeatureDef => ({ name, type, description: '' });

/** A uuid v7-shaped commit id that sorts by `n`, as real commit ids sort by time. */
export const commitId = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

const T0 = Date.UTC(2026, 0, 1) * 1000;
/** Epoch microseconds, `minutes` after 2026-01-01. */
const micros = (minutes: number) => T0 + minutes * 60_000_000;
const iso = (us: number) => new Date(us / 1000).toISOString().replace('Z', '000Z');

/** Group: id BIGINT key, ts TIMESTAMP event time, x DOUBLE, s STRING. */
const BASIC: GroupSchema = {
  features: [feature('id', 'BIGINT'), feature('ts', 'TIMESTAMP'), feature('x', 'DOUBLE'), feature('s', 'STRING')],
  primaryKey: ['id'],
  eventTime: 'ts',
};
const basicRow = (id: number, minutes: number, x: number): OnlineRow => ({
  key: [id],
  eventTime: micros(minutes),
  values: { id, ts: iso(micros(minutes)), x, s: `x=${x}` },
});
const basicValues = (row: OnlineRow) => row.values;

/** Group without event time: id BIGINT key, x INT. */
const NO_EVENT_TIME: GroupSchema = {
  features: [feature('id', 'BIGINT'), feature('x', 'INT')],
  primaryKey: ['id'],
  eventTime: null,
};
const plainRow = (id: number, x: number): OnlineRow => ({ key: [id], eventTime: null, values: { id, x } });

/**
 * The OnlineStore contract: every backend runs it. `open` gives a store; each test works in its own
 * tables (unique ids), which are dropped and the store closed at the end.
 */
export function onlineStoreContract(name: string, open: () => OnlineStore | Promise<OnlineStore>): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let store: OnlineStore;
    const created: OnlineTable[] = [];
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    let seq = 0;

    /** A fresh table of `schema`, ensured, dropped after the suite. */
    async function table(label: string, schema: GroupSchema, ensure = true): Promise<OnlineTable> {
      const t: OnlineTable = { id: `contract_${run}/${label}_${++seq}`, schema };
      created.push(t);
      if (ensure) await store.ensure(t);
      return t;
    }

    beforeAll(async () => {
      store = await open();
    });

    afterAll(async () => {
      if (!store) return;
      for (const t of created) await store.drop(t);
      await store.close();
    });

    it('answers a ping while open and refuses one once closed (readiness)', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      const other = await open();
      await other.close();
      await expect(other.ping()).rejects.toThrow();
    });

    it('reads missing keys as null, in key order', async () => {
      const t = await table('missing', BASIC);
      const one = basicRow(1, 10, 1.5);
      const three = basicRow(3, 10, 3.5);
      await store.write(t, [one, three], commitId(1));
      expect(await store.read(t, [[3], [2], [1], [4], [3]])).toStrictEqual([basicValues(three), null, basicValues(one), null, basicValues(three)]);
      expect(await store.read(t, [])).toStrictEqual([]);
      await store.write(t, [], commitId(2));
      expect(await store.read(t, [[1]])).toStrictEqual([basicValues(one)]);
    });

    it('reads a table that was never written as all null', async () => {
      const ensured = await table('never_written', BASIC);
      expect(await store.read(ensured, [[1], [2]])).toStrictEqual([null, null]);
      const unknown = await table('never_ensured', BASIC, false);
      expect(await store.read(unknown, [[1]])).toStrictEqual([null]);
    });

    it('ensure is idempotent and a write needs no prior ensure', async () => {
      const t = await table('idempotent', BASIC);
      await store.ensure(t);
      await store.ensure({ id: t.id, schema: { ...BASIC, features: [...BASIC.features] } });
      await store.write(t, [basicRow(1, 1, 1)], commitId(1));
      const lazy = await table('lazy', BASIC, false);
      await store.write(lazy, [basicRow(1, 1, 2)], commitId(1));
      expect((await store.read(lazy, [[1]]))[0]?.x).toBe(2);
    });

    it('keys rows by composite keys of STRING, BIGINT, DATE and BOOLEAN', async () => {
      const t = await table('composite', {
        features: [feature('s', 'STRING'), feature('n', 'BIGINT'), feature('d', 'DATE'), feature('b', 'BOOLEAN'), feature('v', 'INT')],
        primaryKey: ['s', 'n', 'd', 'b'],
        eventTime: null,
      });
      const keys: unknown[][] = [
        ['a', 1, '2026-01-01', true],
        ['a', 1, '2026-01-01', false],
        ['a', 2, '2026-01-01', true],
        ['b', 1, '2026-01-01', true],
        ['a', 1, '2026-01-02', true],
        ['a', '9007199254740993', '2026-01-01', true],
        ['a|b:"c"*?[x]\\', -1, '1970-01-01', false],
        ['', 0, '2026-12-31', false],
        ['ünï☃', 1, '2026-01-01', true],
      ];
      const rows = keys.map(
        (key, v): OnlineRow => ({
          key,
          eventTime: null,
          values: { s: key[0], n: key[1], d: key[2], b: key[3], v },
        }),
      );
      await store.write(t, rows, commitId(1));
      const missing = [
        ['a', 1, '2026-01-03', true],
        ['a', 3, '2026-01-01', true],
        ['c', 1, '2026-01-01', false],
      ];
      const got = await store.read(t, [...[...keys].reverse(), ...missing]);
      expect(got).toStrictEqual([...[...rows].reverse().map((r) => r.values), null, null, null]);
      expect(typeof got[keys.length - 2]?.b).toBe('boolean');
    });

    it('round-trips every feature type with JSON-safe values as written', async () => {
      const types: [string, string][] = [
        ['id', 'BIGINT'],
        ['et', 'TIMESTAMP'],
        ['big', 'BIGINT'],
        ['big_str', 'BIGINT'],
        ['i', 'INT'],
        ['d', 'DOUBLE'],
        ['d_int', 'DOUBLE'],
        ['fl', 'FLOAT'],
        ['s', 'STRING'],
        ['s_empty', 'STRING'],
        ['s_num', 'STRING'],
        ['s_json', 'STRING'],
        ['b_true', 'BOOLEAN'],
        ['b_false', 'BOOLEAN'],
        ['ts', 'TIMESTAMP'],
        ['dt', 'DATE'],
        ['dec', 'DECIMAL(12,2)'],
        ['bin', 'BINARY'],
        ['arr', 'ARRAY<DOUBLE>'],
        ['arr_empty', 'ARRAY<DOUBLE>'],
        ['arr_null', 'ARRAY<STRING>'],
        ['arr_bool', 'ARRAY<BOOLEAN>'],
        ['arr_nested', 'ARRAY<ARRAY<INT>>'],
      ];
      const schema: GroupSchema = { features: types.map(([n, ty]) => feature(n, ty)), primaryKey: ['id'], eventTime: 'et' };
      const t = await table('types', schema);
      const full = {
        id: 1,
        et: iso(micros(5)),
        big: Number.MAX_SAFE_INTEGER,
        big_str: '9223372036854775807',
        i: -2147483648,
        d: 0.1,
        d_int: 3,
        fl: 1.5,
        s: 'héllo ☃ "quoted" \\ \n\t|:',
        s_empty: '',
        s_num: '42',
        s_json: '[1,2]',
        b_true: true,
        b_false: false,
        ts: '2026-01-31T12:00:00.123456Z',
        dt: '2026-01-31',
        dec: '-1234567890.12',
        bin: 'AAEC/w==',
        arr: [1.5, -2, 0, 1e-10, 1e300],
        arr_empty: [],
        arr_null: ['a', null, 'b'],
        arr_bool: [true, false],
        arr_nested: [[1, 2], [], [3]],
      };
      const nulls = Object.fromEntries(types.map(([n]) => [n, null]));
      const empty = { ...nulls, id: 2, et: iso(micros(5)) };
      await store.write(
        t,
        [
          { key: [1], eventTime: micros(5), values: full },
          { key: [2], eventTime: micros(5), values: empty },
        ],
        commitId(1),
      );
      const [a, b] = await store.read(t, [[1], [2]]);
      expect(a).toStrictEqual(full);
      expect(b).toStrictEqual(empty);
      expect(typeof a?.big_str).toBe('string');
      expect(typeof a?.s_num).toBe('string');
      expect(typeof a?.d_int).toBe('number');
      expect(a?.b_false).toBe(false);
      expect(Array.isArray(a?.arr_empty)).toBe(true);
      // A row missing features (undefined) reads them as null.
      await store.write(t, [{ key: [3], eventTime: micros(5), values: { id: 3, et: iso(micros(5)) } }], commitId(2));
      expect((await store.read(t, [[3]]))[0]).toStrictEqual({ ...nulls, id: 3, et: iso(micros(5)) });
    });

    it('keeps a FLOAT as the float a written number rounds to, read as its shortest decimal', async () => {
      const schema: GroupSchema = { features: [feature('id', 'BIGINT'), feature('fl', 'FLOAT')], primaryKey: ['id'], eventTime: null };
      const t = await table('floats', schema);
      const written = [0.1, Math.fround(0.1), 0.123456789, 1.5, -5e-60, 3.4e38, 16777217, null];
      await store.writeColumns(t, { rowCount: written.length, columns: [written.map((_, i) => i), written], eventTimes: written.map(() => null) }, commitId(1));
      const read = await store.read(
        t,
        written.map((_, i) => [i]),
      );
      expect(read.map((r) => r?.fl)).toStrictEqual([0.1, 0.1, 0.12345679, 1.5, 0, 3.4e38, 16777216, null]);
    });

    it('keeps the newest event: out-of-order batches and replays of old batches never overwrite it', async () => {
      const t = await table('newest', BASIC);
      const a = [basicRow(1, 200, 1), basicRow(2, 100, 1)];
      const b = [basicRow(1, 100, 2), basicRow(2, 300, 2)];
      const c = [basicRow(1, 400, 3)];
      await store.write(t, a, commitId(1));
      await store.write(t, b, commitId(2));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([a[0]!.values, b[1]!.values]);
      await store.write(t, c, commitId(3));
      await store.write(t, b, commitId(2));
      await store.write(t, a, commitId(1));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([c[0]!.values, b[1]!.values]);
      // Within one batch, rows of different keys in any time order.
      const mixed = [basicRow(3, 900, 9), basicRow(4, 5, 9), basicRow(5, 500, 9)];
      await store.write(t, mixed, commitId(4));
      await store.write(t, [basicRow(3, 800, 8), basicRow(4, 6, 8), basicRow(5, 400, 8)], commitId(5));
      expect(await store.read(t, [[3], [4], [5]])).toStrictEqual([mixed[0]!.values, basicRow(4, 6, 8).values, mixed[2]!.values]);
    });

    it('on equal event time the later commit wins and an earlier commit loses', async () => {
      const t = await table('tie', BASIC);
      await store.write(t, [basicRow(1, 100, 5)], commitId(5));
      await store.write(t, [basicRow(1, 100, 7)], commitId(7));
      expect((await store.read(t, [[1]]))[0]?.x).toBe(7);
      await store.write(t, [basicRow(1, 100, 6)], commitId(6));
      expect((await store.read(t, [[1]]))[0]?.x).toBe(7);
      // Commit ids compare as text, and uuid v7 text sorts by time across a hex digit change.
      await store.write(t, [basicRow(1, 100, 10)], commitId(10));
      expect((await store.read(t, [[1]]))[0]?.x).toBe(10);
    });

    it('without event time the last commit wins and an older commit replayed loses', async () => {
      const t = await table('no_event_time', NO_EVENT_TIME);
      await store.write(t, [plainRow(1, 2), plainRow(2, 2)], commitId(2));
      await store.write(t, [plainRow(1, 3)], commitId(3));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([
        { id: 1, x: 3 },
        { id: 2, x: 2 },
      ]);
      await store.write(t, [plainRow(1, 1), plainRow(2, 1)], commitId(1));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([
        { id: 1, x: 3 },
        { id: 2, x: 2 },
      ]);
      await store.write(t, [plainRow(2, 4)], commitId(4));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([
        { id: 1, x: 3 },
        { id: 2, x: 4 },
      ]);
    });

    it('a row without event time never replaces one with it, and one with it replaces one without', async () => {
      const t = await table('null_event_time', BASIC);
      const noTime = (id: number, x: number): OnlineRow => ({ key: [id], eventTime: null, values: { id, ts: null, x, s: null } });
      await store.write(t, [basicRow(1, 1, 1), noTime(2, 1)], commitId(1));
      await store.write(t, [noTime(1, 2), basicRow(2, 1, 2)], commitId(2));
      expect(await store.read(t, [[1], [2]])).toStrictEqual([basicRow(1, 1, 1).values, basicRow(2, 1, 2).values]);
    });

    it('within one batch the newer event wins, and on a tie the later row', async () => {
      const t = await table('duplicates', BASIC);
      await store.write(
        t,
        [basicRow(1, 200, 1), basicRow(1, 100, 2), basicRow(2, 100, 1), basicRow(2, 200, 2), basicRow(3, 100, 1), basicRow(3, 100, 2)],
        commitId(1),
      );
      expect((await store.read(t, [[1], [2], [3]])).map((r) => r?.x)).toStrictEqual([1, 2, 2]);
      // The same across multi-row statement and script boundaries: 10 keys, 25 versions each.
      const rows: OnlineRow[] = [];
      for (let v = 0; v < 25; v++) for (let id = 10; id < 20; id++) rows.push(basicRow(id, (v * 7) % 11, v));
      await store.write(t, rows, commitId(2));
      const expected = new Map<number, OnlineRow>();
      for (const r of rows) {
        const prev = expected.get(r.key[0] as number);
        if (!prev || r.eventTime! >= prev.eventTime!) expected.set(r.key[0] as number, r);
      }
      const ids = [...expected.keys()];
      expect(
        await store.read(
          t,
          ids.map((id) => [id]),
        ),
      ).toStrictEqual(ids.map((id) => expected.get(id)!.values));
    });

    it('writeColumns stores what write stores: composite keys, every key of a batch, duplicates newest-event-wins', async () => {
      const schema: GroupSchema = {
        features: [
          feature('region', 'STRING'),
          feature('ts', 'TIMESTAMP'),
          feature('x', 'DOUBLE'),
          feature('id', 'BIGINT'),
          feature('ok', 'BOOLEAN'),
          feature('tags', 'ARRAY<STRING>'),
        ],
        primaryKey: ['id', 'region'],
        eventTime: 'ts',
      };
      const byRows = await table('columns_rows', schema);
      const byColumns = await table('columns_cols', schema);
      const rows: OnlineRow[] = [];
      // 3 versions of 40 keys across multi-row statements, newest first, oldest last, ties on the middle one.
      for (const [v, minutes] of [
        [0, 30],
        [1, 20],
        [2, 20],
        [3, 10],
      ] as const) {
        for (let id = 0; id < 40; id++) {
          const region = id % 2 === 0 ? 'eu' : 'us';
          rows.push({
            key: [id, region],
            eventTime: micros(minutes),
            values: { region, ts: iso(micros(minutes)), x: v * 100 + id, id, ok: (id + v) % 2 === 0, tags: id % 5 === 0 ? null : [`v${v}`] },
          });
        }
      }
      await store.write(byRows, rows, commitId(1));
      const columns = schema.features.map((f) =>
        rows.map((r) => (schema.primaryKey.includes(f.name) ? r.key[schema.primaryKey.indexOf(f.name)] : r.values[f.name])),
      );
      await store.writeColumns(byColumns, { rowCount: rows.length, columns, eventTimes: rows.map((r) => r.eventTime) }, commitId(1));
      const keys = Array.from({ length: 41 }, (_, id) => [id, id % 2 === 0 ? 'eu' : 'us']);
      const expected = await store.read(byRows, keys);
      expect(expected.filter((r) => r !== null).map((r) => r!.x)).toStrictEqual(Array.from({ length: 40 }, (_, id) => id));
      expect(await store.read(byColumns, keys)).toStrictEqual(expected);
      // An older (later-event) write loses; an empty one changes nothing.
      await store.writeColumns(
        byColumns,
        { rowCount: 1, columns: [['eu'], [iso(micros(5))], [-1], [0], [true], [null]], eventTimes: [micros(5)] },
        commitId(2),
      );
      await store.writeColumns(byColumns, { rowCount: 0, columns: schema.features.map(() => []), eventTimes: [] }, commitId(3));
      expect(await store.read(byColumns, keys)).toStrictEqual(expected);
    });

    it('writeColumns with the schema of before an append stores the appended features as null', async () => {
      const t = await table('columns_widen', BASIC);
      const wider: OnlineTable = { id: t.id, schema: { ...BASIC, features: [...BASIC.features, feature('y', 'STRING')] } };
      await store.ensure(wider);
      await store.write(wider, [{ key: [1], eventTime: micros(1), values: { ...basicRow(1, 1, 1).values, y: 'old' } }], commitId(1));
      await store.writeColumns(t, { rowCount: 1, columns: [[1], [iso(micros(2))], [2], ['x=2']], eventTimes: [micros(2)] }, commitId(2));
      expect(await store.read(wider, [[1]])).toStrictEqual([{ ...basicRow(1, 2, 2).values, y: null }]);
    });

    it('ensure after features were appended keeps rows and reads the new feature as null', async () => {
      const v1 = await table('widen', BASIC);
      await store.write(v1, [basicRow(1, 1, 1), basicRow(2, 1, 2)], commitId(1));
      const wider: GroupSchema = { ...BASIC, features: [...BASIC.features, feature('y', 'STRING'), feature('z', 'ARRAY<DOUBLE>')] };
      const v2: OnlineTable = { id: v1.id, schema: wider };
      await store.ensure(v2);
      await store.ensure(v2);
      expect(await store.read(v2, [[1], [2]])).toStrictEqual([
        { ...basicRow(1, 1, 1).values, y: null, z: null },
        { ...basicRow(2, 1, 2).values, y: null, z: null },
      ]);
      const newer: OnlineRow = { key: [2], eventTime: micros(2), values: { ...basicRow(2, 2, 3).values, y: 'new', z: [1, 2] } };
      await store.write(v2, [newer], commitId(2));
      expect(await store.read(v2, [[1], [2]])).toStrictEqual([{ ...basicRow(1, 1, 1).values, y: null, z: null }, newer.values]);
    });

    it('drop removes every row of one table only', async () => {
      const stem = (await table('drop', BASIC)).id;
      // The dropped id carries glob characters; others share its prefix or would match it unescaped.
      const target: OnlineTable = { id: `${stem}*?[x]`, schema: BASIC };
      const others: OnlineTable[] = [stem, `${stem}:1`, `${stem}ABx`, `${stem}*?[x]:1`, `${stem}*?[x]_`, `${stem}*?[x]%3A1`].map((id) => ({
        id,
        schema: BASIC,
      }));
      created.push(target, ...others);
      const rows = [basicRow(1, 1, 1), basicRow(2, 1, 2)];
      for (const t of [target, ...others]) {
        await store.ensure(t);
        await store.write(t, rows, commitId(1));
      }
      await store.drop(target);
      expect(await store.read(target, [[1], [2]])).toStrictEqual([null, null]);
      for (const t of others) expect(await store.read(t, [[1], [2]])).toStrictEqual(rows.map(basicValues));
      await store.drop(target);
      await store.ensure(target);
      expect(await store.read(target, [[1]])).toStrictEqual([null]);
      await store.write(target, [basicRow(1, 0, 5)], commitId(0));
      expect((await store.read(target, [[1]]))[0]?.x).toBe(5);
      await store.drop({ id: `${stem}_never_created`, schema: BASIC });
    });

    it('keeps two tables with the same keys apart', async () => {
      const a = await table('iso_a', BASIC);
      const b = await table('iso_b', BASIC);
      await store.write(a, [basicRow(1, 1, 1), basicRow(2, 1, 1)], commitId(1));
      await store.write(b, [basicRow(1, 1, 2)], commitId(1));
      expect(await store.read(a, [[1], [2]])).toStrictEqual([basicRow(1, 1, 1).values, basicRow(2, 1, 1).values]);
      expect(await store.read(b, [[1], [2]])).toStrictEqual([basicRow(1, 1, 2).values, null]);
    });

    it('writes and reads back a 10 000-row batch', async () => {
      const features = [feature('id', 'BIGINT'), feature('ts', 'TIMESTAMP')];
      for (let i = 0; i < 8; i++) features.push(feature(`d${i}`, 'DOUBLE'));
      for (let i = 0; i < 4; i++) features.push(feature(`s${i}`, 'STRING'));
      features.push(feature('flag', 'BOOLEAN'), feature('tags', 'ARRAY<STRING>'));
      const t = await table('bulk', { features, primaryKey: ['id'], eventTime: 'ts' });
      const rows: OnlineRow[] = [];
      for (let id = 0; id < 10_000; id++) {
        const values: Record<string, unknown> = { id, ts: iso(micros(id)), flag: id % 3 === 0, tags: [`t${id % 7}`] };
        for (let i = 0; i < 8; i++) values[`d${i}`] = id * 0.5 + i;
        for (let i = 0; i < 4; i++) values[`s${i}`] = `row ${id} col ${i}`;
        rows.push({ key: [id], eventTime: micros(id), values });
      }
      await store.write(t, rows, commitId(1));
      const got = await store.read(
        t,
        rows.map((r) => r.key),
      );
      expect(got).toHaveLength(10_000);
      for (let i = 0; i < rows.length; i++) if (JSON.stringify(got[i]) !== JSON.stringify(rows[i]!.values)) expect(got[i]).toStrictEqual(rows[i]!.values);
      expect(await store.read(t, [[10_000]])).toStrictEqual([null]);
    });

    describe('after random interleaved writes equals the reference model (max by event time, commit id, order)', () => {
      const keyIds = [0, 1, 2, 3, 4, 5, 6, 7];
      const batches = (withEventTime: boolean) =>
        fc.array(
          fc.record({
            commit: fc.integer({ min: 1, max: 6 }),
            rows: fc.array(fc.record({ id: fc.constantFrom(...keyIds), minutes: withEventTime ? fc.integer({ min: 0, max: 4 }) : fc.constant(null) }), {
              maxLength: 70,
            }),
          }),
          { minLength: 1, maxLength: 6 },
        );

      for (const withEventTime of [true, false]) {
        it(withEventTime ? 'with event time' : 'without event time', async () => {
          await fc.assert(
            fc.asyncProperty(batches(withEventTime), async (writes) => {
              const t = await table(`model_${withEventTime ? 'et' : 'plain'}`, withEventTime ? BASIC : NO_EVENT_TIME);
              const model = new Map<number, { et: number | null; cid: string; values: Record<string, unknown> }>();
              let written = 0;
              for (const { commit, rows } of writes) {
                const cid = commitId(commit);
                const online = rows.map(({ id, minutes }): OnlineRow => {
                  written++;
                  return minutes === null ? plainRow(id, written) : basicRow(id, minutes, written);
                });
                await store.write(t, online, cid);
                for (const row of online) {
                  const id = row.key[0] as number;
                  const prev = model.get(id);
                  const newer = !prev || (row.eventTime ?? -1) > (prev.et ?? -1) || ((row.eventTime ?? -1) === (prev.et ?? -1) && cid >= prev.cid);
                  if (newer) model.set(id, { et: row.eventTime, cid, values: { ...row.values } });
                }
              }
              const got = await store.read(
                t,
                keyIds.map((id) => [id]),
              );
              expect(got).toStrictEqual(keyIds.map((id) => model.get(id)?.values ?? null));
              await store.drop(t);
            }),
            { numRuns: 40 },
          );
        });
      }
    });
  });
}
