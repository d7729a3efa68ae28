import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GroupSchema } from '../../../domain/feature-types.ts';
import type { OnlineColumns } from '../../online/online-store.ts';
import type { CommitFile, CommitRef, StagedCommit } from '../offline-store.ts';
import { COMMIT_ID, type Feature } from './features.ts';
import { sliceColumns, streamOnlineColumns } from './online-rows.ts';
import { committedRowsSql } from './sql.ts';
import type { StagingHost } from './host.ts';

/** A staged commit of the DuckDB store: one Parquet file, `.staging-<owner>-<id>-0.parquet` until published. */
export class DuckDbStagedCommit implements StagedCommit {
  private published = false;

  constructor(
    private readonly store: StagingHost,
    private readonly dir: string,
    private id: string,
    private staged: readonly CommitFile[],
    readonly rowCount: number,
    private updated: number,
    private readonly schema: GroupSchema,
    private readonly features: readonly Feature[],
    private flight: string,
    /** The rows for the online store, prepared while staging (JSON rows), else read from the files. */
    private readonly online: OnlineColumns | null,
    readonly sourceMessages: number | null = null,
  ) {}

  get commitId(): string {
    return this.id;
  }

  get files(): readonly CommitFile[] {
    return this.staged;
  }

  get bytes(): number {
    return this.staged.reduce((sum, f) => sum + f.bytes, 0);
  }

  get rowsUpdated(): number {
    return this.updated;
  }

  get rowsInserted(): number {
    return this.rowCount - this.updated;
  }

  private paths(): string[] {
    return this.files.map((f) => join(this.dir, this.published ? f.path : `${this.store.stagingPrefix}${f.path}`));
  }

  async recount(existing: readonly CommitRef[]): Promise<void> {
    const [path] = this.paths();
    this.updated = path === undefined ? 0 : await this.store.countSuperseded(path, this.schema, this.dir, existing, this.rowCount);
  }

  async renumber(commitId: string): Promise<void> {
    if (!COMMIT_ID.test(commitId)) throw new Error(`renumber: invalid commit id "${commitId}"`);
    const from = this.paths();
    const files: CommitFile[] = [];
    const flight = `${this.dir}\0${commitId}`;
    this.store.track(flight);
    try {
      for (const [i, f] of this.files.entries()) {
        const path = `${commitId}-${i}.parquet`;
        const bytes = await this.store.rewriteCommitColumn(from[i]!, join(this.dir, `${this.store.stagingPrefix}${path}`), commitId);
        files.push({ path, bytes, rows: f.rows });
      }
    } catch (error) {
      await Promise.all(files.map((f) => rm(join(this.dir, `${this.store.stagingPrefix}${f.path}`), { force: true })));
      this.store.finish(flight);
      throw error;
    }
    await Promise.all(from.map((path) => rm(path, { force: true })));
    this.store.finish(this.flight);
    this.id = commitId;
    this.staged = files;
    this.flight = flight;
    this.published = false;
  }

  onlineColumns(batchRows = 1000): AsyncIterable<OnlineColumns> {
    if (this.online !== null) return sliceColumns(this.online, batchRows);
    return streamOnlineColumns(this.store, this.paths(), this.schema, this.features, batchRows);
  }

  /** A SELECT of the staged rows (one column per feature), as `query` hands to `build`. */
  rowsSql(): string {
    return committedRowsSql(this.paths(), this.schema);
  }

  async query(build: (rows: string) => readonly string[]): Promise<unknown[][][]> {
    const statements = build(this.rowsSql());
    const connection = await this.store.connect();
    try {
      const results: unknown[][][] = [];
      for (const sql of statements) results.push((await connection.runAndReadAll(sql)).getRowsJson());
      return results;
    } finally {
      connection.closeSync();
    }
  }

  async publish(): Promise<void> {
    if (this.published) return;
    for (const f of this.files) await rename(join(this.dir, `${this.store.stagingPrefix}${f.path}`), join(this.dir, f.path));
    this.published = true;
    this.store.finish(this.flight);
  }

  async discard(): Promise<void> {
    await Promise.all(
      this.files.flatMap((f) => [rm(join(this.dir, `${this.store.stagingPrefix}${f.path}`), { force: true }), rm(join(this.dir, f.path), { force: true })]),
    );
    this.store.finish(this.flight);
  }
}
