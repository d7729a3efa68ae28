import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { extract as tarExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeViewQuery } from '../../src/engine/feature-view/query.ts';
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

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const MODEL_FIELDS = `id name version framework description metrics inputExample modelSchema state createdBy aliases archiveUrl
  files { path size sha256 downloadUrl } featureView { name version } trainingDataset { version }`;

const CREATE = `mutation($input: CreateModelInput!) {
  createModel(input: $input) {
    __typename
    ... on CreateModelPayload { model { ${MODEL_FIELDS} } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;

const GET = `query($name: String!, $version: Int, $alias: String, $includePending: Boolean) {
  model(name: $name, version: $version, alias: $alias, includePending: $includePending) { ${MODEL_FIELDS} }
}`;

async function project(prefix = 'm') {
  const p = await srv.newProject(prefix);
  const gql: Gql = (q, v) => srv.gql(q, v, p.key);
  const keyWith = async (scopes: string[]) => {
    const res = await gql(
      `mutation($name: String!, $scopes: [Scope!]!) { createApiKey(input: { name: $name, scopes: $scopes }) { ... on CreateApiKeyPayload { secret } } }`,
      {
        name: `k_${scopes.join('_').toLowerCase()}`,
        scopes,
      },
    );
    return res.data.createApiKey.secret as string;
  };
  return { ...p, gql, keyWith };
}

interface Upload {
  path?: string | null;
  name: string;
  content: Buffer | string;
}

/** A createModel (or any) request with files as GraphQL multipart, through yoga.fetch. */
async function multipart(key: string, query: string, variables: Record<string, unknown>, files: Upload[], at: (i: number) => string) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables }));
  form.set('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [at(i)]]))));
  for (const [i, f] of files.entries()) form.set(String(i), new Blob([typeof f.content === 'string' ? f.content : new Uint8Array(f.content)]), f.name);
  const res = await srv.server.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' },
    body: form,
  });
  return (await res.json()) as any;
}

async function createModel(key: string, input: Record<string, unknown>, files: Upload[] = []) {
  const variables = { input: { ...input, files: files.length > 0 ? files.map((f) => ({ path: f.path ?? null, file: null })) : undefined } };
  const res = await multipart(key, CREATE, variables, files, (i) => `variables.input.files.${i}.file`);
  return res.data?.createModel ?? res;
}

async function registered(key: string, input: Record<string, unknown>, files: Upload[] = []) {
  const res = await createModel(key, input, files);
  expect(res.__typename, JSON.stringify(res)).toBe('CreateModelPayload');
  return res.model;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const get = (path: string, key?: string) => fetch(base + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });

function artifactsOf(projectName: string): string[] {
  const dir = join(srv.dataDir, 'artifacts', 'models', projectName);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

function staging(): string[] {
  const dir = join(srv.dataDir, 'artifacts', '.staging');
  return existsSync(dir) ? readdirSync(dir) : [];
}

function spooled(): string[] {
  const dir = join(srv.app.services.tempFiles.dir, 'uploads');
  return existsSync(dir) ? readdirSync(dir) : [];
}

async function untarred(body: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tarExtract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      out.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  Readable.from([body]).pipe(ex);
  await done;
  return out;
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}

describe('registering and downloading', () => {
  it('registers two files (one nested), serves each with the same SHA-256, and the archive holds both', async () => {
    const { key, name: projectName, gql } = await project();
    const weights = Buffer.alloc(300_000, 7);
    weights.write('weights', 0);
    const config = JSON.stringify({ layers: 3 });
    const model = await registered(key, { name: 'churn', framework: 'SKLEARN', description: 'churn model', metrics: { accuracy: 0.91, f1: 0.8 } }, [
      { path: 'model/model.json', name: 'ignored-name.json', content: config },
      { name: 'weights.bin', content: weights },
    ]);
    expect(model).toMatchObject({ name: 'churn', version: 1, framework: 'SKLEARN', state: 'READY', createdBy: 'test', metrics: { accuracy: 0.91, f1: 0.8 } });
    expect(model.files).toEqual([
      { path: 'model/model.json', size: config.length, sha256: sha256(config), downloadUrl: '/files/models/churn/1/model/model.json' },
      { path: 'weights.bin', size: weights.length, sha256: sha256(weights), downloadUrl: '/files/models/churn/1/weights.bin' },
    ]);
    expect(artifactsOf(projectName)).toEqual(['churn', 'churn/1', 'churn/1/model', 'churn/1/model/model.json', 'churn/1/weights.bin']);

    for (const file of model.files) {
      const res = await get(file.downloadUrl, key);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-checksum-sha256')).toBe(file.sha256);
      const body = Buffer.from(await res.arrayBuffer());
      expect(sha256(body)).toBe(file.sha256);
      expect(body.length).toBe(file.size);
    }
    const archive = await get(model.archiveUrl, key);
    expect(archive.status).toBe(200);
    expect(archive.headers.get('content-type')).toBe('application/x-tar');
    const entries = await untarred(Buffer.from(await archive.arrayBuffer()));
    expect([...entries.keys()]).toEqual(['model/model.json', 'weights.bin']);
    expect(sha256(entries.get('model/model.json')!)).toBe(sha256(config));
    expect(sha256(entries.get('weights.bin')!)).toBe(sha256(weights));

    const next = await registered(key, { name: 'churn', framework: 'SKLEARN' });
    expect(next.version).toBe(2);
    expect((await gql(GET, { name: 'churn' })).data.model.version).toBe(2);
    expect((await get('/files/models/churn/1/nope.bin', key)).status).toBe(404);
    expect((await get('/files/models/churn/1/model/model.json')).status).toBe(401);
    expect(staging()).toEqual([]);
    expect(spooled()).toEqual([]);
  });

  it('registers nothing and leaves no file when the upload is cut off mid-stream', async () => {
    const { key, name: projectName, gql } = await project();
    const boundary = 'granary-model-abort-boundary';
    const operations = JSON.stringify({
      query: CREATE,
      variables: { input: { name: 'aborted', framework: 'TORCH', files: [{ path: 'weights.pt', file: null }] } },
    });
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.files.0.file"]}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="weights.pt"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const fileBytes = 4 * 1024 * 1024;
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => {});
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nX-GraphQL-Yoga-CSRF: 1\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + fileBytes + tail.length}\r\n\r\n`,
    );
    socket.write(head);
    // Half the file, then the client vanishes.
    socket.write(Buffer.alloc(fileBytes / 2, 1));
    await until(() => spooled().length > 0);
    socket.destroy();

    await until(() => spooled().length === 0);
    await sleep(100);
    const res = await gql(`{ model(name: "aborted", includePending: true) { id } models(includePending: true) { edges { node { id } } } }`);
    expect(res.data).toEqual({ model: null, models: { edges: [] } });
    expect(artifactsOf(projectName)).toEqual([]);
    expect(staging()).toEqual([]);
  });

  it('registers nothing and leaves no file when the registration fails after the files were moved into place', async () => {
    const { key, name: projectName, gql } = await project();
    const service = srv.app.services.models;
    service.faults = {
      afterPublish: () => {
        throw new Error('injected failure before the version row');
      },
    };
    try {
      const res = await createModel(key, { name: 'faulty', framework: 'ONNX' }, [{ name: 'model.onnx', content: 'onnx' }]);
      expect(res.errors?.[0]?.message).toBeDefined();
    } finally {
      service.faults = {};
    }
    expect((await gql(GET, { name: 'faulty', includePending: true })).data.model).toBeNull();
    expect(artifactsOf(projectName)).toEqual([]);
    expect(staging()).toEqual([]);
    expect(spooled()).toEqual([]);
  });

  it('sweeps on start what a killed registration left, keeping every registered version’s files', async () => {
    const { key, name: projectName } = await project();
    await registered(key, { name: 'kept', framework: 'PYTHON' }, [{ name: 'k.bin', content: 'k' }]);
    const { mkdirSync, writeFileSync, utimesSync } = await import('node:fs');
    // A folder no row lists and no process claims, untouched for two hours…
    const ghost = join(srv.dataDir, 'artifacts', 'models', projectName, 'kept', '2');
    mkdirSync(ghost, { recursive: true });
    writeFileSync(join(ghost, 'half.bin'), 'half');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(ghost, twoHoursAgo, twoHoursAgo);
    // …and the staging folder of a process that has no lease (gone).
    mkdirSync(join(srv.dataDir, 'artifacts', '.staging', 'deadbeefdeadbeef-leftover'), { recursive: true });
    const result = await srv.app.services.models.recover(srv.app.services.processes.guard());
    expect(result.sweptFolders).toBeGreaterThanOrEqual(2);
    expect(artifactsOf(projectName)).toEqual(['kept', 'kept/1', 'kept/1/k.bin']);
    expect(staging()).toEqual([]);
  });

  it.each([['../x'], ['/etc/passwd'], ['a/../../b'], ['a//b'], ['a\\b'], ['./a'], ['a/'], ['x\u0000y'], ['%2e%2e/x'], ['archive']])(
    'refuses the path %j with a ValidationError naming the file, and writes nothing',
    async (bad) => {
      const { key, name: projectName, gql } = await project();
      const res = await createModel(key, { name: 'traversal', framework: 'PYTHON' }, [
        { path: 'ok.txt', name: 'ok.txt', content: 'fine' },
        { path: bad, name: 'evil.bin', content: 'evil' },
      ]);
      expect(res.__typename, JSON.stringify(res)).toBe('ValidationError');
      expect(res.issues).toEqual([{ path: ['input', 'files', '1', 'path'], message: expect.stringContaining('evil.bin') }]);
      expect(res.message).toContain(JSON.stringify(bad).slice(1, -1).slice(0, 4));
      expect((await gql(GET, { name: 'traversal', includePending: true })).data.model).toBeNull();
      expect(artifactsOf(projectName)).toEqual([]);
      expect(staging()).toEqual([]);
      expect(spooled()).toEqual([]);
      expect(existsSync(join(srv.dataDir, 'artifacts', 'x'))).toBe(false);
      expect(existsSync(join(srv.dataDir, 'artifacts', 'models', 'b'))).toBe(false);
    },
  );

  it('refuses two files at one path, and a file that is another’s folder', async () => {
    const { key } = await project();
    const same = await createModel(key, { name: 'dup', framework: 'PYTHON' }, [
      { path: 'a.txt', name: 'a', content: '1' },
      { path: 'a.txt', name: 'b', content: '2' },
    ]);
    expect(same.__typename).toBe('ValidationError');
    expect(same.issues[0].path).toEqual(['input', 'files', '1', 'path']);
    const folder = await createModel(key, { name: 'dup', framework: 'PYTHON' }, [
      { path: 'model', name: 'a', content: '1' },
      { path: 'model/x.bin', name: 'b', content: '2' },
    ]);
    expect(folder.__typename).toBe('ValidationError');
  });
});

