import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverAbandoned } from '../../src/recovery.ts';
import { commitRef } from '../../src/services/feature-group/commits.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Two processes of one deployment (A and B) on one data directory and metadata database. B's
 * start-up recovery (`recoverAbandoned`, what `serve` runs before listening) must leave alone
 * whatever A is writing — an upload being received, an insert staged or published but not yet
 * recorded, a model version published but not yet recorded, a commit whose online rows A is still
 * writing — and remove only what a process that is gone (its lease expired or deleted) left.
 */

let a: TestServer;
let b: TestServer;
let aUrl: string;
beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ shareWith: a });
  aUrl = await a.listen();
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

type Gql = (q: string, v?: Record<string, unknown>) => Promise<any>;

const GROUP = {
  name: 'events',
  primaryKey: ['k'],
  eventTime: 'ts',
  onlineEnabled: true,
  features: [
    { name: 'k', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'v', type: 'DOUBLE' },
  ],
};

const RESULT = `__typename
  ... on InsertFeatureGroupDataPayload { commit { id rowCount } }
  ... on Error { message }`;

const INSERT = `mutation($rows: [JSON!]) { insertFeatureGroupData(featureGroup: { name: "events" }, rows: $rows) { ${RESULT} } }`;
const READ = `{ featureGroup(name: "events") { commits { id } read { rowCount records } } }`;

async function setUp(prefix: string): Promise<{ gql: Gql; key: string; projectName: string }> {
  const p = await a.newProject(prefix);
  const gql: Gql = (q, v) => a.gql(q, v, p.key);
  const created = await gql(`mutation($input: CreateFeatureGroupInput!) { createFeatureGroup(input: $input) { __typename ... on Error { message } } }`, {
    input: GROUP,
  });
  expect(created.data?.createFeatureGroup.__typename, JSON.stringify(created)).toBe('CreateFeatureGroupPayload');
  return { gql, key: p.key, projectName: p.name };
}

const rows = (...keys: string[]) => keys.map((k, i) => ({ k, ts: '2026-01-01T00:00:00Z', v: i + 1 }));

/** A gate: `wait` blocks until `open`; `reached` resolves once something waits. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  return {
    open,
    reached: arrived,
    wait: async () => {
      reached();
      await opened;
    },
  };
}

function groupDir(projectName: string): string {
  return join(a.dataDir, 'offline', projectName, 'events_1');
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** B's start-up recovery, with what it logged. */
async function restartB(): Promise<{ recovered: Awaited<ReturnType<typeof recoverAbandoned>>; logged: string[] }> {
  const logged: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
  const app = { ...b.app, logger };
  const recovered = await recoverAbandoned(app);
  return { recovered, logged };
}

