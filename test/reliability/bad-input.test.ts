import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHQL_PATH } from '../../src/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { committedSchema, CORPUS, corpusMutations, jsonText, type BadInput, type Fixture } from './corpus.ts';

// The bad-input corpus (corpus.ts) against one server, one fresh project per mutation: every case
// must be refused with a typed error of an expected kind, the response must carry no internal
// text (server paths, stack frames, engine or runtime messages), and the project must read back
// exactly as before. A failing case is reported with its name, what came back and why.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Text no response may contain: where the server lives, how its code runs, what its engines say. */
function leaks(text: string): string[] {
  const found: string[] = [];
  const paths = [ROOT, '/work/', tmpdir() + '/', srv.dataDir, 'node_modules', '/home/', '/usr/lib/', '/src/'];
  for (const p of paths) if (text.includes(p)) found.push(`path ${p}`);
  if (/\.(ts|js|mjs|cjs):\d+/.test(text)) found.push('source location');
  if (/\bat .+\(.*:\d+:\d+\)|\\n\s+at |^\s+at /m.test(text)) found.push('stack frame');
  const engine = [
    'Invalid Input Error',
    'Binder Error',
    'Conversion Error',
    'IO Error',
    'Parser Error',
    'Catalog Error',
    'SQLITE_',
    'Prisma',
    'invocation',
    'Maximum call stack',
    'Cannot read propert',
    'is not a function',
    'undefined',
    'Unexpected error',
    'INTERNAL_SERVER_ERROR',
    'originalError',
  ];
  for (const e of engine) if (text.includes(e)) found.push(`engine/runtime text "${e}"`);
  return found;
}

const SNAPSHOT = /* GraphQL */ `
  {
    featureGroups(first: 100) {
      edges {
        node {
          name
          version
          description
          primaryKey
          eventTime
          onlineEnabled
          rowCount
          statisticsConfig {
            enabled
            columns
            histograms
            correlations
          }
          features {
            name
            type
            description
          }
          commits(first: 100) {
            id
            rowCount
            rowsInserted
            rowsUpdated
          }
          tags {
            name
            value
          }
          keywords
          expectationSuite {
            name
            ingestionPolicy
            expectations {
              type
              kwargs
            }
          }
          read(first: 1000) {
            rows
          }
        }
      }
    }
    featureViews(first: 100) {
      edges {
        node {
          name
          version
          description
          labels
          query
          transformations {
            function
            feature
          }
          trainingDatasets {
            version
          }
          tags {
            name
            value
          }
          keywords
        }
      }
    }
    models(first: 100, includePending: true) {
      edges {
        node {
          name
          version
          state
          description
          metrics
          aliases
          files {
            path
          }
          tags {
            name
            value
          }
          keywords
        }
      }
    }
    jobs(first: 100) {
      edges {
        node {
          name
          type
          config
          schedule {
            cron
            paused
            startTime
            endTime
          }
          executions(first: 100) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
    }
    tagSchemas {
      name
      schema
    }
    dataSources {
      name
      type
      config
    }
    apiKeys(includeRevoked: true) {
      name
      scopes
      revokedAt
      expiresAt
    }
    alertReceivers {
      name
      webhookUrl
    }
    alertRoutes {
      id
      enabled
      eventTypes
    }
  }
`;

async function snapshot(key: string): Promise<string> {
  const res = await srv.gql(SNAPSHOT, {}, key);
  if (res.errors) throw new Error(`snapshot failed: ${JSON.stringify(res.errors)}`);
  return JSON.stringify(res.data);
}

async function ok(key: string, query: string, variables: Record<string, unknown>, field: string): Promise<any> {
  const res = await srv.gql(query, variables, key);
  const result = res.data?.[field];
  if (!result || String(result.__typename).endsWith('Error')) throw new Error(`fixture ${field} failed: ${JSON.stringify(res)}`);
  return result;
}

