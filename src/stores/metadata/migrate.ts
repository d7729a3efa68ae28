import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import type { MigrationList, SchemaFilter, SchemasContainer } from '@prisma/schema-engine-wasm/schema_engine_bg';

import { openSchemaEngine, type OpenSchemaEngine, type SchemaEngineConnection } from './schema-engine.ts';
import type { MetadataProvider, MetadataTarget } from './target.ts';

/** Where a provider's Prisma schema and committed migrations live. */
export type MigrationPaths = {
  /** The Prisma schema migrations are diffed against. */
  schemaPath: string;
  /** The folder holding `migration_lock.toml` and one `<timestamp>_<name>/migration.sql` per migration. */
  migrationsDir: string;
};

/** Options shared by the commands that need a PostgreSQL server only to replay migrations on. */
export type ScratchOptions = {
  /**
   * A PostgreSQL URL the engine connects to; a uniquely named shadow database is created on that server and
   * dropped afterwards, nothing is written to the database itself. Default: `TEST_DATABASE_URL`, else
   * {@link DEFAULT_SCRATCH_DATABASE_URL}.
   */
  databaseUrl?: string;
  /** Overrides the committed schema and migrations (tests). */
  paths?: MigrationPaths;
};

/** The server `createMigration` and `diffMigrationsAgainstSchema` use for PostgreSQL when none is given. */
export const DEFAULT_SCRATCH_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOCKFILE = 'migration_lock.toml';
const MIGRATION_FILE = 'migration.sql';
const EMPTY_MIGRATION = '-- This is an empty migration.';

/**
 * Tables that hand-written migration SQL creates and Prisma does not model: SQLite's FTS5 search
 * index (the virtual table and the shadow tables FTS5 keeps beside it). Declared external, as
 * prisma.config.ts `tables.external` would, so diffs neither drop nor report them.
 */
const EXTERNAL_TABLES: Record<MetadataProvider, string[]> = {
  sqlite: ['SearchFts', 'SearchFts_config', 'SearchFts_content', 'SearchFts_data', 'SearchFts_docsize', 'SearchFts_idx'],
  postgresql: [],
};

function schemaFilter(provider: MetadataProvider): SchemaFilter {
  return { externalTables: EXTERNAL_TABLES[provider], externalEnums: [] };
}

/** The committed schema and migrations folder of a provider in this repository. */
export function migrationPaths(provider: MetadataProvider): MigrationPaths {
  return {
    schemaPath: join(PROJECT_ROOT, provider === 'sqlite' ? 'prisma/schema.prisma' : 'prisma/postgresql/schema.prisma'),
    migrationsDir: join(PROJECT_ROOT, 'prisma/migrations', provider),
  };
}

/**
 * Applies the provider's committed migrations that the target has not applied yet (like `prisma migrate
 * deploy`), creating the SQLite file and its directory when missing. Safe to run on every start.
 */
export async function applyMigrations(target: MetadataTarget, options: { paths?: MigrationPaths } = {}): Promise<{ applied: string[] }> {
  const paths = options.paths ?? migrationPaths(target.provider);
  const migrationsList = await readMigrationsList(target.provider, paths.migrationsDir);
  if (target.provider === 'sqlite') await mkdir(dirname(target.file), { recursive: true });
  // The engine takes SQLite's database in exclusive locking mode, which fails while another process of
  // the deployment (a server on the same data directory) has it open. So a database with every migration
  // applied is recognised without the engine, and a busy one is retried for up to 30 s: two processes
  // started together on a new data directory wait for the first to finish migrating.
  const deadline = Date.now() + 30_000;
  for (let attempt = 1; ; attempt++) {
    if (target.provider === 'sqlite' && sqliteMigrationsApplied(target.file, migrationsList)) return { applied: [] };
    try {
      await using opened = await openSchemaEngine(target);
      const { appliedMigrationNames } = await opened.engine.applyMigrations({ migrationsList, filters: schemaFilter(target.provider) });
      return { applied: appliedMigrationNames };
    } catch (error) {
      if (target.provider !== 'sqlite' || !isBusy(error)) throw error;
      if (Date.now() > deadline) {
        throw new Error(`migrations are pending and another process has the metadata database ${target.file} open; stop it to migrate`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
    }
  }
}

/** Whether every migration of the list is recorded as finished (and not rolled back) in the SQLite file. */
function sqliteMigrationsApplied(file: string, migrationsList: MigrationList): boolean {
  if (!existsSync(file)) return false;
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`).get();
    if (!table) return false;
    const rows = db.prepare(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`).all() as {
      migration_name: string;
    }[];
    const applied = new Set(rows.map((row) => row.migration_name));
    return migrationsList.migrationDirectories.every((directory) => applied.has(directory.path));
  } finally {
    db.close();
  }
}

/** SQLite's "database is locked", as the driver adapter reports it (error kind `SocketTimeout`). */
function isBusy(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/SocketTimeout|SQLITE_BUSY|database is locked/.test(e.message)) return true;
  }
  return false;
}

/**
 * The SQL still needed to bring a database replaying the committed migrations up to the provider's Prisma
 * schema; empty when the migrations are current. PostgreSQL needs a server to replay them on (see
 * {@link ScratchOptions}).
 */
