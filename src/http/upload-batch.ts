import { rm } from 'node:fs/promises';
import type { DiskFileOwner } from '../domain/disk-file.ts';

/**
 * The files one request has spooled, removed together when the request is over, but not while an
 * operation that received them is still executing (see {@link UploadBatch.hold}).
 */
export class UploadBatch implements DiskFileOwner {
  readonly #paths = new Set<string>();
  readonly #closed = new AbortController();
  #holds = 0;
  #idle: (() => void) | undefined;
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

  /**
   * Keeps the files on disk until the returned function is called, even when the request ends
   * first (the client went away): an operation that received them reads them until it is done.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.#holds > 0 && --this.#holds === 0) this.#idle?.();
    };
  }

  /**
   * Ends the batch: no file is added any more, and the files are removed once no operation holds
   * them, or at once when `force` is set (the response is built: nothing executes any more).
   */
  cleanup(force = false): Promise<void> {
    this.#cleaned ??= (async () => {
      this.#closed.abort();
      if (this.#holds > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.#remove();
    })();
    if (force && this.#holds > 0) {
      this.#holds = 0;
      this.#idle?.();
    }
    return this.#cleaned;
  }

  async #remove(): Promise<void> {
    const paths = [...this.#paths];
    this.#paths.clear();
    await Promise.all(paths.map((p) => rm(p, { force: true }).catch(() => {})));
  }
}
