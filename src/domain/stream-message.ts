import type { GroupSchema } from './feature-types.ts';
import { type CoercedRow, type RowCoercer, type RowIssue, rowCoercer } from './row-coercion.ts';

/**
 * The body of a message of the ingestion log: UTF-8 JSON, one row (an object of feature values) or
 * an array of rows. The GraphQL ingest appends such messages and external producers publish them
 * (see the README's streaming section); the apply consumer and the offline materializer read them.
 */

/** A message's rows. Throws a plain Error saying why when the body is neither a row nor an array of rows. */
export function messageRows(data: Uint8Array): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw new Error('the message is not JSON (expected a row object or an array of row objects)');
  }
  if (Array.isArray(parsed)) return parsed;
  if (parsed !== null && typeof parsed === 'object') return [parsed];
  throw new Error('the message is neither a row object nor an array of row objects');
}

/** The JSON body of a message carrying `rows`. */
export function messageOf(rows: readonly unknown[]): Uint8Array {
  return Buffer.from(JSON.stringify(rows), 'utf8');
}

/** The rows of one message coerced, or the first issue (its message) when any row is refused. */
export function coerceMessage(coerce: RowCoercer, rows: readonly unknown[]): CoercedRow[] | RowIssue {
  const out = new Array<CoercedRow>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = coerce(rows[i], i);
    if ('message' in r) return r;
    out[i] = r;
  }
  return out;
}

/**
 * The rows of a range of messages for an offline commit, as JSON rows of `schema` holding the
 * canonical values the apply consumer wrote online (so both stores hold equal rows). A message
 * that is not a row or array of rows, or has a row the schema refuses, adds nothing: the apply
 * consumer dead-lettered it. Messages are taken whole, in order, until at least `maxRows` rows are
 * gathered; `taken` says how many.
 */
export function messagesToRows(schema: GroupSchema, messages: readonly Uint8Array[], maxRows: number): { rows: Record<string, unknown>[]; taken: number } {
  const coerce = rowCoercer(schema);
  const names = schema.features.map((f) => f.name);
  const rows: Record<string, unknown>[] = [];
  let taken = 0;
  for (const data of messages) {
    if (rows.length >= maxRows) break;
    taken++;
    let coerced: CoercedRow[] | RowIssue;
    try {
      coerced = coerceMessage(coerce, messageRows(data));
    } catch {
      continue;
    }
    if ('message' in coerced) continue;
    for (const r of coerced) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) row[names[i]!] = r.values[i] ?? null;
      rows.push(row);
    }
  }
  return { rows, taken };
}
