import { expectType, graphql } from './graphql.ts';

/**
 * The serving benchmarks' project: three online groups keyed by `customer_id` (20 + 15 + 15
 * features of every type, 10 000 rows each by default, deterministic values), a view over them
 * with 16 transformations (min-max scaled numbers, label-encoded text) and `churned` as label,
 * and a training dataset (version 1) that fits them; set up over GraphQL as a user would.
 */

export type Spec = readonly (readonly [name: string, type: string])[];

/** 20 + 15 + 15 served features; `churned` is the view's label. */
export const GROUPS: readonly { name: string; eventTime: boolean; features: Spec }[] = [
  {
    name: 'bench_profile',
    eventTime: true,
    features: [
      ['churned', 'INT'],
      ...Array.from({ length: 10 }, (_, i) => [`p_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 3 }, (_, i) => [`p_i${i}`, 'INT'] as const),
      ...Array.from({ length: 2 }, (_, i) => [`p_b${i}`, 'BIGINT'] as const),
      ...Array.from({ length: 5 }, (_, i) => [`p_s${i}`, 'STRING'] as const),
    ],
  },
  {
    name: 'bench_activity',
    eventTime: true,
    features: [
      ...Array.from({ length: 8 }, (_, i) => [`a_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 3 }, (_, i) => [`a_i${i}`, 'INT'] as const),
      ...Array.from({ length: 4 }, (_, i) => [`a_s${i}`, 'STRING'] as const),
    ],
  },
  {
    name: 'bench_account',
    eventTime: false,
    features: [
      ...Array.from({ length: 7 }, (_, i) => [`c_d${i}`, 'DOUBLE'] as const),
      ...Array.from({ length: 2 }, (_, i) => [`c_b${i}`, 'BIGINT'] as const),
      ...Array.from({ length: 6 }, (_, i) => [`c_s${i}`, 'STRING'] as const),
    ],
  },
];
/** Features the view serves (every feature but the label). */
export const SERVED = GROUPS.reduce((n, g) => n + g.features.length, 0) - 1;

export const TRANSFORMATIONS = [
  ...['p_d0', 'p_d1', 'p_d2', 'p_i0', 'a_d0', 'a_d1', 'a_i0', 'c_d0', 'c_d1', 'c_b0'].map((feature) => ({ function: 'min_max_scaler', feature })),
  ...['p_s0', 'p_s1', 'a_s0', 'a_s1', 'c_s0', 'c_s1'].map((feature) => ({ function: 'label_encoder', feature })),
];

/** The view's name (version 1). */
export const VIEW = 'bench_view';

/** Deterministic pseudo-random values: a row of a group for entity `id`. */
function row(features: Spec, id: number, eventTime: boolean): Record<string, unknown> {
  let s = (id * 2654435761) % 2 ** 31 || 1;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  const out: Record<string, unknown> = { customer_id: id };
  if (eventTime) out.event_time = new Date(Date.UTC(2026, 0, 1) + (next() % (90 * 86_400)) * 1000).toISOString();
  for (const [name, type] of features) {
    const r = next();
    if (type === 'DOUBLE') out[name] = (r % 1_000_000) / 100;
    else if (type === 'STRING') out[name] = `category_${r % 12}`;
    else if (name === 'churned') out[name] = r % 2;
    else out[name] = r % 100_000;
  }
  return out;
}

/** Creates the groups, inserts `entities` rows into each, then the view and its training dataset (version 1). */
export async function setUp(url: string, key: string, entities: number): Promise<void> {
  for (const group of GROUPS) {
    const created = await graphql(
      url,
      key,
      `mutation ($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
      {
        input: {
          name: group.name,
          version: 1,
          primaryKey: ['customer_id'],
          ...(group.eventTime ? { eventTime: 'event_time' } : {}),
          onlineEnabled: true,
          features: [
            { name: 'customer_id', type: 'BIGINT' },
            ...(group.eventTime ? [{ name: 'event_time', type: 'TIMESTAMP' }] : []),
            ...group.features.map(([name, type]) => ({ name, type })),
          ],
        },
      },
    );
    expectType(created, 'createFeatureGroup', 'CreateFeatureGroupPayload');
    for (let from = 0; from < entities; from += 5000) {
      const rows = [];
      for (let id = from; id < Math.min(entities, from + 5000); id++) rows.push(row(group.features, id, group.eventTime));
      const inserted = await graphql(
        url,
        key,
        `mutation ($fg: FeatureGroupRef!, $rows: [JSON!]) {
          insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename ... on Error { message } }
        }`,
        { fg: { name: group.name, version: 1 }, rows },
      );
      expectType(inserted, 'insertFeatureGroupData', 'InsertFeatureGroupDataPayload');
    }
  }
  const view = await graphql(
    url,
    key,
    `mutation ($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`,
    {
      input: {
        name: VIEW,
        version: 1,
        labels: ['churned'],
        query: {
          featureGroup: { name: GROUPS[0]!.name, version: 1 },
          exceptFeatures: ['customer_id', 'event_time'],
          joins: GROUPS.slice(1).map((g) => ({
            featureGroup: { name: g.name, version: 1 },
            exceptFeatures: g.eventTime ? ['customer_id', 'event_time'] : ['customer_id'],
          })),
        },
        transformations: TRANSFORMATIONS,
      },
    },
  );
  expectType(view, 'createFeatureView', 'CreateFeatureViewPayload');
  const td = await graphql(
    url,
    key,
    `mutation ($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
      createTrainingDataset(featureView: $fv, input: $input) { __typename ... on Error { message } }
    }`,
    { fv: { name: VIEW, version: 1 }, input: { split: 'RANDOM', testSize: 0.2, seed: 7 } },
  );
  expectType(td, 'createTrainingDataset', 'CreateTrainingDatasetPayload');
}
