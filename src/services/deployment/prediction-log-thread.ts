import { Worker } from 'node:worker_threads';
import type { LoggedPrediction, WireRow } from './prediction-log-rows.ts';

/** Requests to the writer thread (prediction-log-writer.ts), handled in the order sent. */
export type WriterRequest =
  /** A feature-name list, sent once, that rows then name by `names`. */
  | { readonly op: 'names'; readonly names: number; readonly list: readonly string[] }
  /** Rows of a deployment, made into TSV lines as they arrive. */
  | { readonly op: 'rows'; readonly deployment: string; readonly rows: readonly WireRow[] }
  /** Closes the deployment's file (TSV with a header) and answers its path and rows. */
  | { readonly op: 'write'; readonly id: number; readonly deployment: string };

export interface WriterData {
  /** Where the thread writes its files (this process's temporary folder). */
  readonly dir: string;
}

export interface WriterReply {
  readonly id: number;
  /** The file of the rows sent before the request; null when there were none. */
  readonly path: string | null;
  /** Rows in the file. */
  readonly rows: number;
  /** Rows since the last write that could not be made into a line (and are lost). */
  readonly dropped: number;
  /** Why the file could not be completed; its rows stay in the thread for the next write. */
  readonly error?: string;
}

/** Rows are sent to the thread in batches of this many. */
const ROWS_PER_MESSAGE = 256;

/**
 * The prediction log's writer thread, seen from the thread that answers requests: rows are handed
 * over as they are (values copied, nothing formatted) in batches, and the thread appends them to a
 * TSV file per deployment; `write` has it close that file and hand it over. Started at the first
 * row; it does not keep the process alive while idle.
 */
export class PredictionLogThread {
  #worker: Worker | null = null;
  /** Feature-name lists sent to the current worker, by identity (served vectors share their lists). */
  #names = new WeakMap<readonly string[], number>();
  #nextNames = 1;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (reply: WriterReply) => void; reject: (error: Error) => void }>();
  /** Rows not yet sent, per deployment. */
  readonly #batches = new Map<string, WireRow[]>();

  constructor(private readonly data: WriterData) {}

  /** Queues rows of a deployment; they reach the thread in batches, and all of them before the next `write`. */
  add(deployment: string, rows: readonly LoggedPrediction[]): void {
    let batch = this.#batches.get(deployment);
    if (!batch) {
      batch = [];
      this.#batches.set(deployment, batch);
    }
    for (const r of rows) {
      batch.push([
        r.requestId,
        r.entryIndex,
        r.modelVersion,
        r.modelName,
        r.loggedAt,
        r.trainingDatasetVersion,
        r.shadow,
        r.entry,
        this.#namesId(r.raw.features),
        r.raw.values,
        this.#namesId(r.vector.features),
        r.vector.values,
        r.passed,
        r.prediction,
        r.probabilities,
      ]);
    }
    if (batch.length >= ROWS_PER_MESSAGE) this.#sendRows(deployment);
  }

  /** Has every row of the deployment queued so far put in a file; resolves to its path and rows. */
  write(deployment: string): Promise<WriterReply> {
    this.#sendRows(deployment);
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      this.#post({ op: 'write', id, deployment });
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }

  #sendRows(deployment: string): void {
    const batch = this.#batches.get(deployment);
    if (!batch || batch.length === 0) return;
    this.#batches.delete(deployment);
    this.#post({ op: 'rows', deployment, rows: batch });
  }

  #namesId(list: readonly string[]): number {
    let id = this.#names.get(list);
    if (id === undefined) {
      id = this.#nextNames++;
      this.#names.set(list, id);
      this.#post({ op: 'names', names: id, list });
    }
    return id;
  }

  #post(request: WriterRequest): void {
    this.#start().postMessage(request);
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./prediction-log-writer.mjs', import.meta.url), { workerData: this.data });
    this.#worker = worker;
    // A new thread knows no name lists: they are sent again.
    this.#names = new WeakMap();
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      pending.resolve(reply);
    });
    const gone = (error: Error) => {
      if (this.#worker === worker) this.#worker = null;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => gone(new Error(`the prediction log's writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => gone(new Error(`the prediction log's writer thread stopped (exit code ${code})`)));
    return worker;
  }
}
