import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';

/**
 * The streaming benchmark's baseline, no Granary: rows published to a NATS JetStream stream, a
 * plain durable pull consumer in a process of its own upserting them into a SQLite table
 * (better-sqlite3, WAL, synchronous NORMAL, newest event winning, one transaction per batch of
 * what arrived together), and a poller reading that table.
 */

/** The table the consumer writes and the poller reads. */
const SCHEMA = 'CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v REAL NOT NULL)';

/**
 * Runs the consumer until SIGTERM: creates `stream` (subjects `<subject>`), a durable consumer, and
 * the table in `file`, prints `baseline consumer at <file>` when ready, then applies every message
 * (one JSON row `{ id, ts, v }` or an array of them) and acknowledges it after its transaction.
 */
export async function runBaselineConsumer(natsUrl: string, stream: string, subject: string, file: string): Promise<void> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const upsert = db.prepare<[number, number, number]>(
    'INSERT INTO rows (id, ts, v) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, v = excluded.v WHERE excluded.ts >= rows.ts',
  );
  const apply = db.transaction((messages: JsMsg[]) => {
    for (const m of messages) {
      const parsed = JSON.parse(Buffer.from(m.data).toString('utf8')) as BaselineRow | BaselineRow[];
      for (const r of Array.isArray(parsed) ? parsed : [parsed]) upsert.run(r.id, Date.parse(r.ts), r.v);
    }
  });
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject] });
  await jsm.consumers.add(stream, { durable_name: 'baseline', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
  const consumer = await jetstream(nc).consumers.get(stream, 'baseline');
  const messages = await consumer.consume({ max_messages: 1000 });
  let batch: JsMsg[] = [];
  const flush = () => {
    const taken = batch;
    batch = [];
    apply(taken);
    for (const m of taken) m.ack();
  };
  process.on('SIGTERM', () => {
    void messages.close().then(() => nc.drain().then(() => process.exit(0)));
  });
  process.stdout.write(`baseline consumer at ${file}\n`);
  for await (const m of messages) {
    if (batch.length === 0) setImmediate(flush);
    batch.push(m);
  }
}

/** A row of the baseline: the streamed group's shape. */
export interface BaselineRow {
  readonly id: number;
  readonly ts: string;
  readonly v: number;
}

/** Reads the baseline table: the value of each key present (the poller's side, in the benchmark's process). */
export class BaselineReader {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[string], { id: number; v: number }>;

  constructor(file: string) {
    this.#db = new Database(file, { readonly: true });
    this.#select = this.#db.prepare('SELECT id, v FROM rows WHERE id IN (SELECT value FROM json_each(?))');
  }

  read(keys: readonly number[]): { id: number; v: number }[] {
    return this.#select.all(JSON.stringify(keys));
  }

  close(): void {
    this.#db.close();
  }
}
