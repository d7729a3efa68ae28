import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, type ResultOf, type VariablesOf } from '../../src/client/graphql.ts';
import { ofType, operationText, startTestServer, type Gql, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CREATE = graphql(`mutation($input: CreateFeatureGroupInput!) {
  createFeatureGroup(input: $input) {
    __typename
    ... on CreateFeatureGroupPayload { featureGroup { id name version primaryKey eventTime onlineEnabled features { name type primary eventTime } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`);

// Fixtures here give some features only: absent ones are null (fillMissing).
const INSERT = graphql(`mutation($fg: FeatureGroupRef!, $rows: [JSON!], $operation: WriteOperation, $storage: Storage, $fillMissing: Boolean = true) {
  insertFeatureGroupData(featureGroup: $fg, rows: $rows, operation: $operation, storage: $storage, fillMissing: $fillMissing) {
    __typename
    ... on InsertFeatureGroupDataPayload { commit { id rowCount rowsInserted rowsUpdated committedAt onlineWritten } featureGroup { rowCount } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`);

const READ = graphql(`query($name: String!, $version: Int, $asOf: DateTime, $first: Int) {
  featureGroup(name: $name, version: $version) { read(asOf: $asOf, first: $first) { columns { name type } rows records rowCount } }
}`);

/** A row of a read: JSON, as the server sends it. */
type Row = Record<string, unknown>;

/** The records of a read, as rows. */
const records = (frame: { records: {} | null } | undefined) => frame?.records as Row[] | undefined;

const customers = (key: string) => ({
  name: 'customers',
  primaryKey: ['customerid'],
  eventTime: 'datetime',
  onlineEnabled: true,
  features: [
    { name: 'customerid', type: 'STRING' },
    { name: 'datetime', type: 'TIMESTAMP' },
    { name: 'tenure', type: 'INT', description: 'months as a customer' },
    { name: 'monthlycharges', type: 'DOUBLE' },
    { name: 'contract', type: 'STRING' },
  ],
  description: key,
});

async function project() {
  const p = await srv.newProject('fg');
  return { ...p, gql: srv.as(p.key) };
}

async function createGroup(gql: Gql, input: VariablesOf<typeof CREATE>['input']) {
  const res = await gql(CREATE, { input });
  return ofType(res.data?.createFeatureGroup, 'CreateFeatureGroupPayload', JSON.stringify(res)).featureGroup;
}

type InsertVariables = VariablesOf<typeof INSERT>;

async function insert(gql: Gql, fg: InsertVariables['fg'], rows: {}[], extra: Omit<InsertVariables, 'fg' | 'rows'> = {}) {
  const res = await gql(INSERT, { fg, rows, ...extra });
  return res.data?.insertFeatureGroupData ?? res;
}

function filesUnder(name: string, version: number, projectName: string) {
  const dir = join(srv.dataDir, 'offline', projectName, `${name}_${version}`);
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('feature group registry', () => {
  it('creates a group, returns it again for the same definition, and refuses another one', async () => {
    const { gql } = await project();
    const fg = await createGroup(gql, customers('a'));
    expect(fg).toMatchObject({ name: 'customers', version: 1, primaryKey: ['customerid'], eventTime: 'datetime', onlineEnabled: true });
    expect(fg.features.find((f) => f.name === 'customerid')).toMatchObject({ primary: true, type: 'STRING' });
    const again = await createGroup(gql, { ...customers('a'), version: 1 });
    expect(again.id).toBe(fg.id);
    const omitted = await createGroup(gql, customers('a'));
    expect(omitted.id).toBe(fg.id);
    const conflict = await gql(CREATE, { input: { ...customers('a'), version: 1, eventTime: null } });
    expect(ofType(conflict.data?.createFeatureGroup, 'ConflictError').message).toMatch(/eventTime/);
    // Version omitted with a changed definition: the next version.
    const v2 = await createGroup(gql, { ...customers('a'), features: [...customers('a').features, { name: 'churn', type: 'BOOLEAN' }] });
    expect(v2.version).toBe(2);
    const latest = await gql(graphql('{ featureGroup(name: "customers") { version } featureGroups(name: "customers") { edges { node { version } } } }'));
    expect(latest.data?.featureGroup?.version).toBe(2);
    expect(latest.data?.featureGroups.edges.map((e) => e.node.version)).toEqual([1, 2]);
  });

  it('names each culprit of a bad definition and creates nothing', async () => {
    const { gql } = await project();
    const res = await gql(CREATE, {
      input: {
        name: 'Bad Name',
        primaryKey: ['id'],
        features: [{ name: 'id', type: 'DOUBLE' }],
      },
    });
    expect(res.data?.createFeatureGroup.__typename).toBe('ValidationError');
    const bad = await gql(CREATE, {
      input: {
        name: 'bad',
        primaryKey: ['id', 'missing'],
        eventTime: 'ts',
        features: [
          { name: 'id', type: 'DOUBLE' },
          { name: 'ts', type: 'STRING' },
          { name: 'x', type: 'NUMBER' },
        ],
      },
    });
    const paths = ofType(bad.data?.createFeatureGroup, 'ValidationError').issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['input.features.2.type']));
    const fixedType = await gql(CREATE, {
      input: {
        name: 'bad',
        primaryKey: ['id', 'missing'],
        eventTime: 'ts',
        features: [
          { name: 'id', type: 'DOUBLE' },
          { name: 'ts', type: 'STRING' },
        ],
      },
    });
    const issues = ofType(fixedType.data?.createFeatureGroup, 'ValidationError').issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^input\.primaryKey\.0: .*DOUBLE/),
        expect.stringMatching(/^input\.primaryKey\.1: .*missing/),
        expect.stringMatching(/^input\.eventTime: .*TIMESTAMP/),
      ]),
    );
    const none = await gql(graphql('{ featureGroups { edges { node { name } } } }'));
    expect(none.data?.featureGroups.edges).toEqual([]);
  });

  it('appends a nullable feature; old rows read it as null', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('x'));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 3, monthlycharges: 10.5, contract: 'm2m' }]);
    const res = await gql(
      graphql(`mutation { updateFeatureGroup(featureGroup: { name: "customers" }, input: { appendFeatures: [{ name: "churn", type: "BOOLEAN" }], featureDescriptions: [{ name: "tenure", description: "months" }] }) {
        __typename ... on UpdateFeatureGroupPayload { featureGroup { version features { name description } } } } }`),
    );
    const updated = ofType(res.data?.updateFeatureGroup, 'UpdateFeatureGroupPayload');
    expect(updated.featureGroup.version).toBe(1);
    expect(updated.featureGroup.features.map((f) => f.name)).toContain('churn');
    await insert(gql, { name: 'customers' }, [{ customerid: 'c2', datetime: '2026-01-02T00:00:00Z', tenure: 1, churn: true }]);
    const read = await gql(READ, { name: 'customers' });
    expect(read.data?.featureGroup?.read.records).toEqual([
      expect.objectContaining({ customerid: 'c1', churn: null }),
      expect.objectContaining({ customerid: 'c2', churn: true }),
    ]);
    const changeType = await gql(
      graphql(
        `mutation { updateFeatureGroup(featureGroup: { name: "customers" }, input: { appendFeatures: [{ name: "tenure", type: "STRING" }] }) { __typename ... on ValidationError { issues { path } } } }`,
      ),
    );
    expect(changeType.data?.updateFeatureGroup.__typename).toBe('ValidationError');
  });

  it('infers the schema from the first insert when features are omitted', async () => {
    const { gql } = await project();
    await createGroup(gql, { name: 'inferred', primaryKey: ['id'], eventTime: 'ts' });
    const res = await insert(gql, { name: 'inferred' }, [{ id: 1, ts: '2026-01-01T00:00:00Z', score: 0.5, label: 'a' }]);
    ofType(res, 'InsertFeatureGroupDataPayload', JSON.stringify(res));
    const fg = await gql(graphql('{ featureGroup(name: "inferred") { features { name type } } }'));
    const types = Object.fromEntries(fg.data!.featureGroup!.features.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ id: 'BIGINT', score: 'DOUBLE', label: 'STRING' });
    expect(['TIMESTAMP', 'STRING']).toContain(types.ts);
  });

  it('deletes a group with its files', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('d'));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 3 }]);
    expect(filesUnder('customers', 1, name).length).toBeGreaterThan(0);
    const res = await gql(
      graphql('mutation { deleteFeatureGroup(featureGroup: { name: "customers" }) { __typename ... on DeleteFeatureGroupPayload { name version } } }'),
    );
    expect(res.data?.deleteFeatureGroup).toEqual({ __typename: 'DeleteFeatureGroupPayload', name: 'customers', version: 1 });
    expect((await gql(graphql('{ featureGroup(name: "customers") { id } }'))).data?.featureGroup).toBeNull();
    expect(filesUnder('customers', 1, name)).toEqual([]);
  });
});

