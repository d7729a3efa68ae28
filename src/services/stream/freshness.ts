import { filter, pipe } from 'graphql-yoga';
import { parseFeatureType } from '../../domain/feature-types.ts';
import type { FeatureGroup, StreamDeadLetter } from '../../generated/sqlite/client.ts';
import type { GranaryPubSub, IngestionMessage } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { StreamLog } from '../../stores/log/stream-log.ts';
import { OFFLINE_COMMITS } from '../feature-group/commits.ts';
import type { FeatureGroupRef, FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { APPLY_CONSUMER, type StreamNames } from './subjects.ts';

/** How fresh a feature group's stores are. */
export interface Freshness {
  /** The newest event time applied from the log (TIMESTAMP and DATE event times; null otherwise or before any). */
  readonly lastEventTime: Date | null;
  readonly lastOnlineWriteAt: Date | null;
  readonly lastOfflineCommitAt: Date | null;
  /** How long the oldest message not yet applied has waited (0 when none waits). */
  readonly onlineLagMs: number;
  /** How long the oldest message not yet in an offline commit has waited (0 when none waits). */
  readonly offlineLagMs: number;
  /** Rows applied from the log and not yet in an offline commit. */
  readonly pendingRows: number;
}

/** Freshness, dead letters and the ingestion feed of feature groups: what the API shows of streaming. */
export class StreamReadings {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly log: StreamLog,
    private readonly featureGroups: FeatureGroupService,
    private readonly pubsub: GranaryPubSub,
    private readonly names: StreamNames,
  ) {}

  async freshness(group: FeatureGroup & { project?: { name: string } }, projectName: string): Promise<Freshness> {
    const [progress, lastCommit] = await Promise.all([
      this.prisma.streamProgress.findUnique({ where: { featureGroupId: group.id } }),
      this.prisma.commit.findFirst({ where: { featureGroupId: group.id, ...OFFLINE_COMMITS }, orderBy: { id: 'desc' }, select: { committedAt: true } }),
    ]);
    const stream = this.names.stream(projectName);
    const subject = this.names.subject(projectName, group);
    const waited = async (after: bigint | undefined) => {
      if (group.dataSourceId !== null) return 0;
      try {
        const [oldest] = await this.log.read(stream, { from: Number(after ?? 0n) + 1, subject, max: 1 });
        return oldest ? Math.max(0, Date.now() - oldest.appendedAt) : 0;
      } catch {
        return 0;
      }
    };
    // Not past `appliedSequence` alone: that is the highest sequence applied, and a message below it
    // may wait still (delivered to a process that died, until it is delivered again); the apply
    // consumer's ack floor is below every message not yet applied.
    const floor =
      group.dataSourceId === null
        ? await this.log.consumerState(stream, APPLY_CONSUMER).then(
            (s) => BigInt(s.ackFloor),
            () => 0n,
          )
        : 0n;
    const applied = progress && progress.appliedSequence < floor ? progress.appliedSequence : floor;
    const [onlineLagMs, offlineLagMs] = await Promise.all([waited(applied), waited(progress?.materializedSequence)]);
    return {
      lastEventTime: eventTimeDate(group, progress?.lastEventTime ?? null),
      lastOnlineWriteAt: progress?.lastOnlineWriteMs == null ? null : new Date(Number(progress.lastOnlineWriteMs)),
      lastOfflineCommitAt: lastCommit?.committedAt ?? null,
      onlineLagMs,
      offlineLagMs,
      pendingRows: progress ? Math.max(0, Number(progress.appliedRows - progress.materializedRows)) : 0,
    };
  }

  /** The group's dead letters, newest first; `after` is the id of the last one of the previous page. */
  deadLetters(group: FeatureGroup, first: number, after: string | null): Promise<StreamDeadLetter[]> {
    return this.prisma.streamDeadLetter.findMany({
      where: { featureGroupId: group.id },
      orderBy: { id: 'desc' },
      take: first,
      ...(after === null ? {} : { cursor: { id: after }, skip: 1 }),
    });
  }

  /** Applied batches of streamed rows in the caller's project; only one group's when given. */
  async subscribe(viewer: Viewer, ref?: FeatureGroupRef | null): Promise<AsyncIterable<IngestionMessage>> {
    const group = ref ? await this.featureGroups.get(viewer, ref) : null;
    const events = this.pubsub.subscribe('ingestionUpdated', viewer.projectId);
    if (!group) return events;
    return pipe(
      events,
      filter((event) => event.featureGroupId === group.id),
    );
  }
}

function eventTimeDate(group: FeatureGroup, comparable: bigint | null): Date | null {
  if (comparable === null || group.eventTime === null) return null;
  const feature = (group.features as { name: string; type: string }[]).find((f) => f.name === group.eventTime);
  if (!feature) return null;
  const type = parseFeatureType(feature.type);
  if (type.kind !== 'scalar' || (type.name !== 'TIMESTAMP' && type.name !== 'DATE')) return null;
  return new Date(Number(comparable / 1000n));
}
