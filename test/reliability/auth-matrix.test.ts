import { getNamedType, isCompositeType, isListType, isNonNullType, type GraphQLField, type GraphQLInputType } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { schema } from '../../src/schema/index.ts';
import { GRAPHQL_PATH } from '../../src/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse } from '../helpers/sse.ts';
import { committedSchema, validish } from './corpus.ts';

// The auth matrix: every root field (queries, mutations, subscriptions) called with no key, a READ,
// a WRITE and an ADMIN key, compared with the scope its Pothos scope-auth annotation requires; a key
// of another project never sees or touches the first project's objects; a revoked or expired key
// ends the subscriptions it opened.

type Scope = 'read' | 'write' | 'admin' | 'serverAdmin';
const RANK: Record<Scope, number> = {
  read: 1,
  write: 2,
  admin: 3,
  serverAdmin: 4,
};
/** Root fields with no scope annotation: their resolvers only answer within the caller's project. */
const UNSCOPED = new Set(['Query.node', 'Query.nodes']);

type Root = 'Query' | 'Mutation' | 'Subscription';
const ROOTS: Root[] = ['Query', 'Mutation', 'Subscription'];

/** The scope a root field's scope-auth annotation asks for (null: none declared). */
function requiredScope(root: Root, name: string): Scope | null {
  const type = root === 'Query' ? schema.getQueryType() : root === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const field = type!.getFields()[name]!;
  const scopes = (
    field.extensions as {
      pothosOptions?: { authScopes?: Partial<Record<Scope, boolean>> };
    }
  ).pothosOptions?.authScopes;
  if (!scopes || typeof scopes !== 'object') return null;
  const named = (Object.keys(scopes) as Scope[]).filter((s) => scopes[s] === true);
  // Pothos grants a field when any listed scope holds: the lowest one is what it needs.
  return named.sort((a, b) => RANK[a] - RANK[b])[0] ?? null;
}

function fieldsOf(root: Root): GraphQLField<unknown, unknown>[] {
  const type =
    root === 'Query' ? committedSchema.getQueryType() : root === 'Mutation' ? committedSchema.getMutationType() : committedSchema.getSubscriptionType();
  return Object.values(type!.getFields());
}

/**
 * Arguments that make a call reach its resolver (coerce) without touching anything that exists:
 * names of nothing, ids of nothing, empty lists, and the few inputs whose first enum value or
 * shape would ask for more than the field's own scope (a READ key minted by createApiKey).
 */
const OVERRIDES: Record<string, Record<string, unknown>> = {
  'Mutation.createApiKey': { input: { name: 'matrix', scopes: ['READ'] } },
  'Mutation.createJob': {
    input: {
      name: 'matrixjob',
      type: 'COMPUTE_STATISTICS',
      config: { featureGroup: { name: 'nosuch' } },
    },
  },
  'Mutation.createProject': { input: { name: 'matrixproject' } },
  'Mutation.createDataSource': {
    input: {
      name: 'matrixsource',
      type: 'POSTGRES',
      config: { url: 'postgresql://u@127.0.0.1:1/db' },
    },
  },
  'Mutation.createAlertReceiver': {
    input: {
      name: 'matrixreceiver',
      secret: 's'.repeat(20),
      webhookUrl: 'http://127.0.0.1:9/hook',
    },
  },
  'Mutation.createTagSchema': { name: 'matrixtag', schema: { type: 'string' } },
  'Mutation.testAlertReceiver': { name: 'nosuch' },
};

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

function argValue(field: string, arg: string, type: GraphQLInputType): unknown {
  const named = getNamedType(type).name;
  if (isListType(isNonNullType(type) ? type.ofType : type)) return [];
  if (named === 'ID') return gid(field === 'revokeApiKey' ? 'ApiKey' : field.includes('AlertRoute') ? 'AlertRoute' : 'FeatureGroup', '999999999');
  if (named === 'String') return arg === 'term' ? 'nosuch' : 'nosuch';
  if (named === 'JSON') return {};
  if (['FeatureGroupRef', 'FeatureViewRef', 'ModelRef'].includes(named)) return { name: 'nosuch' };
  return validish(type);
}

