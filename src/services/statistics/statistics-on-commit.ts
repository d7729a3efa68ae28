import { storedStatisticsConfig } from '../../engine/statistics/config.ts';
import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { JobService } from '../job/job.service.ts';
import type { Logger } from '../../logger.ts';
import type { Viewer } from '../viewer.ts';

/** Job names are at most 63 characters: a long group name is shortened to fit the suffix. */
const MAX_JOB_NAME = 63;

/** The statistics job of a group version, `<group>_<version>_compute_stats` as in Hopsworks. */
export function statisticsJobName(group: Pick<FeatureGroup, 'name' | 'version'>): string {
  const suffix = `_${group.version}_compute_stats`;
  return `${group.name.slice(0, MAX_JOB_NAME - suffix.length)}${suffix}`;
}

/** Least time between two statistics runs that one group's commits start in a process. */
export const STATISTICS_SPACING_MS = 1000;

/**
 * Statistics after each commit, as a job so that inserts stay fast: when the group's statistics are
 * enabled, its COMPUTE_STATISTICS job (created on the first commit, with the inserting key's rights)
 * is run (trigger COMMIT) and computes them as of the newest commit when it starts. Commits arriving
 * while such a run still waits for a slot share it, so a burst of inserts queues one computation,
 * not one per commit. The run, its logs and its `executionUpdated` events are those of any job; the
 * statistics are announced on `statisticsUpdated` when stored.
 *
 * Runs of one group start at least `spacingMs` apart: a commit within that time of the last start
 * schedules one run for when it ends (later commits join it), so a stream of small inserts or
 * materialized commits computes statistics about once per `spacingMs`, not once per commit (each
 * run reads the whole group), and the inserts themselves skip the job's bookkeeping.
 */
export function statisticsOnCommit(jobs: Pick<JobService, 'create' | 'runCoalesced'>, logger: Logger, spacingMs = STATISTICS_SPACING_MS) {
  const groups = new Map<string, { lastStart: number; due: { viewer: Viewer; group: FeatureGroup } | null }>();
  const run = async (viewer: Viewer, group: FeatureGroup): Promise<void> => {
    const name = statisticsJobName(group);
    await jobs.create(viewer, {
      name,
      type: 'COMPUTE_STATISTICS',
      config: { featureGroup: { name: group.name, version: group.version } },
    });
    await jobs.runCoalesced(viewer, name, 'COMMIT');
  };
  return async (viewer: Viewer, group: FeatureGroup, _commit: Commit): Promise<void> => {
    if (!storedStatisticsConfig(group.statisticsConfig).enabled) return;
    const now = Date.now();
    for (const [id, state] of groups) if (state.due === null && now - state.lastStart >= spacingMs) groups.delete(id);
    const state = groups.get(group.id);
    if (!state) {
      groups.set(group.id, { lastStart: now, due: null });
      await run(viewer, group);
      return;
    }
    // A run is scheduled already: it starts as of the newest commit, this one's included.
    if (state.due) {
      state.due = { viewer, group };
      return;
    }
    state.due = { viewer, group };
    setTimeout(
      () => {
        const due = state.due!;
        state.due = null;
        state.lastStart = Date.now();
        run(due.viewer, due.group).catch((error: unknown) => logger.error({ err: error, group: due.group.name }, 'statistics after commit failed'));
      },
      Math.max(0, state.lastStart + spacingMs - now),
    ).unref();
  };
}
