import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import Database from 'better-sqlite3';

import { NotFoundError } from '../../errors.ts';
import type { AppendResult, ConsumeOptions, Consumer, ConsumerState, LogMessage, ReadOptions, StreamLog } from './stream-log.ts';

/** Options of {@link SqliteStreamLog}. */
export interface SqliteStreamLogOptions {
  /** The database file, e.g. `<dataDir>/stream/log.db`. */
  readonly file: string;
  /** How long a consumer's lease lasts without renewal, ms (default 3000): a dead process's consumer is taken over after it. */
  readonly leaseMs?: number;
  /** How often idle consumers look (one PRAGMA data_version for all of them) for other processes' commits, ms (default 20). */
  readonly pollMs?: number;
  /** How long a consumer waits before delivering a failed batch again, ms (default 100). */
  readonly retryMs?: number;
}

interface MessageRow {
  seq: number;
  subject: string;
  id: string | null;
  data: Buffer;
  appended_at: number;
}

interface ConsumerRow {
  ack_floor: number;
  subjects: string | null;
}

/** How long an append's id deduplicates a later append with the same id (JetStream's duplicate window). */
export const DEDUPE_WINDOW_MS = 10 * 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_streams (
  stream TEXT PRIMARY KEY,
  prefix TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS log_messages (
  stream TEXT NOT NULL,
  seq INTEGER NOT NULL,
  subject TEXT NOT NULL,
  id TEXT,
  data BLOB NOT NULL,
  appended_at INTEGER NOT NULL,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_ids (
  stream TEXT NOT NULL,
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  appended_at INTEGER NOT NULL,
  PRIMARY KEY (stream, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_ids_age ON log_ids (appended_at);
CREATE INDEX IF NOT EXISTS log_messages_subject ON log_messages (stream, subject, seq);
CREATE TABLE IF NOT EXISTS log_consumers (
  stream TEXT NOT NULL,
  name TEXT NOT NULL,
  ack_floor INTEGER NOT NULL DEFAULT 0,
  subjects TEXT,
  owner TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (stream, name)
);
`;

const toMessage = (row: MessageRow): LogMessage => ({
  sequence: row.seq,
  subject: row.subject,
  data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
  id: row.id,
  appendedAt: row.appended_at,
});

/** `AND subject IN (…)` for a subject filter, with its parameters; nothing when unfiltered. */
function subjectFilter(subjects: readonly string[] | null | undefined): { sql: string; params: string[] } {
  if (!subjects || subjects.length === 0) return { sql: '', params: [] };
  return { sql: ` AND subject IN (${subjects.map(() => '?').join(', ')})`, params: [...subjects] };
}

const HOST = hostname();

/**
 * Whether a lease holder (`<host>/<pid>/<id>`) is a process of this host that no longer exists. A
 * holder of another host, or one whose liveness cannot be told, counts as alive: its lease runs out.
 */
function deadHolder(holder: string): boolean {
  const [host, pidText] = holder.split('/');
  const pid = Number(pidText);
  if (host !== HOST || !Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The longest an idle consumer waits before it looks again without being woken. */
const IDLE_MS = 250;

/** How long a consumer waits for more messages before it delivers a batch smaller than it may be. */
const LINGER_MS = 2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An append waiting for its group commit. */
interface Append {
  readonly stream: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly id: string | undefined;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
  result?: AppendResult;
  error?: unknown;
}

/** An append to a subject outside its stream's prefix. */
class SubjectOutsideStream extends Error {}

/**
 * The embedded stream log: one SQLite file (WAL, `synchronous = NORMAL`: a committed append survives
 * a kill -9 of the process, as JetStream's default does) that several processes may open at once.
 * Sequences come from a per-stream counter bumped inside an IMMEDIATE transaction (one per group of
 * appends made in the same turn of the event loop), so they increase across processes and are
 * never reused after a trim. Deduplication is a unique index on
 * `(stream, id)`: an id stays known as long as its message is kept.
 *
 * A durable consumer is a row holding its ack floor and a lease: only the lease holder delivers,
 * so processes consuming under one name take turns (one delivers, the others stand by and take
 * over within a lease of its death). The holder reads messages above the floor, hands them to the
 * handler, and then moves the floor to the batch's last sequence if it still holds the lease.
 */
export class SqliteStreamLog implements StreamLog {
  readonly #db: Database.Database;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #retryMs: number;
  /** Idle consumers of this instance per stream, woken by its appends. */
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #consumers = new Set<Consumer>();
  /** Prepared statements by SQL: consumers run theirs every poll. */
  readonly #statements = new Map<string, Database.Statement<unknown[], unknown>>();
  readonly #appendTx: Database.Transaction<(batch: readonly Append[]) => void>;
  /** Appends waiting for the next group commit (see append). */
  #queued: Append[] = [];
  #closed = false;
  /** Polls PRAGMA data_version (another process committed) every pollMs while consumers run: one read for all of them. */
  #watcher: NodeJS.Timeout | null = null;
  #dataVersion = -1;

  constructor(options: SqliteStreamLogOptions) {
    this.#leaseMs = options.leaseMs ?? 3000;
    this.#pollMs = options.pollMs ?? 20;
    this.#retryMs = options.retryMs ?? 100;
    this.#db = new Database(options.file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    const stream = this.#db.prepare<[string], { prefix: string; last_seq: number }>('SELECT prefix, last_seq FROM log_streams WHERE stream = ?');
    // Ids are kept apart from the messages, so that trimming a message does not forget its id within the window.
    const byId = this.#db.prepare<[string, string, number], { seq: number }>('SELECT seq FROM log_ids WHERE stream = ? AND id = ? AND appended_at >= ?');
    const keepId = this.#statement('INSERT OR REPLACE INTO log_ids (stream, id, seq, appended_at) VALUES (?, ?, ?, ?)');
    const forgetIds = this.#statement('DELETE FROM log_ids WHERE appended_at < ?');
    let appends = 0;
    const bump = this.#statement('UPDATE log_streams SET last_seq = ? WHERE stream = ?');
    const insert = this.#statement('INSERT INTO log_messages (stream, seq, subject, id, data, appended_at) VALUES (?, ?, ?, ?, ?, ?)');
    const one = (name: string, subject: string, data: Uint8Array, id: string | undefined, now: number): AppendResult => {
      const row = stream.get(name);
      if (!row) throw new NotFoundError('stream', name);
      if (!subject.startsWith(`${row.prefix}.`)) throw new SubjectOutsideStream(`subject ${subject} is not under stream ${name}'s prefix ${row.prefix}`);
      if (id !== undefined) {
        const first = byId.get(name, id, now - DEDUPE_WINDOW_MS);
        if (first) return { sequence: first.seq, duplicate: true };
      }
      const seq = row.last_seq + 1;
      bump.run(seq, name);
      insert.run(name, seq, subject, id ?? null, Buffer.from(data.buffer, data.byteOffset, data.byteLength), now);
      if (id !== undefined) keepId.run(name, id, seq, now);
      if (++appends % 1000 === 0) forgetIds.run(now - DEDUPE_WINDOW_MS);
      return { sequence: seq, duplicate: false };
    };
    // One transaction for a batch of appends; an append refused (no such stream, a subject outside
    // it) is refused alone, the others go in.
    this.#appendTx = this.#db.transaction((batch) => {
      const now = Date.now();
      for (const append of batch) {
        try {
          append.result = one(append.stream, append.subject, append.data, append.id, now);
        } catch (error) {
          if (!(error instanceof NotFoundError) && !(error instanceof SubjectOutsideStream)) throw error;
          append.error = error;
        }
      }
    });
  }

  #statement<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as Database.Statement<P, R>;
  }

  async ensure(stream: string, subjectPrefix: string): Promise<void> {
    this.#statement('INSERT INTO log_streams (stream, prefix) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET prefix = excluded.prefix').run(
      stream,
      subjectPrefix,
    );
  }

  /**
   * Appends are committed in groups: those made in one turn of the event loop (concurrent ingests)
   * share one transaction, committed before the next turn, and each resolves once it is committed.
   * One WAL write then carries many appends instead of one each.
   */
  append(stream: string, subject: string, data: Uint8Array, id?: string): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new Error('the stream log is closed'));
    return new Promise((resolve, reject) => {
      if (this.#queued.length === 0) setImmediate(() => this.#commitQueued());
      this.#queued.push({ stream, subject, data, id, resolve, reject });
    });
  }

  #commitQueued(): void {
    const batch = this.#queued;
    this.#queued = [];
    if (batch.length === 0) return;
    try {
      this.#appendTx.immediate(batch);
    } catch (error) {
      for (const append of batch) append.reject(error);
      return;
    }
    const woken = new Set<string>();
    for (const append of batch) {
      if (append.error !== undefined) append.reject(append.error);
      else append.resolve(append.result!);
      if (append.result && !append.result.duplicate) woken.add(append.stream);
    }
    for (const stream of woken) for (const wake of this.#waiters.get(stream) ?? []) wake();
  }

  async read(stream: string, options: ReadOptions): Promise<LogMessage[]> {
    if (options.max <= 0) return [];
    const filter = subjectFilter(options.subject === undefined ? null : [options.subject]);
    const rows = this.#statement<unknown[], MessageRow>(
      `SELECT seq, subject, id, data, appended_at FROM log_messages WHERE stream = ? AND seq >= ?${filter.sql} ORDER BY seq LIMIT ?`,
    ).all(stream, options.from, ...filter.params, options.max);
    return rows.map(toMessage);
  }

  async last(stream: string): Promise<number> {
    const row = this.#statement<[string], { last_seq: number }>('SELECT last_seq FROM log_streams WHERE stream = ?').get(stream);
    return row?.last_seq ?? 0;
  }

  /** Wakes every idle consumer of this instance when another connection (process) committed to the file. */
  #watchOthers(): void {
    if (this.#watcher) return;
    this.#watcher = setInterval(() => {
      if (this.#closed) return;
      const version = this.#db.pragma('data_version', { simple: true }) as number;
      if (version === this.#dataVersion) return;
      this.#dataVersion = version;
      for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    }, this.#pollMs);
    this.#watcher.unref();
  }

  consume(options: ConsumeOptions): Consumer {
    this.#watchOthers();
    // The holder's host and pid: a process of this host finds a dead holder's lease at once (see #takeLease).
    const owner = `${HOST}/${process.pid}/${randomUUID()}`;
    let stopping = false;
    let wake: (() => void) | null = null;
    const waiters = this.#waiters.get(options.stream) ?? new Set<() => void>();
    this.#waiters.set(options.stream, waiters);
    const interrupt = () => wake?.();
    waiters.add(interrupt);
    /** Waits `ms`, or less when an append through this instance or `stop` interrupts. */
    const idle = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    this.#statement(
      'INSERT INTO log_consumers (stream, name, subjects) VALUES (?, ?, ?) ON CONFLICT (stream, name) DO UPDATE SET subjects = excluded.subjects',
    ).run(options.stream, options.name, options.subjects && options.subjects.length > 0 ? JSON.stringify(options.subjects) : null);
    let heldUntil = 0;
    const loop = (async () => {
      while (!stopping) {
        try {
          // A read first: the lease (a write) is taken only when there is something to consume.
          const head = this.#statement<[string, string, string], { last_seq: number; ack_floor: number }>(
            'SELECT s.last_seq, c.ack_floor FROM log_streams s JOIN log_consumers c ON c.stream = s.stream WHERE s.stream = ? AND c.stream = ? AND c.name = ?',
          ).get(options.stream, options.stream, options.name);
          if (!head || head.last_seq <= head.ack_floor) {
            // Woken by an append through this instance, or by the watcher when another process commits.
            await idle(IDLE_MS);
            continue;
          }
          // Renewed only when half of it has run out: a write per batch would cost as much as the batch.
          if (Date.now() > heldUntil - this.#leaseMs / 2) {
            if (!this.#takeLease(options, owner)) {
              heldUntil = 0;
              await idle(Math.min(this.#leaseMs / 2, 250));
              continue;
            }
            heldUntil = Date.now() + this.#leaseMs;
          }
          // A batch smaller than it may be gathers what arrives in the next moment: many small
          // appends in a burst become one batch (one online transaction), at the cost of LINGER_MS.
          if (head.last_seq - head.ack_floor < options.batch) await sleep(LINGER_MS);
          const batch = this.#pending(options, options.batch);
          if (batch.length === 0) {
            // Only other subjects' messages up to the head read above: nothing of ours below it.
            this.#statement('UPDATE log_consumers SET ack_floor = ? WHERE stream = ? AND name = ? AND owner = ? AND ack_floor < ?').run(
              head.last_seq,
              options.stream,
              options.name,
              owner,
              head.last_seq,
            );
            continue;
          }
          if (!(await this.#deliver(options, owner, batch))) await sleep(this.#retryMs);
        } catch (error) {
          // The database failed (busy past the timeout, disk full): report it and try again.
          options.onError?.(error);
          await sleep(this.#retryMs);
        }
      }
    })();
    const consumer: Consumer = {
      stop: async () => {
        stopping = true;
        interrupt();
        await loop;
        waiters.delete(interrupt);
        this.#consumers.delete(consumer);
        if (!this.#closed)
          this.#statement('UPDATE log_consumers SET owner = NULL, lease_until = 0 WHERE stream = ? AND name = ? AND owner = ?').run(
            options.stream,
            options.name,
            owner,
          );
      },
    };
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Hands one batch to the handler, renewing the lease meanwhile; acknowledges it on success. */
  async #deliver(options: ConsumeOptions, owner: string, batch: LogMessage[]): Promise<boolean> {
    const renew = setInterval(() => this.#takeLease(options, owner), Math.max(10, this.#leaseMs / 3));
    try {
      await options.handle(batch);
    } catch (error) {
      options.onError?.(error);
      return false;
    } finally {
      clearInterval(renew);
    }
    const last = batch.at(-1)!.sequence;
    this.#statement('UPDATE log_consumers SET ack_floor = ? WHERE stream = ? AND name = ? AND owner = ? AND ack_floor < ?').run(
      last,
      options.stream,
      options.name,
      owner,
      last,
    );
    return true;
  }

  /** Takes or renews the consumer's lease: whether this consumer holds it now. */
  #takeLease(options: ConsumeOptions, owner: string): boolean {
    if (this.#closed) return false;
    const now = Date.now();
    const taken = this.#statement(
      'UPDATE log_consumers SET owner = ?, lease_until = ? WHERE stream = ? AND name = ? AND (owner IS NULL OR owner = ? OR lease_until < ?)',
    ).run(owner, now + this.#leaseMs, options.stream, options.name, owner, now);
    if (taken.changes === 1) return true;
    // Held: by a process of this host that is gone (killed), it is taken now rather than when it runs out.
    const held = this.#statement<[string, string], { owner: string | null }>('SELECT owner FROM log_consumers WHERE stream = ? AND name = ?').get(
      options.stream,
      options.name,
    );
    if (!held?.owner || !deadHolder(held.owner)) return false;
    const takenOver = this.#statement('UPDATE log_consumers SET owner = ?, lease_until = ? WHERE stream = ? AND name = ? AND owner = ?').run(
      owner,
      now + this.#leaseMs,
      options.stream,
      options.name,
      held.owner,
    );
    return takenOver.changes === 1;
  }

  /** Up to `max` of the consumer's messages above its ack floor. */
  #pending(options: ConsumeOptions, max: number): LogMessage[] {
    const filter = subjectFilter(options.subjects);
    return this.#statement<unknown[], MessageRow>(
      `SELECT seq, subject, id, data, appended_at FROM log_messages
         WHERE stream = ? AND seq > (SELECT ack_floor FROM log_consumers WHERE stream = ? AND name = ?)${filter.sql} ORDER BY seq LIMIT ?`,
    )
      .all(options.stream, options.stream, options.name, ...filter.params, max)
      .map(toMessage);
  }

  async consumerState(stream: string, name: string): Promise<ConsumerState> {
    const row = this.#statement<[string, string], ConsumerRow>('SELECT ack_floor, subjects FROM log_consumers WHERE stream = ? AND name = ?').get(stream, name);
    const ackFloor = row?.ack_floor ?? 0;
    const filter = subjectFilter(row?.subjects ? (JSON.parse(row.subjects) as string[]) : null);
    const count = this.#statement<unknown[], { n: number }>(`SELECT count(*) AS n FROM log_messages WHERE stream = ? AND seq > ?${filter.sql}`).get(
      stream,
      ackFloor,
      ...filter.params,
    );
    return { ackFloor, pending: count?.n ?? 0 };
  }

  async trim(stream: string, subject: string, upTo?: number): Promise<void> {
    this.#statement('DELETE FROM log_messages WHERE stream = ? AND subject = ? AND seq <= ?').run(stream, subject, upTo ?? Number.MAX_SAFE_INTEGER);
  }

  async remove(stream: string): Promise<void> {
    this.#db
      .transaction(() => {
        this.#statement('DELETE FROM log_messages WHERE stream = ?').run(stream);
        this.#statement('DELETE FROM log_ids WHERE stream = ?').run(stream);
        this.#statement('DELETE FROM log_consumers WHERE stream = ?').run(stream);
        this.#statement('DELETE FROM log_streams WHERE stream = ?').run(stream);
      })
      .immediate();
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    this.#commitQueued();
    this.#closed = true;
    if (this.#watcher) clearInterval(this.#watcher);
    this.#db.close();
  }
}
