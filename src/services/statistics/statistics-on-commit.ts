import { storedStatisticsConfig } from '../../engine/statistics/config.ts';
import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { JobService } from '../job/job.service.ts';
import type { Viewer } from '../viewer.ts';

/** Job names are at most 63 characters: a long group name is shortened to fit the suffix. */
const MAX_JOB_NAME = 63;

/** The statistics job of a group version, `<group>_<version>_compute_stats` as in Hopsworks. */
export function statisticsJobName(group: Pick<FeatureGroup, 'name' | 'version'>): string {
  const suffix = `_${group.version}_compute_stats`;
  return `${group.name.slice(0, MAX_JOB_NAME - suffix.length)}${suffix}`;
}

/**
 * Statistics after each commit, as a job so that inserts stay fast: when the group's statistics are
 * enabled, its COMPUTE_STATISTICS job (created on the first commit, with the inserting key's rights)
 * is run (trigger COMMIT) and computes them as of the newest commit when it starts. Commits arriving
 * while such a run still waits for a slot share it, so a burst of inserts queues one computation,
 * not one per commit. The run, its logs and its `executionUpdated` events are those of any job; the
 * statistics are announced on `statisticsUpdated` when stored.
 */
export function statisticsOnCommit(jobs: Pick<JobService, 'create' | 'runCoalesced'>) {
  return async (viewer: Viewer, group: FeatureGroup, _commit: Commit): Promise<void> => {
    if (!storedStatisticsConfig(group.statisticsConfig).enabled) return;
    const name = statisticsJobName(group);
    await jobs.create(viewer, {
      name,
      type: 'COMPUTE_STATISTICS',
      config: { featureGroup: { name: group.name, version: group.version } },
    });
    await jobs.runCoalesced(viewer, name, 'COMMIT');
  };
}
