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

/**
 * Runs an operation whose variables are given as JSON text: JSON.stringify itself overflows the
 * stack on the deepest values, so those are written as text.
 */
async function rawGql(key: string, query: string, variablesJson: string): Promise<any> {
  const response = await srv.server.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: `{"query":${JSON.stringify(query)},"variables":${variablesJson}}`,
  });
  return { status: response.status, ...((await response.json()) as object) };
}

/** JSON text of an object nested `depth` levels: {"a":{"a":…{"a":1}}}. */
function deepText(depth: number, leaf = '1', key = 'a'): string {
  return `{"${key}":`.repeat(depth) + leaf + '}'.repeat(depth);
}

/** An object nested `depth` levels: { a: { a: … { a: 1 } } }, built without recursion. */
function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const CREATE_SCHEMA = `mutation($name: String!, $schema: JSON!) {
  createTagSchema(name: $name, schema: $schema) {
    __typename ... on ValidationError { message issues { path message } } ... on Error { message }
  }
}`;

const ADD_TAG = `mutation($target: ID!, $name: String!, $value: JSON!) {
  addTag(target: $target, name: $name, value: $value) {
    __typename ... on ValidationError { message issues { path message } } ... on Error { message }
  }
}`;

/** The typed ValidationError a deep value must give: the input named, the limit stated, no runtime message. */
function expectDepthError(result: any, root: string, whole?: unknown) {
  expect(result?.__typename, JSON.stringify(whole ?? result)?.slice(0, 600)).toBe('ValidationError');
  expect(result.message).toMatch(/deeper than 64 levels/);
  expect(result.message).not.toMatch(/call stack/i);
  expect(result.issues[0].path[0]).toBe(root);
}

async function tagTarget(gql: Gql): Promise<string> {
  return (await createGroup(gql, smallGroup('tagged'))).id;
}

