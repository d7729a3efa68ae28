import { open, type FileHandle } from 'node:fs/promises';

const STREAM_CHUNK_BYTES = 256 * 1024;

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

/** What removes a {@link DiskFile} when its request is over. */
export interface DiskFileOwner {
  /** Forgets `path` so cleanup leaves it; false when cleanup already removed it. */
  release(path: string): boolean;
}

const owners = new WeakMap<DiskFile, DiskFileOwner>();

/** Records who removes `file` when its request is over, for {@link takeOver}. */
export function ownDiskFile(file: DiskFile, owner: DiskFileOwner): void {
  owners.set(file, owner);
}

/**
 * Claims an upload so the end-of-request cleanup leaves it; returns its path, which the caller
 * must move (rename) or delete itself. Throws when the file is already gone (the request ended).
 */
export function takeOver(file: DiskFile): string {
  const owner = owners.get(file);
  if (owner && !owner.release(file.path)) throw new Error(`upload ${file.name} was already removed: its request is over`);
  return file.path;
}
