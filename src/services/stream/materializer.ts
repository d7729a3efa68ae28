import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { LogMessage, StreamLog } from '../../stores/log/stream-log.ts';
import { alignAppliedRows, RangeTaken } from '../feature-group/commit-recorder.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { APPLY_CONSUMER, streamCommitPolicy, type StreamNames } from './subjects.ts';

/** Messages read from the log per page while a range is gathered. */
const PAGE = 1000;
/** A range stops growing once its message bodies reach this size (the rest goes to the next commit). */
const MAX_RANGE_BYTES = 64 * 1024 * 1024;

/**
 * Turns ranges of the ingestion log into offline commits, per feature group: when a group's rows
 * waiting (applied, not yet in a commit) reach its `streamCommitRows`, or the oldest has waited its
 * `streamCommitIntervalMs`, or a caller asks (`flush`, `ingest(waitFor: OFFLINE)`). A range runs from
 * the sequence after the group's last materialized one to the last one the apply consumer handled
 * (fewer when the row bound is reached), and becomes one commit that records it; messages the apply
 * consumer dead-lettered are in the range but not in the commit. A range is committed once: the
 * commit's transaction moves the group's progress from the range's start, else it is discarded
 * (another process was first). Log messages both consumers are done with are then trimmed.
 */
export class StreamMaterializer {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Map<string, Promise<void>>();
  private readonly trimming = new Map<string, Promise<void>>();
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly log: StreamLog,
    private readonly featureGroups: FeatureGroupService,
    private readonly logger: Logger,
    private readonly tickMs: number,
    /** The identity a project's streamed commits are made as (its stream key). */
    private readonly viewerOf: (projectId: string, projectName: string) => Promise<Viewer>,
    private readonly names: StreamNames,
  ) {}

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.logger.error({ err: error }, 'stream materializer tick failed'))
        .finally(() => {
          this.ticking = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    this.timer = setTimeout(loop, this.tickMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    // Trims are not waited for: one cut short by the log closing is done by the next process.
    await Promise.allSettled([...this.running.values()]);
  }

  /** Materializes every group whose waiting rows are due. */
  async tick(): Promise<void> {
    const waiting = await this.prisma.$queryRaw<{ featureGroupId: string }[]>`
      SELECT "featureGroupId" FROM "StreamProgress" WHERE "appliedSequence" > "materializedSequence"`;
    for (const { featureGroupId } of waiting) await this.materialize(featureGroupId, false);
  }

  /**
   * Materializes the group's waiting rows now, whatever its interval (the next range when one is
   * being committed in this process already, so what was applied before the call ends up committed).
   */
  async flush(groupId: string): Promise<void> {
    await this.running.get(groupId)?.catch(() => undefined);
    await this.materialize(groupId, true);
  }

  private materialize(groupId: string, force: boolean): Promise<void> {
    const current = this.running.get(groupId);
    if (current) return current;
    const run = this.materializeGroup(groupId, force).finally(() => this.running.delete(groupId));
    this.running.set(groupId, run);
    return run;
  }

  private async materializeGroup(groupId: string, force: boolean): Promise<void> {
    const progress = await this.prisma.streamProgress.findUnique({
      where: { featureGroupId: groupId },
      include: { featureGroup: { include: { project: { select: { name: true } } } } },
    });
    if (!progress || progress.appliedSequence <= progress.materializedSequence) return;
    const group = progress.featureGroup;
    const projectName = group.project.name;
    const stream = this.names.stream(projectName);
    const subject = this.names.subject(projectName, group);
    const policy = streamCommitPolicy(group);
    const from = Number(progress.materializedSequence) + 1;
    const until = Number(progress.appliedSequence);
    if (!force && Number(progress.appliedRows - progress.materializedRows) < policy.rows) {
      const [oldest] = await this.log.read(stream, { from, subject, max: 1 });
      if (oldest && Date.now() - oldest.appendedAt < policy.intervalMs) return;
    }
    const messages = await this.gather(stream, subject, from, until, policy.rows);
    if (messages.length === 0) return;
    const viewer = await this.viewerOf(group.projectId, projectName);
    let to: number;
    try {
      const committed = await this.featureGroups.commitLogRange(viewer, group, { from, messages, maxRows: policy.rows });
      to = committed.to;
      if (committed.commit === null) {
        // Only dead letters in the range: nothing to commit, the progress moves past them.
        const { count } = await this.prisma.streamProgress.updateMany({
          where: { featureGroupId: groupId, materializedSequence: BigInt(from - 1) },
          data: { materializedSequence: BigInt(to) },
        });
        if (count > 0) await alignAppliedRows(this.prisma, groupId);
      }
    } catch (error) {
      if (error instanceof RangeTaken) return;
      throw error;
    }
    this.trimLater(stream, subject, to);
  }

  /**
   * The group's messages from `from` to at most `until`: at most `maxMessages` of them (a message
   * holds a row at least, so they hold the commit's rows) and about MAX_RANGE_BYTES of bodies.
   * Only read here; they are parsed where the commit is staged.
   */
  private async gather(stream: string, subject: string, from: number, until: number, maxMessages: number) {
    const messages: { sequence: number; data: Uint8Array }[] = [];
    let bytes = 0;
    let cursor = from;
    while (messages.length < maxMessages && bytes < MAX_RANGE_BYTES && cursor <= until) {
      const page: LogMessage[] = await this.log.read(stream, { from: cursor, subject, max: Math.min(PAGE, maxMessages - messages.length) });
      for (const m of page) {
        if (m.sequence > until) return messages;
        messages.push({ sequence: m.sequence, data: m.data });
        bytes += m.data.byteLength;
      }
      if (page.length < PAGE) break;
      cursor = page[page.length - 1]!.sequence + 1;
    }
    return messages;
  }

  /** Removes the group's messages up to `to` once the apply consumer has acknowledged them too. */
  /**
   * Trims in the background, one trim per subject at a time (a later one covers what a skipped one
   * would have): on NATS a trim deletes message by message, which must not hold up the next commit.
   */
  private trimLater(stream: string, subject: string, to: number): void {
    const key = `${stream}\u0000${subject}`;
    if (this.trimming.has(key)) return;
    const run = this.trim(stream, subject, to).finally(() => this.trimming.delete(key));
    this.trimming.set(key, run);
  }

  private async trim(stream: string, subject: string, to: number): Promise<void> {
    try {
      const { ackFloor } = await this.log.consumerState(stream, APPLY_CONSUMER);
      const upTo = Math.min(to, ackFloor);
      if (upTo > 0) await this.log.trim(stream, subject, upTo);
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error, subject }, 'could not trim the ingestion log');
    }
  }
}
