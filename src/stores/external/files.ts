import type { Dirent } from 'node:fs';
import { realpath, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataSourceError, ValidationError } from '../../errors.ts';
import { sqlString } from '../../domain/sql.ts';
import type { FileRoots } from './file-roots.ts';

export type FileFormat = 'PARQUET' | 'CSV';

/** Whether `path` is `dir` or under it (both real, absolute paths). */
const inside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** At most this many files listed by `testDataSource`. */
const MAX_LISTED = 1000;

const EXTENSIONS: Record<FileFormat, string> = { PARQUET: 'parquet', CSV: 'csv' };

/**
 * A directory of Parquet and CSV files read in place by external feature groups (through DuckDB).
 * Groups name paths relative to the base directory, and only paths under it are read: `..` and
 * symbolic links that lead outside are refused. The base directory itself must stay inside the
 * server's file-source roots: its real path is checked on every listing and read, so a link
 * swapped after the source was created is refused too. Errors name the source and the user's
 * relative path, never a server path or a system message.
 */
export class FilesSource {
  constructor(
    /** The data source's name, for errors. */
    readonly name: string,
    /** Absolute base directory. */
    readonly base: string,
    /** The directories the server lets FILES sources read. */
    private readonly roots: FileRoots,
  ) {}

  /** The base directory's real path, or a DataSourceError when it is gone or outside the roots. */
  private async realBase(): Promise<string> {
    const checked = await this.roots.check(this.base);
    if (checked.ok) return checked.real;
    const why =
      checked.reason === 'outside'
        ? 'its directory is outside the directories this server lets FILES data sources read (GRANARY_FILE_SOURCE_ROOTS)'
        : checked.reason === 'missing'
          ? 'its directory does not exist'
          : 'its path is not a directory';
    throw new DataSourceError(`data source ${this.name}: ${why}`, this.name, null);
  }

  /** The Parquet and CSV files under the base directory (relative paths, sorted, at most 1000). */
  async listFiles(): Promise<string[]> {
    const base = await this.realBase();
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (found.length >= MAX_LISTED) return;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (/\.(parquet|csv)$/i.test(entry.name)) found.push(relative(base, path));
      }
    };
    try {
      await walk(base);
    } catch {
      throw new DataSourceError(`data source ${this.name}: cannot list its directory`, this.name, null);
    }
    return found;
  }

  /** The absolute path of `path` (relative to the base), or a ValidationError at `at` when it leads outside. */
  resolve(path: string, at: readonly (string | number)[] = ['path']): string {
    if (isAbsolute(path)) throw ValidationError.at(at, `path ${path} must be relative to the data source's directory`);
    const full = resolve(this.base, path);
    if (full !== this.base && !full.startsWith(this.base + sep)) {
      throw ValidationError.at(at, `path ${path} leads outside the data source's directory`);
    }
    return full;
  }

  /**
   * A DataSourceError when a symbolic link under `dir` leads outside `base`: DuckDB's `**` glob
   * reads linked files wherever they point.
   */
  private async refuseLinksOutside(dir: string, base: string, path: string): Promise<void> {
    const walk = async (at: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(at, { withFileTypes: true });
      } catch {
        throw new DataSourceError(`${path} in data source ${this.name} cannot be listed`, this.name, path);
      }
      for (const entry of entries) {
        const full = join(at, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isSymbolicLink()) {
          const target = await realpath(full).catch(() => null);
          if (target !== null && !inside(target, base)) {
            throw new DataSourceError(`${path} in data source ${this.name} holds a link that leads outside its directory`, this.name, path);
          }
        }
      }
    };
    await walk(dir);
  }

  /**
   * The DuckDB reader of `path` in `format`: the file itself, or every file of that format under
   * the directory (recursively). DataSourceError when it is gone or leads outside by a link.
   */
  async reader(path: string, format: FileFormat): Promise<string> {
    this.resolve(path);
    const base = await this.realBase();
    const full = resolve(base, path);
    let real: string;
    let directory: boolean;
    try {
      real = await realpath(full);
      directory = (await stat(real)).isDirectory();
    } catch {
      throw new DataSourceError(`${path} not found in data source ${this.name}`, this.name, path);
    }
    if (!inside(real, base)) {
      throw new DataSourceError(`${path} leads outside the directory of data source ${this.name}`, this.name, path);
    }
    if (directory) await this.refuseLinksOutside(real, base, path);
    const target = directory ? join(real, '**', `*.${EXTENSIONS[format]}`) : real;
    return format === 'PARQUET'
      ? `read_parquet(${sqlString(target)}, union_by_name = true)`
      : `read_csv(${sqlString(target)}, header = true, union_by_name = true)`;
  }
}

/**
 * What went wrong reading `path` as `format`, in the user's terms: DuckDB's own message names
 * absolute server paths (and may quote file contents), so it never reaches a client.
 */
export function readFailure(path: string, format: FileFormat, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/no files found/i.test(message)) return `no ${format} files found at ${path}`;
  if (/permission denied/i.test(message)) return `${path} is not readable by the server`;
  return `${path} could not be read as ${format} (not a valid ${format} file, or files whose columns cannot be combined)`;
}
