import { z } from 'zod';
import type { StatisticsService } from '../../services/statistics/statistics.service.ts';
import type { JobType } from '../job-type.ts';

const config = z.strictObject({
  featureGroup: z.strictObject({
    name: z.string().min(1, 'give the feature group name'),
    /** Omitted: the latest version at each run. */
    version: z.number().int().min(1, 'versions start at 1').nullish(),
  }),
});

/**
 * COMPUTE_STATISTICS: computes and stores a feature group's statistics (newest commit, the group's
 * `statisticsConfig`), announced on `statisticsUpdated` like `computeStatistics`. The runner gives
 * the services; a run has no checkpoint to resume from (it recomputes).
 */
export function computeStatisticsJob(services: { readonly statistics: Pick<StatisticsService, 'computeForGroup'> }): JobType<typeof config> {
  return {
    name: 'COMPUTE_STATISTICS',
    description: 'Computes the statistics of a feature group (config: { featureGroup: { name, version } }).',
    config,
    scope: 'WRITE',
    resumable: false,
    async run(context) {
      const ref = context.config.featureGroup;
      const label = `${ref.name}${ref.version == null ? ' (latest version)' : ` version ${ref.version}`}`;
      context.signal.throwIfAborted();
      context.log(`computing statistics of feature group ${label}`);
      await context.progress(0, 'computing statistics');
      const statistics = await services.statistics.computeForGroup(context.viewer, { name: ref.name, version: ref.version ?? null });
      context.signal.throwIfAborted();
      context.log(
        `stored statistics ${statistics.id}: ${statistics.rowCount} rows, ${statistics.content.features.length} features, as of commit ${statistics.commitId ?? '(none)'}`,
      );
      await context.progress(1, 'statistics stored');
    },
  };
}
