import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/** Where a FILES data source's directory stands against the configured roots. */
export type RootCheck = { readonly ok: true; readonly real: string } | { readonly ok: false; readonly reason: 'outside' | 'missing' | 'not-a-directory' };

/** Whether `path` is `root` or under it (both absolute and normalized). */
function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The directories FILES data sources may read (`GRANARY_FILE_SOURCE_ROOTS`). A directory is
 * allowed when its real path (every symbolic link resolved) is one of the roots' real paths or
 * under one. Checked when a source is created and again on every read, since a link can be swapped
 * after creation. Roots are resolved on each check (cheap, and a root created later counts).
 */
export class FileRoots {
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => resolve(r));
  }

  /** The roots' real paths (a root that does not exist stands as written: nothing is under it). */
  private async realRoots(): Promise<string[]> {
    return Promise.all(this.roots.map((root) => realpath(root).catch(() => root)));
  }

  /**
   * Checks a directory (absolute). A path that does not exist is reported `missing` only when it
   * would be inside a root as written, and `outside` otherwise, so that the answer says nothing
   * about what exists outside the roots.
   */
  async check(path: string): Promise<RootCheck> {
    const absolute = resolve(path);
    const roots = await this.realRoots();
    let real: string;
    try {
      real = await realpath(absolute);
    } catch {
      const nominal = this.roots.some((root) => within(absolute, root)) || roots.some((root) => within(absolute, root));
      return { ok: false, reason: nominal ? 'missing' : 'outside' };
    }
    if (!roots.some((root) => within(real, root))) return { ok: false, reason: 'outside' };
    const isDirectory = await stat(real).then(
      (s) => s.isDirectory(),
      () => false,
    );
    return isDirectory ? { ok: true, real } : { ok: false, reason: 'not-a-directory' };
  }
}
