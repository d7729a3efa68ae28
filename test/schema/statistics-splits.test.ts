import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_FG = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`;
const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } } }`;
const CREATE_FV = `mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`;
const CREATE_TD = `mutation($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
  createTrainingDataset(featureView: $fv, input: $input) { __typename ... on Error { message } }
}`;
const SPLITS = `query($fv: FeatureViewRef!) {
  trainingDataset(featureView: $fv) {
    statistics
    splits {
      name rowCount
      statistics {
        id split computedAt rowCount commit featureGroup { name }
        features { name count nullCount mean min max minTime maxTime percentiles { value time } histogram { value count other lowerTime upperTime } }
        correlations { features }
      }
      data(first: 100000, transformed: false) { columns { name } rows }
    }
  }
}`;

describe('training dataset split statistics', () => {
  it('are computed per split when a version is created and match its rows', async () => {
    const p = await srv.newProject('stsplit');
    const gql = (q: string, v?: Record<string, unknown>) => srv.gql(q, v, p.key);
    const created = await gql(CREATE_FG, {
      input: {
        name: 'scores',
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'BIGINT' },
          { name: 'x', type: 'DOUBLE' },
          { name: 'segment', type: 'STRING' },
          { name: 'seen_at', type: 'TIMESTAMP' },
          { name: 'label', type: 'INT' },
        ],
      },
    });
    expect(created.data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      x: i % 11 === 0 ? null : ((i * 37) % 101) / 7,
      segment: i % 13 === 0 ? null : `s${(i * 7) % 5}`,
      seen_at: i % 17 === 0 ? null : new Date(Date.UTC(2024, 0, 1) + ((i * 7919) % 300) * 3_600_000).toISOString(),
      label: i % 2,
    }));
    expect((await gql(INSERT, { fg: { name: 'scores' }, rows })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    const fv = await gql(CREATE_FV, {
      input: { name: 'scores_view', labels: ['label'], query: { featureGroup: { name: 'scores' }, features: ['x', 'segment', 'seen_at', 'label'] } },
    });
    expect(fv.data.createFeatureView.__typename, JSON.stringify(fv)).toBe('CreateFeatureViewPayload');
    const td = await gql(CREATE_TD, { fv: { name: 'scores_view' }, input: { split: 'RANDOM', testSize: 0.3, seed: 5 } });
    expect(td.data.createTrainingDataset.__typename, JSON.stringify(td)).toBe('CreateTrainingDatasetPayload');

    const res = await gql(SPLITS, { fv: { name: 'scores_view' } });
    const dataset = res.data.trainingDataset;
    expect(dataset.splits.map((s: any) => s.name)).toEqual(['train', 'test']);
    // The deprecated JSON field still gives the stored list, with the same content.
    expect(dataset.statistics.map((s: any) => s.split)).toEqual(['train', 'test']);
    for (const split of dataset.splits) {
      const stats = split.statistics;
      expect(stats.id).toMatch(new RegExp(`/${split.name}$`));
      expect(stats.split).toBe(split.name);
      expect(stats.featureGroup).toBeNull();
      const stored = dataset.statistics.find((s: any) => s.split === split.name);
      expect(stats.computedAt).toBe(new Date(stored.computedAt).toISOString());
      expect(stats.features.map((f: any) => f.min)).toEqual(stored.features.map((f: any) => f.min));
      expect(stats.rowCount).toBe(split.rowCount);
      expect(stats.commit).toBeNull();
      expect(stats.features.map((f: any) => f.name)).toEqual(['x', 'segment', 'seen_at', 'label']);
      expect(stats.correlations.features).toEqual(['x', 'seen_at', 'label']);
      const col = (name: string) => split.data.rows.map((r: unknown[]) => r[split.data.columns.findIndex((c: any) => c.name === name)]);
      const xs = col('x').filter((v: unknown) => v !== null) as number[];
      const x = stats.features[0];
      expect(x.count).toBe(xs.length);
      expect(x.nullCount).toBe(split.rowCount - xs.length);
      expect(x.min).toBe(Math.min(...xs));
      expect(x.max).toBe(Math.max(...xs));
      expect(Math.abs(x.mean - xs.reduce((s, v) => s + v, 0) / xs.length)).toBeLessThan(1e-9);
      expect(x.histogram.reduce((s: number, b: any) => s + b.count, 0)).toBe(xs.length);
      const counts = new Map<string, number>();
      for (const v of col('segment')) if (v !== null) counts.set(v as string, (counts.get(v as string) ?? 0) + 1);
      const segment = stats.features[1];
      expect(new Map(segment.histogram.map((b: any) => [b.value, b.count]))).toEqual(counts);
      expect(segment.histogram.some((b: any) => b.other)).toBe(false);
      expect(segment.minTime).toBeNull();
      // The timestamp feature: its earliest and latest rows of the split, as DateTime.
      const times = (col('seen_at').filter((v: unknown) => v !== null) as string[]).map((v) => Date.parse(v)).sort((a, b) => a - b);
      const seenAt = stats.features[2];
      expect(seenAt.minTime).toBe(new Date(times[0]!).toISOString());
      expect(seenAt.maxTime).toBe(new Date(times.at(-1)!).toISOString());
      expect(seenAt.percentiles.every((p: any) => p.time === new Date(Math.trunc(p.value)).toISOString())).toBe(true);
      expect(seenAt.histogram[0].lowerTime).toBe(seenAt.minTime);
      expect(seenAt.histogram.at(-1).upperTime).toBe(seenAt.maxTime);
      expect(x.minTime).toBeNull();
      expect(x.histogram.every((b: any) => b.lowerTime === null)).toBe(true);
    }
  });

  it('marks the untyped JSON field deprecated, pointing at the typed split statistics', async () => {
    const res = await srv.gql(
      `{ __type(name: "TrainingDataset") { fields(includeDeprecated: true) { name type { name } isDeprecated deprecationReason } } }`,
      {},
      (await srv.newProject('stsplitdoc')).key,
    );
    const field = res.data.__type.fields.find((f: any) => f.name === 'statistics');
    expect(field).toMatchObject({ type: { name: 'JSON' }, isDeprecated: true });
    expect(field.deprecationReason).toMatch(/splits \{ name statistics/);
  });
});
