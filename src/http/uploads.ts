import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { GraphQLError } from 'graphql';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';

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

const STREAM_CHUNK_BYTES = 256 * 1024;
/**
 * Bytes the spool's file writer may hold before it pushes back. Node's 16 KiB default stops the
 * upload after every socket read until that chunk's write (a thread-pool round trip) is done; with
 * 1 MiB, receiving and writing overlap.
 */
const SPOOL_WRITE_BYTES = 1024 * 1024;
/** After a failure the rest of the body is read and discarded, so the client sees the error response instead of a reset; beyond this it is cut off. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function badRequest(message: string): GraphQLError {
  return createGraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

function tooLarge(message: string): GraphQLError {
  return createGraphQLError(message, { extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } } });
}

/** The files one request has spooled, removed together when the request is over. */
class UploadBatch {
  readonly #paths = new Set<string>();
  readonly #closed = new AbortController();
  #cleaned: Promise<void> | undefined;

  /** Aborts when the batch is cleaned up: the request is over, or failed. */
  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  add(path: string): void {
    if (this.#closed.signal.aborted) throw new Error('the request is already over');
    this.#paths.add(path);
  }

  has(path: string): boolean {
    return this.#paths.has(path);
  }

  /** Forgets `path` so cleanup leaves it; false when cleanup already removed it. */
  release(path: string): boolean {
    return this.#paths.delete(path);
  }

  async discard(path: string): Promise<void> {
    this.#paths.delete(path);
    await rm(path, { force: true });
  }

  cleanup(): Promise<void> {
    this.#cleaned ??= (async () => {
      this.#closed.abort();
      const paths = [...this.#paths];
      this.#paths.clear();
      await Promise.all(paths.map((p) => rm(p, { force: true }).catch(() => {})));
    })();
    return this.#cleaned;
  }
}

const batchOf = new WeakMap<DiskFile, UploadBatch>();

/** A byte range of a file on disk, read only when asked: the `Blob` side of {@link DiskFile}. */
export class DiskBlob implements Blob {
  readonly size: number;
  readonly type: string;
  readonly #path: string;
  readonly #start: number;

  constructor(path: string, start: number, size: number, type: string) {
    this.#path = path;
    this.#start = start;
    this.size = size;
    this.type = type;
  }

  get [Symbol.toStringTag](): string {
    return 'Blob';
  }

