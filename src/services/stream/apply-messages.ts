import { v7 as uuidv7 } from 'uuid';
import type { CoercedRow } from '../../domain/row-coercion.ts';
import { rowCoercer } from '../../domain/row-coercion.ts';
import { coerceMessage, messageRows } from '../../domain/stream-message.ts';
import type { OnlineColumns, OnlineStore, OnlineTable } from '../../stores/online/online-store.ts';

/** What applying a batch of one group's messages did. */
export interface ApplyOutcome {
  /** Good rows, written online when the group is online enabled. */
  readonly rows: number;
  /** The newest event time among them (the online store's comparable form), null when none has one. */
  readonly newestEventTime: number | null;
  /** The messages refused (by index in the batch) and why: dead letters. */
  readonly refused: readonly { readonly index: number; readonly reason: string }[];
}

/** Checks a batch of one group's log messages and writes their good rows online. */
export interface MessageApplier {
  /**
   * Parses and coerces every message against `table.schema`: a message that is not a row or an
   * array of rows, or has a refused row, is refused whole. When `writeOnline`, the good rows are
   * written to the online store in one transaction, newest event winning. Throws when the store
   * fails (nothing is then reported applied).
   */
  apply(table: OnlineTable, writeOnline: boolean, messages: readonly Uint8Array[]): Promise<ApplyOutcome>;
  close(): Promise<void>;
}

/** Applies batches on the calling thread, with the given online store. */
export class InlineMessageApplier implements MessageApplier {
  constructor(private readonly online: OnlineStore) {}

  apply(table: OnlineTable, writeOnline: boolean, messages: readonly Uint8Array[]): Promise<ApplyOutcome> {
    return applyMessages(this.online, table, writeOnline, messages);
  }

  async close(): Promise<void> {}
}

/** The work of MessageApplier.apply, with `online` as the store (the calling thread's or the apply thread's own). */
export async function applyMessages(online: OnlineStore, table: OnlineTable, writeOnline: boolean, messages: readonly Uint8Array[]): Promise<ApplyOutcome> {
  const coerce = rowCoercer(table.schema);
  const rows: CoercedRow[] = [];
  const refused: { index: number; reason: string }[] = [];
  for (let i = 0; i < messages.length; i++) {
    let result: CoercedRow[] | { message: string };
    try {
      result = coerceMessage(coerce, messageRows(messages[i]!));
    } catch (error) {
      result = { message: (error as Error).message };
    }
    if ('message' in result) refused.push({ index: i, reason: result.message });
    else for (const r of result) rows.push(r);
  }
  let newestEventTime: number | null = null;
  for (const r of rows) if (r.eventTime !== null && (newestEventTime === null || r.eventTime > newestEventTime)) newestEventTime = r.eventTime;
  if (rows.length > 0 && writeOnline) {
    await online.ensure(table);
    await online.writeColumns(table, toColumns(rows, table.schema.features.length), uuidv7());
  }
  return { rows: rows.length, newestEventTime, refused };
}

function toColumns(rows: readonly CoercedRow[], width: number): OnlineColumns {
  const columns = Array.from({ length: width }, () => new Array<unknown>(rows.length));
  const eventTimes = new Array<number | null>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let c = 0; c < width; c++) columns[c]![i] = r.values[c] ?? null;
    eventTimes[i] = r.eventTime;
  }
  return { rowCount: rows.length, columns, eventTimes };
}
