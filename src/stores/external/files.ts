import { realpath, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataSourceError, ValidationError } from '../../errors.ts';
import { sqlString } from '../offline/duckdb.ts';

export type FileFormat = 'PARQUET' | 'CSV';

/** At most this many files listed by `testDataSource`. */
const MAX_LISTED = 1000;

const EXTENSIONS: Record<FileFormat, string> = { PARQUET: 'parquet', CSV: 'csv' };

/**
 * A directory of Parquet and CSV files read in place by external feature groups (through DuckDB).
 * Groups name paths relative to the base directory, and only paths under it are read: `..` and
 * symbolic links that lead outside are refused.
 */
export class FilesSource {
  constructor(
    /** The data source's name, for errors. */
    readonly name: string,
    /** Absolute base directory. */
    readonly base: string,
  ) {}

  /** The Parquet and CSV files under the base directory (relative paths, sorted, at most 1000). */
  async listFiles(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (found.length >= MAX_LISTED) return;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (/\.(parquet|csv)$/i.test(entry.name)) found.push(relative(this.base, path));
      }
    };
    try {
      await walk(this.base);
    } catch (error) {
      throw new DataSourceError(`data source ${this.name}: cannot list ${this.base}: ${(error as Error).message}`, this.name, null);
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
   * The DuckDB reader of `path` in `format`: the file itself, or every file of that format under
   * the directory (recursively). DataSourceError when it is gone or leads outside by a link.
   */
  async reader(path: string, format: FileFormat): Promise<string> {
    const full = this.resolve(path);
    let real: string;
    let directory: boolean;
    try {
      real = await realpath(full);
      directory = (await stat(real)).isDirectory();
    } catch {
      throw new DataSourceError(`${path} not found in data source ${this.name}`, this.name, path);
    }
    const base = await realpath(this.base).catch(() => this.base);
    if (real !== base && !real.startsWith(base + sep)) {
      throw new DataSourceError(`${path} leads outside the directory of data source ${this.name}`, this.name, path);
    }
    const target = directory ? join(real, '**', `*.${EXTENSIONS[format]}`) : real;
    return format === 'PARQUET'
      ? `read_parquet(${sqlString(target)}, union_by_name = true)`
      : `read_csv(${sqlString(target)}, header = true, union_by_name = true)`;
  }
}
