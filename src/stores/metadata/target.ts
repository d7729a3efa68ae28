import { join, resolve } from 'node:path';

/** The metadata database providers Granary ships migrations for. */
export type MetadataProvider = 'sqlite' | 'postgresql';

/** The metadata database: an embedded SQLite file, or a PostgreSQL server (URL may carry `?schema=name`). */
export type MetadataTarget = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

/** Every provider, in the order commands report them. */
export const METADATA_PROVIDERS: readonly MetadataProvider[] = ['sqlite', 'postgresql'];

/**
 * Chooses the metadata database from configuration: a `postgresql://` or `postgres://` `databaseUrl` selects
 * PostgreSQL; a `file:` URL selects that SQLite file (relative to the working directory); without one it is SQLite at
 * `<dataDir>/metadata.db`.
 */
export function metadataTargetFromConfig(dataDir: string, databaseUrl?: string): MetadataTarget {
  const url = databaseUrl?.trim();
  if (!url) return { provider: 'sqlite', file: resolve(join(dataDir, 'metadata.db')) };
  if (/^postgres(ql)?:\/\//i.test(url)) return { provider: 'postgresql', url };
  if (/^file:/i.test(url)) return { provider: 'sqlite', file: resolve(url.replace(/^file:(\/\/)?/i, '')) };
  throw new Error(`DATABASE_URL must be a postgresql:// URL or a file: path, got "${url.split(':')[0]}:…"`);
}
