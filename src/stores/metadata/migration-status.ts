import { readdir } from 'node:fs/promises';
import type { MetadataClient } from './client.ts';
import { migrationPaths } from './migrate.ts';
import type { MetadataProvider } from './target.ts';

/**
 * The committed migrations of `provider` that the database has not finished applying (by name),
 * read through the open client: empty when its schema is current. Rejects when the database
 * does not answer.
 */
export async function pendingMigrations(prisma: MetadataClient, provider: MetadataProvider): Promise<string[]> {
  const entries = await readdir(migrationPaths(provider).migrationsDir, { withFileTypes: true });
  const committed = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const rows = await prisma.$queryRawUnsafe<{ migration_name: string }[]>(
    'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  const applied = new Set(rows.map((row) => row.migration_name));
  return committed.filter((name) => !applied.has(name)).sort();
}