describe('start-up recovery beside a live process', () => {
  it('keeps an upload A is still receiving; the insert then commits every row', async () => {
    const { gql, key } = await setUp('upl');
    const boundary = 'sweep-boundary-3e9a';
    const operations = JSON.stringify({
      query: `mutation($file: File) { insertFeatureGroupData(featureGroup: { name: "events" }, file: $file, format: CSV) { ${RESULT} } }`,
      variables: { file: null },
    });
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: ['variables.file'] })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="events.csv"\r\nContent-Type: text/csv\r\n\r\n` +
      `k,ts,v\n` +
      Array.from({ length: 500 }, (_, i) => `a${i},2026-01-01T00:00:00Z,${i}\n`).join('');
    const tail = Array.from({ length: 500 }, (_, i) => `b${i},2026-01-01T00:00:00Z,${i}\n`).join('') + `\r\n--${boundary}--\r\n`;
    let sendTail!: () => void;
    const tailSent = new Promise<void>((resolve) => (sendTail = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode(head));
        await tailSent;
        controller.enqueue(new TextEncoder().encode(tail));
        controller.close();
      },
    });
    const response = fetch(`${aUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-graphql-yoga-csrf': '1' },
      body,
      duplex: 'half',
    } as RequestInit);
    // The first half is spooled into A's upload folder…
    const uploads = join(a.app.services.tempFiles.dir, 'uploads');
    await until(() => existsSync(uploads) && readdirSync(uploads).length > 0);
    // …when B starts.
    const { recovered } = await restartB();
    expect(recovered.tempEntries).toBe(0);
    expect(readdirSync(uploads)).toHaveLength(1);
    sendTail();
    const answer = (await (await response).json()) as any;
    expect(answer.data?.insertFeatureGroupData, JSON.stringify(answer)).toMatchObject({
      __typename: 'InsertFeatureGroupDataPayload',
      commit: { rowCount: 1000 },
    });
    expect((await gql(READ)).data.featureGroup.read.rowCount).toBe(1000);
  });

  it('keeps the staged file of an insert A has not recorded yet; the insert then commits', async () => {
    const { gql, projectName } = await setUp('stg');
    const staged = gate();
    a.app.services.featureGroups.faults = { afterStage: staged.wait };
    try {
      const inserted = gql(INSERT, { rows: rows('s1', 's2') });
      await staged.reached;
      expect(readdirSync(groupDir(projectName)).some((f) => f.startsWith('.staging-'))).toBe(true);
      const { recovered } = await restartB();
      expect(recovered).toMatchObject({ sweptFiles: 0, replayedCommits: 0 });
      staged.open();
      const result = (await inserted).data.insertFeatureGroupData;
      expect(result, JSON.stringify(result)).toMatchObject({ __typename: 'InsertFeatureGroupDataPayload', commit: { rowCount: 2 } });
    } finally {
      a.app.services.featureGroups.faults = {};
    }
    const read = (await gql(READ)).data.featureGroup;
    expect(read.read.records.map((r: any) => r.k).sort()).toEqual(['s1', 's2']);
  });

  it('keeps the published file of a commit A records while B recovers; the commit stays readable', async () => {
    const { gql, projectName } = await setUp('pub');
    expect((await gql(INSERT, { rows: rows('p0') })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    const published = gate();
    a.app.services.featureGroups.faults = { afterPublish: published.wait };
    try {
      const inserted = gql(INSERT, { rows: rows('p1', 'p2') });
      await published.reached;
      // B lists the folder (the published file is there, no commit lists it yet), then A records.
      const { recovered } = await restartB();
      expect(recovered.sweptFiles).toBe(0);
      published.open();
      const result = (await inserted).data.insertFeatureGroupData;
      expect(result.__typename, JSON.stringify(result)).toBe('InsertFeatureGroupDataPayload');
    } finally {
      a.app.services.featureGroups.faults = {};
    }
    const read = (await gql(READ)).data.featureGroup;
    expect(read.commits).toHaveLength(2);
    expect(read.read.records.map((r: any) => r.k).sort()).toEqual(['p0', 'p1', 'p2']);
    expect(readdirSync(groupDir(projectName)).filter((f) => !f.startsWith('.'))).toHaveLength(2);
  });

  it('reads the commits after listing the folder: a commit recorded in between keeps its file, even with no grace', async () => {
    const { gql, projectName } = await setUp('race');
    const published = gate();
    a.app.services.featureGroups.faults = { afterPublish: published.wait };
    let inserted: Promise<any>;
    try {
      inserted = gql(INSERT, { rows: rows('r1') });
      await published.reached;
    } finally {
      a.app.services.featureGroups.faults = {};
    }
    const group = await b.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'events', project: { name: projectName } } });
    const location = b.app.services.featureGroups.location(projectName, group);
    // A file that appears once the commits are being read was not in the listing: never judged.
    const later = join(groupDir(projectName), `${uuidv7()}-0.parquet`);
    // Every process counted gone and no grace: only the commit list protects A's published file,
    // and it is read after the listing, once A has recorded its commit.
    const removed = await b.app.offline.sweep(
      location,
      async () => {
        writeFileSync(later, 'x');
        published.open();
        expect((await inserted).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
        return (await b.app.services.featureGroups.commits(group.id)).map(commitRef);
      },
      { graceMs: 0, live: async () => () => false },
    );
    expect(removed).toEqual([]);
    expect(existsSync(later)).toBe(true);
    rmSync(later);
    expect((await gql(READ)).data.featureGroup.read.records.map((r: any) => r.k)).toEqual(['r1']);
  });

  it('leaves the online rows of a commit A is still writing to A, and logs no recovery on a clean start', async () => {
    const { gql, projectName } = await setUp('clean');
    expect((await gql(INSERT, { rows: rows('c1') })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    // A commit of A whose online write A has not finished (as between its record and online write).
    const group = await a.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'events', project: { name: projectName } } });
    await a.app.prisma.commit.updateMany({ where: { featureGroupId: group.id }, data: { onlineState: 'PENDING' } });
    // An upload being spooled and an insert staged in A.
    await a.app.services.tempFiles.spool(new Blob(['k,ts,v\n']));
    const staged = gate();
    a.app.services.featureGroups.faults = { afterStage: staged.wait };
    try {
      const inserted = gql(INSERT, { rows: rows('c2') });
      await staged.reached;
      const { recovered, logged } = await restartB();
      expect(recovered).toEqual({ tempEntries: 0, sweptFiles: 0, replayedCommits: 0, sweptFolders: 0 });
      expect(logged.join('')).not.toMatch(/recovered after an unclean stop|removed model artifacts/);
      staged.open();
      expect((await inserted).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    } finally {
      a.app.services.featureGroups.faults = {};
    }
    expect((await a.app.prisma.commit.findMany({ where: { featureGroupId: group.id, onlineState: 'PENDING' } })).length).toBe(1);
  });

  it('keeps a model version A has published but not recorded; it is then registered with its file', async () => {
    const p = await a.newProject('mdl');
    const published = gate();
    a.app.services.models.faults = { afterPublish: published.wait };
    try {
      const form = new FormData();
      form.set(
        'operations',
        JSON.stringify({
          query: `mutation($input: CreateModelInput!) { createModel(input: $input) { __typename ... on CreateModelPayload { model { version files { path size } } } ... on Error { message } } }`,
          variables: { input: { name: 'churn', framework: 'PYTHON', files: [{ path: 'model.bin', file: null }] } },
        }),
      );
      form.set('map', JSON.stringify({ 0: ['variables.input.files.0.file'] }));
      form.set('0', new Blob(['weights']), 'model.bin');
      const created = a.server.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { authorization: `Bearer ${p.key}`, 'x-graphql-yoga-csrf': '1' },
        body: form,
      });
      await published.reached;
      const { recovered } = await restartB();
      expect(recovered.sweptFolders).toBe(0);
      published.open();
      const answer = (await (await created).json()) as any;
      expect(answer.data?.createModel, JSON.stringify(answer)).toMatchObject({
        __typename: 'CreateModelPayload',
        model: { files: [{ path: 'model.bin', size: 7 }] },
      });
    } finally {
      a.app.services.models.faults = {};
    }
    const location = { project: p.name, name: 'churn', version: 1 };
    expect(readdirSync(join(a.dataDir, 'artifacts', 'models', location.project, 'churn', '1'))).toEqual(['model.bin']);
    expect(readdirSync(join(a.dataDir, 'artifacts', '.staging'))).toEqual([]);
  });
});