describe('deep JSON values are refused with a stated limit', () => {
  it('a 3 000-level tag schema is a ValidationError at schema, not a stack overflow', async () => {
    const { gql, key } = await projectOf(srv, 'deep');
    // { "properties": { "a": { "properties": { "a": … } } } }: 3 000 schema levels, 6 000 JSON levels.
    const schema = '{"properties":{"a":'.repeat(3000) + '{"type":"string"}' + '}}'.repeat(3000);
    const res = await rawGql(key, CREATE_SCHEMA, `{"name":"deep","schema":${schema}}`);
    expectDepthError(res.data?.createTagSchema, 'schema', res);
    const listed = await gql(`{ tagSchemas { name } }`);
    expect(listed.data.tagSchemas).toEqual([]);
  });

  it('a 3 000-deep tag value is a ValidationError at value, and no tag is stored', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const target = await tagTarget(gql);
    expect((await gql(CREATE_SCHEMA, { name: 'anything', schema: {} })).data.createTagSchema.__typename).toBe('CreateTagSchemaPayload');
    const res = await gql(ADD_TAG, { target, name: 'anything', value: deep(3000) });
    expectDepthError(res.data?.addTag, 'value', res);
    const shallow = await gql(ADD_TAG, { target, name: 'anything', value: deep(10) });
    expect(shallow.data.addTag.__typename).toBe('AddTagPayload');
  });

  it('runJob args 3 000 deep are a ValidationError at args, and no execution starts', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const created = await gql(`mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }`, {
      input: { name: 'probe', type: 'COMMAND', config: { command: process.execPath, args: ['-e', '0'] } },
    });
    expect(created.data.createJob.__typename, JSON.stringify(created)).toBe('CreateJobPayload');
    const res = await gql(
      `mutation($args: JSON) { runJob(name: "probe", args: $args) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      { args: deep(3000) },
    );
    expectDepthError(res.data?.runJob, 'args', res);
    const executions = await gql(`{ job(name: "probe") { executions(first: 10) { edges { node { id } } } } }`);
    expect(executions.data?.job?.executions?.edges ?? [], JSON.stringify(executions)).toEqual([]);
  });

  it('a job config 3 000 deep is a ValidationError at input.config', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const res = await gql(
      `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      { input: { name: 'probe', type: 'TRAINING_DATASET', config: { featureView: { name: 'none' }, extra: deep(3000) } } },
    );
    expectDepthError(res.data?.createJob, 'input', res);
    expect(res.data.createJob.issues[0].path.slice(0, 2)).toEqual(['input', 'config']);
  });

  it('insert rows with a 50 000-deep value are a ValidationError at rows, and nothing is committed', async () => {
    const { gql, key } = await projectOf(srv, 'deep');
    await createGroup(gql, smallGroup('g', [{ name: 'x', type: 'STRING' }]));
    const res = await rawGql(
      key,
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "g" }, rows: $rows) {
        __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      `{"rows":[{"id":"a","x":"ok"},{"id":"b","x":${deepText(50_000)}}]}`,
    );
    expectDepthError(res.data?.insertFeatureGroupData, 'rows', res);
    expect(res.data.insertFeatureGroupData.issues[0].path.slice(0, 2).map(String)).toEqual(['rows', '1']);
    const read = await gql(`{ featureGroup(name: "g") { commits { id } } }`);
    expect(read.data.featureGroup.commits).toEqual([]);
  });

  it('model metrics, input example and model schema 3 000 deep are ValidationErrors at input', async () => {
    const { gql } = await projectOf(srv, 'deep');
    for (const field of ['metrics', 'inputExample', 'modelSchema']) {
      const res = await gql(
        `mutation($input: CreateModelInput!) { createModel(input: $input) { __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
        { input: { name: 'm', framework: 'SKLEARN', [field]: deep(3000) } },
      );
      expectDepthError(res.data?.createModel, 'input', res);
      expect(res.data.createModel.issues[0].path.slice(0, 2)).toEqual(['input', field]);
    }
  });

  it('expectation kwargs 3 000 deep are a ValidationError', async () => {
    const { gql } = await projectOf(srv, 'deep');
    await createGroup(gql, smallGroup('g', [{ name: 'x', type: 'STRING' }]));
    const res = await gql(
      `mutation($input: SaveExpectationSuiteInput!) { saveExpectationSuite(featureGroup: { name: "g" }, input: $input) {
        __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      {
        input: {
          name: 'suite',
          ingestionPolicy: 'STRICT',
          expectations: [{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'x', meta: deep(3000) } }],
        },
      },
    );
    expectDepthError(res.data?.saveExpectationSuite, 'input', res);
  });

  it('a feature group statisticsConfig 3 000 deep is a ValidationError at input.statisticsConfig', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const res = await gql(
      `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) {
        __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      { input: smallGroup('g', [], { statisticsConfig: deep(3000) }) },
    );
    expectDepthError(res.data?.createFeatureGroup, 'input', res);
    expect(res.data.createFeatureGroup.issues[0].path.slice(0, 2)).toEqual(['input', 'statisticsConfig']);
  });

  it('a data source config 3 000 deep is a ValidationError at input.config', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const res = await gql(
      `mutation($input: CreateDataSourceInput!) { createDataSource(input: $input) {
        __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
      { input: { name: 'src', type: 'FILES', config: { path: '.', extra: deep(3000) } } },
    );
    expectDepthError(res.data?.createDataSource, 'input', res);
  });

  it('a deeply nested literal in the document itself gets a clear error, never a masked or runtime one', async () => {
    const { gql } = await projectOf(srv, 'deep');
    const target = await tagTarget(gql);
    expect((await gql(CREATE_SCHEMA, { name: 'anything', schema: {} })).data.createTagSchema.__typename).toBe('CreateTagSchemaPayload');
    for (const depth of [1500, 50_000]) {
      const literal = '{a: '.repeat(depth) + '1' + '}'.repeat(depth);
      const res = await gql(`mutation { addTag(target: "${target}", name: "anything", value: ${literal}) {
        __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`);
      const text = JSON.stringify(res);
      expect(text).not.toMatch(/call stack|INTERNAL_SERVER_ERROR|Unexpected error/i);
      if (res.data?.addTag) expectDepthError(res.data.addTag, 'value');
      else expect(res.errors?.[0]?.message, text.slice(0, 500)).toMatch(/token|depth|deep/i);
    }
  });

  it('featureVector entries and passed features 3 000 deep are ValidationErrors, never internal errors', async () => {
    const { gql, key } = await projectOf(srv, 'deep');
    await churnObjects(gql);
    const query = `query($entry: JSON!, $passed: JSON) { featureVector(featureView: { name: "churn_feature_view" }, entry: $entry, passedFeatures: $passed) { values } }`;
    for (const variables of [`{"entry":{"customerid":${deepText(3000)}}}`, `{"entry":{"customerid":"c1"},"passed":${deepText(3000)}}`]) {
      const res = await rawGql(key, query, variables);
      const text = JSON.stringify(res);
      expect(text).not.toMatch(/call stack|INTERNAL_SERVER_ERROR|Unexpected error/i);
      expect(res.errors?.[0]?.extensions?.code, text.slice(0, 500)).toBe('BAD_USER_INPUT');
      expect(res.errors[0].message).toMatch(/deeper than 64 levels/);
    }
  });

  it('the document nesting guard refuses deep literals over the socket too, and ignores brackets in strings and comments', async () => {
    const { gql, key } = await projectOf(srv, 'deep');
    const base = await srv.listen();
    const literal = '['.repeat(5000) + ']'.repeat(5000);
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: `mutation { runJob(name: "none", args: ${literal}) { __typename } }` }),
    });
    const body = await response.text();
    expect(body).not.toMatch(/call stack|INTERNAL_SERVER_ERROR|Unexpected error/i);
    expect(body).toMatch(/deeper than 200 levels/);

    // Brackets inside strings, block strings and comments are text, not nesting.
    const text = '{[('.repeat(300);
    const created = await gql(
      `# ${text}
      mutation {
        a: createFeatureGroup(input: { name: "g", primaryKey: ["id"], description: ${JSON.stringify(text)}, features: [{ name: "id", type: "STRING", description: """${text}""" }] }) {
          __typename ... on Error { message }
        }
      }`,
    );
    expect(created.data?.a?.__typename, JSON.stringify(created).slice(0, 500)).toBe('CreateFeatureGroupPayload');
  });
});
