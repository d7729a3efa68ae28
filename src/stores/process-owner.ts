import { stat } from 'node:fs/promises';

/**
 * Files several processes write into shared folders carry the id of the process that owns them
 * (its lease in the metadata database): 16 lower-case hex characters, random per start.
 */
export const PROCESS_ID = /^[0-9a-f]{16}$/;

/**
 * Whether a process may still be writing: true for live processes (their lease is current).
 * Stores ask for it after listing the files they judge (see `ProcessLeases.live`).
 */
export type Liveness = (processId: string) => boolean;

/**
 * What recovery of a shared folder needs: the live processes, read after the listing. Entries
 * that name no owner (published but unrecorded files, entries of older versions) are removed
 * only once older than `graceMs`.
 */
export interface SweepGuard {
  live(): Promise<Liveness>;
  readonly graceMs: number;
}

/** An entry with no owner is abandoned once untouched this long (no write takes an hour between its last byte and its record). */
export const UNOWNED_GRACE_MS = 60 * 60 * 1000;

/** Whether `path` was last modified more than `graceMs` ago (false when it is gone already). */
export async function olderThan(path: string, graceMs: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > graceMs;
  } catch {
    return false;
  }
}
