import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrismaClient as PostgresClient } from '../../../src/generated/postgresql/client.ts';
import { PrismaClient as SqliteClient } from '../../../src/generated/sqlite/client.ts';
import {
  applyMigrations,
  createMigration,
  diffDatabaseAgainstSchema,
  diffMigrationsAgainstSchema,
  migrationPaths,
} from '../../../src/stores/metadata/migrate.ts';
import { runMigrateCommand } from '../../../src/stores/metadata/migrate-command.ts';
import { parsePostgresUrl, SHADOW_DATABASE_PREFIX } from '../../../src/stores/metadata/schema-engine.ts';
import { metadataTargetFromConfig, type MetadataProvider } from '../../../src/stores/metadata/target.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

async function committedMigrations(provider: MetadataProvider): Promise<string[]> {
  const entries = await readdir(migrationPaths(provider).migrationsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

describe('committed schema files', () => {
  it('prisma/postgresql/schema.prisma is derived from the current prisma/schema.prisma', () => {
    const result = spawnSync(process.execPath, ['scripts/generate.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('both providers have an init migration under the same name', async () => {
    const sqlite = await committedMigrations('sqlite');
    expect(sqlite[0]).toMatch(/^\d{14}_init$/);
    expect(await committedMigrations('postgresql')).toEqual(sqlite);
  });
});

describe('metadataTargetFromConfig', () => {
  it('defaults to <dataDir>/metadata.db and picks PostgreSQL from its URL schemes', () => {
    expect(metadataTargetFromConfig('/data')).toEqual({ provider: 'sqlite', file: '/data/metadata.db' });
    expect(metadataTargetFromConfig('/data', '')).toEqual({ provider: 'sqlite', file: '/data/metadata.db' });
    expect(metadataTargetFromConfig('/data', 'postgres://u@h/db')).toEqual({ provider: 'postgresql', url: 'postgres://u@h/db' });
    expect(metadataTargetFromConfig('/data', 'postgresql://u@h/db?schema=s')).toEqual({
      provider: 'postgresql',
      url: 'postgresql://u@h/db?schema=s',
    });
    expect(metadataTargetFromConfig('/data', 'file:/tmp/x.db')).toEqual({ provider: 'sqlite', file: '/tmp/x.db' });
    expect(() => metadataTargetFromConfig('/data', 'mysql://h/db')).toThrow(/DATABASE_URL/);
  });
});

describe('parsePostgresUrl', () => {
  it('splits a Prisma URL into pg fields and turns ?schema= into the search path', () => {
    expect(parsePostgresUrl('postgresql://us%40er:p%3Ass@db.example:6543/meta?schema=granary&sslmode=disable')).toEqual({
      schema: 'granary',
      config: {
        host: 'db.example',
        port: 6543,
        user: 'us@er',
        password: 'p:ss',
        database: 'meta',
        options: '-c search_path="granary"',
      },
    });
    expect(parsePostgresUrl('postgres://postgres@localhost/test?host=/run/postgresql').config.host).toBe('/run/postgresql');
  });
});

describe('SQLite metadata migrations', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'granary-migrations-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('committed migrations are current with prisma/schema.prisma', async () => {
    expect(await diffMigrationsAgainstSchema('sqlite')).toBe('');
  });

  it('applying them to a fresh file yields exactly the Prisma schema, and a second run applies nothing', async () => {
    const target = { provider: 'sqlite' as const, file: join(dir, 'nested', 'dirs', 'metadata.db') };
    expect(await applyMigrations(target)).toEqual({ applied: await committedMigrations('sqlite') });
    expect(await diffDatabaseAgainstSchema(target)).toBe('');
    expect(await applyMigrations(target)).toEqual({ applied: [] });
  });

  it('a generated Prisma client creates and reads a Project on a freshly migrated file', async () => {
    const file = join(dir, 'client.db');
    await applyMigrations({ provider: 'sqlite', file });
    const prisma = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: file }) });
    try {
      const created = await prisma.project.create({ data: { name: 'fraud', description: 'card fraud' } });
      const read = await prisma.project.findUniqueOrThrow({ where: { name: 'fraud' } });
      expect(read).toEqual(created);
      expect(read.createdAt).toBeInstanceOf(Date);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('the diff of an empty database against the schema is the whole schema', async () => {
    const script = await diffDatabaseAgainstSchema({ provider: 'sqlite', file: join(dir, 'empty.db') });
    expect(script).toContain('CREATE TABLE "Project"');
  });

  it('createMigration writes only what the schema added, then reports the migrations current', async () => {
    const work = join(dir, 'create');
    const paths = { schemaPath: join(work, 'schema.prisma'), migrationsDir: join(work, 'migrations') };
    await cp(migrationPaths('sqlite').migrationsDir, paths.migrationsDir, { recursive: true });
    const schema = await readFile(migrationPaths('sqlite').schemaPath, 'utf8');
    await writeFile(paths.schemaPath, `${schema}\nmodel Extra {\n  id Int @id\n}\n`);

    const created = await createMigration('sqlite', 'Add extra!', { paths, timestamp: new Date(Date.UTC(2031, 0, 2, 3, 4, 5)) });
    expect(created).toBe(join(paths.migrationsDir, '20310102030405_add_extra'));
    const sql = await readFile(join(created!, 'migration.sql'), 'utf8');
    expect(sql).toContain('CREATE TABLE "Extra"');
    expect(sql).not.toContain('"Project"');
    expect(await readFile(join(paths.migrationsDir, 'migration_lock.toml'), 'utf8')).toContain('provider = "sqlite"');

    expect(await diffMigrationsAgainstSchema('sqlite', { paths })).toBe('');
    expect(await createMigration('sqlite', 'again', { paths })).toBeNull();
  });

  it('a failing migration is reported by name and blocks later runs', async () => {
    const paths = { schemaPath: migrationPaths('sqlite').schemaPath, migrationsDir: join(dir, 'broken') };
    await mkdir(join(paths.migrationsDir, '20300101000000_broken'), { recursive: true });
    await writeFile(join(paths.migrationsDir, '20300101000000_broken', 'migration.sql'), 'CREATE TABLE t (id INT);\nCREATE TABLE;\n');
    const target = { provider: 'sqlite' as const, file: join(dir, 'broken.db') };
    await expect(applyMigrations(target, { paths })).rejects.toThrow(/syntax error \(migration 20300101000000_broken\)/);
    await expect(applyMigrations(target, { paths })).rejects.toThrow(/failed migrations/);
  });

  it('`granary migrate` applies to GRANARY_DATA_DIR and `--check` passes', async () => {
    const out: string[] = [];
    const io = { out: (text: string) => void out.push(text), err: (text: string) => void out.push(text) };
    const dataDir = join(dir, 'cli-data');
    expect(await runMigrateCommand([], { GRANARY_DATA_DIR: dataDir }, io)).toBe(0);
    expect(out.join('')).toContain(`applied ${(await committedMigrations('sqlite')).length} migration`);
    expect(await diffDatabaseAgainstSchema({ provider: 'sqlite', file: join(dataDir, 'metadata.db') })).toBe('');
    expect(await runMigrateCommand(['--check', '--provider', 'sqlite'], {}, io)).toBe(0);
    expect(await runMigrateCommand(['--bogus'], {}, io)).toBe(2);
  });
});

