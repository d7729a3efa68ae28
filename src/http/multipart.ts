import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { GraphQLError } from 'graphql';
import { createGraphQLError, type GraphQLParams } from 'graphql-yoga';
import { DiskFile, ownDiskFile } from '../domain/disk-file.ts';
import type { UploadBatch } from './upload-batch.ts';

/** Limits and hooks of one multipart parse (see `DiskUploadsOptions`). */
export interface MultipartOptions {
  readonly tempDir: string;
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly maxFieldBytes?: number;
  readonly onFileCreated?: (path: string) => void;
}

type Limits = Required<Omit<MultipartOptions, 'onFileCreated'>> & Pick<MultipartOptions, 'onFileCreated'> & { readonly maxBodyBytes: number };

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

/**
 * Reads a GraphQL multipart request (graphql-multipart-request-spec): `operations`, then `map`,
 * then the files, each streamed to a new file in `tempDir` (added to `batch`) and put in the
 * operations where the map says, as a {@link DiskFile}. Any failure stops the parse, removes its
 * files and throws a GraphQLError with the HTTP status to answer (400 or 413); the rest of the
 * body is drained so the client reads the answer.
 */
export async function parseMultipart(request: Request, batch: UploadBatch, options: MultipartOptions): Promise<GraphQLParams | GraphQLParams[]> {
  const limits = limitsOf(options);
  if (!request.body) throw badRequest('the multipart request has no body');
  const length = Number(request.headers.get('content-length'));
  if (length > limits.maxBodyBytes) throw tooLarge(`the request body exceeds ${limits.maxBodyBytes} bytes`);
  const bb = openBusboy(request, limits.maxFieldBytes);
  await mkdir(limits.tempDir, { recursive: true, mode: 0o700 });
  return new MultipartParse(request, batch, limits, bb).run(request.body);
}

function limitsOf(options: MultipartOptions): Limits {
  const { tempDir, maxFileBytes, maxFiles, maxFieldBytes = 1024 * 1024, onFileCreated } = options;
  // Everything a valid request can hold, with room for part headers; the rest is junk.
  const maxBodyBytes = maxFiles * (maxFileBytes + 100 * 1024) + 2 * maxFieldBytes + 1024 * 1024;
  return { tempDir, maxFileBytes, maxFiles, maxFieldBytes, onFileCreated, maxBodyBytes };
}

function openBusboy(request: Request, maxFieldBytes: number): BusboyInstance {
  try {
    return Busboy({
      headers: { 'content-type': request.headers.get('content-type')! },
      limits: { fieldSize: maxFieldBytes },
      // Only these two are JSON; any other part is a file, whatever its headers say.
      isPartAFile: (name) => name !== 'operations' && name !== 'map',
    });
  } catch (error) {
    throw asGraphQLError(error);
  }
}

/** One request's parse: the parts seen so far, the files being written, and the first failure. */
class MultipartParse {
  #failure: unknown;
  readonly #stop = new AbortController();
  #operations: unknown;
  #map: Map<string, string[]> | undefined;
  #fileParts = 0;
  readonly #expected = new Set<string>();
  readonly #received = new Map<string, DiskFile>();
  readonly #writes: Promise<void>[] = [];
  readonly #finished: Promise<unknown>;