/** A fresh project holding the objects the corpus names (see the top of corpus.ts). */
async function fixture(): Promise<{ key: string; fx: Fixture }> {
  const { key } = await srv.newProject('bad');
  const fg = await ok(
    key,
    `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on CreateFeatureGroupPayload { featureGroup { id } } } }`,
    {
      input: {
        name: 'fg',
        primaryKey: ['id'],
        eventTime: 'ts',
        onlineEnabled: true,
        features: [
          { name: 'id', type: 'STRING' },
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'x', type: 'DOUBLE' },
          { name: 'n', type: 'BIGINT' },
          { name: 's', type: 'STRING' },
          { name: 'b', type: 'BOOLEAN' },
        ],
      },
    },
    'createFeatureGroup',
  );
  await ok(
    key,
    `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "fg" }, rows: $rows) { __typename } }`,
    {
      rows: [
        {
          id: 'k1',
          ts: '2026-01-01T00:00:00Z',
          x: 1.5,
          n: 1,
          s: 'one',
          b: true,
        },
        {
          id: 'k2',
          ts: '2026-01-02T00:00:00Z',
          x: -2.5,
          n: 2,
          s: 'two',
          b: false,
        },
      ],
    },
    'insertFeatureGroupData',
  );
  const fv = await ok(
    key,
    `mutation { createFeatureView(input: { name: "fv", query: { featureGroup: { name: "fg" } } }) { __typename ... on CreateFeatureViewPayload { featureView { id } } } }`,
    {},
    'createFeatureView',
  );
  const model = await ok(
    key,
    `mutation { createModel(input: { name: "m", framework: OTHER, metrics: { acc: 0.9 } }) { __typename ... on CreateModelPayload { model { id } } } }`,
    {},
    'createModel',
  );
  await ok(key, `mutation { createModel(input: { name: "mp", framework: OTHER, pending: true }) { __typename } }`, {}, 'createModel');
  await ok(
    key,
    `mutation { createJob(input: { name: "j", type: "COMPUTE_STATISTICS", config: { featureGroup: { name: "fg" } } }) { __typename } }`,
    {},
    'createJob',
  );
  await ok(
    key,
    `mutation { createTagSchema(name: "team", schema: { type: "object", properties: { team: { type: "string" } }, required: ["team"] }) { __typename } }`,
    {},
    'createTagSchema',
  );
  await ok(key, `mutation($t: ID!) { addTag(target: $t, name: "team", value: { team: "a" }) { __typename } }`, { t: fg.featureGroup.id }, 'addTag');
  await ok(
    key,
    `mutation { createAlertReceiver(input: { name: "r", secret: "ssssssssssssssssssss", webhookUrl: "http://127.0.0.1:9/hook" }) { __typename } }`,
    {},
    'createAlertReceiver',
  );
  const route = await ok(
    key,
    `mutation { createAlertRoute(input: { receiver: "r", eventTypes: [JOB_FAILED], enabled: false }) { __typename ... on CreateAlertRoutePayload { alertRoute { id } } } }`,
    {},
    'createAlertRoute',
  );
  const apiKey = await ok(
    key,
    `mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { __typename ... on CreateApiKeyPayload { apiKey { id } } } }`,
    {},
    'createApiKey',
  );
  return {
    key,
    fx: {
      fgId: fg.featureGroup.id,
      fvId: fv.featureView.id,
      modelId: model.model.id,
      routeId: route.alertRoute.id,
      keyId: apiKey.apiKey.id,
    },
  };
}

