import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// `commits(first:)` stopped at 1 000 with no way to reach older commits: `after` pages through
// them all, newest first, in the order they were recorded.

let srv: TestServer;
let key: string;
/** Commit ids in the order the inserts were acknowledged (oldest first). */
const recorded: string[] = [];
const COMMITS = 30;

beforeAll(async () => {
  srv = await startTestServer();
  ({ key } = await srv.newProject('paging'));
  const created = await srv.gql(
    `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`,
    {
      input: {
        name: 'paged',
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'BIGINT' },
          { name: 'v', type: 'BIGINT' },
        ],
      },
    },
    key,
  );
  expect(created.data.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
  for (let i = 0; i < COMMITS; i++) {
    const inserted = await srv.gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "paged" }, rows: $rows) { __typename ... on InsertFeatureGroupDataPayload { commit { id } } ... on Error { message } } }`,
      { rows: [{ id: i, v: i * 10 }] },
      key,
    );
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    recorded.push(inserted.data.insertFeatureGroupData.commit.id);
  }
});
afterAll(async () => {
  await srv?.close();
});

const PAGE = `query($first: Int, $after: String) { featureGroup(name: "paged") { commits(first: $first, after: $after) { id rowCount } } }`;

async function page(first: number, after?: string) {
  const res = await srv.gql(PAGE, { first, after }, key);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data.featureGroup.commits as { id: string; rowCount: number }[];
}

describe('commits paging', () => {
  it('pages through every commit with first and after: newest first, in recorded order, no gap and no repeat', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: string | undefined;
    for (;;) {
      const commits = await page(7, after);
      sizes.push(commits.length);
      seen.push(...commits.map((c) => c.id));
      if (commits.length < 7) break;
      after = commits.at(-1)!.id;
    }
    expect(sizes).toEqual([7, 7, 7, 7, 2]);
    expect(seen).toEqual([...recorded].reverse());
    expect(new Set(seen).size).toBe(COMMITS);
  });

  it('gives an empty page after the oldest commit, and for an id that is no commit of the group', async () => {
    expect(await page(7, recorded[0])).toEqual([]);
    expect(await page(7, '00000000-0000-7000-8000-000000000000')).toEqual([]);
  });

  it('refuses an after that is not a commit id, naming the argument', async () => {
    const res = await srv.gql(PAGE, { first: 7, after: 'not-a-commit' }, key);
    expect(res.errors?.[0]?.message).toMatch(/after must be the id of a commit/);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