describe('start-up recovery after a process is gone', () => {
  it('removes the uploads, staged files, unregistered model files and online debts of a process whose lease expired, and says so', async () => {
    const { gql, projectName } = await setUp('dead');
    expect((await gql(INSERT, { rows: rows('d1') })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    const dead = 'deadc0dedeadc0de';
    await a.app.prisma.processLease.create({ data: { id: dead, host: 'elsewhere', pid: 1, heartbeatAt: new Date(Date.now() - 3600_000) } });
    // What the dead process left: an upload, a staged insert, a commit whose online rows it never wrote,
    mkdirSync(join(a.dataDir, 'tmp', dead, 'uploads'), { recursive: true });
    writeFileSync(join(a.dataDir, 'tmp', dead, 'uploads', 'upload-1'), 'k,ts,v\n');
    const staged = join(groupDir(projectName), `.staging-${dead}-${uuidv7()}-0.parquet`);
    writeFileSync(staged, 'partial');
    const group = await a.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'events', project: { name: projectName } } });
    await a.app.prisma.commit.updateMany({ where: { featureGroupId: group.id }, data: { onlineState: 'PENDING', writer: dead } });
    const table = a.app.services.featureGroups.onlineTable(group);
    await a.app.online.drop(table);
    // …a model staging area, and a version folder it published and never recorded (its claim names it).
    const stagingRoot = join(a.dataDir, 'artifacts', '.staging');
    mkdirSync(join(stagingRoot, `${dead}-${uuidv7()}`), { recursive: true });
    const ghost = join(a.dataDir, 'artifacts', 'models', projectName, 'ghost', '1');
    mkdirSync(ghost, { recursive: true });
    writeFileSync(join(ghost, 'half.bin'), 'half');
    const claim = `${dead}-${uuidv7()}`;
    writeFileSync(join(stagingRoot, `${claim}.claim`), join(projectName, 'ghost', '1'));
    // And what A (alive) is writing meanwhile, which stays.
    const spooled = await a.app.services.tempFiles.spool(new Blob(['k,ts,v\n']));

    const { recovered, logged } = await restartB();
    expect(recovered).toEqual({ tempEntries: 1, sweptFiles: 1, replayedCommits: 1, sweptFolders: 2 });
    expect(logged.join('')).toMatch(/recovered after an unclean stop/);
    expect(existsSync(join(a.dataDir, 'tmp', dead))).toBe(false);
    expect(existsSync(staged)).toBe(false);
    expect(existsSync(ghost)).toBe(false);
    expect(readdirSync(stagingRoot)).toEqual([]);
    expect(existsSync(spooled)).toBe(true);
    expect((await a.app.online.read(table, [['d1']]))[0]?.v).toBe(1);
    expect(await a.app.prisma.processLease.findUnique({ where: { id: dead } })).toBeNull();
    expect((await gql(READ)).data.featureGroup.read.records.map((r: any) => r.k)).toEqual(['d1']);
    await a.app.services.tempFiles.remove(spooled);
  });

  it('removes unowned leftovers only once older than the grace', async () => {
    const { projectName } = await setUp('old');
    const fresh = join(groupDir(projectName), `${uuidv7()}-0.parquet`);
    const old = join(groupDir(projectName), `${uuidv7()}-0.parquet`);
    mkdirSync(groupDir(projectName), { recursive: true });
    writeFileSync(fresh, 'x');
    writeFileSync(old, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const { recovered } = await restartB();
    expect(recovered.sweptFiles).toBe(1);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });

  it('a graceful stop leaves nothing to recover: its lease and temporary folder are gone', async () => {
    const c = await startTestServer({ shareWith: a });
    const id = c.app.services.processes.id;
    await c.app.services.tempFiles.spool(new Blob(['x']));
    expect(await a.app.prisma.processLease.findUnique({ where: { id } })).not.toBeNull();
    await c.close();
    expect(await a.app.prisma.processLease.findUnique({ where: { id } })).toBeNull();
    expect(existsSync(join(a.dataDir, 'tmp', id))).toBe(false);
    const { recovered, logged } = await restartB();
    expect(recovered).toEqual({ tempEntries: 0, sweptFiles: 0, replayedCommits: 0, sweptFolders: 0 });
    expect(logged.join('')).not.toMatch(/recovered after an unclean stop/);
  });
});