describe('inserts and reads', () => {
  it('supersedes a row with the same identity and keeps other event times as history', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('s'));
    const first = await insert(gql, { name: 'customers' }, [
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1, monthlycharges: 10, contract: 'm2m' },
      { customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 5, monthlycharges: 20, contract: 'year' },
    ]);
    expect(ofType(first, 'InsertFeatureGroupDataPayload').commit).toMatchObject({ rowCount: 2, rowsInserted: 2, rowsUpdated: 0 });
    const second = await insert(gql, { name: 'customers' }, [
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 2, monthlycharges: 11, contract: 'm2m' },
      { customerid: 'c1', datetime: '2026-02-01T00:00:00Z', tenure: 3, monthlycharges: 12, contract: 'm2m' },
    ]);
    const secondCommit = ofType(second, 'InsertFeatureGroupDataPayload');
    expect(secondCommit.commit).toMatchObject({ rowCount: 2, rowsInserted: 1, rowsUpdated: 1 });
    expect(secondCommit.featureGroup.rowCount).toBe(3);
    const read = await gql(READ, { name: 'customers' });
    expect(read.data?.featureGroup?.read.records).toEqual([
      { customerid: 'c1', datetime: expect.stringMatching(/^2026-01-01T00:00:00/), tenure: 2, monthlycharges: 11, contract: 'm2m' },
      { customerid: 'c1', datetime: expect.stringMatching(/^2026-02-01T00:00:00/), tenure: 3, monthlycharges: 12, contract: 'm2m' },
      { customerid: 'c2', datetime: expect.stringMatching(/^2026-01-01T00:00:00/), tenure: 5, monthlycharges: 20, contract: 'year' },
    ]);
    expect(read.data?.featureGroup?.read.columns.map((c) => c.name)).toEqual(['customerid', 'datetime', 'tenure', 'monthlycharges', 'contract']);
  });

  it('records which key made each commit', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('w'));
    const minted = await gql(
      graphql(`mutation { createApiKey(input: { name: "nightly-pipeline", scopes: [WRITE] }) { __typename ... on CreateApiKeyPayload { secret } } }`),
      {},
    );
    const pipeline = srv.as(ofType(minted.data?.createApiKey, 'CreateApiKeyPayload', JSON.stringify(minted)).secret);
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z' }]);
    await insert(pipeline, { name: 'customers' }, [{ customerid: 'c2', datetime: '2026-01-01T00:00:00Z' }]);
    const res = await gql(graphql(`query { featureGroup(name: "customers") { commits { createdBy } } }`), {});
    expect(res.data?.featureGroup?.commits.map((c) => c.createdBy)).toEqual(['nightly-pipeline', 'test']);
  });

  it('reads as of a wall-clock time: only commits made up to then', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('t'));
    const a = await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 }]);
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await insert(gql, { name: 'customers' }, [
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 9 },
      { customerid: 'c3', datetime: '2026-01-01T00:00:00Z', tenure: 7 },
    ]);
    const then = await gql(READ, { name: 'customers', asOf: between });
    expect(records(then.data?.featureGroup?.read)?.map((r) => [r.customerid, r.tenure])).toEqual([['c1', 1]]);
    const before = await gql(READ, {
      name: 'customers',
      asOf: new Date(Date.parse(ofType(a, 'InsertFeatureGroupDataPayload').commit.committedAt) - 1000).toISOString(),
    });
    expect(before.data?.featureGroup?.read.rowCount).toBe(0);
    const now = await gql(READ, { name: 'customers' });
    expect(records(now.data?.featureGroup?.read)?.map((r) => [r.customerid, r.tenure])).toEqual([
      ['c1', 9],
      ['c3', 7],
    ]);
  });

  it.each([
    ['a value of the wrong type', { customerid: 'c9', datetime: '2026-01-01T00:00:00Z', tenure: 'many' }, /rows\.2\.tenure/],
    ['a null primary key', { customerid: null, datetime: '2026-01-01T00:00:00Z', tenure: 1 }, /rows\.2\.customerid/],
    ['a missing event time', { customerid: 'c9', tenure: 1 }, /rows\.2\.datetime/],
    ['an unknown column', { customerid: 'c9', datetime: '2026-01-01T00:00:00Z', nope: 1 }, /nope/],
  ])('rejects an insert with %s, naming row and column, and writes nothing', async (_label, badRow, pathPattern) => {
    const { gql, name } = await project();
    await createGroup(gql, customers('r'));
    const good = { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 };
    const res = await insert(gql, { name: 'customers' }, [good, badRow]);
    const paths = ofType(res, 'ValidationError', JSON.stringify(res))
      .issues.map((i) => i.path.join('.'))
      .join(' ');
    expect(paths).toMatch(pathPattern);
    const fg = await gql(graphql('{ featureGroup(name: "customers") { rowCount commits { id } } }'));
    expect(fg.data?.featureGroup).toEqual({ rowCount: 0, commits: [] });
    expect(filesUnder('customers', 1, name)).toEqual([]);
  });

  it('rejects duplicate identities within an INSERT, and keeps the last under UPSERT', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('u'));
    const rows = [
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 },
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 2 },
    ];
    const rejected = await insert(gql, { name: 'customers' }, rows, { operation: 'INSERT' });
    expect(
      ofType(rejected, 'ValidationError')
        .issues.map((i) => i.path.join('.'))
        .join(' '),
    ).toMatch(/rows\.2/);
    const upserted = await insert(gql, { name: 'customers' }, rows, { operation: 'UPSERT' });
    expect(ofType(upserted, 'InsertFeatureGroupDataPayload').commit.rowCount).toBe(1);
    const read = await gql(READ, { name: 'customers' });
    expect(records(read.data?.featureGroup?.read)?.map((r) => r.tenure)).toEqual([2]);
  });

  it('leaves nothing visible when the insert fails between the file write and the commit row', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('f'));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 }]);
    const filesBefore = filesUnder('customers', 1, name);
    const service = srv.app.services.featureGroups;
    service.faults = {
      afterPublish: () => {
        throw new Error('injected failure after the files were renamed into place');
      },
    };
    try {
      const res = await gql(INSERT, {
        fg: { name: 'customers' },
        rows: [
          { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 99 },
          { customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 5 },
        ],
      });
      expect(res.errors?.[0]?.message).toBeDefined();
    } finally {
      service.faults = {};
    }
    const fg = await gql(graphql('{ featureGroup(name: "customers") { rowCount commits { id } read { records } } }'));
    expect(fg.data?.featureGroup?.commits).toHaveLength(1);
    expect(records(fg.data?.featureGroup?.read)?.map((r) => [r.customerid, r.tenure])).toEqual([['c1', 1]]);
    expect(filesUnder('customers', 1, name)).toEqual(filesBefore);
    const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'customers', project: { name } } });
    const online = await srv.app.online.read(srv.app.services.featureGroups.onlineTable(group), [['c1'], ['c2']]);
    expect(online.map((r) => r?.tenure ?? null)).toEqual([1, null]);
  });
});

