import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ValidationError } from '../../errors.ts';
import type { OnlineStore } from './online-store.ts';
import { RedisOnlineStore } from './redis.ts';
import { SqliteOnlineStore } from './sqlite.ts';

export type { OnlineColumns, OnlineRow, OnlineStore, OnlineTable } from './online-store.ts';
export { rowsToColumns } from './online-store.ts';
export { RedisOnlineStore, type RedisOnlineStoreOptions } from './redis.ts';
export { SqliteOnlineStore, type SqliteOnlineStoreOptions } from './sqlite.ts';

/** Where the online store lives: the data directory, and `ONLINE_STORE_URL` when set. */
export interface OpenOnlineStoreOptions {
  readonly dataDir: string;
  /** `redis://…` or `rediss://…` for Redis; unset (or empty) for SQLite in `<dataDir>/online.db`. */
  readonly url?: string | undefined;
}

/** Opens the configured online store: embedded SQLite by default, Redis for a `redis://`/`rediss://` URL. */
export function openOnlineStore(options: OpenOnlineStoreOptions): OnlineStore {
  const { dataDir, url } = options;
  if (url === undefined || url === '') {
    mkdirSync(dataDir, { recursive: true });
    return new SqliteOnlineStore({ file: join(dataDir, 'online.db') });
  }
  if (/^rediss?:\/\//.test(url)) return new RedisOnlineStore({ url });
  // Name only the scheme: the URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'without a scheme';
  throw ValidationError.at(['ONLINE_STORE_URL'], `unsupported online store URL (${scheme}): use redis:// or rediss://, or leave it unset for SQLite`);
}
