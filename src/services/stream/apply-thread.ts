import { Worker } from 'node:worker_threads';
import type { OnlineTable } from '../../stores/online/online-store.ts';
import type { ApplyOutcome, MessageApplier } from './apply-messages.ts';

/**
 * The apply consumer's heavy part on a thread of its own: parsing and coercing the log's messages
 * and writing their rows to the online store, through a store the thread opens itself (its own
 * SQLite connection to the same file, or its own Redis connection), as another process would. The
 * thread that answers requests then only receives a batch from the log, hands its message bodies
 * over, and records progress; featureVector reads are not held up by the writes (SQLite's WAL lets
 * them read while the thread writes).
 *
 * Protocol: one request, one reply, matched by id. The thread is started on first use and again
 * after it dies (a batch in flight then fails and the log delivers it again).
 */

/** How long `close` waits for the thread to close its store before terminating it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Where the thread opens its online store: openOnlineStore's options, as the composition root chose them. */
export interface ApplyThreadData {
  readonly dataDir: string;
  readonly url?: string | undefined;
}

export type ApplyRequest =
  | { readonly op: 'apply'; readonly table: OnlineTable; readonly writeOnline: boolean; readonly messages: readonly Uint8Array[] }
  | { readonly op: 'close' };

export type ApplyReply = { readonly id: number; readonly value?: ApplyOutcome | null; readonly error?: string };

interface Pending {
  readonly resolve: (value: ApplyOutcome | null) => void;
  readonly reject: (error: Error) => void;
}

export class ThreadMessageApplier implements MessageApplier {
  #worker: Worker | null = null;
  #nextId = 1;
  #closed = false;
  readonly #pending = new Map<number, Pending>();

  constructor(private readonly online: ApplyThreadData) {}

  async apply(table: OnlineTable, writeOnline: boolean, messages: readonly Uint8Array[]): Promise<ApplyOutcome> {
    return (await this.#send({ op: 'apply', table, writeOnline, messages }))!;
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

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./apply-worker.mjs', import.meta.url), { workerData: this.online });
    this.#worker = worker;
    worker.unref();
    worker.on('message', (reply: ApplyReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.error !== undefined) pending.reject(new Error(reply.error));
      else pending.resolve(reply.value ?? null);
    });
    const gone = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => gone(new Error(`the apply thread failed: ${error.message}`)));
    worker.on('exit', (code) => gone(new Error(`the apply thread stopped (exit code ${code})`)));
    return worker;
  }

  #send(request: ApplyRequest): Promise<ApplyOutcome | null> {
    if (this.#closed && request.op !== 'close') return Promise.reject(new Error('the apply thread is closed'));
    const worker = request.op === 'close' ? this.#worker : this.#start();
    if (!worker) return Promise.resolve(null);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A request in flight keeps the process alive until its reply; an idle thread does not.
      worker.ref();
      worker.postMessage({ id, ...request });
    });
  }
}