const POSTGRES_SUITE = TEST_DATABASE_URL ? 'PostgreSQL metadata migrations' : 'PostgreSQL metadata migrations (skipped: TEST_DATABASE_URL is unset)';

describe.skipIf(!TEST_DATABASE_URL)(POSTGRES_SUITE, () => {
  const baseUrl = TEST_DATABASE_URL!;
  const created: string[] = [];

  /** A new, uniquely named database on the TEST_DATABASE_URL server; dropped after the suite. */
  async function freshDatabase(query = ''): Promise<string> {
    const name = `granary_migtest_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    created.push(name);
    const url = new URL(baseUrl);
    url.pathname = `/${name}`;
    url.search = query;
    return url.toString();
  }

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    try {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  it('committed migrations are current with prisma/postgresql/schema.prisma', async () => {
    expect(await diffMigrationsAgainstSchema('postgresql', { databaseUrl: baseUrl })).toBe('');
  });

  it('applying them to a fresh database yields exactly the Prisma schema, and a second run applies nothing', async () => {
    const target = { provider: 'postgresql' as const, url: await freshDatabase() };
    expect(await applyMigrations(target)).toEqual({ applied: await committedMigrations('postgresql') });
    expect(await diffDatabaseAgainstSchema(target)).toBe('');
    expect(await applyMigrations(target)).toEqual({ applied: [] });
  });

  it('?schema= puts the tables in that schema', async () => {
    const url = await freshDatabase('?schema=granary_meta');
    expect((await applyMigrations({ provider: 'postgresql', url })).applied).toEqual(await committedMigrations('postgresql'));
    expect(await diffDatabaseAgainstSchema({ provider: 'postgresql', url })).toBe('');
    const client = new pg.Client({ connectionString: url.replace(/\?.*$/, '') });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_schema: string }>(`SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'Project'`);
      expect(rows).toEqual([{ table_schema: 'granary_meta' }]);
    } finally {
      await client.end();
    }
  });

  it('a generated Prisma client creates and reads a Project on a freshly migrated database', async () => {
    const url = await freshDatabase();
    await applyMigrations({ provider: 'postgresql', url });
    const prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) });
    try {
      const created = await prisma.project.create({ data: { name: 'fraud', description: 'card fraud' } });
      const read = await prisma.project.findUniqueOrThrow({ where: { name: 'fraud' } });
      expect(read).toEqual(created);
      expect(read.createdAt).toBeInstanceOf(Date);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('leaves no shadow database behind', async () => {
    await diffMigrationsAgainstSchema('postgresql', { databaseUrl: baseUrl });
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [`${SHADOW_DATABASE_PREFIX}${process.pid}_`]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
