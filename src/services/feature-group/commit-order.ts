import { v7 as uuidv7 } from 'uuid';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { TxClient } from '../registry-events.service.ts';

/**
 * How the commits of a feature group are ordered: recorded one at a time (per process by
 * GroupTurns, across processes by the row lock and last-commit check of assertLastCommit), with
 * ids that sort in the order they were recorded (commitIdAfter).
 */

/** Per group, the end of the last step queued in this process. */
export class GroupTurns {
  private readonly turns = new Map<string, Promise<void>>();

  /**
   * Runs `fn` after the previous call for the same group has finished (in this process): the
   * count-and-record step of inserts, so that concurrent inserts of a group neither count the same
   * identities as new nor record out of commit order. Other processes are ordered by the check of
   * the last commit inside the recording transaction.
   */
  async run<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(groupId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const turn = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(groupId, turn);
    try {
      return await run;
    } finally {
      if (this.turns.get(groupId) === turn) this.turns.delete(groupId);
    }
  }
}

/** Attempts at recording an offline commit when other processes keep recording commits of the group first. */
export const MAX_COMMIT_ATTEMPTS = 20;

/** The group's last offline commit changed between counting and recording (another process recorded one). */
export class CommitRaced extends Error {}

/**
 * Inside the recording transaction: takes the group's row lock (an update of its row: PostgreSQL
 * locks the row until commit, SQLite takes the database write lock), then throws CommitRaced
 * unless the group's last offline commit is `expected` (null: none). Recording transactions of a
 * group thus run one at a time, each seeing the commits recorded before it.
 */
export async function assertLastCommit(tx: TxClient, groupId: string, expected: string | null): Promise<void> {
  await tx.$executeRaw`UPDATE "FeatureGroup" SET "id" = "id" WHERE "id" = ${groupId}`;
  if ((await lastOfflineCommit(tx, groupId)) !== expected) throw new CommitRaced();
}

/** The id of the group's newest offline commit (ids sort in commit order), or null. */
export async function lastOfflineCommit(db: MetadataClient | TxClient, groupId: string): Promise<string | null> {
  const last = await db.commit.findFirst({
    where: { featureGroupId: groupId, storage: { not: 'ONLINE' } },
    orderBy: { id: 'desc' },
    select: { id: true },
  });
  return last?.id ?? null;
}

/** A new commit id (uuid v7) that sorts after `last`, even when this clock is behind the one that made `last`. */
export function commitIdAfter(last: string): string {
  const lastMillis = parseInt(last.replace(/-/g, '').slice(0, 12), 16);
  return uuidv7({ msecs: Math.max(Date.now(), lastMillis + 1) });
}