  /** Reads the range in chunks as the consumer pulls, so memory stays flat whatever the size. */
  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const path = this.#path;
    const end = this.#start + this.size;
    let position = this.#start;
    let handle: FileHandle | undefined;
    const close = async () => {
      const h = handle;
      handle = undefined;
      await h?.close();
    };
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        try {
          handle ??= await open(path, 'r');
          const length = Math.min(STREAM_CHUNK_BYTES, end - position);
          if (length <= 0) {
            await close();
            controller.close();
            return;
          }
          const chunk = new Uint8Array(length);
          const { bytesRead } = await handle.read(chunk, 0, length, position);
          if (bytesRead === 0) throw new Error(`${path} is shorter than expected`);
          position += bytesRead;
          controller.enqueue(bytesRead === length ? chunk : chunk.subarray(0, bytesRead));
        } catch (error) {
          await close().catch(() => {});
          throw error;
        }
      },
      cancel: close,
    });
  }

  /** The whole range in memory: only for consumers that need it so. */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(this.size);
    const handle = await open(this.#path, 'r');
    try {
      let done = 0;
      while (done < this.size) {
        const { bytesRead } = await handle.read(out, done, this.size - done, this.#start + done);
        if (bytesRead === 0) throw new Error(`${this.#path} is shorter than expected`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return out;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** A view of part of the range, with `Blob.slice` semantics; reads nothing. */
  slice(start?: number, end?: number, contentType?: string): DiskBlob {
    const clamp = (n: number | undefined, fallback: number) => {
      if (n === undefined || Number.isNaN(n)) return fallback;
      const i = Math.trunc(n);
      return i < 0 ? Math.max(this.size + i, 0) : Math.min(i, this.size);
    };
    const from = clamp(start, 0);
    const to = clamp(end, this.size);
    return new DiskBlob(this.#path, this.#start + from, Math.max(to - from, 0), contentType ?? '');
  }
}

/**
 * An uploaded file spooled to disk. It reads like a web `File` (`stream()`, `text()`, `slice()`…),
 * but is not a `Blob` instance: APIs that need a real one can take `fs.openAsBlob(file.path)`.
 * The file is deleted when its request is over unless {@link takeOver} claimed it.
 */
export class DiskFile extends DiskBlob implements File {
  /** The name the client gave, without directories. */
  readonly name: string;
  readonly lastModified: number;
  readonly webkitRelativePath = '';
  /** The temporary file (mode 0600); move it only after {@link takeOver}. */
  readonly path: string;

  constructor(path: string, name: string, type: string, size: number, lastModified = Date.now()) {
    super(path, 0, size, type);
    this.path = path;
    this.name = name;
    this.lastModified = lastModified;
  }

  override get [Symbol.toStringTag](): string {
    return 'File';
  }
}

/**
 * Claims an upload so the end-of-request cleanup leaves it; returns its path, which the caller
 * must move (rename) or delete itself. Throws when the file is already gone (the request ended).
 */
export function takeOver(file: DiskFile): string {
  const batch = batchOf.get(file);
  if (batch && !batch.release(file.path)) throw new Error(`upload ${file.name} was already removed: its request is over`);
  return file.path;
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
 * delivery, once the stream ends) or the client disconnects, unless claimed with {@link takeOver}.
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
      const cleanup = () => void batch.cleanup();
      request.signal?.addEventListener('abort', cleanup, { once: true });
      batch.signal.addEventListener('abort', () => request.signal?.removeEventListener('abort', cleanup), { once: true });
      // 'close' comes after the last byte of the response (streamed or not) or on disconnect.
      const res = nodeResponseOf(serverContext);
      if (res?.closed) cleanup();
      else res?.once('close', cleanup);
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
    async onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
      const batch = batches.get(request);
      if (!batch) return;
      batches.delete(request);
      if (!isStreamingResponse(response)) {
        // Awaited so the files are gone by the time the client has its answer.
        await batch.cleanup();
        return;
      }
      if (nodeResponseOf(serverContext)) return;
      // Without a Node response to watch, the end of the body stream marks the end of the request.
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
      setResponse(
        new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers: response.headers }),
      );
    },
  };
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

function parseJsonField(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`the multipart field "${name}" is not valid JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Checks every `map` path against `operations` now, so a bad map fails before any file is spooled. */
function parseMap(value: string, operations: unknown, maxFiles: number): Map<string, string[]> {
  const raw = parseJsonField('map', value);
  if (!isObject(raw) || Array.isArray(raw)) throw badRequest('the multipart field "map" must be a JSON object');
  const entries = Object.entries(raw);
  if (entries.length > maxFiles) throw tooLarge(`the request maps ${entries.length} files; at most ${maxFiles} are allowed`);
  const map = new Map<string, string[]>();
  for (const [field, paths] of entries) {
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) {
      throw badRequest(`map entry "${field}" must be a non-empty array of object paths`);
    }
    for (const path of paths as string[]) {
      if (!pathExists(operations, path)) {
        throw badRequest(`map entry "${field}" names "${path}", which is not in operations`);
      }
    }
    map.set(field, paths as string[]);
  }
  return map;
}

function pathExists(root: unknown, path: string): boolean {
  let current = root;
  for (const key of path.split('.')) {
    if (FORBIDDEN_KEYS.has(key) || !isObject(current) || !Object.hasOwn(current, key)) return false;
    current = current[key];
  }
  return true;
}

function setPath(root: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let current = root as Record<string, unknown>;
  for (const key of keys) current = current[key] as Record<string, unknown>;
  current[last] = value;
}

/** Busboy and stream errors are the client's fault; file system errors (they carry `syscall`) are ours. */
function asGraphQLError(error: unknown): unknown {
  if (error instanceof GraphQLError || (isObject(error) && 'syscall' in error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return badRequest(`invalid multipart body: ${message}`);
}

async function parseMultipart(
  request: Request,
  batch: UploadBatch,
  options: DiskUploadsOptions,
): Promise<GraphQLParams | GraphQLParams[]> {
  const { tempDir, maxFileBytes, maxFiles, maxFieldBytes = 1024 * 1024, onFileCreated } = options;
  if (!request.body) throw badRequest('the multipart request has no body');
  // Everything a valid request can hold, with room for part headers; the rest is junk.
  const maxBodyBytes = maxFiles * (maxFileBytes + 100 * 1024) + 2 * maxFieldBytes + 1024 * 1024;
  const length = Number(request.headers.get('content-length'));
  if (length > maxBodyBytes) throw tooLarge(`the request body exceeds ${maxBodyBytes} bytes`);

  let bb: BusboyInstance;
  try {
    bb = Busboy({
      headers: { 'content-type': request.headers.get('content-type')! },
      limits: { fieldSize: maxFieldBytes },
      // Only these two are JSON; any other part is a file, whatever its headers say.
      isPartAFile: (name) => name !== 'operations' && name !== 'map',
    });
  } catch (error) {
    throw asGraphQLError(error);
  }
  await mkdir(tempDir, { recursive: true, mode: 0o700 });

  let failure: unknown;
  const stop = new AbortController();
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = asGraphQLError(error);
    stop.abort();
  };
  const onAbort = () => fail(badRequest('the client disconnected during the upload'));
  request.signal?.addEventListener('abort', onAbort, { once: true });
  batch.signal.addEventListener('abort', onAbort, { once: true });
  // Not Promise.race with one long-lived promise: each race would stay attached to it, and keep
  // every chunk read alive until the request ends.
  const race = <T>(promise: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      const onStop = () => reject(failure);
      stop.signal.addEventListener('abort', onStop, { once: true });
      promise.then(
        (value) => {
          stop.signal.removeEventListener('abort', onStop);
          resolve(value);
        },
        (error: unknown) => {
          stop.signal.removeEventListener('abort', onStop);
          reject(error);
        },
      );
    });

  let operations: unknown;
  let map: Map<string, string[]> | undefined;
  let fileParts = 0;
  const expected = new Set<string>();
  const received = new Map<string, DiskFile>();
  const writes: Promise<void>[] = [];

  const spool = async (field: string, stream: Readable, name: string, type: string) => {
    const path = join(tempDir, `upload-${randomUUID()}`);
    batch.add(path);
    let size = 0;
    try {
      const handle = await open(path, 'wx', 0o600);
      if (batch.signal.aborted) {
        await handle.close();
        throw new Error('the request is over');
      }
      onFileCreated?.(path);
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxFileBytes) callback(tooLarge(`file "${name}" exceeds the limit of ${maxFileBytes} bytes`));
          else callback(null, chunk);
        },
      });
      await pipeline(stream, count, createWriteStream('', { fd: handle, highWaterMark: SPOOL_WRITE_BYTES }), { signal: stop.signal });
    } catch (error) {
      await batch.discard(path);
      throw error;
    }
    const file = new DiskFile(path, name, type, size);
    batchOf.set(file, batch);
    received.set(field, file);
  };

  const skip = (stream: Readable) => {
    let size = 0;
    stream.on('error', () => {});
    stream.pipe(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxFileBytes) fail(tooLarge(`a file part exceeds the limit of ${maxFileBytes} bytes`));
          callback();
        },
      }),
    );
  };

  bb.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    try {
      if (valueTruncated) throw tooLarge(`the multipart field "${name}" exceeds ${maxFieldBytes} bytes`);
      if (name === 'operations') {
        if (operations !== undefined) throw badRequest('the multipart field "operations" appears twice');
        operations = parseJsonField('operations', value);
        const list = Array.isArray(operations) ? operations : [operations];
        if (list.length === 0 || !list.every((o) => isObject(o) && !Array.isArray(o))) {
          throw badRequest('the multipart field "operations" must be a JSON object or an array of them');
        }
      } else {
        if (operations === undefined) throw badRequest('the multipart field "map" must follow "operations"');
        if (map) throw badRequest('the multipart field "map" appears twice');
        map = parseMap(value, operations, maxFiles);
        for (const field of map.keys()) expected.add(field);
      }
    } catch (error) {
      fail(error);
    }
  });

  bb.on('file', (field: string, stream: Readable, name: string | undefined, _encoding: string, type: string | undefined) => {
    if (failure !== undefined) return skip(stream);
    if (!map) {
      skip(stream);
      return fail(badRequest('files must follow the multipart fields "operations" and "map"'));
    }
    if (++fileParts > maxFiles) {
      skip(stream);
      return fail(tooLarge(`the request has more than ${maxFiles} files`));
    }
    // The spec ignores files that the map does not name.
    if (!map.has(field)) return skip(stream);
    if (!expected.delete(field)) {
      skip(stream);
      return fail(badRequest(`the file "${field}" appears twice`));
    }
    writes.push(spool(field, stream, name ?? '', type ?? 'application/octet-stream').catch(fail));
  });

  bb.on('error', fail);
  const finished = once(bb, 'finish');
  finished.catch(() => {});

  const reader = request.body.getReader();
  let bodyDone = false;
  try {
    let total = 0;
    for (;;) {
      const { done, value } = await race(reader.read());
      if (done) {
        bodyDone = true;
        break;
      }
      total += value.byteLength;
      if (total > maxBodyBytes) throw tooLarge(`the request body exceeds ${maxBodyBytes} bytes`);
      if (!bb.write(value)) await race(once(bb, 'drain'));
    }
    bb.end();
    await race(finished);
    await race(Promise.all(writes));
    if (failure !== undefined) throw failure;
    if (operations === undefined) throw badRequest('the multipart field "operations" is missing');
    for (const [field, paths] of map ?? []) {
      const file = received.get(field);
      if (!file) throw badRequest(`the file "${field}" named in the map is missing`);
      for (const path of paths) setPath(operations, path, file);
    }
    return operations as GraphQLParams | GraphQLParams[];
  } catch (error) {
    fail(error);
    bb.destroy();
    await Promise.allSettled(writes);
    if (!bodyDone && !request.signal?.aborted) void discardRest(reader);
    throw failure;
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
    batch.signal.removeEventListener('abort', onAbort);
  }
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let discarded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      discarded += value.byteLength;
      if (discarded > DRAIN_LIMIT_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client went away; nothing left to drain.
  }
}
