import { z } from 'zod';
import type { StatisticsService } from '../../services/statistics/statistics.service.ts';
import { ValidationError, issueMessage } from '../../errors.ts';
import type { JobType } from '../job-type.ts';
import { refText } from './refs.ts';

const config = z.strictObject({
  featureGroup: z.strictObject({
    name: z.string().min(1, 'give the feature group name'),
    /** Omitted: the latest version at each run. */
    version: z.number().int().min(1, 'versions start at 1').nullish(),
  }),
});

/** Arguments of a run (`runJob(name, args)`): the commit to compute the statistics as of. */
const runArgs = z.strictObject({ commitId: z.string().min(1, 'give the commit id').nullish() }).nullish();

/**
 * COMPUTE_STATISTICS: computes and stores a feature group's statistics (as of the commit given in
 * the run's args, else the newest commit; the group's `statisticsConfig`), announced on
 * `statisticsUpdated` like `computeStatistics`. The runner gives the services; a run has no
 * checkpoint to resume from (it recomputes).
 */
export function computeStatisticsJob(services: { readonly statistics: Pick<StatisticsService, 'computeForGroup'> }): JobType<typeof config> {
  return {
    name: 'COMPUTE_STATISTICS',
    description: 'Computes the statistics of a feature group (config: { featureGroup: { name, version } }).',
    config,
    scope: 'WRITE',
    resumable: false,
    args: runArgs,
    async check(c, ctx) {
      const group = await ctx.featureGroups.find(ctx.viewer, c.featureGroup);
      if (!group) throw ValidationError.at(['featureGroup'], `feature group ${refText(c.featureGroup)} not found in this project`);
    },
    async run(context) {
      const ref = context.config.featureGroup;
      const parsed = runArgs.safeParse(context.args);
      if (!parsed.success)
        throw new ValidationError(`invalid args: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${issueMessage(i)}`).join('; ')}`);
      const commitId = parsed.data?.commitId ?? null;
      const label = `${ref.name}${ref.version == null ? ' (latest version)' : ` version ${ref.version}`}`;
      context.signal.throwIfAborted();
      context.log(`computing statistics of feature group ${label}${commitId ? ` as of commit ${commitId}` : ''}`);
      await context.progress(0, 'computing statistics');
      const statistics = await services.statistics.computeForGroup(context.viewer, { name: ref.name, version: ref.version ?? null }, { commitId });
      context.signal.throwIfAborted();
      context.log(
        `stored statistics ${statistics.id}: ${statistics.rowCount} rows, ${statistics.content.features.length} features, as of commit ${statistics.commitId ?? '(none)'}`,
      );
      await context.progress(1, 'statistics stored');
    },
  };
}
