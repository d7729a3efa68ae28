import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's source, plain CommonJS so it runs without the TypeScript loader: its own connection
 * to the database file, and a PASSIVE checkpoint per request (it copies committed WAL frames into
 * the database without blocking the writer or the readers of the main connection).
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let error = null;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    error = String(e && e.message ? e.message : e);
  }
  parentPort.postMessage({ error });
});
`;

/**
 * Checkpoints a WAL-mode SQLite file on a worker thread, so a write transaction's commit does not
 * copy the WAL into the database on the caller's thread (SQLite's automatic checkpoint runs inside
 * the commit that crosses its threshold). Requests coalesce: while one checkpoint runs, any number
 * of further requests make one more run after it. Measured in the server, 10 k-row JSON inserts of
 * 20 columns into an online-enabled group: the online COMMIT went from ≈ 31 ms to ≈ 2 ms.
 */
export class SqliteCheckpointer {
  readonly #worker: Worker;
  #running = false;
  #again = false;
  #closed = false;
  #idle: (() => void)[] = [];
  /** The last checkpoint's error, if any (the next successful one clears it). */
  lastError: string | null = null;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(SOURCE, { eval: true, workerData: { file, driver } });
    // An idle worker does not keep the process alive; a running checkpoint, and close(), do, so
    // awaiting either never leaves the event loop empty.
    this.#worker.unref();
    this.#worker.on('message', (reply: { error: string | null }) => {
      this.lastError = reply.error;
      this.#running = false;
      this.#worker.unref();
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.#start();
      } else {
        for (const resolve of this.#idle.splice(0)) resolve();
      }
    });
    // A worker that died (its connection failed to open, say) leaves SQLite's automatic checkpoint
    // as the only one; requests are then no-ops.
    this.#worker.on('error', (error) => {
      this.lastError = error.message;
    });
    this.#worker.on('exit', () => {
      this.#closed = true;
      this.#running = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  /** Asks for a checkpoint of everything committed so far. */
  request(): void {
    if (this.#closed) return;
    if (this.#running) this.#again = true;
    else this.#start();
  }

  /** Resolves when no checkpoint is running or queued. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Waits for the running checkpoint, then ends the worker and its connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#again = false;
    await this.idle();
    if (this.#closed) return;
    this.#closed = true;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
  }

  #start(): void {
    this.#running = true;
    this.#worker.ref();
    this.#worker.postMessage('checkpoint');
  }
}
