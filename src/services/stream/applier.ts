import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { Prisma } from '../../generated/sqlite/client.ts';
import type { LogMessage } from '../../stores/log/stream-log.ts';
import type { MessageApplier } from './apply-messages.ts';
import type { StreamGroup, StreamGroups } from './stream-groups.ts';

/** A dead letter keeps at most this much of its message. */
const MAX_DEAD_PAYLOAD = 64 * 1024;

/** What one applied batch changed for one group. */
export interface Applied {
  readonly groupId: string;
  readonly projectId: string;
  /** The last sequence of the group handled (applied or dead-lettered). */
  readonly sequence: number;
  /**
   * Every sequence of the group the batch handled. Not all up to `sequence`: processes sharing the
   * consumer (and redeliveries) apply batches out of order, so a later batch may be applied first.
   */
  readonly sequences: readonly number[];
  readonly rows: number;
  readonly deadLetters: number;
}

/**
 * Applies batches of the ingestion log: every message's rows are checked against its group's
 * schema; a message with a refused row (or that is not JSON) becomes a dead letter with its reason
 * and the rest go on; good rows of an online-enabled group are written to the online store in one
 * transaction per group and batch, newest event winning (the store's rule), so applying a batch
 * again after a crash changes nothing. Then the group's progress (`StreamProgress`) moves on, and
 * `applied` fires in this process (waiters of `ingest(waitFor: ONLINE)` and the freshness feed).
 */
export class StreamApplier {
  readonly applied = new EventEmitter<{ applied: [Applied] }>();
  private readonly progressRows = new Set<string>();

  constructor(
    private readonly prisma: MetadataClient,
    /** Checks messages and writes their rows online (on a thread of its own, or this one). */
    private readonly messages: MessageApplier,
    private readonly groups: StreamGroups,
    private readonly logger: Logger,
  ) {
    this.applied.setMaxListeners(0);
  }

  /** Applies one batch of a project's stream. Throws when a store fails: the batch is then delivered again. */
  async apply(projectName: string, messages: readonly LogMessage[]): Promise<void> {
    const bySubject = new Map<string, LogMessage[]>();
    for (const m of messages) {
      const list = bySubject.get(m.subject);
      if (list) list.push(m);
      else bySubject.set(m.subject, [m]);
    }
    for (const [subject, list] of bySubject) {
      const target = await this.groups.bySubject(projectName, subject);
      if (!target) {
        this.logger.warn({ subject, messages: list.length }, 'stream messages for no feature group skipped');
        continue;
      }
      await this.applyGroup(target, list);
    }
  }

  private async applyGroup(initial: StreamGroup, messages: readonly LogMessage[]): Promise<void> {
    let target = initial;
    const bodies = messages.map((m) => m.data);
    const outcome = await this.messages.apply(target.table, target.group.onlineEnabled, bodies);
    let rows = outcome.rows;
    let newest = outcome.newestEventTime;
    let refused = outcome.refused;
    if (refused.length > 0) {
      // A feature appended since the group was looked up would explain a refusal: look again once.
      const fresh = await this.groups.bySubject(target.projectName, messages[0]!.subject, true);
      if (fresh && fresh.group.updatedAt.getTime() !== target.group.updatedAt.getTime()) {
        target = fresh;
        const retried = await this.messages.apply(
          target.table,
          target.group.onlineEnabled,
          refused.map((r) => bodies[r.index]!),
        );
        rows += retried.rows;
        if (retried.newestEventTime !== null && (newest === null || retried.newestEventTime > newest)) newest = retried.newestEventTime;
        const before = refused;
        refused = retried.refused.map((r) => ({ index: before[r.index]!.index, reason: r.reason }));
      }
    }
    const dead = refused.map((r) => ({ sequence: messages[r.index]!.sequence, reason: r.reason, payload: payloadText(bodies[r.index]!) }));
    const { group } = target;
    const last = messages[messages.length - 1]!.sequence;
    await this.recordProgress(group.id, last, rows, newest, dead);
    this.applied.emit('applied', {
      groupId: group.id,
      projectId: group.projectId,
      sequence: last,
      sequences: messages.map((m) => m.sequence),
      rows,
      deadLetters: dead.length,
    });
  }

  private async recordProgress(
    groupId: string,
    last: number,
    rows: number,
    newest: number | null,
    dead: readonly { sequence: number; reason: string; payload: string }[],
  ) {
    if (!this.progressRows.has(groupId)) {
      await this.prisma.streamProgress.upsert({ where: { featureGroupId: groupId }, create: { featureGroupId: groupId }, update: {} });
      this.progressRows.add(groupId);
    }
    for (const d of dead) {
      await this.prisma.streamDeadLetter.upsert({
        where: { featureGroupId_sequence: { featureGroupId: groupId, sequence: BigInt(d.sequence) } },
        create: { featureGroupId: groupId, sequence: BigInt(d.sequence), reason: d.reason, payload: d.payload },
        update: {},
      });
    }
    // One statement on either database (integers only): the rows count only when the batch is new
    // to the group (a batch delivered again after a crash between this and its acknowledgement is
    // not counted twice); sequence and event time only move forward.
    const seq = BigInt(last);
    const count = BigInt(rows);
    const now = BigInt(Date.now());
    const eventTime =
      newest === null
        ? Prisma.sql`"lastEventTime"`
        : Prisma.sql`CASE WHEN "lastEventTime" IS NULL OR "lastEventTime" < ${BigInt(newest)} THEN ${BigInt(newest)} ELSE "lastEventTime" END`;
    const writtenAt = rows > 0 ? Prisma.sql`${now}` : Prisma.sql`"lastOnlineWriteMs"`;
    await this.prisma.$executeRaw`UPDATE "StreamProgress" SET
        "appliedRows" = "appliedRows" + CASE WHEN "appliedSequence" < ${seq} THEN ${count} ELSE 0 END,
        "appliedSequence" = CASE WHEN "appliedSequence" < ${seq} THEN ${seq} ELSE "appliedSequence" END,
        "lastEventTime" = ${eventTime},
        "lastOnlineWriteMs" = ${writtenAt}
      WHERE "featureGroupId" = ${groupId}`;
  }

  /** Forgets the progress rows it created (a group was deleted: its row went with it). */
  forget(groupId: string): void {
    this.progressRows.delete(groupId);
  }
}

function payloadText(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, MAX_DEAD_PAYLOAD)).toString('utf8');
  return data.byteLength > MAX_DEAD_PAYLOAD ? `${text}…` : text;
}
