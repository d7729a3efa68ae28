import { countQueries } from '../helpers/query-count.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churnObjects, createGroup, projectOf, smallGroup, type Gql } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_SCHEMA = `mutation($name: String!, $schema: JSON!, $description: String) {
  createTagSchema(name: $name, schema: $schema, description: $description) {
    __typename
    ... on CreateTagSchemaPayload { tagSchema { name description schema tagCount } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const ADD_TAG = `mutation($target: ID!, $name: String!, $value: JSON!) {
  addTag(target: $target, name: $name, value: $value) {
    __typename
    ... on AddTagPayload { target tag { name value } }
    ... on ValidationError { message issues { path message } }
    ... on NotFoundError { message kind key }
    ... on Error { message }
  }
}`;

const REMOVE_TAG = `mutation($target: ID!, $name: String!) {
  removeTag(target: $target, name: $name) { __typename ... on RemoveTagPayload { name target } ... on Error { message } }
}`;

const ADD_KEYWORDS = `mutation($target: ID!, $keywords: [String!]!) {
  addKeywords(target: $target, keywords: $keywords) {
    __typename ... on AddKeywordsPayload { keywords target } ... on ValidationError { issues { path message } } ... on Error { message }
  }
}`;

const REMOVE_KEYWORD = `mutation($target: ID!, $keyword: String!) {
  removeKeyword(target: $target, keyword: $keyword) { __typename ... on RemoveKeywordPayload { keywords } ... on Error { message } }
}`;

const OWNER = {
  type: 'object',
  properties: {
    team: { type: 'string', minLength: 1 },
    email: { type: 'string', format: 'email' },
    retention_days: { type: 'integer', minimum: 1 },
  },
  required: ['team'],
  additionalProperties: false,
};

async function schema(gql: Gql, name: string, body: unknown) {
  const res = await gql(CREATE_SCHEMA, { name, schema: body });
  expect(res.data.createTagSchema.__typename, JSON.stringify(res)).toBe('CreateTagSchemaPayload');
  return res.data.createTagSchema.tagSchema;
}

async function changes(gql: Gql, kinds: string[]) {
  const res = await gql(`{ registryChanges(since: "2000-01-01T00:00:00Z") { kind action name version } }`);
  return res.data.registryChanges
    .filter((e: any) => kinds.includes(e.kind))
    .map((e: any) => `${e.kind} ${e.action} ${e.name}${e.version ? ` ${e.version}` : ''}`);
}

describe('tag schemas', () => {
  it('creates a schema (ADMIN only), returns it again for the same schema, and refuses another or an invalid one', async () => {
    const { gql, key } = await projectOf(srv, 'tag');
    const created = await gql(CREATE_SCHEMA, { name: 'owner', schema: OWNER, description: 'who owns it' });
    expect(created.data.createTagSchema).toEqual({
      __typename: 'CreateTagSchemaPayload',
      tagSchema: { name: 'owner', description: 'who owns it', schema: OWNER, tagCount: 0 },
    });
    // Keys in another order are the same schema.
    const reordered = Object.fromEntries(Object.entries(OWNER).reverse());
    expect((await gql(CREATE_SCHEMA, { name: 'owner', schema: reordered })).data.createTagSchema.__typename).toBe('CreateTagSchemaPayload');
    const other = await gql(CREATE_SCHEMA, { name: 'owner', schema: { type: 'string' } });
    expect(other.data.createTagSchema.__typename).toBe('ConflictError');

    for (const [bad, pattern] of [
      [{ type: 'strin' }, /type/],
      [{ type: 'string', maxLenght: 3 }, /maxLenght/],
      [{ type: 'string', format: 'postcode' }, /postcode/],
      ['string', /JSON Schema object/],
    ] as const) {
      const res = await gql(CREATE_SCHEMA, { name: 'bad', schema: bad });
      expect(res.data.createTagSchema.__typename, JSON.stringify(bad)).toBe('ValidationError');
      expect(res.data.createTagSchema.message).toMatch(pattern);
      expect(res.data.createTagSchema.issues[0].path[0]).toBe('schema');
    }
    const badName = await gql(CREATE_SCHEMA, { name: '9lives', schema: { type: 'string' } });
    expect(badName.data.createTagSchema.issues[0].path).toEqual(['name']);

    const writer = (await gql(`mutation { createApiKey(input: { name: "w", scopes: [WRITE] }) { ... on CreateApiKeyPayload { secret } } }`)).data.createApiKey
      .secret;
    const refused = await srv.gql(CREATE_SCHEMA, { name: 'pii', schema: { type: 'boolean' } }, writer);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await srv.gql(`{ tagSchemas { name } }`, {}, writer)).data.tagSchemas).toEqual([{ name: 'owner' }]);
    expect((await gql(`{ tagSchema(name: "owner") { name } nope: tagSchema(name: "nope") { name } }`)).data).toEqual({
      tagSchema: { name: 'owner' },
      nope: null,
    });
    expect(key).toBeTruthy();
  });

  it('refuses to delete a schema while a tag uses it', async () => {
    const { gql } = await projectOf(srv, 'tag');
    await schema(gql, 'pii', { type: 'boolean' });
    const group = await createGroup(gql, smallGroup('customers'));
    await gql(ADD_TAG, { target: group.id, name: 'pii', value: true });
    const DELETE = `mutation { deleteTagSchema(name: "pii") { __typename ... on DeleteTagSchemaPayload { name } ... on Error { message } } }`;
    const refused = await gql(DELETE);
    expect(refused.data.deleteTagSchema.__typename).toBe('ConflictError');
    expect(refused.data.deleteTagSchema.message).toMatch(/used by 1 tag/);
    expect((await gql(`{ tagSchemas { name tagCount } }`)).data.tagSchemas).toEqual([{ name: 'pii', tagCount: 1 }]);
    await gql(REMOVE_TAG, { target: group.id, name: 'pii' });
    expect((await gql(DELETE)).data.deleteTagSchema).toEqual({ __typename: 'DeleteTagSchemaPayload', name: 'pii' });
    expect((await gql(DELETE)).data.deleteTagSchema.__typename).toBe('NotFoundError');
    expect(await changes(gql, ['TagSchema'])).toEqual(['TagSchema CREATED pii', 'TagSchema DELETED pii']);
  });
});

