import { Worker } from 'node:worker_threads';
import { type ColumnValues, isCoded } from '../../../domain/insert-source.ts';
import type { FeatureDef, GroupSchema } from '../../../domain/feature-types.ts';
import * as errors from '../../../errors.ts';
import type { OnlineColumns } from '../../online/online-store.ts';
import type { CommitFile, CommitRef, GroupLocation, InsertSource, StageOptions, StagedCommit } from '../offline-store.ts';

/**
 * Staging on a worker thread: the DuckDB work of an insert (loading and checking the rows, coercing
 * them, writing the Parquet file, the identity checks, validation queries over the staged rows,
 * renumbering) runs in a thread of its own with its own DuckDB store, so the thread that answers
 * requests (featureVector above all) only sends the rows and receives a handle. The worker's store
 * writes the same files under the same owner as the caller's store would; publishing is a rename.
 *
 * Protocol: one request, one reply, matched by id. A staged commit lives in the worker as a handle
 * until the caller's StagedCommit is garbage collected (or discarded). Errors cross as their class
 * name and fields, and are rebuilt as the same class of errors.ts (ValidationError with its issues).
 */

/** Rows per message when an insert's rows are sent over, so one structured clone never blocks long. */
const ROWS_PER_MESSAGE = 4096;
/** Bytes of log messages per message when a range of them is sent over. */
const LOG_BYTES_PER_MESSAGE = 4 * 1024 * 1024;
/** How long `close` waits for the worker to close its store before terminating it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** What the worker is started with (workerData). */
export interface StagingWorkerData {
  readonly root: string;
  /** DuckDbOfflineStoreOptions for the worker's own store. */
  readonly options: Record<string, unknown>;
}

/** The fields of a staged commit, sent after every step that may change them. */
export type StagedSnapshot = Pick<StagedCommit, 'commitId' | 'files' | 'bytes' | 'rowCount' | 'rowsInserted' | 'rowsUpdated' | 'sourceMessages'> & {
  readonly handle: number;
};

/** A source sent ahead in parts: rows, or log messages (with the source's `maxRows`). */
export type BufferedSource = { readonly kind: 'buffered'; readonly buffer: number; readonly maxRows?: number };

export type StagingRequest =
  | { readonly op: 'rows'; readonly buffer: number; readonly rows: readonly Record<string, unknown>[] }
  | { readonly op: 'messages'; readonly buffer: number; readonly messages: readonly Uint8Array[] }
  | {
      readonly op: 'stage';
      readonly location: GroupLocation;
      readonly schema: GroupSchema;
      readonly commitId: string;
      readonly source: InsertSource | BufferedSource;
      readonly options: StageOptions;
    }
  | { readonly op: 'infer'; readonly source: InsertSource | BufferedSource }
  | { readonly op: 'query'; readonly handle: number; readonly statements: readonly string[] }
  | { readonly op: 'rowsSql'; readonly handle: number }
  | { readonly op: 'recount'; readonly handle: number; readonly existing: readonly CommitRef[] }
  | { readonly op: 'renumber'; readonly handle: number; readonly commitId: string }
  | { readonly op: 'publish' | 'discard' | 'release'; readonly handle: number }
  | { readonly op: 'online'; readonly handle: number; readonly batchRows: number | undefined }
  | { readonly op: 'next' | 'return'; readonly iterator: number }
  | { readonly op: 'close' };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export type StagingReply = { readonly id: number; readonly value?: unknown; readonly error?: SerializedError };

/** An error as it crosses the thread boundary: its class name, message and own fields (issues, kind, …). */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    try {
      structuredClone(value);
      fields[key] = value;
    } catch {
      // a field that cannot cross (a function, a handle) is left behind
    }
  }
  return { name: error.name, message: error.message, fields };
}

