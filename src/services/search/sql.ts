import { Prisma } from '../../generated/sqlite/client.ts';
import type { MetadataProvider, MetadataTarget } from '../../stores/metadata/target.ts';

/** What raw SQL needs to know of the metadata database it runs on. */
export interface SqlDialect {
  readonly provider: MetadataProvider;
  /** A table name, quoted, and qualified with the `?schema=` of a PostgreSQL URL (raw SQL does not get Prisma's). */
  table(name: string): Prisma.Sql;
  /** Appended to a text ORDER BY term: byte order on both providers (PostgreSQL's locale order would differ). */
  readonly byteOrder: Prisma.Sql;
}

export function sqlDialect(target: MetadataTarget): SqlDialect {
  const schema = target.provider === 'postgresql' ? new URL(target.url).searchParams.get('schema') : null;
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  return {
    provider: target.provider,
    table: (name) => Prisma.raw(schema ? `${quote(schema)}.${quote(name)}` : quote(name)),
    byteOrder: target.provider === 'postgresql' ? Prisma.raw(' COLLATE "C"') : Prisma.empty,
  };
}
