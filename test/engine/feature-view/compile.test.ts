import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileViewSql, EVENT_TIME_COLUMN, keyColumn, type GroupSource } from '../../../src/engine/feature-view/compile.ts';
import { groupKey, normalizeViewQuery, viewColumns, type ViewQuery, type ViewQueryInput } from '../../../src/engine/feature-view/query.ts';
import { timestampMicros } from '../../../src/engine/feature-view/values.ts';
import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { ValidationError } from '../../../src/errors.ts';
import { DuckDbOfflineStore, readDataFrame } from '../../../src/stores/offline/duckdb/index.ts';
import { microsToIso } from '../../../src/domain/timestamps.ts';
import { relationRows, type CommitRef, type GroupLocation } from '../../../src/stores/offline/offline-store.ts';

let root: string;
let store: DuckDbOfflineStore;
let groups = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'granary-view-'));
  store = await DuckDbOfflineStore.open(join(root, 'offline'), { memoryLimit: '1GB', threads: 2 });
});

afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

const features = (spec: Record<string, string>) => Object.entries(spec).map(([name, type]) => ({ name, type, description: '' }));

type Row = Record<string, unknown>;

/** A group version with its commits, written through the real store. */
interface Built {
  readonly location: GroupLocation;
  readonly schema: GroupSchema;
  readonly commits: CommitRef[];
  /** The commits that superseded a row of an earlier one (`rowsUpdated` > 0). */
  readonly superseding: CommitRef[];
}

async function build(schema: GroupSchema, commits: readonly Row[][], name = 'g'): Promise<Built> {
  const location = { project: 'test', name: `${name}${++groups}`, version: 1 };
  const refs: CommitRef[] = [];
  const superseding: CommitRef[] = [];
  for (const rows of commits) {
    const id = uuidv7();
    const staged = await store.stage(location, schema, id, { kind: 'rows', rows }, { operation: 'UPSERT', existing: refs });
    await staged.publish();
    refs.push({ id, files: staged.files });
    if (staged.rowsUpdated > 0) superseding.push(refs.at(-1)!);
  }
  return { location, schema, commits: refs, superseding };
}

const resolved = (b: Built) => ({ group: { name: b.location.name, version: b.location.version }, schema: b.schema });

/**
 * What the caller tells of each group's commits: nothing (plain path lists), whether some commit
 * superseded rows (`superseded`), or which commits did (`supersedingPaths`, as the service does).
 */
type Hints = 'none' | 'superseded' | 'superseding' | 'relation';
/** `relation`: each group handed over as a relation of its visible rows, as external groups are. */
const HINTS: readonly Hints[] = ['none', 'superseded', 'superseding', 'relation'];

function filesOf(built: readonly Built[], hints: Hints): Map<string, GroupSource> {
  return new Map(
    built.map((b) => {
      const superseded = b.superseding.length > 0;
      // With `rowsUpdated` on every commit the store knows which commits superseded rows.
      const stated = b.commits.map((c) => ({ ...c, rowsUpdated: b.superseding.includes(c) ? 1 : 0 }));
      const files: GroupSource =
        hints === 'relation'
          ? relationRows(store.rows(b.location, b.schema, b.commits).sql({ latest: true }))
          : hints === 'none' || (hints === 'superseded' && superseded)
            ? store.rows(b.location, b.schema, b.commits)
            : store.rows(b.location, b.schema, stated);
      return [groupKey(resolved(b).group), files];
    }),
  );
}

async function run(query: ViewQuery, files: Map<string, GroupSource>, options: Parameters<typeof compileViewSql>[2] = {}) {
  const sql = compileViewSql(query, files, options);
  const columns = [
    ...viewColumns(query).map((c) => ({ name: c.name, type: c.type })),
    ...(options.includeEventTime ? [{ name: EVENT_TIME_COLUMN, type: 'TIMESTAMP' }] : []),
    ...(options.includeKeys
      ? query.left.schema.primaryKey.map((k) => ({ name: keyColumn(k), type: query.left.schema.features.find((f) => f.name === k)!.type }))
      : []),
  ];
  const connection = await store.connect();
  try {
    const frame = await readDataFrame(connection, sql, columns);
    return { sql, names: columns.map((c) => c.name), rows: frame.rows };
  } finally {
    connection.closeSync();
  }
}