/** Rebuilds an error of errors.ts from its serialized form (same class, same fields); anything else is a plain Error. */
export function reviveError(serialized: SerializedError): Error {
  const known = Object.values(errors).find(
    (value): value is typeof errors.DomainError => typeof value === 'function' && value.prototype instanceof Error && value.name === serialized.name,
  );
  const error: Error = known ? Object.create(known.prototype) : new Error(serialized.message);
  Object.assign(error, serialized.fields);
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(error, 'stack', { value: `${serialized.name}: ${serialized.message}\n    (staging thread)`, writable: true, configurable: true });
  return error;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The caller's side of the staging worker: started on first use, started again if it dies. */
export class StagingThread {
  #worker: Worker | null = null;
  /** Bumped each time a worker is started: handles of an earlier worker are gone with it. */
  #generation = 0;
  #nextId = 1;
  #nextBuffer = 1;
  #closed = false;
  readonly #pending = new Map<number, Pending>();
  readonly #released = new FinalizationRegistry<{ generation: number; handle: number }>(({ generation, handle }) => {
    if (generation === this.#generation && this.#worker) this.#send({ op: 'release', handle }).catch(() => undefined);
  });

  constructor(private readonly data: StagingWorkerData) {}

  async stage(location: GroupLocation, schema: GroupSchema, commitId: string, source: InsertSource, options: StageOptions): Promise<StagedCommit> {
    const generation = this.#start();
    // A columns source's number and code arrays go as copies the worker takes over (see ownCopy).
    const given = source.kind === 'columns' ? { ...source, values: source.values.map(ownCopy) } : await this.#source(source);
    const snapshot = (await this.#send({ op: 'stage', location, schema, commitId, source: given, options }, transferable(given))) as StagedSnapshot;
    const staged = new ThreadStagedCommit(this, generation, snapshot);
    this.#released.register(staged, { generation, handle: snapshot.handle });
    return staged;
  }

  async infer(source: InsertSource): Promise<FeatureDef[]> {
    this.#start();
    return (await this.#send({ op: 'infer', source: await this.#source(source) })) as FeatureDef[];
  }

  /** @internal for ThreadStagedCommit: a request about a handle of the given worker generation. */
  request(generation: number, request: StagingRequest): Promise<unknown> {
    if (generation !== this.#generation || !this.#worker) return Promise.reject(new Error('the staged commit was lost: the staging thread stopped'));
    return this.#send(request);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    try {
      await this.#send({ op: 'close' }).catch(() => undefined);
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rows or log messages sent ahead in parts when there are many, so the stage request itself stays small. */
  async #source(source: InsertSource): Promise<InsertSource | BufferedSource> {
    if (source.kind === 'messages') {
      const buffer = this.#nextBuffer++;
      let part: Uint8Array[] = [];
      let bytes = 0;
      for (const m of source.messages) {
        part.push(m);
        bytes += m.byteLength;
        if (bytes >= LOG_BYTES_PER_MESSAGE) {
          await this.#send({ op: 'messages', buffer, messages: part });
          part = [];
          bytes = 0;
        }
      }
      await this.#send({ op: 'messages', buffer, messages: part });
      return { kind: 'buffered', buffer, maxRows: source.maxRows };
    }
    if (source.kind !== 'rows' || source.rows.length <= ROWS_PER_MESSAGE) return source;
    const buffer = this.#nextBuffer++;
    for (let i = 0; i < source.rows.length; i += ROWS_PER_MESSAGE) {
      await this.#send({ op: 'rows', buffer, rows: source.rows.slice(i, i + ROWS_PER_MESSAGE) });
    }
    return { kind: 'buffered', buffer };
  }

  #start(): number {
    if (this.#closed) throw new Error('offline store is closed');
    if (this.#worker) return this.#generation;
    const worker = new Worker(new URL('./staging-worker.mjs', import.meta.url), { workerData: this.data });
    this.#generation++;
    this.#worker = worker;
    worker.unref();
    worker.on('message', (reply: StagingReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.error) pending.reject(reviveError(reply.error));
      else pending.resolve(reply.value);
    });
    const gone = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => gone(new Error(`the staging thread failed: ${error.message}`)));
    worker.on('exit', (code) => gone(new Error(`the staging thread stopped (exit code ${code})`)));
    return this.#generation;
  }

  #send(request: StagingRequest, transfer: readonly ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error('the staging thread is not running'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A request in flight keeps the process alive until its reply; an idle worker does not.
      worker.ref();
      worker.postMessage({ id, ...request }, [...transfer]);
    });
  }
}

