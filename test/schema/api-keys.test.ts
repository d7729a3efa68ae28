import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const VIEWER = '{ viewer { project { name } scopes } }';

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    __typename
    ... on CreateApiKeyPayload { secret apiKey { id name prefix scopes } }
    ... on Error { message }
  }
}`;

async function mintKey(key: string, scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await srv.gql(CREATE_KEY, { input: { name: `k-${scopes.join('-')}`, scopes, ...extra } }, key);
  expect(res.data?.createApiKey.__typename, JSON.stringify(res)).toBe('CreateApiKeyPayload');
  return res.data.createApiKey as { secret: string; apiKey: { id: string; prefix: string; scopes: string[] } };
}

describe('authentication', () => {
  it('answers the viewer of the first-start admin key with project default', async () => {
    const res = await srv.gql(VIEWER);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ viewer: { project: { name: 'default' }, scopes: ['ADMIN'] } });
  });

  it.each([
    ['no key', null],
    ['a malformed key', 'not-a-key'],
    ['an unknown key', 'gra_AAAAAAAAAAAA_' + 'x'.repeat(43)],
  ])('refuses every operation with %s as UNAUTHENTICATED, without validating the document', async (_label, key) => {
    for (const query of [VIEWER, '{ __schema { queryType { name } } }', '{ noSuchField }', 'mutation { createProject(input: {name: "x"}) { __typename } }']) {
      const res = await srv.gql(query, {}, key);
      expect(res.status).toBe(401);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a revoked key from the next request on', async () => {
    const { key } = await srv.newProject('revoke');
    const minted = await mintKey(key, ['READ']);
    expect((await srv.gql(VIEWER, {}, minted.secret)).data?.viewer.scopes).toEqual(['READ']);
    const revoked = await srv.gql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on RevokeApiKeyPayload { apiKey { revokedAt } } } }`,
      { id: minted.apiKey.id },
      key,
    );
    expect(revoked.data?.revokeApiKey.apiKey.revokedAt).toEqual(expect.any(String));
    const after = await srv.gql(VIEWER, {}, minted.secret);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an expired key', async () => {
    const { key } = await srv.newProject('expiry');
    const minted = await mintKey(key, ['READ'], { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await srv.gql(VIEWER, {}, minted.secret)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const res = await srv.gql(VIEWER, {}, minted.secret);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('matches the Bearer scheme case-insensitively', async () => {
    const res = await srv.server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `bearer ${srv.adminKey}` },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(res.status).toBe(200);
  });

  it('stores only a hash of the secret', async () => {
    const { key } = await srv.newProject('hash');
    const minted = await mintKey(key, ['WRITE']);
    const row = await srv.app.prisma.apiKey.findUniqueOrThrow({ where: { id: decodeId(minted.apiKey.id) } });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    // The secret part follows `gra_<prefix>_`; it may itself contain `_`.
    expect(JSON.stringify(row)).not.toContain(minted.secret.slice('gra_'.length + 12 + 1));
  });
});

describe('authorization', () => {
  it('forbids a READ key to run any mutation', async () => {
    const { key } = await srv.newProject('readonly');
    const reader = await mintKey(key, ['READ']);
    const res = await srv.gql(CREATE_KEY, { input: { name: 'x', scopes: ['READ'] } }, reader.secret);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.data?.createApiKey ?? null).toBeNull();
    const count = await srv.app.prisma.apiKey.count({ where: { name: 'x' } });
    expect(count).toBe(0);
  });

  it('does not let a key mint more scopes than its own', async () => {
    const { key } = await srv.newProject('escalate');
    const writer = await mintKey(key, ['WRITE']);
    const res = await srv.gql(CREATE_KEY, { input: { name: 'up', scopes: ['ADMIN'] } }, writer.secret);
    expect(res.data?.createApiKey).toMatchObject({ __typename: 'ForbiddenError' });
  });

  it('lets only server admins create projects and keys of other projects', async () => {
    const { name, key } = await srv.newProject('tenant');
    const created = await srv.gql(`mutation { createProject(input: { name: "sneaky" }) { __typename } }`, {}, key);
    expect(created.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const other = await srv.newProject('victim');
    const res = await srv.gql(CREATE_KEY, { input: { name: 'x', scopes: ['READ'], project: other.name } }, key);
    expect(res.data?.createApiKey.__typename).toBe('ForbiddenError');
    const own = await srv.gql(CREATE_KEY, { input: { name: 'x', scopes: ['READ'], project: name } }, key);
    expect(own.data?.createApiKey.__typename).toBe('CreateApiKeyPayload');
  });

  it('never shows project A’s objects to a key of project B, even by global id', async () => {
    const a = await srv.newProject('a');
    const b = await srv.newProject('b');
    const aKey = await mintKey(a.key, ['READ']);
    const aViewer = await srv.gql('{ viewer { project { id } apiKey { id } } }', {}, a.key);
    const ids = [aViewer.data.viewer.project.id, aViewer.data.viewer.apiKey.id, aKey.apiKey.id];
    for (const id of ids) {
      const res = await srv.gql(`query($id: ID!) { node(id: $id) { id __typename } }`, { id }, b.key);
      expect(res.data?.node ?? null, JSON.stringify(res)).toBeNull();
      const own = await srv.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, a.key);
      expect(own.data?.node?.id).toBe(id);
    }
    const list = await srv.gql('{ apiKeys { id } }', {}, b.key);
    expect(list.data.apiKeys.map((k: { id: string }) => k.id)).not.toContain(aKey.apiKey.id);
    const revoke = await srv.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: aKey.apiKey.id }, b.key);
    expect(revoke.data?.revokeApiKey.__typename).toBe('NotFoundError');
    expect((await srv.gql(VIEWER, {}, aKey.secret)).status).toBe(200);
  });
});

describe('typed errors', () => {
  it('returns a ValidationError naming the field, and writes nothing', async () => {
    const { key } = await srv.newProject('invalid');
    const before = await srv.app.prisma.apiKey.count();
    const res = await srv.gql(CREATE_KEY, { input: { name: '   ', scopes: [] } }, key);
    expect(res.data?.createApiKey.__typename).toBe('ValidationError');
    const issues = await srv.gql(`mutation { createApiKey(input: { name: "", scopes: [] }) { ... on ValidationError { issues { path message } } } }`, {}, key);
    const paths = issues.data.createApiKey.issues.map((i: { path: string[] }) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['input.name', 'input.scopes']));
    expect(await srv.app.prisma.apiKey.count()).toBe(before);
  });

  it('treats an identical createProject as get, and a different one as a ConflictError', async () => {
    const q = `mutation($d: String) { createProject(input: { name: "same_${process.pid}", description: $d }) { __typename ... on CreateProjectPayload { project { id } } } }`;
    const first = await srv.gql(q, { d: 'one' });
    const again = await srv.gql(q, { d: 'one' });
    expect(again.data.createProject.project.id).toBe(first.data.createProject.project.id);
    expect((await srv.gql(q, { d: 'two' })).data.createProject.__typename).toBe('ConflictError');
  });
});

function decodeId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':');
}