export async function diffMigrationsAgainstSchema(provider: MetadataProvider, options: ScratchOptions = {}): Promise<string> {
  const paths = options.paths ?? migrationPaths(provider);
  const [migrationsList, schema] = await Promise.all([readMigrationsList(provider, paths.migrationsDir), readSchema(paths.schemaPath)]);
  await using opened = await openScratchEngine(provider, options.databaseUrl);
  // `return await`, here and below: freeing the engine while a call is in flight corrupts wasm memory.
  return await diffScript(opened, provider, { tag: 'migrations', ...migrationsList }, { tag: 'schemaDatamodel', ...schema });
}

/**
 * The SQL needed to bring the target database as it is now to the provider's Prisma schema; empty when the
 * database matches the schema exactly.
 */
export async function diffDatabaseAgainstSchema(target: MetadataTarget, options: { paths?: MigrationPaths } = {}): Promise<string> {
  const paths = options.paths ?? migrationPaths(target.provider);
  const schema = await readSchema(paths.schemaPath);
  await using opened = await openSchemaEngine(target);
  // The WebAssembly engine reads `schemaDatasource` through the driver adapter it was opened with.
  return await diffScript(
    opened,
    target.provider,
    { tag: 'schemaDatasource', ...schema, configDir: dirname(paths.schemaPath) },
    { tag: 'schemaDatamodel', ...schema },
  );
}

/**
 * Writes `<migrationsDir>/<timestamp>_<name>/migration.sql` with the SQL that takes the committed migrations to
 * the provider's Prisma schema, and the `migration_lock.toml` Prisma keeps beside them. Returns the new
 * migration's directory, or null when the migrations are already current (nothing is written).
 */
export async function createMigration(provider: MetadataProvider, name: string, options: ScratchOptions & { timestamp?: Date } = {}): Promise<string | null> {
  const slug = migrationSlug(name);
  const paths = options.paths ?? migrationPaths(provider);
  const script = await diffMigrationsAgainstSchema(provider, { ...options, paths });
  if (script === '') return null;

  const directory = join(paths.migrationsDir, `${migrationTimestamp(options.timestamp ?? new Date())}_${slug}`);
  await mkdir(paths.migrationsDir, { recursive: true });
  try {
    await mkdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`migration ${relative(process.cwd(), directory)} already exists`);
    }
    throw error;
  }
  await writeFile(join(directory, MIGRATION_FILE), script);
  await writeFile(join(paths.migrationsDir, LOCKFILE), lockfileContent(provider));
  return directory;
}

/**
 * Reads a migrations folder the way Prisma's CLI does: every subdirectory is a migration, sorted by name.
 * A missing lockfile is stood in for, since the engine needs it to know the connector even when there are no
 * migrations yet.
 */
export async function readMigrationsList(provider: MetadataProvider, migrationsDir: string): Promise<MigrationList> {
  const lockfileText = await readFile(join(migrationsDir, LOCKFILE), 'utf8').catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    names.map(async (path) => ({
      path,
      migrationFile: {
        path: MIGRATION_FILE,
        content: await readFile(join(migrationsDir, path, MIGRATION_FILE), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: Error) => ({ tag: 'error' as const, value: error.message }),
        ),
      },
    })),
  );
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: lockfileText ?? lockfileContent(provider) },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

function lockfileContent(provider: MetadataProvider): string {
  return '# Please do not edit this file manually\n' + '# It should be added in your version-control system (e.g., Git)\n' + `provider = "${provider}"\n`;
}

async function readSchema(schemaPath: string): Promise<SchemasContainer> {
  return { files: [{ path: schemaPath, content: await readFile(schemaPath, 'utf8') }] };
}

/** SQLite replays migrations in memory; PostgreSQL on a shadow database of the scratch server. */
function openScratchEngine(provider: MetadataProvider, databaseUrl: string | undefined): Promise<OpenSchemaEngine> {
  const connection: SchemaEngineConnection =
    provider === 'sqlite' ? { provider, file: ':memory:' } : { provider, url: databaseUrl ?? process.env.TEST_DATABASE_URL ?? DEFAULT_SCRATCH_DATABASE_URL };
  return openSchemaEngine(connection);
}

type DiffTarget = Parameters<OpenSchemaEngine['engine']['diff']>[0]['from'];

async function diffScript(opened: OpenSchemaEngine, provider: MetadataProvider, from: DiffTarget, to: DiffTarget): Promise<string> {
  const { stdout } = await opened.engine.diff({ from, to, script: true, exitCode: null, filters: schemaFilter(provider) });
  const script = (stdout ?? '').trim();
  return script === EMPTY_MIGRATION || script === '' ? '' : `${script}\n`;
}

/** Prisma's migration names: lowercase letters, digits and underscores. */
function migrationSlug(name: string): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!slug) throw new Error(`invalid migration name "${name}": use letters, digits and underscores`);
  return slug.slice(0, 200);
}

/** `YYYYMMDDHHMMSS` in UTC, as Prisma names migration directories. */
function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