describe('online store', () => {
  it('keeps the newest event per key, through out-of-order and replayed inserts', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('o'));
    const newer = [{ customerid: 'c1', datetime: '2026-03-01T00:00:00Z', tenure: 3 }];
    const older = [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 }];
    await insert(gql, { name: 'customers' }, newer);
    await insert(gql, { name: 'customers' }, older);
    await insert(gql, { name: 'customers' }, newer);
    await insert(gql, { name: 'customers' }, older);
    const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'customers', project: { name } } });
    const [row] = await srv.app.online.read(srv.app.services.featureGroups.onlineTable(group), [['c1']]);
    expect(row).toMatchObject({ customerid: 'c1', tenure: 3 });
    // Equal event time: the later commit wins.
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-03-01T00:00:00Z', tenure: 4 }]);
    const [after] = await srv.app.online.read(srv.app.services.featureGroups.onlineTable(group), [['c1']]);
    expect(after).toMatchObject({ tenure: 4 });
  });

  it('answers onlineRows by primary key in the order asked, null where the store has no row, and names a bad entry', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('q'));
    await insert(gql, { name: 'customers' }, [
      { customerid: 'c1', datetime: '2026-03-01T00:00:00Z', tenure: 3, contract: 'm2m' },
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1, contract: 'year' },
      { customerid: 'c2', datetime: '2026-02-01T00:00:00Z', tenure: 7 },
    ]);
    const ONLINE_ROWS = graphql(`query($name: String!, $entries: [JSON!]!) {
      featureGroup(name: $name) { onlineRows(entries: $entries) { columns { name type } records found } }
    }`);
    const res = await gql(ONLINE_ROWS, { name: 'customers', entries: [{ customerid: 'c2' }, { customerid: 'nobody' }, { customerid: 'c1' }] });
    const rows = res.data?.featureGroup?.onlineRows;
    expect(rows?.columns.map((c) => c.name)).toEqual(['customerid', 'datetime', 'tenure', 'monthlycharges', 'contract']);
    expect(rows?.found).toBe(2);
    expect(rows?.records).toEqual([
      { customerid: 'c2', datetime: '2026-02-01T00:00:00.000000Z', tenure: 7, monthlycharges: null, contract: null },
      null,
      { customerid: 'c1', datetime: '2026-03-01T00:00:00.000000Z', tenure: 3, monthlycharges: null, contract: 'm2m' },
    ]);
    const bad = await gql(ONLINE_ROWS, { name: 'customers', entries: [{ customerid: 'c1' }, { tenure: 3 }] });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.extensions?.issues).toEqual([
      { path: ['entries', 1, 'customerid'], message: expect.stringMatching(/missing primary key feature customerid/) },
    ]);
    expect(bad.data?.featureGroup ?? null).toBeNull();
    const typed = await gql(ONLINE_ROWS, { name: 'customers', entries: [{ customerid: 7 }] });
    expect(typed.errors?.[0]?.extensions?.issues).toEqual([
      { path: ['entries', 0, 'customerid'], message: 'primary key feature customerid: expects a string, got a number' },
    ]);
    await createGroup(gql, { ...customers('r'), name: 'offline_only', onlineEnabled: false });
    const offline = await gql(ONLINE_ROWS, { name: 'offline_only', entries: [{ customerid: 'c1' }] });
    expect(offline.errors?.[0]?.message).toMatch(/not online enabled/);
  });

  it('equals the newest offline row of every key after random inserts', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('p'));
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let batch = 0; batch < 8; batch++) {
      const rows = Array.from({ length: 40 }, () => ({
        customerid: `c${rand(25)}`,
        datetime: new Date(Date.UTC(2026, 0, 1 + rand(30))).toISOString(),
        tenure: rand(100),
        monthlycharges: rand(1000) / 10,
        contract: ['m2m', 'year', 'two'][rand(3)],
      }));
      const res = await insert(gql, { name: 'customers' }, rows, { operation: 'UPSERT' });
      ofType(res, 'InsertFeatureGroupDataPayload', JSON.stringify(res));
    }
    const read = await gql(READ, { name: 'customers', first: 100000 });
    const newest = new Map<unknown, Row>();
    for (const r of records(read.data?.featureGroup?.read)!) {
      const cur = newest.get(r.customerid);
      if (!cur || (r.datetime as string) > (cur.datetime as string)) newest.set(r.customerid, r);
    }
    const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'customers', project: { name } } });
    const keys = [...newest.keys()].sort();
    const online = await srv.app.online.read(
      srv.app.services.featureGroups.onlineTable(group),
      keys.map((k) => [k]),
    );
    expect(online).toEqual(keys.map((k) => newest.get(k)));
  });
});

