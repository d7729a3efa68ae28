import type { CommitRef, EventTimeWindow, GroupLocation, OfflineStore } from '../../stores/offline/offline-store.ts';
import type { OnlineStore, OnlineTable } from '../../stores/online/online-store.ts';

/**
 * Rows per online-store write: one round trip (one SQLite transaction) each. Rows arrive sorted by
 * key, so a large batch touches few pages per commit. Inserts, recovery on start and MATERIALIZE
 * all write in batches of this size.
 */
export const ONLINE_BATCH = 20_000;

/** The stores a replay reads from and writes to. */
export interface ReplayStores {
  readonly offline: Pick<OfflineStore, 'onlineColumns'>;
  readonly online: Pick<OnlineStore, 'writeColumns'>;
}

export interface ReplayOptions {
  /** Only rows whose event time is in this window (MATERIALIZE with startTime/endTime). */
  readonly window?: EventTimeWindow | undefined;
  /** Checked before each batch is written: an aborted replay stops between batches by throwing its reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes one offline commit's rows to a group's online table, under the commit's id, in batches of
 * `ONLINE_BATCH` (newest row per key of each part, see `OfflineStore.onlineColumns`). Replaying a
 * commit twice is harmless: online writes keep the newest event per key, and for equal event times
 * the later commit. The table must exist (`OnlineStore.ensure`). Used by recovery on start (commits
 * whose writer died before writing them online) and by MATERIALIZE (backfills, commit by commit).
 * Resolves to the number of rows written.
 */
export async function replayOnline(
  stores: ReplayStores,
  location: GroupLocation,
  table: OnlineTable,
  commit: CommitRef,
  options: ReplayOptions = {},
): Promise<number> {
  let rows = 0;
  for await (const batch of stores.offline.onlineColumns(location, table.schema, [commit], ONLINE_BATCH, options.window)) {
    options.signal?.throwIfAborted();
    if (batch.rowCount > 0) await stores.online.writeColumns(table, batch, commit.id);
    rows += batch.rowCount;
  }
  return rows;
}
