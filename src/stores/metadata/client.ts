import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.ts';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.ts';
import { ValidationError } from '../../errors.ts';
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
  return withoutNul(new PostgresClient({ adapter })) as unknown as MetadataClient;
}

/** What a read answers when its arguments hold a NUL character: no stored text holds one. */
const EMPTY_READS: Record<string, () => unknown> = {
  findUnique: () => null,
  findFirst: () => null,
  findMany: () => [],
  count: () => 0,
  groupBy: () => [],
};

/**
 * PostgreSQL text cannot hold the NUL character (U+0000): a query whose arguments carry one fails
 * in the driver. No stored name, id or value holds one, so a read given one finds nothing and a
 * write is a ValidationError, whatever the caller sent it from.
 */
function withoutNul(client: PostgresClient) {
  return client.$extends({
    query: {
      $allModels: {
        async $allOperations({ operation, args, query }) {
          if (!holdsNul(args)) return query(args);
          const empty = EMPTY_READS[operation];
          if (empty) return empty();
          if (operation.endsWith('OrThrow')) throw new ValidationError('no object is named with a NUL character (U+0000)');
          throw new ValidationError('text may not contain the NUL character (U+0000)');
        },
      },
    },
  });
}

/** Whether a string anywhere in `value` holds U+0000 (iterative: arguments may nest deeply). */
function holdsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
      for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push(item);
    }
  }
  return false;
}