describe('file inserts', () => {
  const UPLOAD = graphql(`mutation($fg: FeatureGroupRef!, $file: File, $format: DataFormat, $fillMissing: Boolean = true) {
    insertFeatureGroupData(featureGroup: $fg, file: $file, format: $format, fillMissing: $fillMissing) {
      __typename
      ... on InsertFeatureGroupDataPayload { commit { rowCount rowsInserted } }
      ... on ValidationError { issues { path message } }
    }
  }`);

  async function upload(key: string, name: string, content: string, fileName: string, extra: Partial<VariablesOf<typeof UPLOAD>> = {}) {
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: operationText(UPLOAD),
        variables: { fg: { name }, file: null, ...extra },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([content]), fileName);
    const res = await srv.server.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'x-graphql-yoga-csrf': '1' },
      body: form,
    });
    return (await res.json()) as GraphQLResult<ResultOf<typeof UPLOAD>>;
  }

  it('inserts a CSV upload, coercing numeric strings and ISO timestamps', async () => {
    const { gql, key } = await project();
    await createGroup(gql, customers('csv'));
    const csv = 'customerid,datetime,tenure,monthlycharges,contract\nc1,2026-01-01T00:00:00Z,3,10.5,m2m\nc2,2026-01-02 12:00:00,7,,year\n';
    const res = await upload(key, 'customers', csv, 'customers.csv');
    expect(res.data?.insertFeatureGroupData, JSON.stringify(res)).toMatchObject({ commit: { rowCount: 2, rowsInserted: 2 } });
    const read = await gql(READ, { name: 'customers' });
    expect(read.data?.featureGroup?.read.records).toEqual([
      { customerid: 'c1', datetime: expect.stringMatching(/^2026-01-01T00:00:00/), tenure: 3, monthlycharges: 10.5, contract: 'm2m' },
      { customerid: 'c2', datetime: expect.stringMatching(/^2026-01-02T12:00:00/), tenure: 7, monthlycharges: null, contract: 'year' },
    ]);
    expect(readdirSync(join(srv.app.services.tempFiles.dir, 'uploads')).length).toBe(0);
  });

  it('rejects a CSV row that does not fit the schema, naming row and column, with nothing written', async () => {
    const { gql, key } = await project();
    await createGroup(gql, customers('csvbad'));
    const csv = 'customerid,datetime,tenure\nc1,2026-01-01T00:00:00Z,3\nc2,2026-01-02T00:00:00Z,lots\n';
    const res = await upload(key, 'customers', csv, 'rows.txt', { format: 'CSV' });
    expect(ofType(res.data?.insertFeatureGroupData, 'ValidationError').issues[0]?.path).toEqual(['file', '2', 'tenure']);
    expect((await gql(graphql('{ featureGroup(name: "customers") { rowCount } }'))).data?.featureGroup?.rowCount).toBe(0);
  });
});

