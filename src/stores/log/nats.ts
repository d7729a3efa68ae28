import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JsMsg,
  StorageType,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';

import { NatsTrimmer } from './nats-trimmer.ts';
import type { AppendResult, ConsumeOptions, Consumer, ConsumerState, LogMessage, ReadOptions, StreamLog } from './stream-log.ts';

/** Options of {@link NatsStreamLog.connect}. */
export interface NatsStreamLogOptions {
  /** How long a delivered message may stay unacknowledged before JetStream delivers it again, ms (default 30 000). */
  readonly ackWaitMs?: number;
  /** How long a consumer waits before taking a failed batch again, ms (default 100). */
  readonly retryMs?: number;
}

const MSG_ID = 'Nats-Msg-Id';
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** The shortest pull JetStream's client allows: an idle consumer asks again this often, and `stop` waits at most this long. */
const PULL_EXPIRES_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isApiError = (error: unknown, code: number) => error instanceof JetStreamApiError && error.code === code;

const fromJsMsg = (m: JsMsg): LogMessage => ({
  sequence: m.seq,
  subject: m.subject,
  data: m.data,
  id: m.headers?.get(MSG_ID) || null,
  appendedAt: Math.floor(m.info.timestampNanos / 1e6),
});

const fromStored = (m: StoredMsg): LogMessage => ({
  sequence: m.seq,
  subject: m.subject,
  data: m.data,
  id: m.header?.get(MSG_ID) || null,
  appendedAt: m.time.getTime(),
});

/**
 * The stream log on NATS JetStream: one stream per log stream (subjects `<prefix>.>`, file storage,
 * a 10-minute duplicate window keyed by the message id), one durable pull consumer per consumer
 * name. JetStream shares a durable consumer's messages among every process pulling from it and
 * delivers again what is not acknowledged within the ack wait or is nak'ed.
 *
 * A consumer pulls one message (waiting up to a second), then as many of the ones JetStream reports
 * pending as fit the batch, so a partial batch is delivered at once (after a redelivery it asks for
 * a full batch, so a failed batch comes back whole); it acknowledges every message
 * of a batch (and flushes) after the handler resolves, and naks them when it throws. Pulls are
 * always left to finish, never abandoned, so no message is sent to a pull nobody reads.
 */
