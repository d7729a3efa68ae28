import { pipe, filter } from 'graphql-yoga';
import { checkColumns, storedStatisticsConfig } from '../../engine/statistics/config.ts';
import { computeStatistics, type StatisticsContent } from '../../engine/statistics/compute.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Commit, FeatureGroup, FeatureGroupStatistics, TrainingDataset } from '../../generated/sqlite/client.ts';
import type { GranaryPubSub, StatisticsMessage } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { ExternalGroupService } from '../external-group/external-group.service.ts';
import type { OfflineStore } from '../../stores/offline/offline-store.ts';
import type { AlertSink } from '../alert/alert-event.ts';
import { groupSchema } from '../feature-group/definition.ts';
import type { FeatureGroupRef, FeatureGroupService } from '../feature-group/feature-group.service.ts';
import { GroupRowsReader } from '../feature-group/group-rows.ts';
import type { Viewer } from '../viewer.ts';
import { jsonInput, readSplitStatistics, readStatisticsContent } from '../json-columns.ts';

/** Statistics as the API shows them: a stored computation of a group, or of a training dataset split. */
export interface StatisticsRecord {
  readonly id: string;
  readonly computedAt: Date;
  readonly rowCount: number;
  /** The newest commit included; null for split statistics and groups without commits. */
  readonly commitId: string | null;
  /** The training dataset split described (train, validation or test); null for a group's statistics. */
  readonly split: string | null;
  readonly content: StatisticsContent;
}

/**
 * Feature statistics: computed in DuckDB over a group's visible rows as of a commit (stored, one row
 * per computation, announced on `statisticsUpdated` and to alerts). The SQL is the statistics engine's; the offline store runs it.
 */