  constructor(
    private readonly request: Request,
    private readonly batch: UploadBatch,
    private readonly limits: Limits,
    private readonly bb: BusboyInstance,
  ) {
    bb.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => this.#onField(name, value, valueTruncated));
    bb.on('file', (field: string, stream: Readable, name: string | undefined, _encoding: string, type: string | undefined) =>
      this.#onFile(field, stream, name ?? '', type ?? 'application/octet-stream'),
    );
    bb.on('error', this.#fail);
    this.#finished = once(bb, 'finish');
    this.#finished.catch(() => {});
  }

  readonly #fail = (error: unknown): void => {
    if (this.#failure !== undefined) return;
    this.#failure = asGraphQLError(error);
    this.#stop.abort();
  };

  readonly #onAbort = () => this.#fail(badRequest('the client disconnected during the upload'));

  /** Feeds the body to the parser, waits for every file, and gives the operations with their files. */
  async run(body: ReadableStream<Uint8Array>): Promise<GraphQLParams | GraphQLParams[]> {
    const { request, batch } = this;
    request.signal?.addEventListener('abort', this.#onAbort, { once: true });
    batch.signal.addEventListener('abort', this.#onAbort, { once: true });
    const reader = body.getReader();
    let bodyDone = false;
    try {
      await this.#pump(reader);
      bodyDone = true;
      this.bb.end();
      await this.#race(this.#finished);
      await this.#race(Promise.all(this.#writes));
      return this.#result();
    } catch (error) {
      this.#fail(error);
      this.bb.destroy();
      await Promise.allSettled(this.#writes);
      if (!bodyDone && !request.signal?.aborted) void discardRest(reader);
      throw this.#failure;
    } finally {
      request.signal?.removeEventListener('abort', this.#onAbort);
      batch.signal.removeEventListener('abort', this.#onAbort);
    }
  }

  async #pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const { maxBodyBytes } = this.limits;
    let total = 0;
    for (;;) {
      const { done, value } = await this.#race(reader.read());
      if (done) return;
      total += value.byteLength;
      if (total > maxBodyBytes) throw tooLarge(`the request body exceeds ${maxBodyBytes} bytes`);
      if (!this.bb.write(value)) await this.#race(once(this.bb, 'drain'));
    }
  }

  #result(): GraphQLParams | GraphQLParams[] {
    if (this.#failure !== undefined) throw this.#failure;
    const operations = this.#operations;
    if (operations === undefined) throw badRequest('the multipart field "operations" is missing');
    for (const [field, paths] of this.#map ?? []) {
      const file = this.#received.get(field);
      if (!file) throw badRequest(`the file "${field}" named in the map is missing`);
      for (const path of paths) setPath(operations, path, file);
    }
    return operations as GraphQLParams | GraphQLParams[];
  }

  /**
   * `promise`, or the failure as soon as there is one. Not Promise.race with one long-lived
   * promise: each race would stay attached to it, and keep every chunk read alive until the
   * request ends.
   */
  #race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#failure !== undefined) return reject(this.#failure);
      const signal = this.#stop.signal;
      const onStop = () => reject(this.#failure);
      signal.addEventListener('abort', onStop, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onStop);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onStop);
          reject(error);
        },
      );
    });
  }

  #onField(name: string, value: string, valueTruncated: boolean): void {
    try {
      if (valueTruncated) throw tooLarge(`the multipart field "${name}" exceeds ${this.limits.maxFieldBytes} bytes`);
      if (name === 'operations') this.#operations = parseOperations(this.#operations, value);
      else {
        if (this.#operations === undefined) throw badRequest('the multipart field "map" must follow "operations"');
        if (this.#map) throw badRequest('the multipart field "map" appears twice');
        this.#map = parseMap(value, this.#operations, this.limits.maxFiles);
        for (const field of this.#map.keys()) this.#expected.add(field);
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #onFile(field: string, stream: Readable, name: string, type: string): void {
    const { maxFiles } = this.limits;
    if (this.#failure !== undefined) {
      this.#skip(stream);
      return;
    }
    if (!this.#map) {
      this.#skip(stream);
      this.#fail(badRequest('files must follow the multipart fields "operations" and "map"'));
      return;
    }
    if (++this.#fileParts > maxFiles) {
      this.#skip(stream);
      this.#fail(tooLarge(`the request has more than ${maxFiles} files`));
      return;
    }
    // The spec ignores files that the map does not name.
    if (!this.#map.has(field)) {
      this.#skip(stream);
      return;
    }
    if (!this.#expected.delete(field)) {
      this.#skip(stream);
      this.#fail(badRequest(`the file "${field}" appears twice`));
      return;
    }
    this.#writes.push(this.#spool(field, stream, name, type).catch(this.#fail));
  }

  /** Streams one file part to a new temporary file (mode 0600), counting it against the limit. */
  async #spool(field: string, stream: Readable, name: string, type: string): Promise<void> {
    const { batch } = this;
    const { tempDir, maxFileBytes, onFileCreated } = this.limits;
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
      const file = createWriteStream('', { fd: handle, highWaterMark: SPOOL_WRITE_BYTES });
      await pipeline(stream, count, file, { signal: this.#stop.signal });
    } catch (error) {
      await batch.discard(path);
      throw error;
    }
    const file = new DiskFile(path, name, type, size);
    ownDiskFile(file, batch);
    this.#received.set(field, file);
  }

  /** Reads a part to its end without keeping it, still failing the request when it is too large. */
  #skip(stream: Readable): void {
    const { maxFileBytes } = this.limits;
    const fail = this.#fail;
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
  }
}

function parseOperations(previous: unknown, value: string): unknown {
  if (previous !== undefined) throw badRequest('the multipart field "operations" appears twice');
  const operations = parseJsonField('operations', value);
  const list = Array.isArray(operations) ? operations : [operations];
  if (list.length === 0 || !list.every((o) => isObject(o) && !Array.isArray(o))) {
    throw badRequest('the multipart field "operations" must be a JSON object or an array of them');
  }
  return operations;
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
