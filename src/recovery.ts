import type { App } from './app.ts';

/** What start-up recovery removed or repaired of processes that are gone. */
export interface Recovered {
  /** Entries of `<data dir>/tmp` (uploads of a gone process). */
  readonly tempEntries: number;
  /** Offline files of inserts a gone process never recorded. */
  readonly sweptFiles: number;
  /** Durable commits whose online rows a gone process had not written. */
  readonly replayedCommits: number;
  /** Model artifact folders of registrations a gone process never recorded. */
  readonly sweptFolders: number;
}

/**
 * Cleans up after processes that are gone, before this one serves: their uploads, uncommitted
 * offline files, online rows of their durable commits, and unregistered model files; then
 * deletes their expired leases. Safe while other processes share the data directory and the
 * database: only what a process whose lease is gone or expired owned is touched (see
 * `ProcessLeases`), and entries naming no process only after an hour untouched. Logs
 * "recovered after an unclean stop" only when something was actually cleaned.
 */
export async function recoverAbandoned(app: App): Promise<Recovered> {
  const { services, logger } = app;
  const guard = services.processes.guard();
  const tempEntries = await services.tempFiles.sweep(guard);
  const { sweptFiles, replayedCommits } = await services.featureGroups.recover();
  const { sweptFolders } = await services.models.recover(guard);
  await services.processes.reap();
  const recovered = { tempEntries, sweptFiles, replayedCommits, sweptFolders };
  if (tempEntries > 0 || sweptFiles > 0 || replayedCommits > 0) logger.info(recovered, 'recovered after an unclean stop');
  if (sweptFolders > 0) logger.info({ sweptFolders }, 'removed model artifacts of unfinished registrations');
  return recovered;
}
