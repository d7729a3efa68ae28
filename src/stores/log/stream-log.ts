/**
 * The ingestion log: per project one stream of messages, each under a subject (one subject per
 * feature group version), numbered by a sequence that increases within the stream (gaps allowed:
 * sequences are stream-wide, so one subject's messages are not contiguous). Implementations: a
 * SQLite file in the data directory (embedded) and NATS JetStream (`STREAM_URL=nats://…`), passing
 * one contract suite (test/stores/log/stream-log.contract.ts).
 */
export interface StreamLog {
  /** Creates the stream (idempotent); its subjects are `<prefix>.>`. */
  ensure(stream: string, subjectPrefix: string): Promise<void>;
  /**
   * Appends one message under `subject`. With `id`, a message of the stream with the same id appended
   * within the dedupe window (at least 10 minutes) is not appended again: the first one's sequence is
   * returned with `duplicate: true`. Durable once it resolves (it survives a kill -9 of any process).
   */
  append(stream: string, subject: string, data: Uint8Array, id?: string): Promise<AppendResult>;
  /**
   * Replay: messages with sequence ≥ `from`, only `subject`'s when given, at most `max`, in
   * sequence order. Fewer than `max` (even none) means there are no more now.
   */
  read(stream: string, options: ReadOptions): Promise<LogMessage[]>;
  /** The stream's last sequence (0 when it has none). */
  last(stream: string): Promise<number>;
  /**
   * A durable consumer: `handle` receives batches of the stream's messages (of `subjects` when given,
   * at most `batch` each), in sequence order within a batch; when it resolves the batch is
   * acknowledged, and when it throws (or the process dies) the batch is delivered again, to this
   * process or another one consuming under the same name. Several processes consuming under one name
   * share the messages: each acknowledged message was handled by one of them. Runs until `stop`.
   */
  consume(options: ConsumeOptions): Consumer;
  /** A durable consumer's state: every message up to `ackFloor` is acknowledged; `pending` are not yet. */
  consumerState(stream: string, name: string): Promise<ConsumerState>;
  /** Removes `subject`'s messages with sequence ≤ `upTo` (all of them when omitted). */
  trim(stream: string, subject: string, upTo?: number): Promise<void>;
  /** Removes the stream and its consumers. */
  remove(stream: string): Promise<void>;
  /** Resolves when the log answers a trivial request (readiness); rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface AppendResult {
  readonly sequence: number;
  /** True when an earlier message had the same id: nothing was appended. */
  readonly duplicate: boolean;
}

export interface ReadOptions {
  readonly from: number;
  readonly subject?: string;
  readonly max: number;
}

export interface LogMessage {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** The idempotency id it was appended with, if any. */
  readonly id: string | null;
  /** When the log stored it, epoch milliseconds. */
  readonly appendedAt: number;
}

export interface ConsumeOptions {
  readonly stream: string;
  /** The durable name: processes consuming under one name share its acknowledged offset. */
  readonly name: string;
  /** Only these subjects' messages; all of the stream's when omitted. */
  readonly subjects?: readonly string[];
  /** Most messages per batch. */
  readonly batch: number;
  readonly handle: (messages: readonly LogMessage[]) => Promise<void>;
  /** Called when a batch's handler throws (the batch is delivered again), for logging. */
  readonly onError?: (error: unknown) => void;
}

export interface Consumer {
  /** Stops consuming; resolves once no handler call is running. */
  stop(): Promise<void>;
}

export interface ConsumerState {
  readonly ackFloor: number;
  /** Messages after the ack floor not yet acknowledged (delivered or not). */
  readonly pending: number;
}