/** Sends one case (JSON or multipart) and returns status and body text. */
async function send(c: BadInput, key: string, fx: Fixture): Promise<{ status: number; text: string }> {
  const variables = typeof c.variables === 'function' ? c.variables(fx) : (c.variables ?? {});
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  const operations = `{"query":${JSON.stringify(c.query)},"variables":${jsonText(variables)}}`;
  let body: string | FormData;
  if (c.file) {
    const form = new FormData();
    form.set('operations', operations);
    form.set('map', JSON.stringify({ 0: [`variables.${c.file.variable}`] }));
    form.set('0', new Blob([c.file.content as BlobPart]), c.file.name);
    body = form;
    // graphql-yoga's CSRF prevention wants a non-simple header on multipart requests.
    headers['x-graphql-yoga-csrf'] = '1';
  } else {
    headers['content-type'] = 'application/json';
    body = operations;
  }
  const res = await srv.server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
    method: 'POST',
    headers,
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** What came back: `GraphQL` (request refused before execution), a typed error's name, or something wrong. */
function kindOf(c: BadInput, text: string): { kind: string; problems: string[] } {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'NOT_JSON', problems: ['the response is not JSON'] };
  }
  const errors: any[] = body.errors ?? [];
  if (errors.some((e) => e?.extensions?.code === 'INTERNAL_SERVER_ERROR')) return { kind: 'INTERNAL', problems: [] };
  const result = body.data?.[c.mutation];
  if (result == null) {
    if (errors.length === 0) return { kind: 'EMPTY', problems: ['neither data nor errors'] };
    const problems = errors.filter((e) => typeof e?.message !== 'string' || e.message === '').map(() => 'an error without a message');
    return { kind: 'GraphQL', problems };
  }
  const typename = String(result.__typename);
  if (!typename.endsWith('Error')) return { kind: `ACCEPTED ${typename}`, problems: [] };
  const problems: string[] = [];
  if (typeof result.message !== 'string' || result.message.trim() === '') problems.push('a typed error without a message');
  if (typename === 'ValidationError' && !(result.issues?.length > 0)) problems.push('a ValidationError without issues');
  return { kind: typename, problems };
}

const short = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text);

// Every group of cases starts from the fixture as it was made: a project no case changed is
// shared with the next group (making one costs a second), one that changed is replaced.
let current: ReturnType<typeof fixture> | null = null;

const groups = [...new Set(CORPUS.map((c) => c.mutation))].sort();