describe('recovery after an unclean stop', () => {
  it('removes files no commit lists and replays online rows of durable commits', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('rec'));
    await insert(gql, { name: 'customers' }, [
      { customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 },
      { customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 2 },
    ]);
    const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'customers', project: { name } } });
    const dir = join(srv.dataDir, 'offline', name, 'customers_1');
    const committed = readdirSync(dir);
    // What a process killed mid-insert leaves: a staged file and a published one with no commit row.
    const [file] = committed;
    // The staged file is named for its process, which has no lease (gone); the published one
    // names no process and was last written two hours ago.
    const { copyFileSync, utimesSync } = await import('node:fs');
    copyFileSync(join(dir, file!), join(dir, `.staging-deadbeefdeadbeef-01900000-0000-7000-8000-000000000000-0.parquet`));
    copyFileSync(join(dir, file!), join(dir, `01900000-0000-7000-8000-000000000001-0.parquet`));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, `01900000-0000-7000-8000-000000000001-0.parquet`), twoHoursAgo, twoHoursAgo);
    // …and a durable commit whose online write its (gone) writer never did.
    const table = srv.app.services.featureGroups.onlineTable(group);
    await srv.app.online.drop(table);
    await srv.app.prisma.commit.updateMany({ where: { featureGroupId: group.id }, data: { onlineState: 'PENDING', writer: 'deadbeefdeadbeef' } });
    expect(await srv.app.online.read(table, [['c1'], ['c2']])).toEqual([null, null]);

    const result = await srv.app.services.featureGroups.recover();
    expect(result.sweptFiles).toBeGreaterThanOrEqual(2);
    expect(result.replayedCommits).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([...committed].sort());
    const online = await srv.app.online.read(table, [['c1'], ['c2']]);
    expect(online.map((r) => r?.tenure)).toEqual([1, 2]);
    const commits = await gql(graphql('{ featureGroup(name: "customers") { commits { onlineWritten } read { rowCount } } }'));
    expect(commits.data?.featureGroup).toEqual({ commits: [{ onlineWritten: true }], read: { rowCount: 2 } });
  });

  it('writes ONLINE-only inserts to the online store without keeping history', async () => {
    const { gql, name } = await project();
    await createGroup(gql, customers('onl'));
    const res = await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 4 }], { storage: 'ONLINE' });
    expect(ofType(res, 'InsertFeatureGroupDataPayload').commit).toMatchObject({ rowCount: 1, onlineWritten: true });
    const group = await srv.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'customers', project: { name } } });
    const [row] = await srv.app.online.read(srv.app.services.featureGroups.onlineTable(group), [['c1']]);
    expect(row).toMatchObject({ tenure: 4 });
    expect((await gql(READ, { name: 'customers' })).data?.featureGroup?.read.rowCount).toBe(0);
    expect(filesUnder('customers', 1, name)).toEqual([]);
  });
});