/** A commit staged by the worker, driven from the caller's thread. */
class ThreadStagedCommit implements StagedCommit {
  constructor(
    private readonly thread: StagingThread,
    private readonly generation: number,
    private snapshot: StagedSnapshot,
  ) {}

  get commitId(): string {
    return this.snapshot.commitId;
  }
  get files(): readonly CommitFile[] {
    return this.snapshot.files;
  }
  get bytes(): number {
    return this.snapshot.bytes;
  }
  get rowCount(): number {
    return this.snapshot.rowCount;
  }
  get rowsInserted(): number {
    return this.snapshot.rowsInserted;
  }
  get rowsUpdated(): number {
    return this.snapshot.rowsUpdated;
  }
  get sourceMessages(): number | null {
    return this.snapshot.sourceMessages;
  }

  private async step(request: StagingRequest): Promise<void> {
    this.snapshot = (await this.thread.request(this.generation, request)) as StagedSnapshot;
  }

  async query(build: (rows: string) => readonly string[]): Promise<unknown[][][]> {
    const rows = (await this.thread.request(this.generation, { op: 'rowsSql', handle: this.snapshot.handle })) as string;
    return (await this.thread.request(this.generation, { op: 'query', handle: this.snapshot.handle, statements: [...build(rows)] })) as unknown[][][];
  }

  recount(existing: readonly CommitRef[]): Promise<void> {
    return this.step({ op: 'recount', handle: this.snapshot.handle, existing });
  }

  renumber(commitId: string): Promise<void> {
    return this.step({ op: 'renumber', handle: this.snapshot.handle, commitId });
  }

  publish(): Promise<void> {
    return this.step({ op: 'publish', handle: this.snapshot.handle });
  }

  discard(): Promise<void> {
    return this.step({ op: 'discard', handle: this.snapshot.handle });
  }

  async *onlineColumns(batchRows?: number): AsyncIterable<OnlineColumns> {
    const iterator = (await this.thread.request(this.generation, { op: 'online', handle: this.snapshot.handle, batchRows })) as number;
    let done = false;
    try {
      while (true) {
        const next = (await this.thread.request(this.generation, { op: 'next', iterator })) as { done: boolean; value?: OnlineColumns };
        if (next.done) {
          done = true;
          return;
        }
        yield next.value!;
      }
    } finally {
      if (!done) await this.thread.request(this.generation, { op: 'return', iterator }).catch(() => undefined);
    }
  }
}

/**
 * A column with its typed array copied: the copy is moved to the worker (transferred) rather than
 * serialized, so the caller's thread spends a memory copy on it, and the caller keeps its own
 * array (a failed commit's rows are sent again).
 */
function ownCopy(column: ColumnValues): ColumnValues {
  if (column instanceof Float64Array) return column.slice();
  if (isCoded(column)) return { codes: column.codes.slice(), dictionary: column.dictionary };
  return column;
}

/** The typed arrays' buffers of a columns source, to transfer with it. */
function transferable(source: InsertSource | BufferedSource): ArrayBuffer[] {
  if (source.kind !== 'columns') return [];
  return source.values.flatMap((column) =>
    column instanceof Float64Array ? [column.buffer as ArrayBuffer] : isCoded(column) ? [column.codes.buffer as ArrayBuffer] : [],
  );
}
