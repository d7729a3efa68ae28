import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, projectOf, smallGroup, type Gql } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;
beforeAll(async () => {
  srv = await startTestServer();
  base = await srv.listen();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE_SCHEMA = `mutation($name: String!, $schema: JSON!) {
  createTagSchema(name: $name, schema: $schema) {
    __typename ... on ValidationError { message issues { path message } } ... on Error { message }
  }
}`;

const ADD_TAG = `mutation($target: ID!, $name: String!, $value: JSON!) {
  addTag(target: $target, name: $name, value: $value) {
    __typename ... on AddTagPayload { tag { value } } ... on ValidationError { message issues { path message } } ... on Error { message }
  }
}`;

/** A GraphQL request over the real socket; resolves to the body and how long it took. */
async function post(key: string, query: string, variables: Record<string, unknown> = {}): Promise<{ body: any; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  return { body, ms: performance.now() - started };
}

async function healthz(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/healthz`);
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

async function schema(gql: Gql, name: string, body: unknown): Promise<any> {
  return (await gql(CREATE_SCHEMA, { name, schema: body })).data.createTagSchema;
}

async function writeKey(gql: Gql): Promise<string> {
  const res = await gql(
    `mutation { createApiKey(input: { name: "writer", scopes: [WRITE] }) { __typename ... on CreateApiKeyPayload { secret } ... on Error { message } } }`,
  );
  expect(res.data.createApiKey.__typename, JSON.stringify(res)).toBe('CreateApiKeyPayload');
  return res.data.createApiKey.secret;
}

describe('user-supplied patterns run in linear time', () => {
  it('a catastrophic tag schema pattern (pattern or patternProperties) neither stalls /healthz nor another project, and the tag is refused', async () => {
    const { gql } = await projectOf(srv, 'redos');
    const target = (await createGroup(gql, smallGroup('tagged'))).id;
    expect((await schema(gql, 'code', { type: 'string', pattern: '^(a+)+$' })).__typename).toBe('CreateTagSchemaPayload');
    const labels = { type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } }, additionalProperties: false };
    expect((await schema(gql, 'labels', labels)).__typename).toBe('CreateTagSchemaPayload');
    const writer = await writeKey(gql);
    const other = await projectOf(srv, 'bystander');
    await createGroup(other.gql, smallGroup('theirs'));

    // A backtracking engine needs about 2^25 steps to refuse this value: seconds of a blocked event
    // loop (the issue's 40 characters would never end). RE2 refuses it in one pass.
    const value = 'a'.repeat(25) + '!';
    const [tag, keyed, health, theirs] = await Promise.all([
      post(writer, ADD_TAG, { target, name: 'code', value }),
      post(writer, ADD_TAG, { target, name: 'labels', value: { [value]: 1 } }),
      healthz(),
      post(other.key, `{ featureGroups(first: 5) { edges { node { name } } } }`),
    ]);
    expect(tag.body.data.addTag.__typename, JSON.stringify(tag.body)).toBe('ValidationError');
    expect(tag.body.data.addTag.issues[0].path).toEqual(['value']);
    expect(tag.body.data.addTag.message).toMatch(/must match pattern/);
    expect(keyed.body.data.addTag.__typename).toBe('ValidationError');
    expect(keyed.body.data.addTag.message).toMatch(/additional properties/);
    expect(health.status).toBe(200);
    expect(theirs.body.data.featureGroups.edges.map((e: any) => e.node.name)).toEqual(['theirs']);
    // The issue's bound is 100 ms; ten times that leaves room for a loaded machine, while a
    // backtracking engine keeps both waiting for seconds.
    expect(health.ms).toBeLessThan(1000);
    expect(theirs.ms).toBeLessThan(1000);

    // The issue's own value is refused too, and a matching value is stored.
    const issue = await post(writer, ADD_TAG, { target, name: 'code', value: 'a'.repeat(40) + '!' });
    expect(issue.body.data.addTag.__typename).toBe('ValidationError');
    const ok = await post(writer, ADD_TAG, { target, name: 'code', value: 'aaaa' });
    expect(ok.body.data.addTag).toEqual({ __typename: 'AddTagPayload', tag: { value: 'aaaa' } });
    const okKeys = await post(writer, ADD_TAG, { target, name: 'labels', value: { aaa: 1 } });
    expect(okKeys.body.data.addTag.__typename).toBe('AddTagPayload');
  });

  it('refuses, at creation and at its path, a tag schema pattern RE2 cannot run (lookaround, backreferences)', async () => {
    const { gql } = await projectOf(srv, 'redos');
    const cases: [unknown, (string | number)[], RegExp][] = [
      [
        { type: 'object', properties: { code: { type: 'string', pattern: '^(?=a)a+$' } } },
        ['schema', 'properties', 'code', 'pattern'],
        /lookahead and lookbehind/,
      ],
      [{ type: 'string', pattern: '^(a)\\1$' }, ['schema', 'pattern'], /backreferences/],
      [{ type: 'string', pattern: '^(?<x>a)\\k<x>$' }, ['schema', 'pattern'], /backreferences/],
      [{ type: 'object', patternProperties: { '(?<!x)y': { type: 'number' } } }, ['schema', 'patternProperties', '(?<!x)y'], /lookahead and lookbehind/],
      [{ anyOf: [{ type: 'number' }, { type: 'string', pattern: '(' }] }, ['schema', 'anyOf', '1', 'pattern'], /not a valid pattern/],
    ];
    for (const [body, path, message] of cases) {
      const res = await schema(gql, 'bad', body);
      expect(res.__typename, JSON.stringify(res)).toBe('ValidationError');
      expect(res.issues[0].path).toEqual(path);
      expect(res.message).toMatch(message);
      expect(res.message).not.toMatch(/RE2JS|error parsing regexp|\/work\//);
    }
    const listed = await gql(`{ tagSchemas { name } }`);
    expect(listed.data.tagSchemas).toEqual([]);
  });

  it('bounds what one tag check can cost: the patterns of a schema and the size of a value', async () => {
    const { gql } = await projectOf(srv, 'redos');
    const target = (await createGroup(gql, smallGroup('tagged'))).id;
    // Linear, but each character costs a thousand steps: two of them cross the schema's budget.
    const heavy = await schema(gql, 'heavy', {
      type: 'object',
      properties: { a: { type: 'string', pattern: '\\p{L}{1000}' }, b: { type: 'string', pattern: '[a-z]{1000}' } },
    });
    expect(heavy.__typename, JSON.stringify(heavy)).toBe('ValidationError');
    expect(heavy.issues[0].path).toEqual(['schema', 'properties', 'b', 'pattern']);
    expect(heavy.message).toMatch(/more than 2000 RE2 instructions/);
    expect((await schema(gql, 'light', { type: 'string', pattern: '\\p{L}{1000}' })).__typename).toBe('CreateTagSchemaPayload');
    // A value over 32 KB is refused before any pattern runs over it; one under is checked.
    const big = await gql(ADD_TAG, { target, name: 'light', value: 'é'.repeat(20_000) });
    expect(big.data.addTag.__typename).toBe('ValidationError');
    expect(big.data.addTag.issues[0].path).toEqual(['value']);
    expect(big.data.addTag.message).toMatch(/at most 32 KB of JSON/);
    expect((await gql(ADD_TAG, { target, name: 'light', value: 'é'.repeat(1000) })).data.addTag.__typename).toBe('AddTagPayload');
  });

  it('tag schema patterns keep their JSON Schema (ECMAScript) syntax', async () => {
    const { gql } = await projectOf(srv, 'redos');
    const target = (await createGroup(gql, smallGroup('tagged'))).id;
    expect((await schema(gql, 'accent', { type: 'string', pattern: '^[\\u00e0-\\u00ff]+$' })).__typename).toBe('CreateTagSchemaPayload');
    expect((await gql(ADD_TAG, { target, name: 'accent', value: 'éè' })).data.addTag.__typename).toBe('AddTagPayload');
    expect((await gql(ADD_TAG, { target, name: 'accent', value: 'e' })).data.addTag.__typename).toBe('ValidationError');
    // Formats (ajv-formats' fixed expressions) still apply.
    expect((await schema(gql, 'mail', { type: 'string', format: 'email' })).__typename).toBe('CreateTagSchemaPayload');
    expect((await gql(ADD_TAG, { target, name: 'mail', value: 'a@b.example' })).data.addTag.__typename).toBe('AddTagPayload');
    expect((await gql(ADD_TAG, { target, name: 'mail', value: `${'a'.repeat(5000)}@` })).data.addTag.__typename).toBe('ValidationError');
  });

  it('an expectation regex is accepted only if RE2 (what DuckDB runs) compiles it', async () => {
    const { gql } = await projectOf(srv, 'redos');
    await createGroup(gql, smallGroup('g', [{ name: 'code', type: 'STRING' }]));
    const save = (regex: string) =>
      gql(
        `mutation($input: SaveExpectationSuiteInput!) { saveExpectationSuite(featureGroup: { name: "g" }, input: $input) {
          __typename ... on ValidationError { message issues { path message } } ... on Error { message } } }`,
        {
          input: {
            name: 'suite',
            ingestionPolicy: 'STRICT',
            expectations: [{ type: 'expect_column_values_to_match_regex', kwargs: { column: 'code', regex } }],
          },
        },
      );
    // JavaScript accepts \u0041 and \cA; RE2 does not, so DuckDB would fail on every insert.
    for (const regex of ['^\\u0041+$', '^\\cA$', '(?=x)', '(a)\\1']) {
      const res = await save(regex);
      expect(res.data.saveExpectationSuite.__typename, `${regex}: ${JSON.stringify(res)}`).toBe('ValidationError');
      expect(res.data.saveExpectationSuite.issues[0].path.slice(-2)).toEqual(['kwargs', 'regex']);
    }
    // A catastrophic pattern for a backtracking engine is fine for RE2, and runs on insert.
    expect((await save('^(a+)+$')).data.saveExpectationSuite.__typename).toBe('SaveExpectationSuitePayload');
    const inserted = await gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "g" }, rows: $rows) { __typename ... on Error { message } } }`,
      { rows: [{ id: '1', code: 'a'.repeat(25) + '!' }] },
    );
    expect(inserted.data.insertFeatureGroupData.__typename).toBe('DataValidationError');
  });

  it('a feature view LIKE filter runs in linear time and keeps LIKE semantics', { timeout: 60_000 }, async () => {
    const { gql } = await projectOf(srv, 'like');
    await createGroup(gql, smallGroup('g', [{ name: 'text', type: 'STRING' }]));
    const long = 'a'.repeat(3000);
    const rows = [
      { id: 'long', text: long },
      { id: 'longb', text: `${long}xb` },
      { id: 'dot', text: 'c.1' },
      { id: 'cx1', text: 'cx1' },
      { id: 'slash', text: 'a\\b' },
      { id: 'multi', text: 'line\nnext' },
      { id: 'none', text: null },
    ];
    const inserted = await gql(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "g" }, rows: $rows) { __typename ... on Error { message } } }`,
      { rows },
    );
    expect(inserted.data.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    const ids = async (name: string, pattern: string): Promise<string[]> => {
      const created = await gql(`mutation($input: CreateFeatureViewInput!) { createFeatureView(input: $input) { __typename ... on Error { message } } }`, {
        input: { name, query: { featureGroup: { name: 'g' }, filters: [{ feature: 'text', op: 'LIKE', value: pattern }] } },
      });
      expect(created.data.createFeatureView.__typename, JSON.stringify(created)).toBe('CreateFeatureViewPayload');
      const res = await gql(`{ batchData(featureView: { name: "${name}" }, includeKeys: true, first: 100) { records } }`);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data.batchData.records.map((r: any) => r.id).sort();
    };
    // DuckDB's own LIKE backtracks on this pattern for minutes over 3 000 characters.
    expect(await ids('hostile', '%a_%a_%a_%a_%a_%b')).toEqual(['longb']);
    // Only % and _ are wildcards: regular expression characters and backslashes are literal.
    expect(await ids('dot', 'c.%')).toEqual(['dot']);
    expect(await ids('under', 'c_1')).toEqual(['cx1', 'dot']);
    expect(await ids('slash', 'a\\%')).toEqual(['slash']);
    expect(await ids('newline', 'line%next')).toEqual(['multi']);
  });
});