describe('queries', () => {
  it('bestModel picks the highest or lowest value, ignoring versions without that metric', async () => {
    const { key, gql } = await project();
    await registered(key, { name: 'reg', framework: 'XGBOOST', metrics: { rmse: 2.5, r2: 0.5 } });
    await registered(key, { name: 'reg', framework: 'XGBOOST', metrics: { rmse: 1.1 } });
    await registered(key, { name: 'reg', framework: 'XGBOOST', metrics: { r2: 0.9 } });
    await registered(key, { name: 'reg', framework: 'XGBOOST', metrics: { rmse: 3.0, r2: 0.7 } });
    await registered(key, { name: 'reg', framework: 'XGBOOST' });
    const best = async (metric: string, direction?: string) =>
      (await gql(`query($m: String!, $d: SortDirection) { bestModel(name: "reg", metric: $m, direction: $d) { version } }`, { m: metric, d: direction })).data
        .bestModel;
    expect(await best('rmse', 'MIN')).toEqual({ version: 2 });
    expect(await best('rmse', 'MAX')).toEqual({ version: 4 });
    expect(await best('r2')).toEqual({ version: 3 });
    expect(await best('r2', 'MIN')).toEqual({ version: 1 });
    expect(await best('auc')).toBeNull();
  });

  it('lists models by name, framework and feature view, a page at a time', async () => {
    const { key, gql } = await project();
    await registered(key, { name: 'a', framework: 'TORCH' });
    await registered(key, { name: 'a', framework: 'TORCH' });
    await registered(key, { name: 'b', framework: 'ONNX' });
    const page = await gql(`{ models(first: 2) { edges { node { name version } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.data.models.edges.map((e: any) => `${e.node.name}${e.node.version}`)).toEqual(['a1', 'a2']);
    expect(page.data.models.pageInfo.hasNextPage).toBe(true);
    const rest = await gql(`query($after: String) { models(first: 2, after: $after) { edges { node { name version } } } }`, {
      after: page.data.models.pageInfo.endCursor,
    });
    expect(rest.data.models.edges.map((e: any) => `${e.node.name}${e.node.version}`)).toEqual(['b1']);
    const onnx = await gql(`{ models(framework: ONNX) { edges { node { name } } } byName: models(name: "a") { edges { node { version } } } }`);
    expect(onnx.data.models.edges).toEqual([{ node: { name: 'b' } }]);
    expect(onnx.data.byName.edges.map((e: any) => e.node.version)).toEqual([1, 2]);
    const none = await gql(`{ models(featureView: { name: "nope" }) { edges { node { name } } } }`);
    expect(none.data.models.edges).toEqual([]);
  });

  it('resolves a model by global id only within its project', async () => {
    const { key, gql } = await project();
    const other = await project();
    const model = await registered(key, { name: 'node_test', framework: 'OTHER' });
    const query = `query($id: ID!) { node(id: $id) { ... on Model { name version } } }`;
    expect((await gql(query, { id: model.id })).data.node).toEqual({ name: 'node_test', version: 1 });
    expect((await other.gql(query, { id: model.id })).data.node).toBeNull();
  });
});

describe('authorization', () => {
  it('lets READ keys read and download, only WRITE keys register, and no key of another project in', async () => {
    const owner = await project();
    const read = await owner.keyWith(['READ']);
    const write = await owner.keyWith(['WRITE']);
    const stranger = await project();

    const refused = await createModel(read, { name: 'guarded', framework: 'PYTHON' }, [{ name: 'a.txt', content: 'a' }]);
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe('FORBIDDEN');
    const model = await registered(write, { name: 'guarded', framework: 'PYTHON' }, [{ name: 'a.txt', content: 'secret' }]);
    expect(model.createdBy).toBe('k_write');

    const asRead = await srv.gql(GET, { name: 'guarded' }, read);
    expect(asRead.data.model.files[0].sha256).toBe(sha256('secret'));
    expect(await (await get('/files/models/guarded/1/a.txt', read)).text()).toBe('secret');
    expect((await get('/files/models/guarded/1/archive', read)).status).toBe(200);
    const readUpdate = await srv.gql(`mutation { updateModel(model: { name: "guarded" }, input: { description: "x" }) { __typename } }`, {}, read);
    expect(readUpdate.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const theirs = await stranger.gql(`{ model(name: "guarded") { id } models { edges { node { id } } } bestModel(name: "guarded", metric: "x") { id } }`);
    expect(theirs.data).toEqual({ model: null, models: { edges: [] }, bestModel: null });
    expect((await get('/files/models/guarded/1/a.txt', stranger.key)).status).toBe(404);
    expect((await get('/files/models/guarded/1/archive', stranger.key)).status).toBe(404);
    const del = await stranger.gql(`mutation { deleteModel(name: "guarded", version: 1) { __typename } }`);
    expect(del.data.deleteModel.__typename).toBe('NotFoundError');
    expect((await get('/files/models/guarded/1/a.txt', owner.key)).status).toBe(200);
  });
});

describe('aliases and lifecycle', () => {
  const SET = `mutation($v: Int!, $alias: String!) { setModelAlias(name: "ranker", alias: $alias, version: $v) {
    __typename ... on SetModelAliasPayload { alias model { version aliases } } ... on Error { message } } }`;

  it('moves an alias atomically: it always names exactly one version', async () => {
    const { key, gql } = await project();
    for (let i = 0; i < 3; i++) await registered(key, { name: 'ranker', framework: 'TORCH' });
    const first = await gql(SET, { v: 1, alias: 'champion' });
    expect(first.data.setModelAlias).toMatchObject({ alias: 'champion', model: { version: 1, aliases: ['champion'] } });
    const moved = await gql(SET, { v: 2, alias: 'champion' });
    expect(moved.data.setModelAlias.model).toEqual({ version: 2, aliases: ['champion'] });
    const both = await gql(`{ v1: model(name: "ranker", version: 1) { aliases } champion: model(name: "ranker", alias: "champion") { version } }`);
    expect(both.data).toEqual({ v1: { aliases: [] }, champion: { version: 2 } });

    // Concurrent moves and reads: every read sees one version, and one alias row survives.
    const reads: Promise<any>[] = [];
    const moves: Promise<any>[] = [];
    for (let i = 0; i < 12; i++) {
      moves.push(gql(SET, { v: (i % 3) + 1, alias: 'champion' }));
      moves.push(gql(SET, { v: (i % 3) + 1, alias: `fresh_${i % 2}` }));
      reads.push(gql(`{ models(name: "ranker") { edges { node { version aliases } } } }`));
    }
    for (const res of await Promise.all(moves)) expect(res.data.setModelAlias.__typename, JSON.stringify(res)).toBe('SetModelAliasPayload');
    for (const res of await Promise.all(reads)) {
      const holders = res.data.models.edges.filter((e: any) => e.node.aliases.includes('champion'));
      expect(holders).toHaveLength(1);
    }
    const rows = await srv.app.prisma.modelAlias.findMany({
      where: { name: 'ranker', alias: 'champion', project: { name: (await gql('{ viewer { project { name } } }')).data.viewer.project.name } },
    });
    expect(rows).toHaveLength(1);

    const removed = await gql(
      `mutation { deleteModelAlias(name: "ranker", alias: "champion") { __typename ... on DeleteModelAliasPayload { alias version } } }`,
    );
    expect(removed.data.deleteModelAlias.__typename).toBe('DeleteModelAliasPayload');
    expect((await gql(GET, { name: 'ranker', alias: 'champion' })).data.model).toBeNull();
    const again = await gql(`mutation { deleteModelAlias(name: "ranker", alias: "champion") { __typename } }`);
    expect(again.data.deleteModelAlias.__typename).toBe('NotFoundError');
    const missing = await gql(SET, { v: 9, alias: 'champion' });
    expect(missing.data.setModelAlias.__typename).toBe('NotFoundError');
    const badName = await gql(SET, { v: 1, alias: 'Not An Alias' });
    expect(badName.data.setModelAlias.__typename).toBe('ValidationError');
  });

  it('deletes a version with its files and aliases; updates merge metrics; every change is in the change feed', async () => {
    const { key, gql, name: projectName } = await project();
    const since = new Date(Date.now() - 1000).toISOString();
    await registered(key, { name: 'life', framework: 'TENSORFLOW', metrics: { loss: 0.5, acc: 0.7 } }, [
      { path: 'saved/model.pb', name: 'model.pb', content: 'pb' },
    ]);
    await registered(key, { name: 'life', framework: 'TENSORFLOW' }, [{ name: 'model.pb', content: 'pb2' }]);
    const upd =
      await gql(`mutation { updateModel(model: { name: "life", version: 1 }, input: { description: "better", metrics: { acc: 0.75, auc: 0.8, loss: null } }) {
      __typename ... on UpdateModelPayload { model { description metrics } } } }`);
    expect(upd.data.updateModel.model).toEqual({ description: 'better', metrics: { acc: 0.75, auc: 0.8 } });
    const merges = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(`mutation($m: JSON) { updateModel(model: { name: "life", version: 2 }, input: { metrics: $m }) { __typename } }`, { m: { [`m${i}`]: i } }),
      ),
    );
    for (const r of merges) expect(r.data.updateModel.__typename, JSON.stringify(r)).toBe('UpdateModelPayload');
    expect((await gql(GET, { name: 'life', version: 2 })).data.model.metrics).toEqual({ m0: 0, m1: 1, m2: 2, m3: 3, m4: 4, m5: 5 });
    const badMetrics = await gql(
      `mutation { updateModel(model: { name: "life" }, input: { metrics: { acc: "high" } }) { __typename ... on ValidationError { issues { path } } } }`,
    );
    expect(badMetrics.data.updateModel.__typename).toBe('ValidationError');
    await gql(`mutation { setModelAlias(name: "life", alias: "prod", version: 1) { __typename } }`);
    expect(artifactsOf(projectName)).toContain('life/1/saved/model.pb');

    const del = await gql(`mutation { deleteModel(name: "life", version: 1) { __typename ... on DeleteModelPayload { name version } } }`);
    expect(del.data.deleteModel).toEqual({ __typename: 'DeleteModelPayload', name: 'life', version: 1 });
    expect(artifactsOf(projectName)).toEqual(['life', 'life/2', 'life/2/model.pb']);
    expect((await gql(GET, { name: 'life', alias: 'prod' })).data.model).toBeNull();
    expect((await get('/files/models/life/1/saved/model.pb', key)).status).toBe(404);
    await gql(`mutation { deleteModel(name: "life", version: 2) { __typename } }`);
    expect(artifactsOf(projectName)).toEqual([]);
    const gone = await gql(`mutation { deleteModel(name: "life", version: 2) { __typename } }`);
    expect(gone.data.deleteModel.__typename).toBe('NotFoundError');

    const feed = await gql(`query($since: DateTime!) { registryChanges(since: $since) { kind name version action } }`, { since });
    const models = feed.data.registryChanges.filter((e: any) => e.kind === 'Model').map((e: any) => `${e.action} ${e.name} ${e.version}`);
    expect(models).toEqual([
      'CREATED life 1',
      'CREATED life 2',
      'UPDATED life 1',
      ...Array.from({ length: 6 }, () => 'UPDATED life 2'),
      'UPDATED life 1',
      'DELETED life 1',
      'DELETED life 2',
    ]);
  });

  it('gives concurrent registrations without a version distinct versions, each with its own files', async () => {
    const { key, gql, name: projectName } = await project();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        createModel(key, { name: 'race', framework: 'PYTHON', metrics: { i } }, i % 2 === 0 ? [{ name: 'model.bin', content: `content ${i}` }] : []),
      ),
    );
    for (const r of results) expect(r.__typename, JSON.stringify(r)).toBe('CreateModelPayload');
    expect(results.map((r) => r.model.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const { model } of results) {
      const i = model.metrics.i as number;
      const stored = (await gql(GET, { name: 'race', version: model.version })).data.model;
      if (i % 2 === 0) {
        expect(stored.files.map((f: any) => f.sha256)).toEqual([sha256(`content ${i}`)]);
        expect(await (await get(stored.files[0].downloadUrl, key)).text()).toBe(`content ${i}`);
      } else {
        expect(stored.files).toEqual([]);
      }
    }
    expect(artifactsOf(projectName).filter((p) => p.endsWith('model.bin'))).toHaveLength(3);
    expect(staging()).toEqual([]);
  });

  it('returns the existing version for the same definition and refuses another one', async () => {
    const { key } = await project();
    const input = { name: 'same', version: 3, framework: 'SKLEARN', metrics: { a: 1 } };
    const first = await registered(key, input, [{ name: 'm.pkl', content: 'pickle' }]);
    expect(first.version).toBe(3);
    const again = await registered(key, input, [{ name: 'm.pkl', content: 'pickle' }]);
    expect(again.id).toBe(first.id);
    const other = await createModel(key, input, [{ name: 'm.pkl', content: 'another pickle' }]);
    expect(other.__typename).toBe('ConflictError');
    expect(other.message).toMatch(/files/);
    expect(staging()).toEqual([]);
    expect(spooled()).toEqual([]);
  });
});

describe('upload in steps', () => {
  const ADD = `mutation($model: ModelRef!, $files: [ModelFileInput!]!) { addModelFiles(model: $model, files: $files) {
    __typename ... on AddModelFilesPayload { model { state files { path sha256 } } } ... on Error { message } } }`;
  const add = (key: string, version: number, files: Upload[]) =>
    multipart(
      key,
      ADD,
      { model: { name: 'llm', version }, files: files.map((f) => ({ path: f.path ?? null, file: null })) },
      files,
      (i) => `variables.files.${i}.file`,
    ).then((r) => r.data?.addModelFiles ?? r);

  it('adds files to a PENDING version, which only READY queries skip, then finalizes it', async () => {
    const { key, gql, name: projectName } = await project();
    await registered(key, { name: 'llm', framework: 'LLM', metrics: { ppl: 9 } });
    const pending = await registered(key, { name: 'llm', framework: 'LLM', pending: true, metrics: { ppl: 5 } }, [
      { path: 'config.json', name: 'c', content: '{}' },
    ]);
    expect(pending).toMatchObject({ version: 2, state: 'PENDING' });
    expect((await gql(GET, { name: 'llm' })).data.model.version).toBe(1);
    expect((await gql(GET, { name: 'llm', version: 2 })).data.model).toBeNull();
    expect((await gql(GET, { name: 'llm', includePending: true })).data.model.state).toBe('PENDING');
    expect((await gql(`{ bestModel(name: "llm", metric: "ppl", direction: MIN) { version } }`)).data.bestModel.version).toBe(1);
    const alias = await gql(`mutation { setModelAlias(name: "llm", alias: "next", version: 2) { __typename } }`);
    expect(alias.data.setModelAlias.__typename).toBe('ValidationError');

    const shard = Buffer.alloc(100_000, 3);
    const added = await add(key, 2, [{ path: 'weights/shard-1.safetensors', name: 's1', content: shard }]);
    expect(added.model.files.map((f: any) => f.path)).toEqual(['config.json', 'weights/shard-1.safetensors']);
    // A retry of the same file is harmless; other content at the same path is refused.
    const retried = await add(key, 2, [{ path: 'weights/shard-1.safetensors', name: 's1', content: shard }]);
    expect(retried.__typename, JSON.stringify(retried)).toBe('AddModelFilesPayload');
    const clash = await add(key, 2, [{ path: 'weights/shard-1.safetensors', name: 's1', content: 'other' }]);
    expect(clash.__typename).toBe('ValidationError');
    const badPath = await add(key, 2, [{ path: 'config.json/x', name: 'x', content: 'x' }]);
    expect(badPath.__typename).toBe('ValidationError');

    const FINALIZE = `mutation($expected: [String!]) { finalizeModel(model: { name: "llm", version: 2 }, expectedFiles: $expected) {
      __typename ... on FinalizeModelPayload { model { state } } ... on ValidationError { issues { path message } } } }`;
    const early = await gql(FINALIZE, { expected: ['config.json', 'weights/shard-2.safetensors'] });
    expect(early.data.finalizeModel.__typename).toBe('ValidationError');
    expect(early.data.finalizeModel.issues[0].message).toMatch(/shard-2/);
    await add(key, 2, [{ path: 'weights/shard-2.safetensors', name: 's2', content: shard }]);
    const done = await gql(FINALIZE, { expected: ['config.json', 'weights/shard-2.safetensors'] });
    expect(done.data.finalizeModel).toEqual({ __typename: 'FinalizeModelPayload', model: { state: 'READY' } });
    expect((await gql(GET, { name: 'llm' })).data.model.files.map((f: any) => f.path)).toEqual([
      'config.json',
      'weights/shard-1.safetensors',
      'weights/shard-2.safetensors',
    ]);
    expect((await gql(`{ bestModel(name: "llm", metric: "ppl", direction: MIN) { version } }`)).data.bestModel.version).toBe(2);
    const late = await add(key, 2, [{ path: 'late.bin', name: 'l', content: 'l' }]);
    expect(late.__typename).toBe('ConflictError');
    expect(artifactsOf(projectName)).not.toContain('llm/2/late.bin');
    expect(staging()).toEqual([]);
  });
});

describe('schema and input example', () => {
  it('validates metrics, the model schema and the input example against it', async () => {
    const { key } = await project();
    const schema = {
      inputSchema: {
        columnarSchema: [
          { name: 'tenure', type: 'BIGINT' },
          { name: 'contract', type: 'STRING' },
          { name: 'charges', type: 'float64' },
        ],
      },
      outputSchema: { columnarSchema: [{ name: 'churn', type: 'bool' }] },
    };
    const ok = await registered(key, { name: 'ex', framework: 'SKLEARN', modelSchema: schema, inputExample: { tenure: 3, contract: 'm2m', charges: 20.5 } });
    expect(ok.modelSchema).toEqual(schema);
    const asRow = await registered(key, { name: 'ex', framework: 'SKLEARN', modelSchema: schema, inputExample: [3, 'm2m', 20.5] });
    expect(asRow.inputExample).toEqual([3, 'm2m', 20.5]);
    const snake = await registered(key, {
      name: 'ex',
      framework: 'SKLEARN',
      modelSchema: { input_schema: { columnar_schema: [{ name: 'x', type: 'int64' }] } },
    });
    expect(snake.modelSchema).toEqual({ inputSchema: { columnarSchema: [{ name: 'x', type: 'int64' }] } });

    const wrong = await createModel(key, {
      name: 'ex',
      framework: 'SKLEARN',
      modelSchema: schema,
      inputExample: { tenure: 'long', contract: 'm2m', extra: 1 },
    });
    expect(wrong.__typename).toBe('ValidationError');
    expect(wrong.issues.map((i: any) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['input.inputExample.tenure', 'input.inputExample.extra', 'input.inputExample.charges']),
    );
    const badMetrics = await createModel(key, { name: 'ex', framework: 'SKLEARN', metrics: { acc: 'high' } });
    expect(badMetrics.__typename).toBe('ValidationError');
    expect(badMetrics.issues[0].path).toEqual(['input', 'metrics', 'acc']);
    const nested = await createModel(key, { name: 'ex', framework: 'SKLEARN', metrics: { acc: { v: 1 } } });
    expect(nested.__typename).toBe('ValidationError');
    const badSchema = await createModel(key, { name: 'ex', framework: 'SKLEARN', modelSchema: { inputSchema: { columns: [] } } });
    expect(badSchema.__typename).toBe('ValidationError');
    const badFramework = await createModel(key, { name: 'ex', framework: 'SPARK' });
    expect(badFramework.errors?.[0]?.message).toMatch(/SPARK/);
  });

  it('derives the schema from the training dataset’s transformed features and labels', async () => {
    const { key, gql, name: projectName } = await project();
    const proj = await srv.app.prisma.project.findUniqueOrThrow({ where: { name: projectName } });
    // Metadata as the feature-view work stores it: a normalized query, and a training dataset's
    // fitted transformations with their output columns.
    const feature = (name: string, type: string) => ({ name, type, description: '' });
    const customers = {
      group: { name: 'customers', version: 1 },
      schema: {
        features: [
          feature('customerid', 'STRING'),
          feature('datetime', 'TIMESTAMP'),
          feature('tenure', 'INT'),
          feature('contract', 'STRING'),
          feature('churn', 'BOOLEAN'),
        ],
        primaryKey: ['customerid'],
        eventTime: 'datetime',
      },
    };
    const plans = {
      group: { name: 'plans', version: 1 },
      schema: { features: [feature('contract', 'STRING'), feature('price', 'DOUBLE')], primaryKey: ['contract'], eventTime: null },
    };
    const query = normalizeViewQuery(
      {
        featureGroup: { name: 'customers', version: 1 },
        features: ['tenure', 'contract', 'churn'],
        joins: [{ featureGroup: { name: 'plans', version: 1 }, features: ['price'], prefix: 'plan_' }],
      },
      [customers, plans],
    );
    const view = await srv.app.prisma.featureView.create({
      data: {
        projectId: proj.id,
        name: 'churn_view',
        version: 1,
        labels: ['churn'],
        query: query as object,
        transformations: [
          { function: 'min_max_scaler', feature: 'tenure' },
          { function: 'one_hot_encoder', feature: 'contract' },
        ],
      },
    });
    const fitted = [
      {
        function: 'min_max_scaler',
        feature: 'tenure',
        inputType: 'INT',
        args: {},
        outputs: [{ name: 'min_max_scaler_tenure_', type: 'DOUBLE' }],
        params: { min: 0, max: 72 },
      },
      {
        function: 'one_hot_encoder',
        feature: 'contract',
        inputType: 'STRING',
        args: {},
        outputs: [
          { name: 'one_hot_encoder_contract_0', type: 'INT' },
          { name: 'one_hot_encoder_contract_1', type: 'INT' },
        ],
        params: { categories: ['m2m', 'year'] },
      },
    ];
    const dataset = (version: number, transformationParams: unknown[]) =>
      srv.app.prisma.trainingDataset.create({
        data: {
          featureViewId: view.id,
          version,
          split: { type: 'RANDOM' },
          format: 'PARQUET',
          splits: [],
          transformationParams: transformationParams as object[],
        },
      });
    await dataset(1, fitted);
    // Still materializing: nothing fitted yet.
    await dataset(2, []);
    const model = await registered(key, {
      name: 'churn_model',
      framework: 'SKLEARN',
      featureView: { name: 'churn_view' },
      trainingDatasetVersion: 1,
      inputExample: { min_max_scaler_tenure_: 0.5, one_hot_encoder_contract_0: 1, one_hot_encoder_contract_1: 0, plan_price: 20 },
    });
    expect(model.featureView).toEqual({ name: 'churn_view', version: 1 });
    expect(model.trainingDataset).toEqual({ version: 1 });
    expect(model.modelSchema).toEqual({
      inputSchema: {
        columnarSchema: [
          { name: 'min_max_scaler_tenure_', type: 'DOUBLE' },
          { name: 'one_hot_encoder_contract_0', type: 'INT' },
          { name: 'one_hot_encoder_contract_1', type: 'INT' },
          { name: 'plan_price', type: 'DOUBLE' },
        ],
      },
      outputSchema: { columnarSchema: [{ name: 'churn', type: 'BOOLEAN' }] },
    });
    const mismatch = await createModel(key, {
      name: 'churn_model',
      framework: 'SKLEARN',
      featureView: { name: 'churn_view' },
      trainingDatasetVersion: 1,
      inputExample: { tenure: 3 },
    });
    expect(mismatch.__typename).toBe('ValidationError');
    const listed = await gql(`{ models(featureView: { name: "churn_view", version: 1 }) { edges { node { name } } } }`);
    expect(listed.data.models.edges).toEqual([{ node: { name: 'churn_model' } }]);
    const fromView = await gql(`{ model(name: "churn_model") { featureView { name version models { name version } } } }`);
    expect(fromView.data.model.featureView).toEqual({ name: 'churn_view', version: 1, models: [{ name: 'churn_model', version: 1 }] });
    const noDataset = await createModel(key, { name: 'churn_model', framework: 'SKLEARN', featureView: { name: 'churn_view' }, trainingDatasetVersion: 7 });
    expect(noDataset.__typename).toBe('NotFoundError');
    const noView = await createModel(key, { name: 'churn_model', framework: 'SKLEARN', trainingDatasetVersion: 1 });
    expect(noView.__typename).toBe('ValidationError');
    // Without derivable metadata there is simply no schema.
    const bare = await registered(key, { name: 'churn_model', framework: 'SKLEARN', featureView: { name: 'churn_view' } });
    expect(bare.modelSchema).toBeNull();
    const unfitted = await registered(key, { name: 'churn_model', framework: 'SKLEARN', featureView: { name: 'churn_view' }, trainingDatasetVersion: 2 });
    expect(unfitted).toMatchObject({ modelSchema: null, trainingDataset: { version: 2 } });
  });
});

describe('bestModel without the metric', () => {
  it('is null when no version has the metric', async () => {
    const srv2 = await startTestServer();
    try {
      const { key } = await srv2.newProject('nometric');
      await srv2.gql(`mutation { createModel(input: { name: "m", framework: OTHER, metrics: { accuracy: 0.5 } }) { __typename } }`, {}, key);
      const res = await srv2.gql(`{ bestModel(name: "m", metric: "roc_auc") { version } }`, {}, key);
      expect(res.errors).toBeUndefined();
      expect(res.data.bestModel).toBeNull();
    } finally {
      await srv2.close();
    }
  });
});