export class NatsStreamLog implements StreamLog {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #ackWaitMs: number;
  readonly #retryMs: number;
  readonly #consumers = new Set<Consumer>();
  readonly #trimmer: NatsTrimmer;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, url: string, options: NatsStreamLogOptions) {
    this.#trimmer = new NatsTrimmer(url);
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#ackWaitMs = options.ackWaitMs ?? 30_000;
    this.#retryMs = options.retryMs ?? 100;
  }

  /** Connects to the NATS server at `url` (`nats://[user:password@]host:port`), which must have JetStream enabled. */
  static async connect(url: string, options: NatsStreamLogOptions = {}): Promise<NatsStreamLog> {
    const nc = await connect({ servers: url });
    try {
      return new NatsStreamLog(nc, await jetstreamManager(nc), url, options);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async ensure(stream: string, subjectPrefix: string): Promise<void> {
    const subjects = [`${subjectPrefix}.>`];
    try {
      const info = await this.#jsm.streams.info(stream);
      if (info.config.subjects?.length !== 1 || info.config.subjects[0] !== subjects[0]) await this.#jsm.streams.update(stream, { subjects });
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
      await this.#jsm.streams.add({ name: stream, subjects, storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS), allow_direct: true });
    }
  }

  async append(stream: string, subject: string, data: Uint8Array, id?: string): Promise<AppendResult> {
    const ack = await this.#js.publish(subject, data, id === undefined ? { expect: { streamName: stream } } : { msgID: id, expect: { streamName: stream } });
    return { sequence: ack.seq, duplicate: ack.duplicate };
  }

  async read(stream: string, options: ReadOptions): Promise<LogMessage[]> {
    if (options.max <= 0) return [];
    // A direct get finds the first message without waiting; then JetStream's pending count says when to stop.
    const first = await this.#jsm.direct.getMessage(stream, { seq: Math.max(1, options.from), next_by_subj: options.subject ?? '>' });
    if (first === null) return [];
    if (options.max === 1) return [fromStored(first)];
    const reader = await this.#js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: first.seq,
      ...(options.subject === undefined ? {} : { filter_subjects: options.subject }),
    });
    const out: LogMessage[] = [];
    try {
      const messages = await reader.fetch({ max_messages: options.max, expires: 5000 });
      for await (const m of messages) {
        out.push(fromJsMsg(m));
        if (m.info.pending === 0 || out.length >= options.max) break;
      }
    } finally {
      await reader.delete().catch(() => {});
    }
    return out;
  }

  async last(stream: string): Promise<number> {
    try {
      return (await this.#jsm.streams.info(stream)).state.last_seq;
    } catch (error) {
      if (isApiError(error, JetStreamApiCodes.StreamNotFound)) return 0;
      throw error;
    }
  }

  consume(options: ConsumeOptions): Consumer {
    let stopping = false;
    const loop = (async () => {
      while (!stopping) {
        try {
          await this.#consumeUntil(options, () => stopping);
        } catch (error) {
          if (stopping) break;
          options.onError?.(error);
          await sleep(this.#retryMs);
        }
      }
    })();
    const consumer: Consumer = {
      stop: async () => {
        stopping = true;
        await loop;
        this.#consumers.delete(consumer);
      },
    };
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Creates (or updates) the durable consumer, then delivers batches until `stopped()`. */
  async #consumeUntil(options: ConsumeOptions, stopped: () => boolean): Promise<void> {
    const subjects = options.subjects ?? [];
    const config: Partial<ConsumerConfig> = {
      durable_name: options.name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.#ackWaitMs),
      deliver_policy: DeliverPolicy.All,
      ...(subjects.length === 1 ? { filter_subject: subjects[0] } : subjects.length > 1 ? { filter_subjects: [...subjects] } : {}),
    };
    try {
      await this.#jsm.consumers.add(options.stream, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      // The durable exists with another filter: take the new one.
      const { durable_name: _, ack_policy: __, deliver_policy: ___, ...update } = config;
      await this.#jsm.consumers.update(options.stream, options.name, update);
    }
    const pull = await this.#js.consumers.get(options.stream, options.name);
    while (!stopped()) {
      const first = await pull.next({ expires: PULL_EXPIRES_MS });
      if (first === null) continue;
      const batch = [first];
      // `pending` counts messages never delivered; after a nak the rest of the failed batch is due again too.
      const more = first.redelivered ? options.batch - 1 : Math.min(options.batch - 1, first.info.pending);
      if (more > 0) for await (const m of await pull.fetch({ max_messages: more, expires: PULL_EXPIRES_MS })) batch.push(m);
      if (stopped()) {
        for (const m of batch) m.nak();
        await this.#nc.flush();
        return;
      }
      await this.#deliver(options, batch);
    }
  }

  /** Hands one batch to the handler: acknowledged (and flushed) when it resolves, nak'ed when it throws. */
  async #deliver(options: ConsumeOptions, batch: JsMsg[]): Promise<void> {
    try {
      await options.handle(batch.map(fromJsMsg));
    } catch (error) {
      options.onError?.(error);
      for (const m of batch) m.nak();
      await this.#nc.flush();
      await sleep(this.#retryMs);
      return;
    }
    for (const m of batch) m.ack();
    await this.#nc.flush();
  }

  async consumerState(stream: string, name: string): Promise<ConsumerState> {
    try {
      const info = await this.#jsm.consumers.info(stream, name);
      return { ackFloor: info.ack_floor.stream_seq, pending: info.num_pending + info.num_ack_pending };
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
      const info = await this.#jsm.streams.info(stream);
      return { ackFloor: 0, pending: info.state.messages };
    }
  }

  async trim(stream: string, subject: string, upTo?: number): Promise<void> {
    if (upTo === undefined) {
      await this.#jsm.streams.purge(stream, { filter: subject });
      return;
    }
    // Message by message, not a purge: a purge (filtered or not, at any sequence) makes JetStream
    // forget every consumer's unacknowledged deliveries, so a message held by a process that died
    // (or whose handler fails) would never be delivered again, nor applied. Two requests a
    // message: on a thread of their own (NatsTrimmer), not the one that serves.
    await this.#trimmer.trim(stream, subject, upTo);
  }

  async remove(stream: string): Promise<void> {
    try {
      await this.#jsm.streams.delete(stream);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    }
  }

  async ping(): Promise<void> {
    // A round trip to the server (PING/PONG), failing when the connection is down.
    await this.#nc.flush();
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await this.#trimmer.close();
    await this.#nc.drain();
  }
}
