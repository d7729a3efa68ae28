import type { DocumentNode } from 'graphql';
import type { SchemaChecked } from '../../src/client/client.ts';
import type { ResultOf, VariablesOf } from '../../src/client/graphql.ts';
import { operationText, type GraphQLResult, type TypedDocument, type UntypedData } from './server.ts';

/**
 * One event of a GraphQL-over-SSE stream: `next` (data: an execution result, `R`) or `complete`
 * (data: null). `R` is typed for a typed document, {@link UntypedData} for a plain string.
 */
export interface SseEvent<R = UntypedData> {
  readonly event: string;
  readonly data: R | null;
}

export interface SseStream<R = UntypedData> {
  readonly status: number;
  readonly contentType: string | null;
  /** Every `next`/`complete` event received so far (comments, the keep-alive pings, are skipped). */
  readonly events: SseEvent<R>[];
  /** The `data` of each `next` event so far: the execution results. */
  results(): R[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  waitFor(predicate: (events: SseEvent<R>[]) => boolean, ms?: number): Promise<void>;
  close(): void;
}

export type Fetcher = (url: string, init: RequestInit) => Response | Promise<Response>;

/**
 * Opens a subscription over Server-Sent Events (POST, or GET with the operation in the query
 * string) with `Accept: text/event-stream`, and reads its events in the background.
 */
export async function subscribeSse<D extends TypedDocument>(
  fetcher: Fetcher,
  url: string,
  key: string | null,
  operation: { query: D & SchemaChecked<D>; variables?: VariablesOf<D> },
  method?: 'GET' | 'POST',
): Promise<SseStream<GraphQLResult<ResultOf<D>>>>;
export async function subscribeSse(
  fetcher: Fetcher,
  url: string,
  key: string | null,
  operation: { query: string; variables?: Record<string, unknown> },
  method?: 'GET' | 'POST',
): Promise<SseStream>;
export async function subscribeSse(
  fetcher: Fetcher,
  url: string,
  key: string | null,
  operation: { query: string | DocumentNode; variables?: unknown },
  method: 'GET' | 'POST' = 'POST',
): Promise<SseStream<unknown>> {
  const query = operationText(operation.query);
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (key) headers.authorization = `Bearer ${key}`;
  let target = url;
  let body: string | undefined;
  if (method === 'GET') {
    target += `?${new URLSearchParams({ query, variables: JSON.stringify(operation.variables ?? {}) })}`;
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ ...operation, query });
  }
  const response = await fetcher(target, { method, headers, body, signal: abort.signal });
  const events: SseEvent<unknown>[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => line && !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
          );
          if (fields.event) events.push({ event: fields.event, data: fields.data ? (JSON.parse(fields.data) as unknown) : null });
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  ended.catch(() => {}); // surfaced by waitFor and by tests awaiting it
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    results: () => events.filter((e) => e.event === 'next').map((e) => e.data),
    ended,
    async waitFor(predicate, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!predicate(events)) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(events)}`);
        await Promise.race([new Promise((r) => setTimeout(r, 20)), ended.then(() => new Promise((r) => setTimeout(r, 20)))]);
      }
    },
    close: () => abort.abort(),
  };
}
