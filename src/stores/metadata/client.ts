import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.ts';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.ts';
import type { MetadataTarget } from './target.ts';

/**
 * The metadata client the code is typed against. Both providers' clients are generated from
 * one schema, so their model APIs are the same; the SQLite client's type stands for both.
 */
export type MetadataClient = SqliteClient;

/** Opens a Prisma client on the target through its driver adapter. Migrations are applied separately. */
export async function openMetadataClient(target: MetadataTarget): Promise<MetadataClient> {
  if (target.provider === 'sqlite') {
    mkdirSync(dirname(target.file), { recursive: true });
    const client = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: target.file, timeout: 10_000 }) });
    // WAL lets readers proceed while a writer commits; the setting persists in the file.
    await client.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await client.$executeRawUnsafe('PRAGMA foreign_keys = ON');
    return client;
  }
  const url = new URL(target.url);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  const adapter = new PrismaPg({ connectionString: url.toString(), max: 10 }, schema ? { schema } : undefined);
  return new PostgresClient({ adapter }) as unknown as MetadataClient;
}
