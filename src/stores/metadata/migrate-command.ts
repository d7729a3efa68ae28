import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { applyMigrations, createMigration, DEFAULT_SCRATCH_DATABASE_URL, diffMigrationsAgainstSchema } from './migrate.ts';
import { redactUrl } from './schema-engine.ts';
import { METADATA_PROVIDERS, metadataTargetFromConfig, type MetadataProvider, type MetadataTarget } from './target.ts';

export const MIGRATE_USAGE = `Usage: granary migrate [options]

Without options, applies the committed metadata migrations that the configured database has not
applied yet: the SQLite file <GRANARY_DATA_DIR>/metadata.db (default ./.granary), or the PostgreSQL
database of DATABASE_URL (postgresql://…; ?schema=name selects a schema).

Options:
  --create NAME          Write prisma/migrations/{sqlite,postgresql}/<timestamp>_NAME/migration.sql
                         for whatever prisma/schema.prisma changed since the last migration
                         (run \`npm run generate\` first). PostgreSQL replays the migrations on a
                         temporary database of the --database-url server.
  --check                Exit 1 when either provider's migrations are behind the schema,
                         printing the SQL still missing.
  --provider NAME        Limit --create and --check to sqlite or postgresql.
  --database-url URL     PostgreSQL server used by --create and --check (default TEST_DATABASE_URL,
                         else ${DEFAULT_SCRATCH_DATABASE_URL}); only temporary
                         databases are written.
  -h, --help             Show this help.
`;

/** Where the command writes; the process streams by default. */
export type MigrateCommandIo = {
  out: (text: string) => void;
  err: (text: string) => void;
};

const PROCESS_IO: MigrateCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `granary migrate [--create NAME] [--check] [--provider P] [--database-url URL] [--help]`.
 * Resolves to the exit code: 0 done, 1 failed or (with --check) migrations behind, 2 bad usage.
 */
export async function runMigrateCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: MigrateCommandIo = PROCESS_IO,
): Promise<number> {
  let values: { create?: string; check?: boolean; provider?: string; 'database-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        create: { type: 'string' },
        check: { type: 'boolean' },
        provider: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  if (values.help) {
    io.out(MIGRATE_USAGE);
    return 0;
  }
  if (values.create !== undefined && values.check) return usageError(io, '--create and --check do not combine');
  if (values.provider !== undefined && !isProvider(values.provider)) {
    return usageError(io, `--provider must be one of ${METADATA_PROVIDERS.join(', ')}`);
  }
  const providers = values.provider ? [values.provider as MetadataProvider] : METADATA_PROVIDERS;
  const databaseUrl = values['database-url'] ?? env.TEST_DATABASE_URL ?? DEFAULT_SCRATCH_DATABASE_URL;

  try {
    if (values.create !== undefined) return await create(values.create, providers, databaseUrl, io);
    if (values.check) return await check(providers, databaseUrl, io);
    return await apply(metadataTargetFromConfig(env.GRANARY_DATA_DIR || './.granary', env.DATABASE_URL), io);
  } catch (error) {
    io.err(`granary migrate: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function apply(target: MetadataTarget, io: MigrateCommandIo): Promise<number> {
  const started = performance.now();
  const { applied } = await applyMigrations(target);
  const ms = Math.round(performance.now() - started);
  const where = describeTarget(target);
  if (applied.length === 0) {
    io.out(`${where}: already up to date (${ms} ms)\n`);
  } else {
    io.out(`${where}: applied ${applied.length} migration(s) in ${ms} ms\n${applied.map((name) => `  ${name}\n`).join('')}`);
  }
  return 0;
}

async function create(name: string, providers: readonly MetadataProvider[], databaseUrl: string, io: MigrateCommandIo): Promise<number> {
  if (!derivedSchemaIsCurrent(io)) return 1;
  // One timestamp for every provider, so a change carries the same migration name in each folder.
  const timestamp = new Date();
  for (const provider of providers) {
    const directory = await createMigration(provider, name, { databaseUrl, timestamp });
    io.out(
      directory
        ? `${provider}: created ${relative(process.cwd(), directory)}/migration.sql\n`
        : `${provider}: migrations already match the schema, nothing created\n`,
    );
  }
  return 0;
}

async function check(providers: readonly MetadataProvider[], databaseUrl: string, io: MigrateCommandIo): Promise<number> {
  let behind = !derivedSchemaIsCurrent(io);
  for (const provider of providers) {
    const missing = await diffMigrationsAgainstSchema(provider, { databaseUrl });
    if (missing === '') {
      io.out(`${provider}: migrations match the schema\n`);
    } else {
      behind = true;
      io.err(`${provider}: migrations are behind the schema; \`npm run migrate:create -- NAME\` would add:\n${missing}\n`);
    }
  }
  return behind ? 1 : 0;
}

/** The PostgreSQL schema is derived from prisma/schema.prisma by scripts/generate.mjs; migrations diff against it. */
function derivedSchemaIsCurrent(io: MigrateCommandIo): boolean {
  const result = spawnSync(process.execPath, ['scripts/generate.mjs', '--check'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.status === 0) return true;
  io.err(result.stderr || result.error?.message || 'prisma/postgresql/schema.prisma is stale: run `npm run generate`\n');
  return false;
}

function describeTarget(target: MetadataTarget): string {
  return target.provider === 'sqlite' ? `sqlite ${target.file}` : `postgresql ${redactUrl(target.url)}`;
}

function isProvider(value: string): value is MetadataProvider {
  return (METADATA_PROVIDERS as readonly string[]).includes(value);
}

function usageError(io: MigrateCommandIo, message: string): number {
  io.err(`granary migrate: ${message}\n\n${MIGRATE_USAGE}`);
  return 2;
}
