import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { LogMessage, StreamLog } from '../../stores/log/stream-log.ts';
import { RangeTaken } from '../feature-group/commit-recorder.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { coerceMessage, streamGroup } from './stream-groups.ts';
import { APPLY_CONSUMER, messageRows, streamCommitPolicy, type StreamNames } from './subjects.ts';

/** Messages read from the log per page while a range is gathered. */
const PAGE = 1000;

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
    const { rows, to } = await this.gather(stream, subject, streamGroup(projectName, group), from, until, policy.rows);
    if (to < from) return;
    const viewer = await this.viewerOf(group.projectId, projectName);
    try {
      if (rows.length > 0) {
        await this.featureGroups.commitLogRange(viewer, group, rows, { from, to });
      } else {
        // Only dead letters in the range: nothing to commit, the progress moves past them.
        await this.prisma.streamProgress.updateMany({
          where: { featureGroupId: groupId, materializedSequence: BigInt(from - 1) },
          data: { materializedSequence: BigInt(to) },
        });
      }
    } catch (error) {
      if (error instanceof RangeTaken) return;
      throw error;
    }
    this.trimLater(stream, subject, to);
  }

  /** The good rows of the group's messages from `from` to at most `until`, stopping once `maxRows` are gathered. */
  private async gather(stream: string, subject: string, target: ReturnType<typeof streamGroup>, from: number, until: number, maxRows: number) {
    const rows: Record<string, unknown>[] = [];
    const names = target.table.schema.features.map((f) => f.name);
    let to = from - 1;
    let cursor = from;
    while (rows.length < maxRows && cursor <= until) {
      const page: LogMessage[] = await this.log.read(stream, { from: cursor, subject, max: PAGE });
      for (const m of page) {
        if (m.sequence > until || rows.length >= maxRows) return { rows, to };
        to = m.sequence;
        let coerced: ReturnType<typeof coerceMessage>;
        try {
          coerced = coerceMessage(target.coerce, messageRows(m.data));
        } catch {
          continue;
        }
        if ('message' in coerced) continue;
        for (const r of coerced) {
          const row: Record<string, unknown> = {};
          for (let i = 0; i < names.length; i++) row[names[i]!] = r.values[i] ?? null;
          rows.push(row);
        }
      }
      if (page.length < PAGE) break;
      cursor = page[page.length - 1]!.sequence + 1;
    }
    return { rows, to };
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