describe('the bad-input corpus', () => {
  it('holds at least 200 inputs, uniquely named, over every mutation of the schema', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(200);
    const names = CORPUS.map((c) => c.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    const mutations = Object.keys(committedSchema.getMutationType()!.getFields()).sort();
    expect(mutations.filter((m) => !corpusMutations().has(m))).toEqual([]);
  });

  it.each(groups)('%s: every bad input is a typed refusal, with no internal text, that changes nothing', { timeout: 180_000 }, async (mutation) => {
    current ??= fixture();
    current.catch(() => (current = null));
    let { key: projectKey, fx } = await current;
    // Creating projects needs the server admin; its own project is the one to compare.
    const keyOf = () => (mutation === 'createProject' ? srv.adminKey : projectKey);
    let before = await snapshot(keyOf());
    const failures: string[] = [];
    for (const c of CORPUS.filter((x) => x.mutation === mutation)) {
      const { status, text } = await send(c, keyOf(), fx);
      const { kind, problems } = kindOf(c, text);
      if (!(c.expected as string[]).includes(kind)) problems.push(`expected ${c.expected.join(' | ')}, got ${kind} (HTTP ${status})`);
      problems.push(...leaks(text).map((l) => `leaks ${l}`));
      // A request refused before execution cannot have changed anything; the comparison at the
      // end of the group checks that too. Every executed one is compared at once.
      if (kind !== 'GraphQL') {
        const after = await snapshot(keyOf());
        if (after !== before) {
          problems.push('the project changed');
          // The next case starts from the fixture as it was made, not from what this one left.
          current = fixture();
          ({ key: projectKey, fx } = await current);
          before = await snapshot(keyOf());
        }
      }
      if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}\n    ${short(text)}`);
    }
    if ((await snapshot(keyOf())) !== before) failures.push('the project changed after a request refused before execution');
    expect(failures, failures.join('\n')).toEqual([]);
  });
});

describe('valid values read back as they were written', () => {
  const FEATURES = [
    { name: 'id', type: 'STRING' },
    { name: 'x', type: 'DOUBLE' },
    { name: 'n', type: 'BIGINT' },
    { name: 's', type: 'STRING' },
  ];
  // [label, row as JSON text, what reads back]
  const rows: [string, string, Record<string, unknown>][] = [
    ['the largest double', '{"id":"max","x":1.7976931348623157e308}', { x: 1.7976931348623157e308 }],
    ['the smallest subnormal double', '{"id":"tiny","x":5e-324}', { x: 5e-324 }],
    ['the most negative double', '{"id":"min","x":-1.7976931348623157e308}', { x: -1.7976931348623157e308 }],
    ['negative zero (JSON has one zero)', '{"id":"negzero","x":-0}', { x: 0 }],
    ['2^53 + 1 as a string into BIGINT', '{"id":"big","n":"9007199254740993"}', { n: '9007199254740993' }],
    ['the largest BIGINT as a string', '{"id":"i64max","n":"9223372036854775807"}', { n: '9223372036854775807' }],
    ['the smallest BIGINT as a string', '{"id":"i64min","n":"-9223372036854775808"}', { n: '-9223372036854775808' }],
    ['2^53 - 1 as a number', '{"id":"safe","n":9007199254740991}', { n: 9007199254740991 }],
    ['unicode', '{"id":"uni","s":"naïve ☃ 𝄞 中文 \\u202e"}', { s: 'naïve ☃ 𝄞 中文 \u202e' }],
    ['an empty string, not null', '{"id":"empty","s":""}', { s: '' }],
    ['null, not an empty string', '{"id":"nul","s":null}', { s: null }],
    ['a unicode key', '{"id":"clé 🔑","s":"k"}', { s: 'k' }],
    ['quotes and a comma', '{"id":"quote","s":"a \\"b\\", c\\nd"}', { s: 'a "b", c\nd' }],
  ];

  let key: string;
  beforeAll(async () => {
    ({ key } = await srv.newProject('roundtrip'));
    const created = await srv.gql(
      `mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename } }
       `,
      {
        input: {
          name: 'values',
          primaryKey: ['id'],
          onlineEnabled: true,
          features: FEATURES,
        },
      },
      key,
    );
    expect(created.data?.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
    const view = await srv.gql(
      `mutation { createFeatureView(input: { name: "values", query: { featureGroup: { name: "values" } } }) { __typename } }`,
      {},
      key,
    );
    expect(view.data?.createFeatureView.__typename, JSON.stringify(view)).toBe('CreateFeatureViewPayload');
  });

  it.each(rows)('%s: offline and online', async (_label, rowText, expected) => {
    const id = (JSON.parse(rowText) as { id: string }).id;
    const operation = `{"query":${JSON.stringify(
      `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "values" }, rows: $rows, fillMissing: true) { __typename ... on Error { message } } }`,
    )},"variables":{"rows":[${rowText}]}}`;
    const res = await srv.server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
      },
      body: operation,
    });
    const inserted = (await res.json()) as any;
    expect(inserted.data?.insertFeatureGroupData.__typename, JSON.stringify(inserted)).toBe('InsertFeatureGroupDataPayload');
    const full = { id, x: null, n: null, s: null, ...expected };

    const read = await srv.gql(`{ featureGroup(name: "values") { read(first: 1000) { records } } }`, {}, key);
    const offline = read.data.featureGroup.read.records.find((r: any) => r.id === id);
    expect(offline).toEqual(full);

    const vector = await srv.gql(
      `query($entry: JSON!) { featureVector(featureView: { name: "values" }, entry: $entry) { record missing } }`,
      { entry: { id } },
      key,
    );
    expect(vector.errors, JSON.stringify(vector)).toBeUndefined();
    expect(vector.data.featureVector.record).toEqual(full);
  });
});
