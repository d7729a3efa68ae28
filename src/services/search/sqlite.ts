import { Prisma } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { SqlSearchIndex } from './search-index.ts';
import type { SqlDialect } from './sql.ts';

/**
 * Search on embedded SQLite: the FTS5 table "SearchFts" (tokenizer ascii, rowid =
 * SearchDocument.id, kept in step by triggers), queried with prefix phrases `"tok"*` joined by AND.
 */
export function sqliteSearchIndex(prisma: MetadataClient, dialect: SqlDialect): SqlSearchIndex {
  return new SqlSearchIndex(prisma, dialect, (tokens) => {
    const match = tokens.map((t) => `"${t.replaceAll('"', '""')}"*`).join(' AND ');
    const fts = dialect.table('SearchFts');
    return Prisma.sql`d."id" IN (SELECT rowid FROM ${fts} WHERE ${fts} MATCH ${match})`;
  });
}
