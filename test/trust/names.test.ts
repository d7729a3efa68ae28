import type { GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';
import { createGroup, projectOf } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const RESERVED = ['__proto__', 'constructor', 'prototype'];

const CREATE_FG = `mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } }
}`;
const CREATE_FV = `mutation($input: CreateFeatureViewInput!) {
  createFeatureView(input: $input) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } }
}`;
const CREATE_MODEL = `mutation($input: CreateModelInput!) {
  createModel(input: $input) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } }
}`;

/** The issues of a ValidationError payload (paths as the API gives them: strings). */
function issues(payload: any): { path: string[]; message: string }[] {
  expect(payload.__typename, JSON.stringify(payload)).toBe('ValidationError');
  return payload.issues;
}

/** An input path as the API spells it. */
const at = (...path: (string | number)[]) => path.map(String);

describe('names JavaScript objects already have', () => {
  it.each(RESERVED)('refuses a feature named %s, which would vanish from records', async (name) => {
    const { gql } = await projectOf(srv, 'names');
    const res = await gql(CREATE_FG, {
      input: {
        name: 'g',
        primaryKey: ['id'],
        features: [
          { name: 'id', type: 'STRING' },
          { name, type: 'BIGINT' },
        ],
      },
    });
    const found = issues(res.data.createFeatureGroup);
    expect(found).toEqual([{ path: at('input', 'features', 1, 'name'), message: expect.stringMatching(new RegExp(`${name} is reserved`)) }]);
    expect((await gql(`{ featureGroups { edges { node { name } } } }`)).data.featureGroups.edges).toEqual([]);
  });

  it('refuses a reserved primary key or event time of a group whose features come from the first insert', async () => {
    const { gql } = await projectOf(srv, 'names');
    const key = issues((await gql(CREATE_FG, { input: { name: 'g', primaryKey: ['constructor'] } })).data.createFeatureGroup);
    expect(key[0]!.path).toEqual(at('input', 'primaryKey', 0));
    const time = issues((await gql(CREATE_FG, { input: { name: 'g', primaryKey: ['id'], eventTime: 'prototype' } })).data.createFeatureGroup);
    expect(time[0]!.path).toEqual(at('input', 'eventTime'));
  });

  it('refuses a first insert that would infer a reserved feature, and leaves the group without a schema', async () => {
    const { gql } = await projectOf(srv, 'names');
    await createGroup(gql, { name: 'inferred', primaryKey: ['id'] });
    // As a client's JSON body: JSON.parse makes these own keys.
    const rows = JSON.parse('[{"id": "a", "__proto__": 1, "x": 2}]');
    const res = await gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "inferred" }, rows: $rows) { __typename ... on ValidationError { issues { path message } } ... on Error { message } } }`,
      { rows },
    );
    const payload = res.data?.insertFeatureGroupData;
    expect(payload?.__typename, JSON.stringify(res)).toBe('ValidationError');
    expect(JSON.stringify(payload.issues)).toMatch(/__proto__ is reserved/);
    const group = await gql(`{ featureGroup(name: "inferred") { features { name } commits { id } } }`);
    expect(group.data.featureGroup.features).toEqual([]);
  });

  it('refuses view output columns that a prefix makes reserved, naming the prefix', async () => {
    const { gql } = await projectOf(srv, 'names');
    await createGroup(gql, {
      name: 'left',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'STRING' },
        { name: 'v', type: 'DOUBLE' },
      ],
    });
    await createGroup(gql, {
      name: 'right',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'STRING' },
        { name: 'proto__', type: 'DOUBLE' },
        { name: 'structor', type: 'DOUBLE' },
      ],
    });
    for (const [prefix, feature] of [
      ['__', 'proto__'],
      ['con', 'structor'],
    ] as const) {
      const res = await gql(CREATE_FV, {
        input: { name: 'v', query: { featureGroup: { name: 'left' }, joins: [{ featureGroup: { name: 'right' }, features: [feature], prefix }] } },
      });
      const found = issues(res.data.createFeatureView);
      expect(found[0]!.path).toEqual(at('input', 'query', 'joins', 0, 'prefix'));
      expect(found[0]!.message).toMatch(/is reserved/);
    }
    expect((await gql(`{ featureViews { edges { node { name } } } }`)).data.featureViews.edges).toEqual([]);
  });

  it.each(RESERVED)('refuses a model schema column and a metric named %s', async (name) => {
    const { gql } = await projectOf(srv, 'names');
    const column = await gql(CREATE_MODEL, {
      input: {
        name: 'm',
        framework: 'OTHER',
        modelSchema: {
          inputSchema: {
            columnarSchema: [
              { name: 'a', type: 'double' },
              { name, type: 'double' },
            ],
          },
        },
      },
    });
    expect(issues(column.data.createModel)[0]!.path).toEqual(at('input', 'modelSchema', 'inputSchema', 'columnarSchema', 1, 'name'));
    const metric = await gql(CREATE_MODEL, { input: { name: 'm', framework: 'OTHER', metrics: JSON.parse(`{"auc": 0.9, "${name}": 0.5}`) } });
    expect(issues(metric.data.createModel)[0]!.message).toMatch(/reserved/);
    expect((await gql(`{ models { edges { node { name } } } }`)).data.models.edges).toEqual([]);
  });

  it('keeps a column named __proto__ as a key of DataFrame records (a group made before names were refused)', () => {
    const records = (schema.getType('DataFrame') as GraphQLObjectType).getFields().records!.resolve!(
      {
        columns: [
          { name: 'id', type: 'STRING' },
          { name: '__proto__', type: 'BIGINT' },
          { name: 'constructor', type: 'BIGINT' },
        ],
        rows: [['a', 1, 2]],
      },
      {},
      {} as never,
      {} as never,
    ) as Record<string, unknown>[];
    expect(JSON.parse(JSON.stringify(records))).toEqual([JSON.parse('{"id": "a", "__proto__": 1, "constructor": 2}')]);
    expect(Object.keys(records[0]!)).toEqual(['id', '__proto__', 'constructor']);
  });
});