const sorted = (rows: readonly (readonly unknown[])[]) => rows.map((r) => JSON.stringify(r)).sort();

// ---------------------------------------------------------------------------------------------
// Random scenarios against a brute-force reference

type EtKind = 'TIMESTAMP' | 'DATE' | 'BIGINT_S' | 'BIGINT_MS';
const BASE_MS = Date.UTC(2024, 0, 1);

/** The stored event-time value of (day, hour) for a kind, its UTC microseconds and its output form. */
function eventTime(kind: EtKind, day: number, hour: number): { raw: unknown; micros: number; out: unknown } {
  const ms = BASE_MS + day * 86_400_000 + (kind === 'DATE' ? 0 : hour * 3_600_000);
  switch (kind) {
    case 'TIMESTAMP':
      return { raw: new Date(ms).toISOString(), micros: ms * 1000, out: microsToIso(BigInt(ms) * 1000n) };
    case 'DATE': {
      const text = new Date(ms).toISOString().slice(0, 10);
      return { raw: text, micros: ms * 1000, out: text };
    }
    case 'BIGINT_S':
      return { raw: ms / 1000, micros: ms * 1000, out: ms / 1000 };
    case 'BIGINT_MS':
      return { raw: ms, micros: ms * 1000, out: ms };
  }
}
const etType = (kind: EtKind) => (kind === 'TIMESTAMP' ? 'TIMESTAMP' : kind === 'DATE' ? 'DATE' : 'BIGINT');

interface GenRow {
  readonly key: number;
  readonly day: number;
  readonly hour: number;
  readonly values: Row;
}

const day = fc.integer({ min: 0, max: 6 });
const hour = fc.constantFrom(0, 12);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });
const commitsOf = (row: fc.Arbitrary<GenRow>) => fc.array(fc.array(row, { maxLength: 10 }), { minLength: 1, maxLength: 3 });

const leftRow = fc.record({
  key: fc.integer({ min: 0, max: 5 }),
  day,
  hour,
  values: fc.record({
    store_id: maybe(fc.integer({ min: 0, max: 3 })),
    amount: maybe(fc.integer({ min: -20, max: 20 }).map((x) => x / 2)),
    category: maybe(fc.constantFrom('c1', 'c2', 'x1')),
    label: fc.boolean(),
  }),
});
const aRow = fc.record({
  key: fc.integer({ min: 0, max: 4 }),
  day,
  hour,
  values: fc.record({ tenure: maybe(fc.integer({ min: 0, max: 6 })), plan: maybe(fc.constantFrom('gold', 'free')) }),
});
const bRow = fc.record({
  key: fc.integer({ min: 0, max: 2 }),
  day: fc.constant(0),
  hour: fc.constant(0),
  values: fc.record({ region: maybe(fc.constantFrom('north', 'south')) }),
});
const cRow = fc.record({
  key: fc.integer({ min: 0, max: 4 }),
  day,
  hour,
  values: fc.record({ tenure: maybe(fc.integer({ min: 0, max: 6 })), spend: maybe(fc.integer({ min: 0, max: 20 })) }),
});

/** Filters on output features: [feature, op, value]. */
const FILTERS: readonly [string, string, unknown][] = [
  ['amount', 'GT', 0],
  ['amount', 'EQ', null],
  ['category', 'IN', ['c1', 'x1']],
  ['category', 'LIKE', 'c%'],
  ['label', 'EQ', true],
  ['customer_id', 'NE', 2],
  ['a_tenure', 'GE', 3],
  ['a_plan', 'EQ', null],
  ['a_plan', 'NE', 'gold'],
  ['region', 'IN', ['north']],
  ['c_spend', 'LT', 10],
  ['c_tenure', 'NE', null],
];

