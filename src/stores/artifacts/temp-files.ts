import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { v7 as uuidv7 } from 'uuid';
import { olderThan, PROCESS_ID, type SweepGuard } from '../process-owner.ts';

/**
 * Scratch space for uploads on their way into a store, per process: `<data dir>/tmp/<process id>`
 * (several processes may share the data directory). Files here are never part of a commit; a
 * graceful stop removes its process's folder, and a start removes the folders of processes that
 * are gone ({@link TempFiles.sweep}), never one of a live process.
 */
export class TempFiles {
  /** `<data dir>/tmp`: one folder per process. */
  readonly root: string;
  /** This process's folder. */
  readonly dir: string;

  constructor(dataDir: string, processId: string) {
    this.root = join(dataDir, 'tmp');
    this.dir = join(this.root, processId);
  }

  /** Streams an upload to a new temporary file (never held whole in memory) and returns its path. */
  async spool(file: Blob, prefix = 'upload'): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${prefix}-${uuidv7()}`);
    try {
      await pipeline(Readable.fromWeb(file.stream() as ReadableStream), createWriteStream(path));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return path;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * Removes what processes that are gone left under `<data dir>/tmp`: the folders of processes
   * whose lease is gone or expired (asked after the listing, so a process that started meanwhile
   * is seen alive), and entries named for no process (from before folders were per process) once
   * older than the guard's grace. Call at start. Returns how many entries were removed.
   */
  async sweep(guard: SweepGuard): Promise<number> {
    const names = (await readdir(this.root).catch(() => [] as string[])).filter((n) => join(this.root, n) !== this.dir);
    if (names.length === 0) return 0;
    const alive = await guard.live();
    let removed = 0;
    for (const name of names) {
      const path = join(this.root, name);
      const abandoned = PROCESS_ID.test(name) ? !alive(name) : await olderThan(path, guard.graceMs);
      if (!abandoned) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Removes this process's folder: on a graceful stop, once no request is left. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