describe('downloads and the change log', () => {
  it('serves the group as CSV and Parquet with the same auth, and time travels', async () => {
    const { gql, key } = await project();
    const other = await srv.newProject('dl');
    const base = await srv.listen();
    await createGroup(gql, customers('dl'));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1, monthlycharges: 2.5, contract: 'm2m' }]);
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c2', datetime: '2026-01-01T00:00:00Z', tenure: 2 }]);
    const urls = await gql(
      graphql(
        `query($asOf: DateTime) { featureGroup(name: "customers") { csv: downloadUrl(format: CSV) then: downloadUrl(format: CSV, asOf: $asOf) parquet: downloadUrl } }`,
      ),
      { asOf: between.toISOString() },
    );
    const { csv, then, parquet } = urls.data!.featureGroup!;
    const get = (path: string, k?: string) => fetch(base + path, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    const full = await get(csv, key);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await full.text()).trim().split('\n');
    expect(lines[0]).toBe('customerid,datetime,tenure,monthlycharges,contract');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['c1', 'c2']);
    const past = (await (await get(then, key)).text()).trim().split('\n');
    expect(past.slice(1).map((l) => l.split(',')[0])).toEqual(['c1']);

    const pq = await get(parquet, key);
    expect(pq.status).toBe(200);
    const bytes = Buffer.from(await pq.arrayBuffer());
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    expect(bytes.subarray(-4).toString()).toBe('PAR1');

    expect((await get(csv)).status).toBe(401);
    expect((await get(csv, other.key)).status).toBe(404);
    expect((await get('/files/feature-groups/customers/9/data.csv', key)).status).toBe(404);
  });

  it('reads the rows committed in a window, superseded ones included', async () => {
    const { gql } = await project();
    await createGroup(gql, customers('chg'));
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 1 }]);
    await new Promise((r) => setTimeout(r, 20));
    const from = new Date().toISOString();
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 2 }]);
    await insert(gql, { name: 'customers' }, [{ customerid: 'c1', datetime: '2026-01-01T00:00:00Z', tenure: 3 }]);
    const res = await gql(
      graphql(`query($from: DateTime) { featureGroup(name: "customers") { changes(from: $from) { records } all: changes { rowCount } } }`),
      { from },
    );
    expect(records(res.data?.featureGroup?.changes)?.map((r) => r.tenure)).toEqual([2, 3]);
    expect(res.data?.featureGroup?.all.rowCount).toBe(3);
  });
});
