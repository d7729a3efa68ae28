import { Prisma } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { SqlSearchIndex } from './search-index.ts';
import type { SqlDialect } from './sql.ts';

/**
 * Search on PostgreSQL: full-text search over the lexemes of SearchDocument.terms, taken as they
 * are (array_to_tsvector: no parser, no dictionary), with a prefix query `'tok':* & …`. The
 * expression is the one the GIN index "SearchDocument_terms_fts_idx" is built on.
 */
export function postgresSearchIndex(prisma: MetadataClient, dialect: SqlDialect): SqlSearchIndex {
  return new SqlSearchIndex(prisma, dialect, (tokens) => {
    const query = tokens.map((t) => `'${t.replaceAll('\\', '\\\\').replaceAll("'", "''")}':*`).join(' & ');
    return Prisma.sql`array_to_tsvector(string_to_array(d."terms", ' ')) @@ CAST(${query} AS tsquery)`;
  });
}