export class StatisticsService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly offline: OfflineStore,
    private readonly featureGroups: FeatureGroupService,
    private readonly pubsub: GranaryPubSub,
    private readonly alerts: AlertSink,
    external: ExternalGroupService | null = null,
  ) {
    this.rows = new GroupRowsReader(prisma, offline, external);
  }

  private readonly rows: GroupRowsReader;

  /**
   * Computes and stores the statistics of a group's visible rows as of `commitId` (the newest commit
   * when omitted) with the group's `statisticsConfig`. ValidationError when statistics are disabled,
   * the schema is not known yet, or a configured column is no longer a feature; NotFoundError for an
   * unknown group or a commit of another group.
   */
  async computeForGroup(viewer: Viewer, ref: FeatureGroupRef, options: { commitId?: string | null } = {}): Promise<StatisticsRecord> {
    const group = await this.featureGroups.get(viewer, ref);
    const config = storedStatisticsConfig(group.statisticsConfig);
    if (!config.enabled) {
      throw ValidationError.at(
        ['featureGroup'],
        `statistics are disabled for feature group ${group.name} version ${group.version}; enable them with updateFeatureGroup(input: { statisticsConfig: { enabled: true } })`,
      );
    }
    const schema = groupSchema(group);
    if (schema.features.length === 0) {
      throw ValidationError.at(['featureGroup'], `feature group ${group.name} has no schema yet: it is inferred from the first insert`);
    }
    checkColumns(
      config,
      schema.features.map((f) => f.name),
      ['featureGroup', 'statisticsConfig'],
    );
    const columns = config.columns ?? schema.features.map((f) => f.name);
    // An external group's rows are what its source holds now; they have no commits.
    if (options.commitId != null && this.rows.isExternal(group)) {
      throw new NotFoundError('Commit', `${options.commitId} of external feature group ${group.name} version ${group.version}`);
    }
    const commits = this.rows.isExternal(group) ? undefined : await this.commitsThrough(group, options.commitId ?? null);
    const content = await this.rows.with(viewer.projectName, group, { columns, commits }, (rows) =>
      computeStatistics((sql) => this.offline.aggregate(sql), rows.sql({ columns, latest: true }), schema.features, config),
    );
    const commitId = commits === undefined ? null : (commits.at(-1)?.id ?? null);
    const stored = await this.prisma.featureGroupStatistics.create({
      data: {
        featureGroupId: group.id,
        commitId,
        rowCount: content.rowCount,
        content: jsonInput(content),
      },
    });
    await this.pubsub.publish('statisticsUpdated', viewer.projectId, { statisticsId: stored.id, featureGroupId: group.id });
    this.alerts.raise(viewer.projectId, {
      type: 'STATISTICS_COMPUTED',
      subject: { kind: 'FeatureGroup', name: group.name, version: group.version },
      message: `statistics of feature group ${group.name} version ${group.version} computed over ${content.rowCount} rows`,
      details: { statisticsId: stored.id, commitId: stored.commitId, rowCount: content.rowCount },
    });
    return toRecord(stored);
  }

  /** The group's offline commits up to `commitId` (all when null); NotFoundError for a commit not of the group. */
  private async commitsThrough(group: FeatureGroup, commitId: string | null): Promise<Commit[]> {
    const commits = await this.rows.commits(group);
    if (commitId == null) return commits;
    const at = commits.findIndex((c) => c.id === commitId);
    if (at < 0) throw new NotFoundError('Commit', `${commitId} of feature group ${group.name} version ${group.version}`);
    return commits.slice(0, at + 1);
  }

  /** The latest statistics of a group, or the latest computed as of a commit; null when none. */
  async forGroup(groupId: string, commitId?: string | null): Promise<StatisticsRecord | null> {
    const row = await this.prisma.featureGroupStatistics.findFirst({
      where: { featureGroupId: groupId, ...(commitId != null ? { commitId } : {}) },
      orderBy: [{ computedAt: 'desc' }, { id: 'desc' }],
    });
    return row ? toRecord(row) : null;
  }

  /** A group's statistics, newest first. */
  async history(groupId: string, first: number): Promise<StatisticsRecord[]> {
    const rows = await this.prisma.featureGroupStatistics.findMany({
      where: { featureGroupId: groupId },
      orderBy: [{ computedAt: 'desc' }, { id: 'desc' }],
      take: first,
    });
    return rows.map(toRecord);
  }

  /** Stored statistics by id, within the caller's project; null when not there. */
  async byId(viewer: Viewer, id: string): Promise<{ record: StatisticsRecord; group: FeatureGroup } | null> {
    const row = await this.prisma.featureGroupStatistics.findFirst({
      where: { id, featureGroup: { projectId: viewer.projectId } },
      include: { featureGroup: true },
    });
    return row ? { record: toRecord(row), group: row.featureGroup } : null;
  }

  /**
   * Live statistics computations of the caller's project, of one group when given (NotFoundError when
   * it does not exist). The group is resolved once, on subscribe.
   */
  async subscribe(viewer: Viewer, ref?: FeatureGroupRef | null): Promise<AsyncIterable<StatisticsMessage>> {
    const group = ref ? await this.featureGroups.get(viewer, ref) : null;
    const events = this.pubsub.subscribe('statisticsUpdated', viewer.projectId);
    if (!group) return events;
    return pipe(
      events,
      filter((event) => event.featureGroupId === group.id),
    );
  }
}

function toRecord(row: FeatureGroupStatistics): StatisticsRecord {
  return {
    id: row.id,
    computedAt: row.computedAt,
    rowCount: row.rowCount,
    commitId: row.commitId,
    split: null,
    content: readStatisticsContent(row.content),
  };
}

/**
 * The statistics of one split of a training dataset version, computed when the version was created
 * and stored with it (`TrainingDataset.statistics`, one entry per split). Null when the version has
 * none for that split. The id is the version's id and the split name, which identify it.
 */
export function splitStatistics(dataset: Pick<TrainingDataset, 'id' | 'statistics'>, split: string): StatisticsRecord | null {
  const found = readSplitStatistics(dataset.statistics)?.find((s) => s.split === split);
  if (!found) return null;
  const { split: _split, computedAt, ...content } = found;
  return { id: `${dataset.id}/${split}`, computedAt: new Date(computedAt), rowCount: content.rowCount, commitId: null, split, content };
}