/** A minimal operation for a root field: its required arguments as variables, `{ __typename }` as selection. */
function operationOf(root: Root, field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const override = OVERRIDES[`${root}.${field.name}`] ?? {};
  const args = field.args.filter((a) => isNonNullType(a.type) || a.name in override);
  const variables = Object.fromEntries(args.map((a) => [a.name, a.name in override ? override[a.name] : argValue(field.name, a.name, a.type)]));
  const decl = args.length ? `(${args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})` : '';
  const use = args.length ? `(${args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return {
    query: `${root.toLowerCase()}${decl} { ${field.name}${use}${selection} }`,
    variables,
  };
}

/** How the server answered: refused unauthenticated, forbidden, or let through to the resolver. */
function outcome(res: { status: number; body: any }, field: string): 'UNAUTHENTICATED' | 'FORBIDDEN' | 'ALLOWED' {
  const codes = (res.body.errors ?? []).map((e: any) => e?.extensions?.code);
  if (res.status === 401 || codes.includes('UNAUTHENTICATED')) return 'UNAUTHENTICATED';
  if (codes.includes('FORBIDDEN') || res.body.data?.[field]?.__typename === 'ForbiddenError') return 'FORBIDDEN';
  return 'ALLOWED';
}

let srv: TestServer;
let url: string;
beforeAll(async () => {
  srv = await startTestServer();
  url = await srv.listen();
});
afterAll(async () => {
  await srv?.close();
});

async function post(query: string, variables: Record<string, unknown>, key: string | null) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
  };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await srv.server.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

async function mint(adminKey: string, scopes: string[], name = `k_${scopes.join('_')}`, expiresAt?: string): Promise<{ secret: string; id: string }> {
  const res = await srv.gql(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { secret apiKey { id } } ... on Error { message } } }`,
    { input: { name, scopes, ...(expiresAt ? { expiresAt } : {}) } },
    adminKey,
  );
  const payload = res.data?.createApiKey;
  if (!payload?.secret) throw new Error(`could not mint a key: ${JSON.stringify(res)}`);
  return { secret: payload.secret, id: payload.apiKey.id };
}

