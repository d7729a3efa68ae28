import { ConflictError } from '../../errors.ts';
import type { Commit, FeatureGroup, Prisma } from '../../generated/sqlite/client.ts';
import type { CommitRef, StagedCommit } from '../../stores/offline/offline-store.ts';
import type { ProcessLeases } from '../process-lease.service.ts';
import type { RegistryChange, RegistryEventsService, TxClient } from '../registry-events.service.ts';
import type { Viewer } from '../viewer.ts';
import { commitRef } from './commits.ts';
import { assertLastCommit, CommitRaced, commitIdAfter, GroupTurns, lastOfflineCommit, MAX_COMMIT_ATTEMPTS } from './commit-order.ts';
import type { GroupRowsReader } from './group-rows.ts';
import type { InsertValidation } from './insert-validation.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';

export type WriteOperation = 'UPSERT' | 'INSERT';
export type Storage = 'BOTH' | 'OFFLINE' | 'ONLINE';

export interface InsertOptions {
  readonly operation: WriteOperation;
  readonly storage: Storage;
  /** Absent features are null; otherwise an input lacking a feature is rejected (see StageOptions.fillMissing). */
  readonly fillMissing?: boolean;
}

/** Injection points for tests of atomicity: each runs at its step of an insert and may throw. */
export interface InsertFaults {
  /** After the rows are staged (and validated), before the commit is ordered, published and recorded. */
  afterStage?(): void | Promise<void>;
  afterPublish?(): void | Promise<void>;
}

/** What an insert (or a materialization of the log) carries from staging to its commit row. */
export interface PendingCommit {
  readonly viewer: Viewer;
  readonly group: FeatureGroup;
  readonly staged: StagedCommit;
  readonly options: InsertOptions;
  /** Not an ONLINE-only insert: the commit lists its files and counts. */
  readonly writeOffline: boolean;
  readonly validation: InsertValidation;
  /** A materialization of the ingestion log: the range of sequences it covers, first and last. */
  readonly range?: LogRange;
}

export interface LogRange {
  readonly from: number;
  readonly to: number;
}

/** Another process committed this range of the log first (or part of it): nothing was recorded. */
export class RangeTaken extends Error {}

/**
 * Inside the recording transaction: the group's log progress moves from `range.from - 1` to
 * `range.to`, or RangeTaken (another process materialized it first). So each range of the log is
 * in exactly one commit, and commits follow each other with no gap.
 */
async function takeRange(tx: TxClient, groupId: string, range: LogRange, rows: number): Promise<void> {
  const { count } = await tx.streamProgress.updateMany({
    where: { featureGroupId: groupId, materializedSequence: BigInt(range.from - 1) },
    data: { materializedSequence: BigInt(range.to), materializedRows: { increment: BigInt(rows) } },
  });
  if (count === 0) throw new RangeTaken();
  await alignAppliedRows(tx, groupId);
}

/**
 * Once the committed ranges reach the last sequence applied, every applied row is in a commit: the
 * applied count is set to the committed one. The applier's count is a running sum that a crash can
 * skew (a batch delivered again with more messages than the one recorded before the crash counts
 * its first messages twice; a batch applied out of order by another process counts nothing), and
 * the group's waiting rows (`pendingRows`, the commit trigger) are the difference of the two.
 */
export async function alignAppliedRows(tx: Pick<TxClient, '$executeRaw'>, groupId: string): Promise<void> {
  await tx.$executeRaw`UPDATE "StreamProgress" SET "appliedRows" = "materializedRows"
    WHERE "featureGroupId" = ${groupId} AND "appliedSequence" <= "materializedSequence" AND "appliedRows" <> "materializedRows"`;
}

/**
 * Records commit rows of a group in commit order: one at a time per group in this process
 * (GroupTurns), and across processes by the last-commit check inside the recording transaction.
 */
export class CommitRecorder {
  /** The count-and-record step of inserts, one per group at a time in this process. */
  private readonly turns = new GroupTurns();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly rows: GroupRowsReader,
    private readonly processes: ProcessLeases | null,
    /** The current fault injections (tests). */
    private readonly faults: () => InsertFaults,
  ) {}

  /** Records an insert's commit row; with `after` (offline commits), only while the group's last offline commit is still that one. */
  record(pending: PendingCommit, onlineState: string, after?: string | null): Promise<Commit> {
    const { viewer, group, staged, options, writeOffline, validation, range } = pending;
    return this.events.change(viewer.projectId, async (tx) => {
      if (after !== undefined) await assertLastCommit(tx, group.id, after);
      if (range) await takeRange(tx, group.id, range, staged.rowCount);
      const key = await tx.apiKey.findUnique({ where: { id: viewer.apiKeyId }, select: { name: true } });
      const value = await tx.commit.create({
        data: {
          id: staged.commitId,
          featureGroupId: group.id,
          operation: options.operation,
          storage: options.storage,
          rowCount: staged.rowCount,
          rowsInserted: writeOffline ? staged.rowsInserted : 0,
          rowsUpdated: writeOffline ? staged.rowsUpdated : 0,
          files: json(writeOffline ? staged.files : []),
          bytes: BigInt(writeOffline ? staged.bytes : 0),
          onlineState,
          writer: this.processes?.id ?? null,
          createdBy: key?.name ?? null,
          ...(range ? { logFrom: BigInt(range.from), logTo: BigInt(range.to) } : {}),
          ...(validation.report ? { validationReport: json(validation.report) } : {}),
        },
      });
      return { value, change: { ...groupChange(group, 'UPDATED'), rowsOnly: true } };
    });
  }

  /**
   * Orders, publishes and records an offline commit (see `insert`), one insert of the group at a
   * time in this process: counted again against the commits recorded since `existing`, renumbered
   * after the last one, published, then recorded only while the group's last offline commit is
   * still the one counted against; else again, and a ConflictError after MAX_COMMIT_ATTEMPTS.
   * Whenever this throws, the staged (or published) files have been discarded.
   */
  async inOrder(pending: PendingCommit, existing: readonly CommitRef[], onlineState: string): Promise<Commit> {
    const { group, staged } = pending;
    try {
      await this.faults().afterStage?.();
      return await this.turns.run(group.id, async () => {
        let counted = existing;
        for (let attempt = 1; ; attempt++) {
          // Each commit is recorded with an id after every earlier one: the same last id, the same commits.
          let last = await lastOfflineCommit(this.prisma, group.id);
          if (last !== (counted.at(-1)?.id ?? null)) {
            const now = (await this.rows.commits(group)).map(commitRef);
            await staged.recount(now);
            counted = now;
            last = now.at(-1)?.id ?? null;
          }
          if (last !== null && last >= staged.commitId) await staged.renumber(commitIdAfter(last));
          await staged.publish();
          await this.faults().afterPublish?.();
          try {
            return await this.record(pending, onlineState, last);
          } catch (error) {
            // Another process recorded a commit of the group in between: order and count again.
            if (!(error instanceof CommitRaced) || attempt >= MAX_COMMIT_ATTEMPTS) throw error;
          }
        }
      });
    } catch (error) {
      await staged.discard();
      if (error instanceof CommitRaced) {
        throw new ConflictError(
          `feature group ${group.name} version ${group.version} kept receiving concurrent commits; nothing was written, retry the insert`,
        );
      }
      throw error;
    }
  }
}

export function groupChange(group: FeatureGroup, action: RegistryChange['action']): RegistryChange {
  return { kind: 'FeatureGroup', objectId: group.id, name: group.name, version: group.version, action };
}

/** Prisma's JSON input type for a plain JSON-safe value. */
export function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
