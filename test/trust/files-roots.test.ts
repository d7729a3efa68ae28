import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { projectOf, type Gql } from '../helpers/catalog.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CREATE_SOURCE = `mutation($input: CreateDataSourceInput!) {
  createDataSource(input: $input) {
    __typename
    ... on CreateDataSourcePayload { dataSource { name config } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`;
const CREATE_EXTERNAL = `mutation($input: CreateExternalFeatureGroupInput!) {
  createExternalFeatureGroup(input: $input) { __typename ... on Error { message } }
}`;

let srv: TestServer;
/** The default root of `srv`: `<data dir>/files`. */
let root: string;
/** A directory outside every root, holding a file a hostile admin would like to read. */
let outside: string;

beforeAll(async () => {
  srv = await startTestServer();
  root = join(srv.dataDir, 'files');
  outside = mkdtempSync(join(tmpdir(), 'granary-outside-'));
  writeFileSync(join(outside, 'users.csv'), 'user_id,secret\nu0,hunter2\n');
});
afterAll(async () => {
  await srv?.close();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

function refusedAtPath(res: any): string {
  const payload = res.data.createDataSource;
  expect(payload.__typename, JSON.stringify(res)).toBe('ValidationError');
  expect(payload.issues.map((i: any) => i.path)).toEqual([['input', 'config', 'path']]);
  return payload.message;
}

async function createFiles(gql: Gql, name: string, path: string) {
  return gql(CREATE_SOURCE, { input: { name, type: 'FILES', config: { path } } });
}

describe('FILES data sources stay inside the configured roots', () => {
  it('makes the default root <data dir>/files and accepts directories under it', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const lake = join(root, 'lake_ok');
    mkdirSync(lake);
    writeFileSync(join(lake, 'users.csv'), 'user_id,score\nu0,3\n');
    const res = await createFiles(gql, 'lake', lake);
    expect(res.data.createDataSource.__typename, JSON.stringify(res)).toBe('CreateDataSourcePayload');
    const listed = await gql(`mutation { testDataSource(name: "lake") { __typename ... on TestDataSourcePayload { objects } ... on Error { message } } }`);
    expect(listed.data.testDataSource.objects).toEqual(['users.csv']);
  });

  it.each([
    ['/etc', '/etc'],
    ['a temporary directory outside', 'OUTSIDE'],
    ['the data directory itself', 'DATADIR'],
    ['.. out of the root', 'ROOT/../'],
    ['a path that does not exist outside', '/no/such/dir/anywhere'],
  ])('refuses %s with a ValidationError at input.config.path that names no server path', async (_label, spec) => {
    const { gql } = await projectOf(srv, 'roots');
    const path = spec.replace('OUTSIDE', outside).replace('DATADIR', srv.dataDir).replace('ROOT', root);
    const message = refusedAtPath(await createFiles(gql, 'bad', path));
    expect(message).toMatch(/outside the directories this server lets FILES data sources read/);
    // Only what the user typed: no root, no resolved path.
    expect(message.replace(JSON.stringify(path), '<typed>')).not.toContain(root);
    expect(message.replace(JSON.stringify(path), '<typed>')).not.toContain(srv.dataDir);
    expect((await gql(`{ dataSources { name } }`)).data.dataSources).toEqual([]);
  });

  it('refuses a symbolic link inside the root that leads outside, and says so without the target', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const link = join(root, 'escape_link');
    symlinkSync(outside, link);
    const message = refusedAtPath(await createFiles(gql, 'escape', link));
    expect(message).not.toContain(outside);
    expect(message).not.toContain(realpathSync(outside));
  });

  it('says a directory inside the root does not exist, and that a file is not a directory', async () => {
    const { gql } = await projectOf(srv, 'roots');
    expect(refusedAtPath(await createFiles(gql, 'gone', join(root, 'not_made_yet')))).toMatch(/does not exist/);
    writeFileSync(join(root, 'plain.csv'), 'a\n1\n');
    expect(refusedAtPath(await createFiles(gql, 'plain', join(root, 'plain.csv')))).toMatch(/not a directory/);
  });

  it('re-checks on every read: a directory swapped for a link outside after creation is refused', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const lake = join(root, 'lake_swapped');
    mkdirSync(lake);
    writeFileSync(join(lake, 'users.csv'), 'user_id,secret\nu0,public\n');
    expect((await createFiles(gql, 'lake', lake)).data.createDataSource.__typename).toBe('CreateDataSourcePayload');
    const group = await gql(CREATE_EXTERNAL, { input: { name: 'users', dataSource: 'lake', path: 'users.csv', primaryKey: ['user_id'] } });
    expect(group.data.createExternalFeatureGroup.__typename, JSON.stringify(group)).toBe('CreateExternalFeatureGroupPayload');
    expect((await gql(`{ featureGroup(name: "users") { read { records } } }`)).data.featureGroup.read.records).toEqual([{ user_id: 'u0', secret: 'public' }]);

    renameSync(lake, `${lake}_old`);
    symlinkSync(outside, lake);
    const read = await gql(`{ featureGroup(name: "users") { read { records } } }`);
    expect(read.data?.featureGroup ?? null).toBeNull();
    expect(read.errors?.[0]?.extensions?.code).toBe('DATA_SOURCE_ERROR');
    expect(read.errors?.[0]?.message).toMatch(/data source lake: its directory is outside/);
    expect(JSON.stringify(read)).not.toContain('hunter2');
    expect(JSON.stringify(read)).not.toContain(outside);
    const listed = await gql(`mutation { testDataSource(name: "lake") { __typename ... on Error { message } } }`);
    expect(listed.data.testDataSource.__typename).toBe('DataSourceError');
    expect(listed.data.testDataSource.message).not.toContain(outside);
  });

  it('refuses to read a directory that holds a link to a file outside (DuckDB would read it)', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const lake = join(root, 'lake_links');
    mkdirSync(join(lake, 'users', 'part=1'), { recursive: true });
    writeFileSync(join(lake, 'users', 'part=1', 'a.csv'), 'user_id,secret\nu1,public\n');
    expect((await createFiles(gql, 'lake', lake)).data.createDataSource.__typename).toBe('CreateDataSourcePayload');
    const group = await gql(CREATE_EXTERNAL, { input: { name: 'users', dataSource: 'lake', path: 'users', format: 'CSV', primaryKey: ['user_id'] } });
    expect(group.data.createExternalFeatureGroup.__typename, JSON.stringify(group)).toBe('CreateExternalFeatureGroupPayload');
    const before = await gql(`{ featureGroup(name: "users") { read { records } } }`);
    expect(before.data.featureGroup.read.records.map((r: any) => r.secret)).toEqual(['public']);

    symlinkSync(join(outside, 'users.csv'), join(lake, 'users', 'part=1', 'b.csv'));
    const read = await gql(`{ featureGroup(name: "users") { read { records } } }`);
    expect(read.errors?.[0]?.extensions?.code, JSON.stringify(read)).toBe('DATA_SOURCE_ERROR');
    expect(read.errors?.[0]?.message).toMatch(/users in data source lake holds a link that leads outside its directory/);
    expect(JSON.stringify(read)).not.toContain('hunter2');
    expect(JSON.stringify(read)).not.toContain(outside);
  });

  it('reports unreadable files without DuckDB’s message or any server path', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const lake = join(root, 'lake_broken');
    mkdirSync(join(lake, 'events'), { recursive: true });
    writeFileSync(join(lake, 'broken.parquet'), 'this is not parquet');
    expect((await createFiles(gql, 'lake', lake)).data.createDataSource.__typename).toBe('CreateDataSourcePayload');
    const broken = await gql(CREATE_EXTERNAL, { input: { name: 'broken', dataSource: 'lake', path: 'broken.parquet', primaryKey: ['id'] } });
    expect(broken.data.createExternalFeatureGroup).toEqual({
      __typename: 'DataSourceError',
      message: 'data source lake: broken.parquet could not be read as PARQUET (not a valid PARQUET file, or files whose columns cannot be combined)',
    });
    const empty = await gql(CREATE_EXTERNAL, { input: { name: 'empty', dataSource: 'lake', path: 'events', format: 'PARQUET', primaryKey: ['id'] } });
    expect(empty.data.createExternalFeatureGroup).toEqual({ __typename: 'DataSourceError', message: 'data source lake: no PARQUET files found at events' });
  });

  it('names no system message when the directory is gone', async () => {
    const { gql } = await projectOf(srv, 'roots');
    const lake = join(root, 'lake_removed');
    mkdirSync(lake);
    expect((await createFiles(gql, 'lake', lake)).data.createDataSource.__typename).toBe('CreateDataSourcePayload');
    rmSync(lake, { recursive: true });
    const listed = await gql(`mutation { testDataSource(name: "lake") { __typename ... on Error { message } } }`);
    expect(listed.data.testDataSource).toEqual({ __typename: 'DataSourceError', message: 'data source lake: its directory does not exist' });
  });
});

describe('GRANARY_FILE_SOURCE_ROOTS', () => {
  it('defaults to <data dir>/files and takes a comma-separated list of directories', () => {
    expect(loadConfig({ GRANARY_DATA_DIR: '/srv/granary' }).fileSourceRoots).toEqual(['/srv/granary/files']);
    expect(loadConfig({ GRANARY_DATA_DIR: '/srv/granary', GRANARY_FILE_SOURCE_ROOTS: '/data/lake, /mnt/exports/' }).fileSourceRoots).toEqual([
      '/data/lake',
      '/mnt/exports',
    ]);
    expect(() => loadConfig({ GRANARY_FILE_SOURCE_ROOTS: ' , ' })).toThrow(/GRANARY_FILE_SOURCE_ROOTS/);
  });

  it('replaces the default: only the configured directories are readable', async () => {
    const configured = mkdtempSync(join(tmpdir(), 'granary-roots-'));
    const other = await startTestServer({ env: { GRANARY_FILE_SOURCE_ROOTS: configured } });
    try {
      const { gql } = await projectOf(other, 'roots');
      mkdirSync(join(configured, 'lake'));
      const ok = await createFiles(gql, 'lake', join(configured, 'lake'));
      expect(ok.data.createDataSource.__typename, JSON.stringify(ok)).toBe('CreateDataSourcePayload');
      mkdirSync(join(other.dataDir, 'files'), { recursive: true });
      refusedAtPath(await createFiles(gql, 'default', join(other.dataDir, 'files')));
    } finally {
      await other.close();
      rmSync(configured, { recursive: true, force: true });
    }
  });
});
