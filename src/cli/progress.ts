/**
 * Upload progress of `granary insert`: a file whose reads are counted as the client streams it,
 * and a one-line bar redrawn on a terminal.
 */
import { openAsBlob } from 'node:fs';

/**
 * A file on disk as a Blob that reports each chunk as it is read. The client streams a Blob's
 * `stream()` into the multipart request with backpressure, so bytes read are bytes sent.
 */
class CountingBlob extends Blob {
  readonly #file: Blob;
  readonly #onRead: (bytes: number) => void;

  constructor(file: Blob, onRead: (bytes: number) => void) {
    super([]);
    this.#file = file;
    this.#onRead = onRead;
    // Blob's size and type are accessors of its own; these read the file's.
    Object.defineProperty(this, 'size', { value: file.size });
    Object.defineProperty(this, 'type', { value: file.type });
  }

  override stream(): ReturnType<Blob['stream']> {
    const onRead = this.#onRead;
    return this.#file.stream().pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onRead(chunk.byteLength);
          controller.enqueue(chunk);
        },
      }),
    ) as ReturnType<Blob['stream']>;
  }

  override slice(...args: Parameters<Blob['slice']>): Blob {
    return this.#file.slice(...args);
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#file.arrayBuffer();
  }

  override text(): Promise<string> {
    return this.#file.text();
  }
}

/** Opens `path` as a Blob that calls `onRead` with the total bytes read so far. */
export async function openCounted(path: string, onRead: (read: number, size: number) => void): Promise<Blob> {
  const file = await openAsBlob(path);
  let read = 0;
  return new CountingBlob(file, (bytes) => {
    read += bytes;
    onRead(read, file.size);
  });
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in the nearest decimal unit (`12.3 MB`). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

/** One line of a progress bar at most `columns` wide: `[#####-----]  45%  12.3 MB / 27.0 MB  8.1 MB/s`. */
export function renderBar(done: number, total: number, elapsedMs: number, columns: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const rate = elapsedMs > 0 ? `${formatBytes((done * 1000) / elapsedMs)}/s` : '';
  const tail = `${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${rate}`.trimEnd();
  const width = Math.max(10, Math.min(40, columns - tail.length - 4));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]  ${tail}`;
}

/** A progress bar on a terminal stream, redrawn at most ten times a second. */
export class ProgressBar {
  readonly #write: (text: string) => void;
  readonly #columns: number;
  readonly #started = Date.now();
  #drawn = 0;

  constructor(write: (text: string) => void, columns: number) {
    this.#write = write;
    this.#columns = columns;
  }

  update(done: number, total: number): void {
    const now = Date.now();
    if (done < total && now - this.#drawn < 100) return;
    this.#drawn = now;
    this.#write(`\r${renderBar(done, total, now - this.#started, this.#columns)}${done >= total ? '  committing…' : ''}`);
  }

  /** Erases the bar's line. */
  clear(): void {
    this.#write('\r\x1b[2K');
  }
}
