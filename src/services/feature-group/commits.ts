import type { Commit } from '../../generated/sqlite/client.ts';
import type { CommitRef } from '../../stores/offline/offline-store.ts';
import { readCommitFiles } from '../json-columns.ts';

/**
 * Commits as the offline store reads them. A commit with storage ONLINE wrote only the online
 * store and keeps no offline rows: every offline read leaves it out, through these helpers.
 */

/** The metadata filter of commits with offline rows (storage OFFLINE or BOTH). */
export const OFFLINE_COMMITS = { storage: { not: 'ONLINE' } } as const;

/** Whether a commit has offline rows (storage OFFLINE or BOTH). */
export function isOfflineCommit(commit: Pick<Commit, 'storage'>): boolean {
  return commit.storage !== 'ONLINE';
}

/** A commit row as the offline store's CommitRef: its id and files. */
export function commitRef(commit: Commit): CommitRef {
  return { id: commit.id, files: readCommitFiles(commit.files) };
}

/** A commit row as a CommitRef stating `rowsUpdated`, so that reads remove superseded rows cheaply (see OfflineStore.rows). */
export function committedRef(commit: Commit): CommitRef {
  return { ...commitRef(commit), rowsUpdated: commit.rowsUpdated };
}