describe('tags', () => {
  it('refuses a tag that breaks its schema with the schema’s message, and stores nothing', async () => {
    const { gql } = await projectOf(srv, 'tag');
    await schema(gql, 'owner', OWNER);
    await schema(gql, 'tier', { type: 'string', enum: ['gold', 'silver'], errorMessage: 'tier must be gold or silver' });
    const group = await createGroup(gql, smallGroup('customers'));

    const wrong = await gql(ADD_TAG, { target: group.id, name: 'owner', value: { team: 7, retention_days: 0, email: 'nobody', extra: 1 } });
    expect(wrong.data.addTag.__typename).toBe('ValidationError');
    expect(wrong.data.addTag.message).toMatch(/must be string/);
    expect(wrong.data.addTag.issues).toEqual(
      expect.arrayContaining([
        { path: ['value', 'team'], message: 'must be string' },
        { path: ['value', 'retention_days'], message: 'must be >= 1' },
        { path: ['value', 'email'], message: 'must match format "email"' },
        { path: ['value'], message: 'must NOT have additional properties: extra' },
      ]),
    );
    const missing = await gql(ADD_TAG, { target: group.id, name: 'owner', value: { email: 'a@b.org' } });
    expect(missing.data.addTag.message).toMatch(/must have required property 'team'/);
    const custom = await gql(ADD_TAG, { target: group.id, name: 'tier', value: 'bronze' });
    expect(custom.data.addTag.__typename).toBe('ValidationError');
    expect(custom.data.addTag.message).toContain('tier must be gold or silver');
    expect(custom.data.addTag.issues).toEqual([{ path: ['value'], message: 'tier must be gold or silver' }]);

    // Nothing stored: no tag, no search hit, no event.
    expect((await gql(`{ featureGroup(name: "customers") { tags { name } } }`)).data.featureGroup.tags).toEqual([]);
    expect((await gql(`{ search(term: "bronze") { edges { node { name } } } }`)).data.search.edges).toEqual([]);
    expect(await srv.app.prisma.tag.count({ where: { entryId: decode(group.id) } })).toBe(0);
    expect(await changes(gql, ['Tag'])).toEqual([]);

    // A valid one is stored.
    const ok = await gql(ADD_TAG, { target: group.id, name: 'tier', value: 'gold' });
    expect(ok.data.addTag).toEqual({ __typename: 'AddTagPayload', target: group.id, tag: { name: 'tier', value: 'gold' } });
  });

  it('tags feature groups, views, training datasets and models, replaces and removes them, with events', async () => {
    const { gql } = await projectOf(srv, 'tag');
    await schema(gql, 'owner', OWNER);
    const ids = await churnObjects(gql, 8);
    const targets = [ids.groups.customer_info!, ids.view, ids.trainingDataset, ids.model];
    for (const [i, target] of targets.entries()) {
      const res = await gql(ADD_TAG, { target, name: 'owner', value: { team: `team${i}` } });
      expect(res.data.addTag.__typename, JSON.stringify(res)).toBe('AddTagPayload');
    }
    const replaced = await gql(ADD_TAG, { target: ids.model, name: 'owner', value: { team: 'ml', retention_days: 30 } });
    expect(replaced.data.addTag.tag.value).toEqual({ team: 'ml', retention_days: 30 });

    const read = await gql(`{
      featureGroup(name: "customer_info") { tags { name value } }
      featureView(name: "churn_feature_view") { tags { name value } trainingDatasets { id tags { value } } }
      model(name: "churn_model") { tags { name value } }
      node(id: "${ids.trainingDataset}") { ... on TrainingDataset { version tags { value } } }
    }`);
    expect(read.data).toEqual({
      featureGroup: { tags: [{ name: 'owner', value: { team: 'team0' } }] },
      featureView: {
        tags: [{ name: 'owner', value: { team: 'team1' } }],
        trainingDatasets: [{ id: ids.trainingDataset, tags: [{ value: { team: 'team2' } }] }],
      },
      model: { tags: [{ name: 'owner', value: { team: 'ml', retention_days: 30 } }] },
      node: { version: 1, tags: [{ value: { team: 'team2' } }] },
    });

    expect((await gql(REMOVE_TAG, { target: ids.view, name: 'owner' })).data.removeTag).toEqual({
      __typename: 'RemoveTagPayload',
      name: 'owner',
      target: ids.view,
    });
    expect((await gql(REMOVE_TAG, { target: ids.view, name: 'owner' })).data.removeTag.__typename).toBe('NotFoundError');
    expect((await gql(`{ featureView(name: "churn_feature_view") { tags { name } } }`)).data.featureView.tags).toEqual([]);
    expect(await changes(gql, ['Tag'])).toEqual([
      'Tag CREATED customer_info 1',
      'Tag CREATED churn_feature_view 1',
      'Tag CREATED churn_feature_view_1 1',
      'Tag CREATED churn_model 1',
      'Tag UPDATED churn_model 1',
      'Tag DELETED churn_feature_view 1',
    ]);
    // An unknown tag name has no schema.
    const unknown = await gql(ADD_TAG, { target: ids.model, name: 'colour', value: 'red' });
    expect(unknown.data.addTag).toMatchObject({ __typename: 'NotFoundError', kind: 'TagSchema', key: 'colour' });
  });

  it('answers another project’s id and a deleted object’s with NotFoundError, and a malformed id with a ValidationError', async () => {
    const a = await projectOf(srv, 'tag');
    const b = await projectOf(srv, 'tag');
    await schema(a.gql, 'pii', { type: 'boolean' });
    await schema(b.gql, 'pii', { type: 'boolean' });
    const theirs = await createGroup(a.gql, smallGroup('secret'));
    const foreign = await b.gql(ADD_TAG, { target: theirs.id, name: 'pii', value: true });
    expect(foreign.data.addTag).toMatchObject({ __typename: 'NotFoundError', kind: 'FeatureGroup', key: theirs.id });
    expect((await b.gql(ADD_KEYWORDS, { target: theirs.id, keywords: ['x'] })).data.addKeywords.__typename).toBe('NotFoundError');
    expect((await b.gql(REMOVE_TAG, { target: theirs.id, name: 'pii' })).data.removeTag.__typename).toBe('NotFoundError');
    expect((await a.gql(`{ featureGroup(name: "secret") { tags { name } } }`)).data.featureGroup.tags).toEqual([]);

    for (const bad of ['nonsense', Buffer.from('Project:123').toString('base64')]) {
      const res = await a.gql(ADD_TAG, { target: bad, name: 'pii', value: true });
      expect(res.data.addTag.__typename).toBe('ValidationError');
      expect(res.data.addTag.issues[0].path).toEqual(['target']);
    }
    await a.gql(`mutation { deleteFeatureGroup(featureGroup: { name: "secret" }) { __typename } }`);
    expect((await a.gql(ADD_TAG, { target: theirs.id, name: 'pii', value: true })).data.addTag.__typename).toBe('NotFoundError');
  });

  it('drops an object’s tags and keywords when it is deleted', async () => {
    const { gql } = await projectOf(srv, 'tag');
    await schema(gql, 'pii', { type: 'boolean' });
    const group = await createGroup(gql, smallGroup('temp'));
    await gql(ADD_TAG, { target: group.id, name: 'pii', value: false });
    await gql(ADD_KEYWORDS, { target: group.id, keywords: ['scratch'] });
    await gql(`mutation { deleteFeatureGroup(featureGroup: { name: "temp" }) { __typename } }`);
    expect((await gql(`{ allKeywords tagSchemas { tagCount } }`)).data).toEqual({ allKeywords: [], tagSchemas: [{ tagCount: 0 }] });
    expect((await gql(`mutation { deleteTagSchema(name: "pii") { __typename } }`)).data.deleteTagSchema.__typename).toBe('DeleteTagSchemaPayload');
  });

  it('loads tags and keywords of a page of groups in one query each, however many groups', async () => {
    const measure = async (groups: number) => {
      const { gql } = await projectOf(srv, 'tag');
      await schema(gql, 'pii', { type: 'boolean' });
      for (let i = 0; i < groups; i++) {
        const g = await createGroup(gql, smallGroup(`g${i}`));
        await gql(ADD_TAG, { target: g.id, name: 'pii', value: i % 2 === 0 });
        await gql(ADD_KEYWORDS, { target: g.id, keywords: [`k${i}`, 'shared'] });
      }
      const LIST = `{ featureGroups(first: 50) { edges { node { name tags { name value } keywords } } } }`;
      await gql(LIST);
      const { value, queries } = await countQueries(() => gql(LIST));
      expect(value.data.featureGroups.edges).toHaveLength(groups);
      expect(value.data.featureGroups.edges[1].node).toEqual({ name: 'g1', tags: [{ name: 'pii', value: false }], keywords: ['k1', 'shared'] });
      return queries;
    };
    const few = await measure(2);
    const many = await measure(20);
    expect(many).toBe(few);
  });
});

