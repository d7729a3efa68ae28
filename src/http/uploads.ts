import { createGraphQLError, isAsyncIterable, type FetchAPI, type Plugin } from 'graphql-yoga';
import { parseMultipart } from './multipart.ts';
import { UploadBatch } from './upload-batch.ts';

/** Options of {@link useDiskUploads}. */
export interface DiskUploadsOptions {
  /** Where uploads are spooled; created (mode 0700) when missing. Put it on the disk that stores artifacts so `rename` after `takeOver` is cheap. */
  readonly tempDir: string;
  /** Largest accepted file, counted while streaming; a larger one fails the request with 413. */
  readonly maxFileBytes: number;
  /** Most file parts in one request (mapped or not); more fail the request with 413. */
  readonly maxFiles: number;
  /** Largest `operations` or `map` field, which are held in memory. Default 1 MiB. */
  readonly maxFieldBytes?: number;
  /** Called with each temporary file's path once it exists (metrics, tests). */
  readonly onFileCreated?: (path: string) => void;
  /**
   * Runs before any byte of a multipart body is read; throw (a GraphQLError with an HTTP status)
   * to refuse the request. Use it to authenticate, since yoga's `onParams` runs only after the
   * whole body has been spooled to disk.
   */
  readonly beforeParse?: (request: Request) => unknown;
}

function isMultipart(request: Request): boolean {
  const type = request.headers.get('content-type');
  return request.method === 'POST' && !!type && /^multipart\/form-data\s*(;|$)/i.test(type);
}

function isStreamingResponse(response: Response): boolean {
  const type = response.headers.get('content-type') ?? '';
  return response.body != null && /^(text\/event-stream|multipart\/mixed)/i.test(type);
}

interface NodeResponseLike {
  once(event: 'close', listener: () => void): unknown;
  readonly closed?: boolean;
}

function nodeResponseOf(serverContext: unknown): NodeResponseLike | undefined {
  const res = (serverContext as { res?: unknown } | undefined)?.res;
  return res && typeof (res as NodeResponseLike).once === 'function' ? (res as NodeResponseLike) : undefined;
}

/**
 * Parses GraphQL multipart requests (graphql-multipart-request-spec) by streaming each file to
 * `tempDir` instead of yoga's in-memory `formData()`. Mapped variables become {@link DiskFile}s.
 * Every file of a request is deleted once its response is sent (for SSE and incremental
 * delivery, once the stream ends) or the client disconnects, unless claimed with `takeOver`; an
 * operation that received files keeps them until it has executed, even when its client is gone,
 * so a resolver may read a file by its path without claiming it.
 *
 * Yoga's `maxRequestBodySize` applies to multipart bodies too and would refuse large uploads:
 * disable it and limit the other bodies with {@link useLimitNonUploadBodySize}.
 */
export function useDiskUploads(options: DiskUploadsOptions): Plugin {
  const batches = new WeakMap<Request, UploadBatch>();
  return {
    onRequestParse({ request, serverContext, setRequestParser }) {
      if (!isMultipart(request)) return;
      const batch = new UploadBatch();
      batches.set(request, batch);
      cleanUpWhenOver(batch, request, serverContext);
      setRequestParser(async (parsed) => {
        try {
          await options.beforeParse?.(request);
          return await parseMultipart(parsed, batch, options);
        } catch (error) {
          await batch.cleanup();
          throw error;
        }
      });
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const batch = request && batches.get(request);
      if (!batch) return;
      const release = batch.hold();
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) return release();
          return { onEnd: release };
        },
      };
    },
    async onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
      const batch = batches.get(request);
      if (!batch) return;
      batches.delete(request);
      if (!isStreamingResponse(response)) {
        // Awaited so the files are gone by the time the client has its answer. Nothing executes
        // any more: no operation's hold is waited for.
        await batch.cleanup(true);
        return;
      }
      if (nodeResponseOf(serverContext)) return;
      setResponse(cleanUpAtBodyEnd(response, batch, fetchAPI));
    },
  };
}

/** Cleans `batch` up when its request is over: aborted, or its Node response closed. */
function cleanUpWhenOver(batch: UploadBatch, request: Request, serverContext: unknown): void {
  const cleanup = () => void batch.cleanup();
  request.signal?.addEventListener('abort', cleanup, { once: true });
  batch.signal.addEventListener('abort', () => request.signal?.removeEventListener('abort', cleanup), { once: true });
  // 'close' comes after the last byte of the response (streamed or not) or on disconnect.
  const res = nodeResponseOf(serverContext);
  if (res?.closed) cleanup();
  else res?.once('close', cleanup);
}

/** Without a Node response to watch, the end of the body stream marks the end of the request. */
function cleanUpAtBodyEnd(response: Response, batch: UploadBatch, fetchAPI: FetchAPI): Response {
  const reader = response.body!.getReader();
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        controller.close();
      } catch (error) {
        controller.error(error);
      }
      void batch.cleanup();
    },
    cancel(reason) {
      void batch.cleanup();
      return reader.cancel(reason);
    },
  });
  return new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Yoga's request body limit for every request but multipart ones (which {@link useDiskUploads}
 * bounds per file), for use with `maxRequestBodySize: false`. Same checks and errors as yoga's.
 */
export function useLimitNonUploadBodySize(maxBytes: number): Plugin {
  const tooLargeBody = () =>
    createGraphQLError('Request body too large', {
      extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
    });
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (isMultipart(request)) return;
      const length = request.headers.get('content-length');
      if (length != null) {
        if (!/^\d+$/.test(length)) {
          throw createGraphQLError('Content-Length header is invalid.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
        if (Number(length) > maxBytes) throw tooLargeBody();
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        if (!req.body) return parse(req);
        // A native stream only pipes through a native TransformStream (yoga issue #4583).
        const Transform = req.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
        let read = 0;
        const body = req.body.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > maxBytes) controller.error(tooLargeBody());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body,
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}