describe('recovery while serving', () => {
  it('cleans up after a process whose lease expires while this one serves, at its next heartbeat', async () => {
    const { gql, projectName } = await setUp('later');
    expect((await gql(INSERT, { rows: rows('l1') })).data.insertFeatureGroupData.__typename).toBe('InsertFeatureGroupDataPayload');
    const group = await a.app.prisma.featureGroup.findFirstOrThrow({ where: { name: 'events', project: { name: projectName } } });
    const logged: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
    b.app.services.processes.watch(() => recoverAbandoned({ ...b.app, logger }));
    try {
      // Nothing expired: a heartbeat does nothing.
      await b.app.services.processes.check();
      expect(logged).toEqual([]);
      // A process on another host dies after B started: its lease expires, leaving a staged file
      // and a commit whose online rows it never wrote.
      const dead = 'feedfacefeedface';
      await a.app.prisma.processLease.create({ data: { id: dead, host: 'elsewhere', pid: 1, heartbeatAt: new Date(Date.now() - 3600_000) } });
      const staged = join(groupDir(projectName), `.staging-${dead}-${uuidv7()}-0.parquet`);
      writeFileSync(staged, 'partial');
      await a.app.prisma.commit.updateMany({ where: { featureGroupId: group.id }, data: { onlineState: 'PENDING', writer: dead } });
      const table = a.app.services.featureGroups.onlineTable(group);
      await a.app.online.drop(table);
      await b.app.services.processes.check();
      expect(existsSync(staged)).toBe(false);
      expect((await a.app.online.read(table, [['l1']]))[0]?.v).toBe(1);
      expect(await a.app.prisma.processLease.findUnique({ where: { id: dead } })).toBeNull();
      expect(logged.join('')).toMatch(/recovered after an unclean stop/);
    } finally {
      await b.app.services.processes.unwatch();
    }
  });
});
