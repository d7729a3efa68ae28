import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse } from '../helpers/sse.ts';

// statisticsUpdated over Server-Sent Events through yoga.fetch; with Redis pub/sub, the
// statistics are computed by a second server process of the same deployment.

const SUBSCRIBE = `subscription($fg: FeatureGroupRef) { statisticsUpdated(featureGroup: $fg) { id rowCount commit featureGroup { name } features { name count } } }`;
const CREATE = `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }`;
const INSERT = `mutation($fg: FeatureGroupRef!, $rows: [JSON!]) { insertFeatureGroupData(featureGroup: $fg, rows: $rows) { __typename } }`;
const COMPUTE = `mutation($fg: FeatureGroupRef!) {
  computeStatistics(featureGroup: $fg) { __typename ... on ComputeStatisticsPayload { statistics { id rowCount } } ... on Error { message } }
}`;

function subscribe(srv: TestServer, key: string, variables: Record<string, unknown>) {
  return subscribeSse((url, init) => srv.server.yoga.fetch(url, init), 'http://localhost/graphql', key, { query: SUBSCRIBE, variables });
}

describe.each([
  ['in-process pub/sub', {} as Record<string, string>],
  ['Redis pub/sub', { PUBSUB_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' }],
])('statisticsUpdated over SSE with %s', (_label, env) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    a = await startTestServer({ env });
    b = env.PUBSUB_URL ? await startTestServer({ env, shareWith: a }) : a;
  });
  afterAll(async () => {
    if (b !== a) await b?.close();
    await a?.close();
  });

  it('pushes each computation of the watched group, and only of it, to its project', async () => {
    const mine = await a.newProject('stsub');
    const other = await a.newProject('stsub_other');
    const gql = (q: string, v: Record<string, unknown>, key = mine.key) => b.gql(q, v, key);
    for (const [name, key] of [
      ['watched', mine.key],
      ['unwatched', mine.key],
      ['watched', other.key],
    ] as const) {
      const input = {
        name,
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'BIGINT' },
          { name: 'x', type: 'DOUBLE' },
        ],
      };
      expect((await gql(CREATE, { input }, key)).data.createFeatureGroup.__typename).toBe('CreateFeatureGroupPayload');
    }
    await gql(INSERT, {
      fg: { name: 'watched' },
      rows: [
        { id: 1, x: 0.5 },
        { id: 2, x: null },
      ],
    });

    const stream = await subscribe(a, mine.key, { fg: { name: 'watched' } });
    const all = await subscribe(a, mine.key, {});
    // Live once the server has registered it (with Redis, once SUBSCRIBE reached Redis).
    for (let n = 0; stream.results().length === 0 || all.results().length === 0; n++) {
      if (n > 50) throw new Error('subscription never became live');
      await gql(COMPUTE, { fg: { name: 'watched' } });
      await new Promise((r) => setTimeout(r, 100));
    }
    const seen = stream.results().length;
    const seenAll = all.results().length;

    await gql(COMPUTE, { fg: { name: 'watched' } }, other.key);
    await gql(COMPUTE, { fg: { name: 'unwatched' } });
    const pushed = await gql(COMPUTE, { fg: { name: 'watched' } });
    const id = pushed.data.computeStatistics.statistics.id;
    await stream.waitFor((events) => events.some((e) => e.data?.data?.statisticsUpdated?.id === id));
    await all.waitFor((events) => events.some((e) => e.data?.data?.statisticsUpdated?.id === id));

    const fresh = stream
      .results()
      .slice(seen)
      .map((r) => r.data.statisticsUpdated);
    // Probes still in flight may arrive first; nothing of another group or project may.
    expect(fresh.every((s: any) => s.featureGroup.name === 'watched')).toBe(true);
    expect(fresh.at(-1)).toEqual({
      id,
      rowCount: 2,
      commit: expect.any(String),
      featureGroup: { name: 'watched' },
      features: [
        { name: 'id', count: 2 },
        { name: 'x', count: 1 },
      ],
    });
    // Unfiltered: the project's groups, never another project's.
    const names = all
      .results()
      .slice(seenAll)
      .map((r) => r.data.statisticsUpdated.featureGroup.name);
    expect(names).toContain('unwatched');
    expect(names.at(-1)).toBe('watched');
    expect(names.filter((n: string) => n === 'unwatched')).toHaveLength(1);
    stream.close();
    all.close();
  });

  it('reports an unknown group as an error of the subscription', async () => {
    const mine = await a.newProject('stsub_err');
    const stream = await subscribe(a, mine.key, { fg: { name: 'nothing' } });
    await stream.waitFor((events) => events.length > 0);
    expect(stream.results()[0].errors?.[0]?.message).toMatch(/nothing/);
    stream.close();
  });
});
