import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's source, plain CommonJS so it runs without the TypeScript loader: its own NATS
 * connection, and per request the trim loop of NatsStreamLog.trim (find the subject's next message,
 * delete it, up to a sequence). On this server a purge would drop every consumer's unacknowledged
 * deliveries, so a trim is two requests per message; on the serving thread, thousands of messages a
 * second would keep it busy, so they run here.
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { connect } = require(workerData.transport);
const { jetstreamManager } = require(workerData.jetstream);
const ready = (async () => {
  const nc = await connect({ servers: workerData.url });
  return { nc, jsm: await jetstreamManager(nc) };
})();
async function trim(jsm, stream, subject, upTo) {
  for (let seq = 1; ; ) {
    const m = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    if (m === null || m.seq > upTo) return;
    await jsm.streams.deleteMessage(stream, m.seq, false);
    seq = m.seq + 1;
  }
}
parentPort.on('message', async (message) => {
  if (message.close) {
    try { await (await ready).nc.drain(); } catch {}
    parentPort.close();
    return;
  }
  let error = null;
  try {
    await trim((await ready).jsm, message.stream, message.subject, message.upTo);
  } catch (e) {
    error = String(e && e.message ? e.message : e);
  }
  parentPort.postMessage({ id: message.id, error });
});
`;

/** Trims of a NATS stream log on a worker thread with a connection of its own (see SOURCE). */
export class NatsTrimmer {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(private readonly url: string) {}

  /** Deletes the subject's messages up to `upTo`; resolves when done. */
  trim(stream: string, subject: string, upTo: number): Promise<void> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, stream, subject, upTo });
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void worker.terminate(), 5000);
    worker.postMessage({ close: true });
    await exited;
    clearTimeout(timer);
    for (const pending of this.#pending.values()) pending.reject(new Error('the stream log is closed'));
    this.#pending.clear();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const require = createRequire(import.meta.url);
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: { url: this.url, transport: require.resolve('@nats-io/transport-node'), jetstream: require.resolve('@nats-io/jetstream') },
    });
    worker.unref();
    worker.on('message', (reply: { id: number; error: string | null }) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.error === null) pending.resolve();
      else pending.reject(new Error(`trim failed: ${reply.error}`));
    });
    const gone = (error: Error) => {
      if (this.#worker === worker) this.#worker = null;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => gone(error));
    worker.on('exit', () => gone(new Error('the trim thread stopped')));
    this.#worker = worker;
    return worker;
  }
}