describe('every root field is guarded by a declared scope', () => {
  it('has a scope annotation on every root field (a new field without one fails here)', () => {
    const missing: string[] = [];
    for (const root of ROOTS)
      for (const f of fieldsOf(root)) if (!requiredScope(root, f.name) && !UNSCOPED.has(`${root}.${f.name}`)) missing.push(`${root}.${f.name}`);
    expect(missing).toEqual([]);
  });

  it('refuses every query and mutation without a key, or with an unknown one, as 401 UNAUTHENTICATED', async () => {
    const wrong: string[] = [];
    for (const root of ['Query', 'Mutation'] as const) {
      for (const f of fieldsOf(root)) {
        const { query, variables } = operationOf(root, f);
        for (const key of [null, 'gra_AAAAAAAAAAAA_' + 'x'.repeat(43)]) {
          const res = await post(query, variables, key);
          if (res.status !== 401 || outcome(res, f.name) !== 'UNAUTHENTICATED' || res.body.data)
            wrong.push(`${root}.${f.name} (${key ? 'unknown key' : 'no key'}): HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      }
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it.each(['READ', 'WRITE', 'ADMIN'] as const)(
    'lets a %s key through exactly to the fields its scope grants, and forbids the others',
    { timeout: 120_000 },
    async (scope) => {
      const project = await srv.newProject(`matrix_${scope.toLowerCase()}`);
      const key = scope === 'ADMIN' ? project.key : (await mint(project.key, [scope])).secret;
      const rank = { READ: 1, WRITE: 2, ADMIN: 3 }[scope];
      const wrong: string[] = [];
      for (const root of ['Query', 'Mutation'] as const) {
        for (const f of fieldsOf(root)) {
          const needed = requiredScope(root, f.name);
          const expected = needed && RANK[needed] > rank ? 'FORBIDDEN' : 'ALLOWED';
          const { query, variables } = operationOf(root, f);
          const res = await post(query, variables, key);
          const got = outcome(res, f.name);
          if (got !== expected) wrong.push(`${root}.${f.name} needs ${needed}: expected ${expected}, got ${got} ${JSON.stringify(res.body).slice(0, 200)}`);
          if (got === 'ALLOWED' && (res.body.errors ?? []).some((e: any) => e?.extensions?.code === 'INTERNAL_SERVER_ERROR'))
            wrong.push(`${root}.${f.name}: an internal error ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      }
      expect(wrong, wrong.join('\n')).toEqual([]);
    },
  );

  it('forbids what a scope check inside a service guards: minting more scopes, COMMAND jobs, revoking others, other projects', async () => {
    const a = await srv.newProject('matrix_escalate');
    const b = await srv.newProject('matrix_escalate_other');
    const write = await mint(a.key, ['WRITE'], 'writer');
    const read = await mint(a.key, ['READ'], 'reader');
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      ['WRITE mints an ADMIN key', `mutation { createApiKey(input: { name: "x", scopes: [ADMIN] }) { __typename } }`, {}, write.secret, 'createApiKey'],
      ['READ mints a WRITE key', `mutation { createApiKey(input: { name: "x", scopes: [WRITE] }) { __typename } }`, {}, read.secret, 'createApiKey'],
      [
        'project ADMIN mints a key of another project',
        `mutation($p: String) { createApiKey(input: { name: "x", scopes: [READ], project: $p }) { __typename } }`,
        { p: b.name },
        a.key,
        'createApiKey',
      ],
      ['project ADMIN creates a project', `mutation { createProject(input: { name: "matrixnewproject" }) { __typename } }`, {}, a.key, 'createProject'],
      [
        'WRITE creates a COMMAND job',
        `mutation { createJob(input: { name: "cmd", type: "COMMAND", config: { command: "true" } }) { __typename } }`,
        {},
        write.secret,
        'createJob',
      ],
      ['WRITE revokes another key', `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: read.id }, write.secret, 'revokeApiKey'],
      ['READ revokes itself', `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: read.id }, read.secret, 'revokeApiKey'],
    ];
    const wrong: string[] = [];
    for (const [label, query, variables, key, field] of cases) {
      const res = await post(query, variables, key);
      if (outcome(res, field) !== 'FORBIDDEN') wrong.push(`${label}: ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
    // The keys still work: nothing above revoked one.
    expect((await post(`{ viewer { scopes } }`, {}, read.secret)).body.data.viewer.scopes).toEqual(['READ']);
  });
});

describe('another project', () => {
  const SNAPSHOT = `{
    featureGroups(first: 100) { edges { node { name version rowCount commits(first: 100) { id } tags { name value } keywords } } }
    featureViews(first: 100) { edges { node { name version } } }
    models(first: 100, includePending: true) { edges { node { name version state aliases } } }
    jobs(first: 100) { edges { node { name executions(first: 100) { edges { node { id } } } } } }
    tagSchemas { name } dataSources { name } apiKeys(includeRevoked: true) { name revokedAt } alertReceivers { name } alertRoutes { id enabled }
  }`;

  it('never sees, names or changes the first project’s objects, even with an ADMIN key', { timeout: 60_000 }, async () => {
    const a = await srv.newProject('iso_a');
    const b = await srv.newProject('iso_b');
    const must = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await srv.gql(query, variables, a.key);
      const value = Object.values(res.data ?? {})[0] as any;
      if (!value || String(value.__typename).endsWith('Error')) throw new Error(`setup failed: ${JSON.stringify(res)}`);
      return value;
    };
    const fg = await must(
      `mutation { createFeatureGroup(input: { name: "secret_fg", primaryKey: ["id"], onlineEnabled: true, features: [{ name: "id", type: "STRING" }, { name: "v", type: "DOUBLE" }] }) { __typename ... on CreateFeatureGroupPayload { featureGroup { id } } } }`,
    );
    await must(`mutation { insertFeatureGroupData(featureGroup: { name: "secret_fg" }, rows: [{ id: "k", v: 1 }]) { __typename } }`);
    const fv = await must(
      `mutation { createFeatureView(input: { name: "secret_fv", query: { featureGroup: { name: "secret_fg" } } }) { __typename ... on CreateFeatureViewPayload { featureView { id } } } }`,
    );
    const model = await must(
      `mutation { createModel(input: { name: "secret_model", framework: OTHER }) { __typename ... on CreateModelPayload { model { id } } } }`,
    );
    await must(
      `mutation { createJob(input: { name: "secret_job", type: "COMPUTE_STATISTICS", config: { featureGroup: { name: "secret_fg" } } }) { __typename } }`,
    );
    const run = await must(`mutation { runJob(name: "secret_job") { __typename ... on RunJobPayload { execution { id } } } }`);
    await must(`mutation { createTagSchema(name: "secret_tag", schema: { type: "string" }) { __typename } }`);
    await must(`mutation($t: ID!) { addTag(target: $t, name: "secret_tag", value: "v") { __typename } }`, { t: fg.featureGroup.id });
    await must(
      `mutation { createDataSource(input: { name: "secret_source", type: POSTGRES, config: { url: "postgresql://u@127.0.0.1:1/db" } }) { __typename } }`,
    );
    await must(
      `mutation { createAlertReceiver(input: { name: "secret_receiver", secret: "ssssssssssssssssssss", webhookUrl: "http://127.0.0.1:9/hook" }) { __typename } }`,
    );
    const route = await must(
      `mutation { createAlertRoute(input: { receiver: "secret_receiver", eventTypes: [JOB_FAILED], enabled: false }) { __typename ... on CreateAlertRoutePayload { alertRoute { id } } } }`,
    );
    const key = await mint(a.key, ['READ'], 'secret_key');
    const ids = {
      fg: fg.featureGroup.id,
      fv: fv.featureView.id,
      model: model.model.id,
      execution: run.execution.id,
      route: route.alertRoute.id,
      key: key.id,
    };
    // Let the statistics run end before comparing.
    for (let i = 0; i < 400; i++) {
      const res = await srv.gql(`query($id: ID!) { execution(id: $id) { finishedAt } }`, { id: ids.execution }, a.key);
      if (res.data?.execution?.finishedAt) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const before = JSON.stringify((await srv.gql(SNAPSHOT, {}, a.key)).data);

    // A name or id of the first project in an answer, other than those the caller gave itself.
    const secrets = [
      'secret_fg',
      'secret_fv',
      'secret_model',
      'secret_job',
      'secret_tag',
      'secret_source',
      'secret_receiver',
      'secret_key',
      ...Object.values(ids),
    ];
    const leaked = (text: string, query: string, variables: Record<string, unknown>) =>
      secrets.some((s) => text.includes(s) && !query.includes(s) && !JSON.stringify(variables).includes(s));
    const wrong: string[] = [];
    const reads: [string, string, Record<string, unknown>, (data: any) => boolean][] = [
      ['featureGroup', `{ featureGroup(name: "secret_fg") { id } }`, {}, (d) => d.featureGroup === null],
      ['featureGroups', `{ featureGroups(first: 100) { edges { node { name } } } }`, {}, (d) => d.featureGroups.edges.length === 0],
      ['featureView', `{ featureView(name: "secret_fv") { id } }`, {}, (d) => d.featureView === null],
      ['featureViews', `{ featureViews(first: 100) { edges { node { name } } } }`, {}, (d) => d.featureViews.edges.length === 0],
      ['trainingDataset', `{ trainingDataset(featureView: { name: "secret_fv" }) { version } }`, {}, (d) => d.trainingDataset === null],
      ['model', `{ model(name: "secret_model", includePending: true) { id } }`, {}, (d) => d.model === null],
      ['models', `{ models(first: 100, includePending: true) { edges { node { name } } } }`, {}, (d) => d.models.edges.length === 0],
      ['bestModel', `{ bestModel(name: "secret_model", metric: "acc", includePending: true) { id } }`, {}, (d) => d.bestModel === null],
      ['job', `{ job(name: "secret_job") { id } }`, {}, (d) => d.job === null],
      ['jobs', `{ jobs(first: 100) { edges { node { name } } } }`, {}, (d) => d.jobs.edges.length === 0],
      ['execution', `query($id: ID!) { execution(id: $id) { id } }`, { id: ids.execution }, (d) => d.execution === null],
      ['tagSchema', `{ tagSchema(name: "secret_tag") { name } }`, {}, (d) => d.tagSchema === null],
      ['tagSchemas', `{ tagSchemas { name } }`, {}, (d) => d.tagSchemas.length === 0],
      ['dataSource', `{ dataSource(name: "secret_source") { name } }`, {}, (d) => d.dataSource === null],
      ['dataSources', `{ dataSources { name } }`, {}, (d) => d.dataSources.length === 0],
      ['alertReceivers', `{ alertReceivers { name } }`, {}, (d) => d.alertReceivers.length === 0],
      ['alertRoutes', `{ alertRoutes { id } }`, {}, (d) => d.alertRoutes.length === 0],
      ['alertDeliveries', `{ alertDeliveries(first: 100) { edges { node { id } } } }`, {}, (d) => d.alertDeliveries.edges.length === 0],
      ['allKeywords', `{ allKeywords }`, {}, (d) => d.allKeywords.length === 0],
      ['apiKeys', `{ apiKeys(includeRevoked: true) { name } }`, {}, (d) => !d.apiKeys.some((k: any) => k.name === 'secret_key')],
      ['node', `query($id: ID!) { node(id: $id) { id } }`, { id: ids.fg }, (d) => d.node === null],
      [
        'nodes',
        `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
        {
          ids: [ids.fg, ids.fv, ids.model, ids.execution, ids.route, ids.key],
        },
        (d) => d.nodes.every((n: any) => n === null),
      ],
      ['search', `{ search(term: "secret", first: 100) { edges { node { name } } } }`, {}, (d) => d.search.edges.length === 0],
      ['registryChanges', `{ registryChanges(since: "2000-01-01T00:00:00Z") { name } }`, {}, (d) => !JSON.stringify(d).includes('secret')],
      ['lineage', `query($id: ID!) { lineage(id: $id) { nodes { name } } }`, { id: ids.fg }, (d) => !JSON.stringify(d ?? {}).includes('secret')],
      ['batchData', `{ batchData(featureView: { name: "secret_fv" }) { rowCount } }`, {}, (d) => !d?.batchData],
      ['featureVector', `{ featureVector(featureView: { name: "secret_fv" }, entry: { id: "k" }) { values } }`, {}, (d) => !d?.featureVector],
      ['featureVectors', `{ featureVectors(featureView: { name: "secret_fv" }, entries: [{ id: "k" }]) { values } }`, {}, (d) => !d?.featureVectors],
    ];
    for (const [label, query, variables, hidden] of reads) {
      const res = await post(query, variables, b.key);
      const text = JSON.stringify(res.body);
      if (!hidden(res.body.data ?? null) || leaked(text, query, variables) || text.includes('INTERNAL_SERVER_ERROR'))
        wrong.push(`${label}: ${text.slice(0, 300)}`);
    }

    const writes: [string, string, Record<string, unknown>][] = [
      ['insertFeatureGroupData', `mutation { insertFeatureGroupData(featureGroup: { name: "secret_fg" }, rows: [{ id: "x", v: 2 }]) { __typename } }`, {}],
      ['deleteFeatureGroup', `mutation { deleteFeatureGroup(featureGroup: { name: "secret_fg" }) { __typename } }`, {}],
      ['updateFeatureGroup', `mutation { updateFeatureGroup(featureGroup: { name: "secret_fg" }, input: { description: "mine" }) { __typename } }`, {}],
      ['computeStatistics', `mutation { computeStatistics(featureGroup: { name: "secret_fg" }) { __typename } }`, {}],
      ['deleteFeatureView', `mutation { deleteFeatureView(featureView: { name: "secret_fv" }) { __typename } }`, {}],
      ['createTrainingDataset', `mutation { createTrainingDataset(featureView: { name: "secret_fv" }) { __typename } }`, {}],
      ['deleteModel', `mutation { deleteModel(name: "secret_model", version: 1) { __typename } }`, {}],
      ['updateModel', `mutation { updateModel(model: { name: "secret_model", version: 1 }, input: { description: "mine" }) { __typename } }`, {}],
      ['runJob', `mutation { runJob(name: "secret_job") { __typename } }`, {}],
      ['deleteJob', `mutation { deleteJob(name: "secret_job") { __typename } }`, {}],
      ['scheduleJob', `mutation { scheduleJob(name: "secret_job", cron: "0 * * * *") { __typename } }`, {}],
      ['stopExecution', `mutation($id: ID!) { stopExecution(id: $id) { __typename } }`, { id: ids.execution }],
      ['addTag', `mutation($t: ID!) { addTag(target: $t, name: "secret_tag", value: "mine") { __typename } }`, { t: ids.fg }],
      ['removeTag', `mutation($t: ID!) { removeTag(target: $t, name: "secret_tag") { __typename } }`, { t: ids.fg }],
      ['addKeywords', `mutation($t: ID!) { addKeywords(target: $t, keywords: ["mine"]) { __typename } }`, { t: ids.fv }],
      ['deleteTagSchema', `mutation { deleteTagSchema(name: "secret_tag") { __typename } }`, {}],
      ['deleteDataSource', `mutation { deleteDataSource(name: "secret_source") { __typename } }`, {}],
      ['deleteAlertReceiver', `mutation { deleteAlertReceiver(name: "secret_receiver") { __typename } }`, {}],
      ['setAlertRouteEnabled', `mutation($id: ID!) { setAlertRouteEnabled(id: $id, enabled: true) { __typename } }`, { id: ids.route }],
      ['deleteAlertRoute', `mutation($id: ID!) { deleteAlertRoute(id: $id) { __typename } }`, { id: ids.route }],
      ['revokeApiKey', `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: ids.key }],
    ];
    for (const [label, query, variables] of writes) {
      const res = await post(query, variables, b.key);
      const typename = res.body.data?.[label]?.__typename;
      const refused = typename === 'NotFoundError' || (!res.body.data?.[label] && (res.body.errors?.length ?? 0) > 0);
      const text = JSON.stringify(res.body);
      if (!refused || leaked(text, query, variables) || text.includes('INTERNAL_SERVER_ERROR')) wrong.push(`${label}: ${text.slice(0, 300)}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
    expect(JSON.stringify((await srv.gql(SNAPSHOT, {}, a.key)).data)).toBe(before);
    // The READ key of the first project still works: no other project's call revoked it.
    expect((await post(`{ viewer { project { name } } }`, {}, key.secret)).body.data.viewer.project.name).toBe(a.name);
  });
});

describe('subscriptions', () => {
  const subscriptions = () => fieldsOf('Subscription');
  const wsUrl = () => url.replace(/^http/, 'ws') + GRAPHQL_PATH;

  function ws(authorization?: string): Client {
    return createClient({
      url: wsUrl(),
      webSocketImpl: WebSocket,
      connectionParams: authorization ? { authorization } : {},
      retryAttempts: 0,
      lazy: true,
    });
  }

  /** Subscribes and resolves with the close code of the socket (or null once `ms` pass). */
  function closeCode(client: Client, query: string, variables: Record<string, unknown>, ms = 10_000): Promise<number | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      client.on('closed', (event) => {
        clearTimeout(timer);
        resolve((event as { code: number }).code);
      });
      client.subscribe({ query, variables }, { next: () => {}, error: () => {}, complete: () => {} });
    });
  }

  it('refuses every subscription without a key: SSE 401, graphql-ws 4401', async () => {
    const wrong: string[] = [];
    for (const f of subscriptions()) {
      const { query, variables } = operationOf('Subscription', f);
      const stream = await subscribeSse((u, init) => srv.server.yoga.fetch(u, init), `http://localhost${GRAPHQL_PATH}`, null, {
        query,
        variables,
      });
      await stream.ended;
      if (stream.status !== 401 || JSON.stringify(stream.events).includes(`"${f.name}"`))
        wrong.push(`SSE ${f.name}: ${stream.status} ${JSON.stringify(stream.events)}`);
      const client = ws();
      const code = await closeCode(client, query, variables, 5000);
      await client.dispose();
      if (code !== 4401) wrong.push(`graphql-ws ${f.name}: closed ${code}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('accepts every subscription with a READ key over SSE', async () => {
    const project = await srv.newProject('sub_read');
    const read = await mint(project.key, ['READ']);
    for (const f of subscriptions()) {
      const { query, variables } = operationOf('Subscription', f);
      const stream = await subscribeSse((u, init) => srv.server.yoga.fetch(u, init), `http://localhost${GRAPHQL_PATH}`, read.secret, {
        query,
        variables,
      });
      expect(stream.status, `${f.name}: ${JSON.stringify(stream.events)}`).toBe(200);
      stream.close();
    }
  });

  /** Opens registryEvents with `key`, waits until it delivers, and returns it. */
  async function live(projectKey: string, key: string) {
    const client = ws(`Bearer ${key}`);
    const events: unknown[] = [];
    let closed: number | null = null;
    const closing = new Promise<number>((resolve) =>
      client.on('closed', (event) => {
        closed = (event as { code: number }).code;
        resolve(closed);
      }),
    );
    client.subscribe({ query: `subscription { registryEvents { kind name } }` }, { next: (v) => events.push(v), error: () => {}, complete: () => {} });
    for (let n = 0; events.length === 0; n++) {
      if (n > 100 || closed !== null) throw new Error(`subscription never became live (closed ${closed})`);
      await srv.gql(`mutation($n: String!) { createApiKey(input: { name: $n, scopes: [READ] }) { __typename } }`, { n: `probe${n}` }, projectKey);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { client, closing };
  }

  const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

  it('closes an open graphql-ws socket with 4403 within 10 s when its key is revoked', { timeout: 30_000 }, async () => {
    const project = await srv.newProject('sub_revoke_ws');
    const reader = await mint(project.key, ['READ'], 'ws_reader');
    const { client, closing } = await live(project.key, reader.secret);
    const revoked = await srv.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: reader.id }, project.key);
    expect(revoked.data.revokeApiKey.__typename).toBe('RevokeApiKeyPayload');
    const code = await within(closing, 10_000);
    await client.dispose();
    expect(code).toBe(4403);
  });

  it('closes an open graphql-ws socket with 4403 within 10 s when its key expires', { timeout: 30_000 }, async () => {
    const project = await srv.newProject('sub_expire_ws');
    const reader = await mint(project.key, ['READ'], 'ws_expiring', new Date(Date.now() + 3000).toISOString());
    const { client, closing } = await live(project.key, reader.secret);
    const code = await within(closing, 12_000);
    await client.dispose();
    expect(code).toBe(4403);
  });

  it('ends an open SSE subscription within 10 s when its key is revoked', { timeout: 30_000 }, async () => {
    const project = await srv.newProject('sub_revoke_sse');
    const reader = await mint(project.key, ['READ'], 'sse_reader');
    // Over the real socket, so the stream is a live HTTP response like a browser's.
    const stream = await subscribeSse(fetch, `${url}${GRAPHQL_PATH}`, reader.secret, {
      query: `subscription { registryEvents { kind name } }`,
    });
    expect(stream.status).toBe(200);
    for (let n = 0; stream.events.length === 0; n++) {
      if (n > 100) throw new Error('SSE subscription never became live');
      await srv.gql(`mutation($n: String!) { createApiKey(input: { name: $n, scopes: [READ] }) { __typename } }`, { n: `probe${n}` }, project.key);
      await new Promise((r) => setTimeout(r, 100));
    }
    const revoked = await srv.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: reader.id }, project.key);
    expect(revoked.data.revokeApiKey.__typename).toBe('RevokeApiKeyPayload');
    const seen = stream.events.length;
    // Later events of the project must not reach the revoked stream; it ends.
    await srv.gql(`mutation { createApiKey(input: { name: "after_revoke", scopes: [READ] }) { __typename } }`, {}, project.key);
    const ended = await within(
      stream.ended.then(() => 'ended'),
      10_000,
    );
    stream.close();
    expect(JSON.stringify(stream.events.slice(seen))).not.toContain('after_revoke');
    expect(ended).toBe('ended');
  });
});