const scenario = fc.record({
  leftEt: fc.option(fc.constantFrom<EtKind>('TIMESTAMP', 'DATE', 'BIGINT_S', 'BIGINT_MS'), { nil: null, freq: 4 }),
  aEt: fc.option(fc.constantFrom<EtKind>('TIMESTAMP', 'DATE', 'BIGINT_S', 'BIGINT_MS'), { nil: null, freq: 6 }),
  cEt: fc.constantFrom<EtKind>('TIMESTAMP', 'DATE', 'BIGINT_S', 'BIGINT_MS'),
  left: commitsOf(leftRow),
  a: commitsOf(aRow),
  b: commitsOf(bRow),
  c: commitsOf(cRow),
  aType: fc.constantFrom('LEFT', 'INNER'),
  bType: fc.constantFrom('LEFT', 'INNER'),
  cType: fc.constantFrom('LEFT', 'INNER'),
  withB: fc.boolean(),
  withC: fc.boolean(),
  leftSelect: fc.constantFrom('all', 'some', 'except'),
  filters: fc.subarray([...FILTERS.keys()], { maxLength: 2 }),
  start: fc.option(day, { nil: null, freq: 2 }),
  end: fc.option(day, { nil: null, freq: 2 }),
  hints: fc.constantFrom(...HINTS),
  /** Each group in one commit: nothing superseded, so with hints the plain as-of join runs. */
  oneCommit: fc.boolean(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function likeMatches(text: string, pattern: string): boolean {
  const regex = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replaceAll('%', '.*')
    .replaceAll('_', '.');
  return new RegExp(`^${regex}$`, 's').test(text);
}

/** SQL semantics: null satisfies nothing but EQ null. */
function holds(value: unknown, op: string, target: unknown): boolean {
  if (target === null) return op === 'EQ' ? value === null : value !== null;
  if (value === null) return false;
  switch (op) {
    case 'EQ':
      return value === target;
    case 'NE':
      return value !== target;
    case 'LT':
      return (value as number) < (target as number);
    case 'LE':
      return (value as number) <= (target as number);
    case 'GT':
      return (value as number) > (target as number);
    case 'GE':
      return (value as number) >= (target as number);
    case 'IN':
      return (target as unknown[]).includes(value);
    case 'LIKE':
      return likeMatches(value as string, target as string);
  }
  throw new Error(op);
}

interface Visible {
  readonly key: number;
  readonly micros: number | null;
  readonly et: unknown;
  readonly values: Row;
}

/** The visible rows: per identity (key + stored event time), the last row of the latest commit. */
function visible(commits: readonly GenRow[][], kind: EtKind | null): Visible[] {
  const rows = new Map<string, Visible>();
  for (const commit of commits) {
    for (const r of commit) {
      const et = kind === null ? null : eventTime(kind, r.day, r.hour);
      rows.set(JSON.stringify([r.key, et?.raw ?? null]), { key: r.key, micros: et?.micros ?? null, et: et?.out ?? null, values: r.values });
    }
  }
  return [...rows.values()];
}

/** The as-of match: equal key, newest event time at or before `at` (any when null). */
function asOf(rows: readonly Visible[], key: unknown, at: number | null): Visible | null {
  let best: Visible | null = null;
  for (const r of rows) {
    if (key === null || r.key !== key) continue;
    if (r.micros !== null && at !== null && r.micros > at) continue;
    if (best === null || (r.micros ?? 0) > (best.micros ?? 0)) best = r;
  }
  return best;
}

describe('compileViewSql against a brute-force reference', () => {
  it('matches on random groups, commits, joins, filters and time windows', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (generated: Scenario) => {
        const flat = (commits: GenRow[][]) => (generated.oneCommit ? [commits.flat()] : commits);
        const s = { ...generated, left: flat(generated.left), a: flat(generated.a), b: flat(generated.b), c: flat(generated.c) };
        const leftSchema: GroupSchema = {
          primaryKey: ['customer_id'],
          eventTime: s.leftEt === null ? null : 'event_time',
          features: features({
            customer_id: 'BIGINT',
            ...(s.leftEt === null ? {} : { event_time: etType(s.leftEt) }),
            store_id: 'INT',
            amount: 'DOUBLE',
            category: 'STRING',
            label: 'BOOLEAN',
          }),
        };
        const aSchema: GroupSchema = {
          primaryKey: ['customer_id'],
          eventTime: s.aEt === null ? null : 'updated_at',
          features: features({ customer_id: 'BIGINT', ...(s.aEt === null ? {} : { updated_at: etType(s.aEt) }), tenure: 'BIGINT', plan: 'STRING' }),
        };
        const bSchema: GroupSchema = { primaryKey: ['store_id'], eventTime: null, features: features({ store_id: 'BIGINT', region: 'STRING' }) };
        const cSchema: GroupSchema = {
          primaryKey: ['cust'],
          eventTime: 'as_of',
          features: features({ cust: 'BIGINT', as_of: etType(s.cEt), tenure: 'BIGINT', spend: 'DOUBLE' }),
        };
        const rowsOf = (commits: readonly GenRow[][], keyName: string, etName: string | null, kind: EtKind | null) =>
          commits.map((commit) =>
            commit.map((r) => ({ [keyName]: r.key, ...(etName && kind ? { [etName]: eventTime(kind, r.day, r.hour).raw } : {}), ...r.values })),
          );
        const left = await build(leftSchema, rowsOf(s.left, 'customer_id', 'event_time', s.leftEt), 'labels');
        const a = await build(aSchema, rowsOf(s.a, 'customer_id', 'updated_at', s.aEt), 'profile');
        const b = await build(bSchema, rowsOf(s.b, 'store_id', null, null), 'stores');
        const c = await build(cSchema, rowsOf(s.c, 'cust', 'as_of', s.cEt), 'spend');

        const leftFeatures =
          s.leftSelect === 'all'
            ? leftSchema.features.map((f) => f.name)
            : s.leftSelect === 'some'
              ? ['label', 'amount', 'customer_id']
              : leftSchema.features.map((f) => f.name).filter((n) => n !== 'category');
        const joins = [
          { featureGroup: { name: a.location.name }, features: ['tenure', 'plan', ...(s.aEt ? ['updated_at'] : [])], prefix: 'a_', type: s.aType },
          ...(s.withB ? [{ featureGroup: { name: b.location.name, version: 1 }, type: s.bType }] : []),
          ...(s.withC
            ? [
                {
                  featureGroup: { name: c.location.name },
                  leftOn: ['customer_id'],
                  rightOn: ['cust'],
                  features: ['tenure', 'spend', 'as_of'],
                  prefix: 'c_',
                  type: s.cType,
                },
              ]
            : []),
        ];
        const outputs = new Set([...leftFeatures, 'a_tenure', 'a_plan', ...(s.withB ? ['region'] : []), ...(s.withC ? ['c_tenure', 'c_spend'] : [])]);
        const filters = s.filters.map((i) => FILTERS[i]!).filter(([feature]) => outputs.has(feature));
        const input: ViewQueryInput = {
          featureGroup: { name: left.location.name, version: 1 },
          ...(s.leftSelect === 'some' ? { features: leftFeatures } : s.leftSelect === 'except' ? { exceptFeatures: ['category'] } : {}),
          joins,
          filters: filters.map(([feature, op, value]) => ({ feature, op, value })),
        };
        const query = normalizeViewQuery(input, [left, a, b, c].map(resolved));
        const timed = s.leftEt !== null;
        const startMicros = timed && s.start !== null ? BASE_MS * 1000 + s.start * 86_400_000_000 + 43_200_000_000 : null; // noon of the day
        const endMicros = timed && s.end !== null ? BASE_MS * 1000 + s.end * 86_400_000_000 + 43_200_000_000 : null;
        const options = {
          includeEventTime: true,
          includeKeys: true,
          ...(startMicros !== null ? { startTime: microsToIso(BigInt(startMicros)) } : {}),
          ...(endMicros !== null ? { endTime: new Date(endMicros / 1000) } : {}),
        };
        const actual = await run(query, filesOf([left, a, b, c], s.hints), options);

        // Reference.
        const columns = viewColumns(query).map((col) => col.name);
        expect(actual.names).toEqual([...columns, EVENT_TIME_COLUMN, keyColumn('customer_id')]);
        const vLeft = visible(s.left, s.leftEt);
        const vA = visible(s.a, s.aEt);
        const vB = visible(s.b, null);
        const vC = visible(s.c, s.cEt);
        const leftFilters = filters.filter(([f]) => leftFeatures.includes(f));
        const joinedFilters = filters.filter(([f]) => !leftFeatures.includes(f));
        const expected: unknown[][] = [];
        for (const l of vLeft) {
          if (startMicros !== null && l.micros! < startMicros) continue;
          if (endMicros !== null && l.micros! >= endMicros) continue;
          const out: Row = { customer_id: l.key, ...(l.et !== null ? { event_time: l.et } : {}), ...l.values };
          if (!leftFilters.every(([f, op, v]) => holds(out[f], op, v))) continue;
          const ma = asOf(vA, l.key, l.micros);
          if (!ma && s.aType === 'INNER') continue;
          Object.assign(out, { a_tenure: ma?.values.tenure ?? null, a_plan: ma?.values.plan ?? null, a_updated_at: ma?.et ?? null });
          if (s.withB) {
            const mb = asOf(vB, l.values.store_id, null);
            if (!mb && s.bType === 'INNER') continue;
            out.region = mb?.values.region ?? null;
          }
          if (s.withC) {
            const mc = asOf(vC, l.key, l.micros);
            if (!mc && s.cType === 'INNER') continue;
            Object.assign(out, { c_tenure: mc?.values.tenure ?? null, c_spend: mc?.values.spend ?? null, c_as_of: mc?.et ?? null });
          }
          if (!joinedFilters.every(([f, op, v]) => holds(out[f], op, v))) continue;
          expected.push([...columns.map((col) => out[col] ?? null), l.micros === null ? null : microsToIso(BigInt(l.micros)), l.key]);
        }
        expect(sorted(actual.rows)).toEqual(sorted(expected));

        // No joined value comes from after its left row's event time.
        const at = actual.names.indexOf(EVENT_TIME_COLUMN);
        for (const name of ['a_updated_at', 'c_as_of']) {
          const i = actual.names.indexOf(name);
          if (i < 0 || !timed) continue;
          for (const row of actual.rows) {
            if (row[i] === null) continue;
            expect(timestampMicros(row[i])! <= timestampMicros(row[at])!).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Examples

const ts = (text: string) => `2024-01-${text}Z`;

describe('compileViewSql examples', () => {
  const labelsSchema: GroupSchema = {
    primaryKey: ['customer_id'],
    eventTime: 'event_time',
    features: features({ customer_id: 'BIGINT', event_time: 'TIMESTAMP', label: 'BOOLEAN' }),
  };

  it('joins as of: an equal event time matches, one microsecond later does not', async () => {
    const labels = await build(labelsSchema, [[{ customer_id: 1, event_time: ts('02T00:00:00'), label: true }]]);
    const profile = await build(
      { primaryKey: ['customer_id'], eventTime: 'updated_at', features: features({ customer_id: 'BIGINT', updated_at: 'TIMESTAMP', tenure: 'BIGINT' }) },
      [
        [
          { customer_id: 1, updated_at: ts('01T00:00:00'), tenure: 1 },
          { customer_id: 1, updated_at: ts('02T00:00:00'), tenure: 2 },
          { customer_id: 1, updated_at: ts('02T00:00:00.000001'), tenure: 3 },
        ],
      ],
    );
    const query = normalizeViewQuery(
      { featureGroup: { name: labels.location.name }, joins: [{ featureGroup: { name: profile.location.name } }] },
      [labels, profile].map(resolved),
    );
    const { rows, names } = await run(query, filesOf([labels, profile], 'superseding'));
    expect(names).toEqual(['customer_id', 'event_time', 'label', 'tenure']);
    expect(rows).toEqual([[1, '2024-01-02T00:00:00.000000Z', true, 2]]);
  });

  it('reads files written before a feature was appended (null there), and supersedes across commits', async () => {
    const location = { project: 'test', name: `appended${++groups}`, version: 1 };
    const v1: GroupSchema = {
      primaryKey: ['customer_id'],
      eventTime: 'updated_at',
      features: features({ customer_id: 'BIGINT', updated_at: 'TIMESTAMP', tenure: 'BIGINT' }),
    };
    const v2: GroupSchema = { ...v1, features: [...v1.features, ...features({ plan: 'STRING' })] };
    const commits: CommitRef[] = [];
    for (const [schema, rows] of [
      [
        v1,
        [
          { customer_id: 1, updated_at: ts('01T00:00:00'), tenure: 1 },
          { customer_id: 2, updated_at: ts('01T00:00:00'), tenure: 5 },
        ],
      ],
      [v2, [{ customer_id: 1, updated_at: ts('01T00:00:00'), tenure: 10, plan: 'gold' }]],
    ] as const) {
      const id = uuidv7();
      const staged = await store.stage(location, schema, id, { kind: 'rows', rows: [...rows] }, { operation: 'UPSERT', existing: commits });
      await staged.publish();
      commits.push({ id, files: staged.files });
    }
    const profile: Built = { location, schema: v2, commits, superseding: commits.slice(1) };
    const labels = await build(labelsSchema, [[1, 2, 3].map((id) => ({ customer_id: id, event_time: ts('05T00:00:00'), label: id === 1 }))]);
    const query = normalizeViewQuery(
      { featureGroup: { name: labels.location.name }, features: ['customer_id', 'label'], joins: [{ featureGroup: { name: location.name }, type: 'INNER' }] },
      [labels, profile].map(resolved),
    );
    // Commits without hints, given newest first: order comes from commit ids.
    const files = new Map([
      [groupKey(resolved(labels).group), store.rows(labels.location, labels.schema, labels.commits)],
      [groupKey(resolved(profile).group), store.rows(location, v2, [...commits].reverse())],
    ]);
    for (const given of [files, filesOf([labels, profile], 'superseding')]) {
      const { rows } = await run(query, given, { ordered: true });
      expect(rows).toEqual([
        [1, true, 10, 'gold'],
        [2, false, 5, null],
      ]);
    }
  });

  it('handles a feature named file_index and superseded rows of the left group', async () => {
    const odd: GroupSchema = { primaryKey: ['k'], eventTime: 'event_time', features: features({ k: 'BIGINT', event_time: 'DATE', file_index: 'BIGINT' }) };
    const labels = await build(odd, [
      [
        { k: 1, event_time: '2024-01-03', file_index: 100 },
        { k: 2, event_time: '2024-01-03', file_index: 200 },
      ],
      [{ k: 1, event_time: '2024-01-03', file_index: 101 }],
    ]);
    const right = await build(odd, [
      [{ k: 1, event_time: '2024-01-02', file_index: 7 }],
      [
        { k: 1, event_time: '2024-01-02', file_index: 8 },
        { k: 2, event_time: '2024-01-04', file_index: 9 },
      ],
    ]);
    const query = normalizeViewQuery(
      { featureGroup: { name: labels.location.name }, joins: [{ featureGroup: { name: right.location.name }, prefix: 'r_' }] },
      [labels, right].map(resolved),
    );
    for (const hints of HINTS) {
      const { rows } = await run(query, filesOf([labels, right], hints), { ordered: true });
      expect(rows).toEqual([
        [1, '2024-01-03', 101, 8],
        [2, '2024-01-03', 200, null],
      ]);
    }
  });

  it('joins a group with no commits: LEFT gives nulls, INNER nothing', async () => {
    const labels = await build(labelsSchema, [[{ customer_id: 1, event_time: ts('02T00:00:00'), label: true }]]);
    const empty = await build({ primaryKey: ['customer_id'], eventTime: null, features: features({ customer_id: 'BIGINT', plan: 'STRING' }) }, []);
    for (const type of ['LEFT', 'INNER'] as const) {
      const query = normalizeViewQuery(
        { featureGroup: { name: labels.location.name }, joins: [{ featureGroup: { name: empty.location.name }, type }] },
        [labels, empty].map(resolved),
      );
      const { rows } = await run(query, filesOf([labels, empty], 'superseding'));
      expect(rows).toEqual(type === 'LEFT' ? [[1, '2024-01-02T00:00:00.000000Z', true, null]] : []);
    }
  });

  it('limits in key order, and bounds the left event time (start inclusive, end exclusive)', async () => {
    const labels = await build(labelsSchema, [[3, 1, 2, 4].map((id) => ({ customer_id: id, event_time: ts(`0${id}T00:00:00`), label: id % 2 === 0 }))]);
    const query = normalizeViewQuery({ featureGroup: { name: labels.location.name }, features: ['customer_id'] }, [resolved(labels)]);
    const files = filesOf([labels], 'superseding');
    expect((await run(query, files, { limit: 2 })).rows).toEqual([[1], [2]]);
    expect((await run(query, files, { startTime: ts('02T00:00:00'), endTime: ts('04T00:00:00'), ordered: true })).rows).toEqual([[2], [3]]);
    expect((await run(query, files, { startTime: Date.UTC(2024, 0, 3) / 1000 })).rows).toEqual(expect.arrayContaining([[3], [4]]));
    expect(() => compileViewSql(query, files, { startTime: 'yesterday' })).toThrow(ValidationError);
  });

  it('rejects a time window on a left group without event time', async () => {
    const plain = await build({ primaryKey: ['customer_id'], eventTime: null, features: features({ customer_id: 'BIGINT' }) }, [[{ customer_id: 1 }]]);
    const query = normalizeViewQuery({ featureGroup: { name: plain.location.name } }, [resolved(plain)]);
    const error = (() => {
      try {
        compileViewSql(query, filesOf([plain], 'superseding'), { endTime: ts('01T00:00:00') });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.issues[0]!.path).toEqual(['endTime']);
  });

  it('filters on timestamps, dates, decimals and big integers with exact literals', async () => {
    const schema: GroupSchema = {
      primaryKey: ['id'],
      eventTime: 'at',
      features: features({ id: 'BIGINT', at: 'TIMESTAMP', day: 'DATE', price: 'DECIMAL(10,3)', big: 'BIGINT', ratio: 'FLOAT' }),
    };
    const g = await build(schema, [
      [
        { id: 1, at: '2024-01-01T00:00:00.000001Z', day: '2024-01-01', price: '1.250', big: '9007199254740993', ratio: 0.1 },
        { id: 2, at: '2024-01-01T00:00:00Z', day: '2024-01-02', price: '1.255', big: 1, ratio: 0.2 },
      ],
    ]);
    const cases: [string, string, unknown, number[]][] = [
      ['at', 'GT', '2024-01-01T01:00:00+01:00', [1]],
      ['day', 'GE', '2024-01-02', [2]],
      ['price', 'LT', '1.2505', [1]],
      ['big', 'EQ', '9007199254740993', [1]],
      ['ratio', 'EQ', 0.1, [1]],
      ['id', 'IN', [2, 3], [2]],
    ];
    for (const [feature, op, value, ids] of cases) {
      const selected = feature === 'id' ? ['id'] : ['id', feature];
      const query = normalizeViewQuery({ featureGroup: { name: g.location.name }, features: selected, filters: [{ feature, op, value }] }, [resolved(g)]);
      const { rows } = await run(query, filesOf([g], 'superseding'), { ordered: true });
      expect(
        rows.map((r) => r[0]),
        `${feature} ${op} ${JSON.stringify(value)}`,
      ).toEqual(ids);
    }
  });
});

describe('compileViewSql with rows superseded across several commits', () => {
  // A small identity space over 2–4 commits: commits supersede none, part or all of earlier ones,
  // several commits supersede the same identity, and a superseding commit's own new rows stay visible.
  const row = (keys: number) =>
    fc.record({
      key: fc.integer({ min: 0, max: keys }),
      day: fc.integer({ min: 0, max: 2 }),
      hour,
      values: fc.record({ v: fc.integer({ min: 0, max: 99 }), store_id: fc.integer({ min: 0, max: 2 }) }),
    });
  const commits = (keys: number) => fc.array(fc.array(row(keys), { maxLength: 6 }), { minLength: 2, maxLength: 4 });

  it('gives the latest commit’s row per identity, whatever the caller knows of the commits', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(commits(2), commits(2), commits(3), async (leftGen, aGen, bGen) => {
        const leftSchema: GroupSchema = {
          primaryKey: ['customer_id'],
          eventTime: 'event_time',
          features: features({ customer_id: 'BIGINT', event_time: 'TIMESTAMP', store_id: 'INT', label: 'BIGINT' }),
        };
        const aSchema: GroupSchema = {
          primaryKey: ['customer_id'],
          eventTime: 'updated_at',
          features: features({ customer_id: 'BIGINT', updated_at: 'TIMESTAMP', tenure: 'BIGINT' }),
        };
        const bSchema: GroupSchema = { primaryKey: ['store_id'], eventTime: null, features: features({ store_id: 'BIGINT', region: 'BIGINT' }) };
        const at = (r: GenRow) => eventTime('TIMESTAMP', r.day, r.hour).raw;
        const left = await build(
          leftSchema,
          leftGen.map((c) => c.map((r) => ({ customer_id: r.key, event_time: at(r), store_id: r.values.store_id, label: r.values.v }))),
          'labels',
        );
        const a = await build(
          aSchema,
          aGen.map((c) => c.map((r) => ({ customer_id: r.key, updated_at: at(r), tenure: r.values.v }))),
          'profile',
        );
        const b = await build(
          bSchema,
          bGen.map((c) => c.map((r) => ({ store_id: r.key, region: r.values.v }))),
          'stores',
        );
        const query = normalizeViewQuery(
          {
            featureGroup: { name: left.location.name },
            joins: [
              { featureGroup: { name: a.location.name }, features: ['tenure'], prefix: 'a_' },
              { featureGroup: { name: b.location.name }, features: ['region'] },
            ],
          },
          [left, a, b].map(resolved),
        );

        const vA = visible(aGen, 'TIMESTAMP');
        const vB = visible(bGen, null);
        const expected = visible(leftGen, 'TIMESTAMP').map((l) => [
          l.key,
          l.et,
          l.values.store_id,
          l.values.v,
          asOf(vA, l.key, l.micros)?.values.v ?? null,
          asOf(vB, l.values.store_id, null)?.values.v ?? null,
        ]);
        for (const hints of HINTS) {
          const actual = await run(query, filesOf([left, a, b], hints));
          expect(actual.names).toEqual(['customer_id', 'event_time', 'store_id', 'label', 'a_tenure', 'region']);
          expect(sorted(actual.rows), hints).toEqual(sorted(expected));
        }
      }),
      { numRuns: 12 },
    );
  });
});
