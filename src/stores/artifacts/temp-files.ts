import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { v7 as uuidv7 } from 'uuid';

/**
 * Scratch space under `<data dir>/tmp` for uploads on their way into a store. Files here are
 * never part of a commit; whatever a killed process leaves behind is removed on start.
 */
export class TempFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'tmp');
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

  /** Removes everything left over by earlier processes. Call once at start, before serving. */
  async sweep(): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => rm(join(this.dir, n), { recursive: true, force: true })));
    return names.length;
  }
}