describe('keywords', () => {
  it('adds keywords once each, lower-cased, lists them per object and for the project, and removes them', async () => {
    const { gql } = await projectOf(srv, 'kw');
    const a = await createGroup(gql, smallGroup('alpha'));
    const b = await createGroup(gql, smallGroup('beta'));
    const added = await gql(ADD_KEYWORDS, { target: a.id, keywords: ['Churn', ' marketing  data ', 'churn'] });
    expect(added.data.addKeywords).toEqual({ __typename: 'AddKeywordsPayload', keywords: ['churn', 'marketing data'], target: a.id });
    expect((await gql(ADD_KEYWORDS, { target: a.id, keywords: ['CHURN'] })).data.addKeywords.keywords).toEqual(['churn', 'marketing data']);
    await gql(ADD_KEYWORDS, { target: b.id, keywords: ['churn', 'finance'] });
    const read = await gql(`{ allKeywords featureGroup(name: "alpha") { keywords } }`);
    expect(read.data).toEqual({ allKeywords: ['churn', 'finance', 'marketing data'], featureGroup: { keywords: ['churn', 'marketing data'] } });

    const bad = await gql(ADD_KEYWORDS, { target: a.id, keywords: ['ok', '<script>'] });
    expect(bad.data.addKeywords.__typename).toBe('ValidationError');
    expect(bad.data.addKeywords.issues[0].path).toEqual(['keywords', '1']);
    expect((await gql(ADD_KEYWORDS, { target: a.id, keywords: [] })).data.addKeywords.__typename).toBe('ValidationError');

    expect((await gql(REMOVE_KEYWORD, { target: a.id, keyword: 'Churn' })).data.removeKeyword).toEqual({
      __typename: 'RemoveKeywordPayload',
      keywords: ['marketing data'],
    });
    expect((await gql(REMOVE_KEYWORD, { target: a.id, keyword: 'churn' })).data.removeKeyword.__typename).toBe('NotFoundError');
    expect((await gql(`{ allKeywords }`)).data.allKeywords).toEqual(['churn', 'finance', 'marketing data']);
    expect(await changes(gql, ['Keyword'])).toEqual(['Keyword CREATED alpha 1', 'Keyword CREATED beta 1', 'Keyword DELETED alpha 1']);
  });
});

function decode(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':');
}
