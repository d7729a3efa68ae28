import { EventEmitter } from 'node:events';
import { v7 as uuidv7 } from 'uuid';
import type { CoercedRow } from '../../domain/row-coercion.ts';
import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { Prisma } from '../../generated/sqlite/client.ts';
import type { LogMessage } from '../../stores/log/stream-log.ts';
import type { OnlineColumns, OnlineStore } from '../../stores/online/online-store.ts';
import { coerceMessage, type StreamGroup, type StreamGroups } from './stream-groups.ts';
import { messageRows } from './subjects.ts';

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
    private readonly online: OnlineStore,
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
    const rows: CoercedRow[] = [];
    const dead: { sequence: number; reason: string; payload: string }[] = [];
    for (const m of messages) {
      let result: CoercedRow[] | { message: string };
      try {
        result = coerceMessage(target.coerce, messageRows(m.data));
        if ('message' in result) {
          // A feature appended since the group was looked up would explain a refusal: look again once.
          const fresh = await this.groups.bySubject(target.projectName, m.subject, true);
          if (fresh && fresh.group.updatedAt.getTime() !== target.group.updatedAt.getTime()) {
            target = fresh;
            result = coerceMessage(target.coerce, messageRows(m.data));
          }
        }
      } catch (error) {
        result = { message: (error as Error).message };
      }
      if ('message' in result) dead.push({ sequence: m.sequence, reason: result.message, payload: payloadText(m.data) });
      else for (const r of result) rows.push(r);
    }
    const { group } = target;
    if (rows.length > 0 && group.onlineEnabled) {
      await this.online.ensure(target.table);
      await this.online.writeColumns(target.table, toColumns(rows, group), uuidv7());
    }
    const last = messages[messages.length - 1]!.sequence;
    await this.recordProgress(group.id, last, rows, dead);
    this.applied.emit('applied', {
      groupId: group.id,
      projectId: group.projectId,
      sequence: last,
      sequences: messages.map((m) => m.sequence),
      rows: rows.length,
      deadLetters: dead.length,
    });
  }

  private async recordProgress(
    groupId: string,
    last: number,
    rows: readonly CoercedRow[],
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
    let newest: number | null = null;
    for (const r of rows) if (r.eventTime !== null && (newest === null || r.eventTime > newest)) newest = r.eventTime;
    // One statement on either database (integers only): the rows count only when the batch is new
    // to the group (a batch delivered again after a crash between this and its acknowledgement is
    // not counted twice); sequence and event time only move forward.
    const seq = BigInt(last);
    const count = BigInt(rows.length);
    const now = BigInt(Date.now());
    const eventTime =
      newest === null
        ? Prisma.sql`"lastEventTime"`
        : Prisma.sql`CASE WHEN "lastEventTime" IS NULL OR "lastEventTime" < ${BigInt(newest)} THEN ${BigInt(newest)} ELSE "lastEventTime" END`;
    const writtenAt = rows.length > 0 ? Prisma.sql`${now}` : Prisma.sql`"lastOnlineWriteMs"`;
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

function toColumns(rows: readonly CoercedRow[], group: { features: unknown }): OnlineColumns {
  const width = (group.features as unknown[]).length;
  const columns = Array.from({ length: width }, () => new Array<unknown>(rows.length));
  const eventTimes = new Array<number | null>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let c = 0; c < width; c++) columns[c]![i] = r.values[c] ?? null;
    eventTimes[i] = r.eventTime;
  }
  return { rowCount: rows.length, columns, eventTimes };
}

function payloadText(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, MAX_DEAD_PAYLOAD)).toString('utf8');
  return data.byteLength > MAX_DEAD_PAYLOAD ? `${text}…` : text;
}
