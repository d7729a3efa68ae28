import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import { ident, sqlString } from '../../../domain/sql.ts';
import type { CommitRef } from '../offline-store.ts';
import { identityColumns } from './features.ts';

/**
 * Counting the identities an insert supersedes (`rowsUpdated`) without reading every committed
 * file again. Per group folder, the index holds the 64-bit DuckDB hash of every identity of the
 * commits it has read, and which commits those are; a count reads only the files of commits it
 * has not seen yet (usually none or one) and looks the staged identities up. A count's cost then
 * no longer grows with the number of commits, which small inserts and streamed commits would
 * otherwise make grow without end.
 *
 * Exactness: every identity that exists is found (no false negatives). Two distinct identities
 * share a hash with a chance of about (identities in the group) / 2⁶⁴ per staged row, and then the
 * count is one too high: `rowsUpdated` > 0 only makes reads remove superseded rows, never hide a
 * visible one.
 *
 * When the index would pass `maxIdentities` (memory: 20 to 40 bytes per identity), or when the
 * commits given are not a superset of those it has read (a commit removed), it starts over or
 * leaves the count to the caller's scan.
 */
export class IdentityIndex {
  private readonly groups = new Map<string, GroupIdentities>();
  private readonly running = new Map<string, Promise<unknown>>();
  private identities = 0;

  constructor(private readonly maxIdentities: number) {}

  /**
   * The staged file's identities that the `existing` commits of the group in `dir` hold, or null
   * when the index cannot answer (too large): the caller counts by scanning the files.
   */
  count(connection: DuckDBConnection, dir: string, schema: GroupSchema, staging: string, existing: readonly CommitRef[]): Promise<number | null> {
    // One count per group at a time: the next one sees what this one added.
    const previous = this.running.get(dir) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.countNow(connection, dir, schema, staging, existing));
    this.running.set(dir, run);
    void run.finally(() => {
      if (this.running.get(dir) === run) this.running.delete(dir);
    });
    return run;
  }

  /** Forgets a group (its folder was removed). */
  forget(dir: string): void {
    this.drop(dir);
  }

  private async countNow(
    connection: DuckDBConnection,
    dir: string,
    schema: GroupSchema,
    staging: string,
    existing: readonly CommitRef[],
  ): Promise<number | null> {
    if (existing.length === 0) return 0;
    let group = this.groups.get(dir);
    if (group) {
      const given = new Set(existing.map((c) => c.id));
      for (const id of group.commits) {
        if (!given.has(id)) {
          this.drop(dir);
          group = undefined;
          break;
        }
      }
    }
    const missing = existing.filter((c) => !group?.commits.has(c.id));
    const rows = missing.reduce((sum, c) => sum + c.files.reduce((n, f) => n + f.rows, 0), 0);
    // `rows` bounds the identities the missing commits add.
    if (this.identities + rows > this.maxIdentities) {
      this.drop(dir);
      return null;
    }
    if (!group) {
      group = { commits: new Set(), set: new HashSet64() };
      this.groups.set(dir, group);
    }
    const hash = hashSql(schema);
    const files = missing.flatMap((c) => c.files.map((f) => join(dir, f.path)));
    if (files.length > 0) {
      const before = group.set.size;
      try {
        await readHashes(connection, `SELECT ${hash} FROM read_parquet([${files.map(sqlString).join(', ')}])`, (hi, lo) => group!.set.add(hi, lo));
      } catch (error) {
        this.drop(dir);
        throw error;
      }
      this.identities += group.set.size - before;
    }
    for (const c of missing) group.commits.add(c.id);
    let found = 0;
    await readHashes(connection, `SELECT ${hash} FROM read_parquet(${sqlString(staging)})`, (hi, lo) => {
      if (group!.set.has(hi, lo)) found++;
    });
    return found;
  }

  private drop(dir: string): void {
    const group = this.groups.get(dir);
    if (!group) return;
    this.identities -= group.set.size;
    this.groups.delete(dir);
  }
}

interface GroupIdentities {
  readonly commits: Set<string>;
  readonly set: HashSet64;
}

/** The identity's hash as two 32-bit halves (numbers, not BigInts: no allocation per row). */
function hashSql(schema: GroupSchema): string {
  const h = `hash(${identityColumns(schema).map(ident).join(', ')})`;
  return `(${h} >> 32)::UINTEGER AS hi, (${h} & 4294967295)::UINTEGER AS lo`;
}

async function readHashes(connection: DuckDBConnection, sql: string, each: (hi: number, lo: number) => void): Promise<void> {
  const result = await connection.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const his = chunk.getColumnVector(0);
    const los = chunk.getColumnVector(1);
    for (let i = 0; i < chunk.rowCount; i++) each(his.getItem(i) as number, los.getItem(i) as number);
  }
}

/** A set of 64-bit values (as two 32-bit halves), open addressing with linear probing. */
export class HashSet64 {
  private hi = new Uint32Array(16);
  private lo = new Uint32Array(16);
  private used = new Uint8Array(16);
  size = 0;

  add(hi: number, lo: number): void {
    if ((this.size + 1) * 2 > this.used.length) this.grow();
    const mask = this.used.length - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.used[i]) {
      if (this.hi[i] === hi && this.lo[i] === lo) return;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.size++;
  }

  has(hi: number, lo: number): boolean {
    const mask = this.used.length - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.used[i]) {
      if (this.hi[i] === hi && this.lo[i] === lo) return true;
      i = (i + 1) & mask;
    }
    return false;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    this.hi = new Uint32Array(used.length * 2);
    this.lo = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.add(hi[i]!, lo[i]!);
  }
}
