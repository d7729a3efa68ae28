import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const CREATE = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) {
    __typename
    ... on CreateFeatureGroupPayload { featureGroup { name statisticsConfig { enabled histograms correlations exactUniqueness columns histogramBins } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const UPDATE = `mutation($fg: FeatureGroupRef!, $input: UpdateFeatureGroupInput!) {
  updateFeatureGroup(featureGroup: $fg, input: $input) {
    __typename
    ... on UpdateFeatureGroupPayload { featureGroup { statisticsConfig { enabled histograms correlations exactUniqueness columns histogramBins } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on InsertFeatureGroupDataPayload { commit { id } } ... on Error { message } }
}`;
const STATS_FIELDS = `id computedAt rowCount commit
  features { name type count completeness nullCount distinctCount approximateDistinctCount exactDistinct min max sum mean stddev
    percentiles { percent value } histogram { value lower upper count other } distinctness uniqueness entropy }
  correlations { features matrix { feature values } }`;
const COMPUTE = `mutation($fg: FeatureGroupRef!, $commit: ID) {
  computeStatistics(featureGroup: $fg, commit: $commit) {
    __typename
    ... on ComputeStatisticsPayload { statistics { ${STATS_FIELDS} } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

/** mulberry32: a small seeded generator, so a failure reproduces. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GROUP = {
  name: 'generated',
  primaryKey: ['id'],
  features: [
    { name: 'id', type: 'BIGINT' },
    { name: 'amount', type: 'DOUBLE' },
    { name: 'qty', type: 'INT' },
    { name: 'city', type: 'STRING' },
    { name: 'seen_at', type: 'TIMESTAMP' },
    { name: 'active', type: 'BOOLEAN' },
  ],
};

interface Row {
  id: number;
  amount: number | null;
  qty: number | null;
  city: string | null;
  seen_at: string | null;
  active: boolean | null;
}

function generate(ids: number[], seed: number): Row[] {
  const r = random(seed);
  const maybe = <T>(p: number, v: () => T): T | null => (r() < p ? null : v());
  return ids.map((id) => ({
    id,
    amount: maybe(0.15, () => Math.round((r() * 1000 - 200) * 1000) / 1000),
    qty: maybe(0.1, () => Math.floor(r() * r() * 50)),
    // ~30 cities, skewed: more than the 20 top values, so an `other` entry exists.
    city: maybe(0.2, () => `city_${String(Math.floor(r() * r() * 30)).padStart(2, '0')}`),
    seen_at: maybe(0.05, () => new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 365 * 86_400) * 1000).toISOString()),
    active: maybe(0.1, () => r() < 0.3),
  }));
}

async function project() {
  const p = await srv.newProject('st');
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  return { ...p, gql };
}

async function insert(gql: Gql, name: string, rows: unknown[]): Promise<string> {
  const res = await gql(INSERT, { fg: { name }, rows });
  expect(res.data?.insertFeatureGroupData.__typename, JSON.stringify(res)).toBe('InsertFeatureGroupDataPayload');
  return res.data.insertFeatureGroupData.commit.id;
}

/** The statistics computed after a commit by the group's statistics job (it runs in the background). */
async function computedAfterCommit(gql: Gql, name: string, commit: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await gql(`query($name: String!, $c: ID) { featureGroup(name: $name) { statistics(commit: $c) { ${STATS_FIELDS} } } }`, { name, c: commit });
    const stats = res.data?.featureGroup?.statistics;
    if (stats) return stats;
    if (Date.now() > deadline) throw new Error(`no statistics computed after commit ${commit}: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function compute(gql: Gql, name: string, commit?: string) {
  const res = await gql(COMPUTE, { fg: { name }, commit });
  expect(res.data?.computeStatistics.__typename, JSON.stringify(res)).toBe('ComputeStatisticsPayload');
  return res.data.computeStatistics.statistics;
}

// --- Independent computation in JavaScript ------------------------------------------------------

const NUMERIC = new Set(['id', 'amount', 'qty', 'seen_at']);

function numbersOf(rows: Row[], name: keyof Row): (number | null)[] {
  return rows.map((row) => {
    const v = row[name];
    if (v === null) return null;
    return name === 'seen_at' ? Date.parse(v as string) : (v as number);
  });
}

function expectClose(actual: number | null, expected: number, what: string) {
  expect(actual, what).not.toBeNull();
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

function pearson(xs: (number | null)[], ys: (number | null)[]): number {
  const pairs = xs.map((x, i) => [x, ys[i]] as const).filter(([x, y]) => x !== null && y !== null) as [number, number][];
  const n = pairs.length;
  const mx = pairs.reduce((s, [x]) => s + x, 0) / n;
  const my = pairs.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Checks every statistic of every feature against the rows, computed here independently. */
function checkAgainst(stats: any, rows: Row[], bins: number) {
  expect(stats.rowCount).toBe(rows.length);
  expect(stats.features.map((f: any) => f.name)).toEqual(GROUP.features.map((f) => f.name));
  for (const f of stats.features) {
    const name = f.name as keyof Row;
    const raw = rows.map((r) => r[name]);
    const present = raw.filter((v) => v !== null);
    const n = present.length;
    expect(f.count, name).toBe(n);
    expect(f.nullCount, name).toBe(rows.length - n);
    expectClose(f.completeness, n / rows.length, `${name}.completeness`);
    const counts = new Map<string, number>();
    for (const v of present) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    // Exact uniqueness is on: the exact measures compare exactly.
    expect(f.exactDistinct, name).toBe(true);
    expect(f.distinctCount, name).toBe(counts.size);
    expectClose(f.distinctness, counts.size / n, `${name}.distinctness`);
    expectClose(f.uniqueness, [...counts.values()].filter((c) => c === 1).length / n, `${name}.uniqueness`);
    expectClose(f.entropy, -[...counts.values()].reduce((s, c) => s + (c / n) * Math.log(c / n), 0), `${name}.entropy`);
    // DuckDB's HyperLogLog (64 registers) has a standard error of about 13 %: within 3 of them.
    expect(Math.abs(f.approximateDistinctCount - counts.size), `${name}.approximateDistinctCount`).toBeLessThanOrEqual(Math.max(2, 0.4 * counts.size));

    if (NUMERIC.has(name)) {
      const xs = numbersOf(rows, name).filter((x): x is number => x !== null);
      const sorted = [...xs].sort((a, b) => a - b);
      const sum = xs.reduce((s, x) => s + x, 0);
      const mean = sum / n;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
      expect(f.min, name).toBe(sorted[0]);
      expect(f.max, name).toBe(sorted.at(-1));
      expectClose(f.sum, sum, `${name}.sum`);
      expectClose(f.mean, mean, `${name}.mean`);
      expectClose(f.stddev, sd, `${name}.stddev`);
      // Percentiles are approximate (t-digest): the value must sit within 3 % of rank of the exact one.
      expect(f.percentiles.map((p: any) => p.percent)).toEqual([1, 5, 25, 50, 75, 95, 99]);
      for (const { percent, value } of f.percentiles) {
        const below = sorted.filter((x) => x < value).length / n;
        const atOrBelow = sorted.filter((x) => x <= value).length / n;
        expect(below, `${name} p${percent} = ${value}`).toBeLessThanOrEqual(percent / 100 + 0.03);
        expect(atOrBelow, `${name} p${percent} = ${value}`).toBeGreaterThanOrEqual(percent / 100 - 0.03);
      }
      const min = sorted[0]!;
      const max = sorted.at(-1)!;
      const width = (max - min) / bins;
      const expected = new Array(bins).fill(0);
      for (const x of xs) expected[Math.min(Math.max(Math.floor((x - min) / width), 0), bins - 1)]++;
      expect(
        f.histogram.map((b: any) => b.count),
        `${name}.histogram`,
      ).toEqual(expected);
      expect(f.histogram[0].lower).toBe(min);
      expect(f.histogram.at(-1).upper).toBe(max);
      expect(f.histogram.every((b: any) => b.value === null && !b.other)).toBe(true);
    } else {
      expect(f.min).toBeNull();
      expect(f.percentiles).toBeNull();
      const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const top = ranked.slice(0, 20).map(([value, count]) => ({ value, lower: null, upper: null, count, other: false }));
      const rest = ranked.slice(20).reduce((s, [, c]) => s + c, 0);
      expect(f.histogram, `${name}.histogram`).toEqual(rest > 0 ? [...top, { value: null, lower: null, upper: null, count: rest, other: true }] : top);
    }
  }
  const numeric = ['id', 'amount', 'qty', 'seen_at'] as const;
  expect(stats.correlations.features).toEqual([...numeric]);
  stats.correlations.matrix.forEach((row: any, i: number) => {
    expect(row.feature).toBe(numeric[i]);
    row.values.forEach((r: number, j: number) => {
      const expected = i === j ? 1 : pearson(numbersOf(rows, numeric[i]!), numbersOf(rows, numeric[j]!));
      expect(Math.abs(r - expected), `corr(${numeric[i]}, ${numeric[j]})`).toBeLessThanOrEqual(1e-9);
    });
  });
}

describe('feature group statistics', () => {
  it('equal an independent computation over the visible rows, as of each commit', async () => {
    const { gql } = await project();
    const created = await gql(CREATE, {
      input: { ...GROUP, statisticsConfig: { correlations: true, exactUniqueness: true, histogramBins: 12 } },
    });
    expect(created.data.createFeatureGroup.featureGroup.statisticsConfig).toEqual({
      enabled: true,
      histograms: true,
      correlations: true,
      exactUniqueness: true,
      columns: null,
      histogramBins: 12,
    });
    const first = generate(
      Array.from({ length: 400 }, (_, i) => i),
      1,
    );
    const c1 = await insert(gql, 'generated', first);
    // Each commit's statistics job computes them as of that commit; on demand gives the same.
    const auto1 = await computedAfterCommit(gql, 'generated', c1);
    checkAgainst(auto1, first, 12);
    const atFirst = await compute(gql, 'generated');
    expect(atFirst.commit).toBe(c1);
    checkAgainst(atFirst, first, 12);

    // An upsert: ids 300–399 superseded, 400–499 new. Statistics describe the visible rows only.
    const second = generate(
      Array.from({ length: 200 }, (_, i) => 300 + i),
      2,
    );
    const c2 = await insert(gql, 'generated', second);
    const visible = [...first.slice(0, 300), ...second];
    const auto2 = await computedAfterCommit(gql, 'generated', c2);
    checkAgainst(auto2, visible, 12);
    const latest = await compute(gql, 'generated');
    expect(latest.commit).toBe(c2);
    checkAgainst(latest, visible, 12);

    // As of the first commit, computed again later: the first commit's rows.
    const asOf = await compute(gql, 'generated', c1);
    expect(asOf.commit).toBe(c1);
    checkAgainst(asOf, first, 12);

    const read = await gql(
      `query($c: ID) { featureGroup(name: "generated") {
      statistics { id rowCount commit }
      byCommit: statistics(commit: $c) { id rowCount }
      statisticsHistory(first: 10) { id rowCount commit }
      limited: statisticsHistory(first: 2) { id }
    } }`,
      { c: c2 },
    );
    const fg = read.data.featureGroup;
    expect(fg.statistics).toEqual({ id: asOf.id, rowCount: 400, commit: c1 });
    expect(fg.byCommit).toEqual({ id: latest.id, rowCount: 500 });
    expect(fg.statisticsHistory).toEqual([
      { id: asOf.id, rowCount: 400, commit: c1 },
      { id: latest.id, rowCount: 500, commit: c2 },
      { id: auto2.id, rowCount: 500, commit: c2 },
      { id: atFirst.id, rowCount: 400, commit: c1 },
      { id: auto1.id, rowCount: 400, commit: c1 },
    ]);
    expect(fg.limited.map((s: any) => s.id)).toEqual([asOf.id, latest.id]);
  });

  it('honours columns, histograms off and the approximate defaults', async () => {
    const { gql } = await project();
    await gql(CREATE, { input: { ...GROUP, statisticsConfig: { columns: ['city', 'amount'], histograms: false } } });
    const rows = generate(
      Array.from({ length: 50 }, (_, i) => i),
      3,
    );
    await insert(gql, 'generated', rows);
    const stats = await compute(gql, 'generated');
    // Column order is the group's, not the setting's.
    expect(stats.features.map((f: any) => f.name)).toEqual(['amount', 'city']);
    for (const f of stats.features) {
      expect(f.histogram).toBeNull();
      expect(f.exactDistinct).toBe(false);
      // The estimate, capped at the non-null values it can't exceed.
      expect(f.distinctCount).toBe(Math.min(f.approximateDistinctCount, f.count));
      expect(f.distinctCount).toBeLessThanOrEqual(f.count);
      expect(f.uniqueness).toBeNull();
      expect(f.entropy).toBeNull();
    }
    expect(stats.correlations).toBeNull();
  });

  it('describes a group without commits as zero rows', async () => {
    const { gql } = await project();
    await gql(CREATE, { input: GROUP });
    const stats = await compute(gql, 'generated');
    expect(stats.rowCount).toBe(0);
    expect(stats.commit).toBeNull();
    const amount = stats.features.find((f: any) => f.name === 'amount');
    expect(amount).toMatchObject({ count: 0, nullCount: 0, completeness: 1, min: null, mean: null, distinctness: null });
  });
});

describe('statistics of TIMESTAMP and DATE features', () => {
  const TIME_FIELDS = `id split computedAt features { name type min max mean minTime maxTime meanTime
    percentiles { percent value time } histogram { lower upper lowerTime upperTime count } }`;

  it('are served as DateTime, equal to the epoch milliseconds of the Float fields; other features have none', async () => {
    const { gql } = await project();
    const created = await gql(CREATE, {
      input: {
        name: 'visits',
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'BIGINT' },
          { name: 'seen_at', type: 'TIMESTAMP' },
          { name: 'day', type: 'DATE' },
          { name: 'amount', type: 'DOUBLE' },
        ],
        statisticsConfig: { histogramBins: 4 },
      },
    });
    expect(created.data.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
    const seen = ['2024-01-01T00:00:00.000Z', '2024-01-03T12:00:00.000Z', '2024-01-02T06:30:00.000Z', null, '2024-01-05T00:00:00.000Z'];
    const days = ['2024-02-29', '2024-02-01', null, '2024-03-01', '2024-02-10'];
    await insert(
      gql,
      'visits',
      seen.map((seenAt, id) => ({ id, seen_at: seenAt, day: days[id], amount: id * 1.5 })),
    );
    const res = await gql(`mutation { computeStatistics(featureGroup: { name: "visits" }) {
      __typename ... on ComputeStatisticsPayload { statistics { ${TIME_FIELDS} } } ... on Error { message } } }`);
    const stats = res.data.computeStatistics.statistics;
    expect(stats, JSON.stringify(res)).toBeTruthy();
    expect(stats.split).toBeNull();
    expect(new Date(stats.computedAt).toISOString()).toBe(stats.computedAt);
    const feature = (name: string) => stats.features.find((f: any) => f.name === name);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

    const seenAt = feature('seen_at');
    expect(seenAt.minTime).toBe('2024-01-01T00:00:00.000Z');
    expect(seenAt.maxTime).toBe('2024-01-05T00:00:00.000Z');
    const times = seen.filter((t): t is string => t !== null).map((t) => Date.parse(t));
    expect(seenAt.meanTime).toBe(iso(times.reduce((a, b) => a + b, 0) / times.length));
    const day = feature('day');
    expect(day.minTime).toBe('2024-02-01T00:00:00.000Z');
    expect(day.maxTime).toBe('2024-03-01T00:00:00.000Z');
    for (const f of [seenAt, day]) {
      // The same points as the Float fields (epoch milliseconds), to the millisecond.
      expect([f.minTime, f.maxTime, f.meanTime]).toEqual([iso(f.min), iso(f.max), iso(Math.trunc(f.mean))]);
      expect(f.percentiles.length).toBeGreaterThan(0);
      for (const p of f.percentiles) expect(p.time, `${f.name} p${p.percent}`).toBe(iso(p.value === null ? null : Math.trunc(p.value)));
      expect(f.histogram).toHaveLength(4);
      for (const b of f.histogram) {
        expect(b.lowerTime).toBe(iso(Math.trunc(b.lower)));
        expect(b.upperTime).toBe(iso(Math.trunc(b.upper)));
      }
      expect(f.histogram[0].lowerTime).toBe(f.minTime);
      expect(f.histogram.at(-1).upperTime).toBe(f.maxTime);
    }

    const amount = feature('amount');
    expect(amount.min).toBe(0);
    expect([amount.minTime, amount.maxTime, amount.meanTime]).toEqual([null, null, null]);
    expect(amount.percentiles.every((p: any) => p.time === null)).toBe(true);
    expect(amount.histogram.every((b: any) => b.lowerTime === null && b.upperTime === null)).toBe(true);

    // Stored statistics read back the same through the group's fields. The commit's statistics job
    // may run before or after the computation above: the latest has the same features either way.
    const read = await gql(`{ featureGroup(name: "visits") { statistics { ${TIME_FIELDS} } statisticsHistory(first: 10) { ${TIME_FIELDS} } } }`);
    expect(read.data.featureGroup.statisticsHistory.find((h: any) => h.id === stats.id)).toEqual(stats);
    expect(read.data.featureGroup.statistics.features).toEqual(stats.features);
  });
});

describe('statistics settings', () => {
  it.each([
    [{ histogram: true }, ['input', 'statisticsConfig'], /unknown setting\(s\) histogram/],
    [{ columns: ['nope'] }, ['input', 'statisticsConfig', 'columns', '0'], /nope is not a feature/],
    [{ columns: ['Bad Name'] }, ['input', 'statisticsConfig', 'columns', '0'], /not a feature name/],
    [{ histogramBins: 0 }, ['input', 'statisticsConfig', 'histogramBins'], /at least 1/],
    [{ enabled: 'yes' }, ['input', 'statisticsConfig', 'enabled'], /boolean/],
    [[true], ['input', 'statisticsConfig'], /object/],
  ])('rejects %j on create with a ValidationError at its path, creating nothing', async (config, path, message) => {
    const { gql } = await project();
    const res = await gql(CREATE, { input: { ...GROUP, statisticsConfig: config } });
    expect(res.data.createFeatureGroup.__typename).toBe('ValidationError');
    expect(res.data.createFeatureGroup.issues[0].path).toEqual(path);
    expect(res.data.createFeatureGroup.issues[0].message).toMatch(message);
    expect((await gql(`{ featureGroup(name: "generated") { name } }`)).data.featureGroup).toBeNull();
  });

  it('changes through updateFeatureGroup, keeping omitted keys; a bad change changes nothing', async () => {
    const { gql } = await project();
    await gql(CREATE, { input: { ...GROUP, statisticsConfig: { histogramBins: 7 } } });
    const bad = await gql(UPDATE, { fg: { name: 'generated' }, input: { description: 'changed', statisticsConfig: { columns: ['missing'] } } });
    expect(bad.data.updateFeatureGroup.__typename).toBe('ValidationError');
    expect(bad.data.updateFeatureGroup.issues[0].path).toEqual(['input', 'statisticsConfig', 'columns', '0']);
    const unchanged = await gql(`{ featureGroup(name: "generated") { description statisticsConfig { histogramBins correlations } } }`);
    expect(unchanged.data.featureGroup).toEqual({ description: '', statisticsConfig: { histogramBins: 7, correlations: false } });

    const good = await gql(UPDATE, { fg: { name: 'generated' }, input: { statisticsConfig: { correlations: true, columns: ['qty', 'amount'] } } });
    expect(good.data.updateFeatureGroup.featureGroup.statisticsConfig).toEqual({
      enabled: true,
      histograms: true,
      correlations: true,
      exactUniqueness: false,
      columns: ['qty', 'amount'],
      histogramBins: 7,
    });
  });

  it('refuses to compute when disabled, or for an unknown group or commit', async () => {
    const { gql } = await project();
    await gql(CREATE, { input: { ...GROUP, statisticsConfig: { enabled: false } } });
    const disabled = await gql(COMPUTE, { fg: { name: 'generated' } });
    expect(disabled.data.computeStatistics.__typename).toBe('ValidationError');
    expect(disabled.data.computeStatistics.message).toMatch(/disabled/);
    const missing = await gql(COMPUTE, { fg: { name: 'nothing' } });
    expect(missing.data.computeStatistics.__typename).toBe('NotFoundError');
    await gql(UPDATE, { fg: { name: 'generated' }, input: { statisticsConfig: { enabled: true } } });
    const badCommit = await gql(COMPUTE, { fg: { name: 'generated' }, commit: '00000000-0000-7000-8000-000000000000' });
    expect(badCommit.data.computeStatistics.__typename).toBe('NotFoundError');
    expect((await gql(`{ featureGroup(name: "generated") { statisticsHistory { id } } }`)).data.featureGroup.statisticsHistory).toEqual([]);
  });

  it('needs WRITE to compute; READ may read', async () => {
    const { gql, key } = await project();
    await gql(CREATE, { input: GROUP });
    await compute(gql, 'generated');
    const made = await gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreateApiKeyPayload { secret } } }`);
    const reader = made.data.createApiKey.secret as string;
    expect(key).not.toBe(reader);
    const refused = await srv.gql(COMPUTE, { fg: { name: 'generated' } }, reader);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await srv.gql(`{ featureGroup(name: "generated") { statistics { rowCount } } }`, {}, reader);
    expect(read.data.featureGroup.statistics).toEqual({ rowCount: 0 });
  });
});
