import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, constants as fsConstants, rmSync } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { v7 as uuidv7 } from 'uuid';
import { randomBytes } from 'node:crypto';
import { olderThan, PROCESS_ID, UNOWNED_GRACE_MS, type SweepGuard } from '../process-owner.ts';

/** Where a model version's files live: `(project, name, version)`. */
export interface ModelLocation {
  readonly project: string;
  readonly name: string;
  readonly version: number;
}

/** A file of a model version, as stored: normalized path inside the version, size and SHA-256. */
export interface StoredModelFile {
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the content. */
  readonly sha256: string;
}

/** The version's folder already holds files: another request registered (or is registering) it. */
export class VersionFolderTakenError extends Error {
  override readonly name = 'VersionFolderTakenError';
  constructor(readonly location: ModelLocation) {
    super(`the folder of model ${location.name} version ${location.version} already holds files`);
  }
}

/** A path being added to a version exists there already. */
export class ArtifactExistsError extends Error {
  override readonly name = 'ArtifactExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists in the version`);
  }
}

/**
 * Files on their way into one model version. They are moved (never copied when avoidable) into
 * a staging folder and checksummed there, then published into the version's folder in one step;
 * `discard` removes whatever was staged or, after `publish`, undoes the publication.
 */
export interface ModelArtifactStaging {
  /** The files staged so far, in the order they were added. */
  readonly files: readonly StoredModelFile[];
  /**
   * Moves the local file `source` into the staging area at `path` (already normalized and
   * validated by the caller) and checksums it, streaming. `source` is gone afterwards.
   */
  addFile(path: string, source: string): Promise<StoredModelFile>;
  /** Writes `data` into the staging area at `path`, checksumming it as it streams. */
  addStream(path: string, data: Readable): Promise<StoredModelFile>;
  /** Drops a staged file before publishing (one found identical to a stored file, say). */
  forget(path: string): Promise<void>;
  /**
   * Moves the staged files into the version's folder. `new`: the folder must not exist yet
   * (else {@link VersionFolderTakenError}); it is created, which claims it, and the staged files
   * are renamed into it. `add`: the folder may hold files, but none at a staged path (else
   * {@link ArtifactExistsError}); each file is linked in without replacing anything.
   */
  publish(location: ModelLocation, mode: 'new' | 'add'): Promise<void>;
  /**
   * Undoes a `new` publication but keeps the files staged, to publish them as another version
   * (the version row could not be written: another registration took that version).
   */
  withdraw(): Promise<void>;
  /** Makes the publication final (its metadata is committed): `discard` no longer undoes it. */
  commit(): void;
  /** Removes what this staging wrote: the staged files, or after `publish` (unless committed) the published ones. */
  discard(): Promise<void>;
}

/** Model artifact files: the port every backend implements. */
export interface ModelArtifactStore {
  /** Starts staging the files of one change (a new version, or files added to a pending one). */
  stage(): Promise<ModelArtifactStaging>;
  /** Opens a stored file for reading; null when it does not exist. */
  open(location: ModelLocation, path: string): Promise<{ stream: Readable; size: number } | null>;
  /** Size of a stored file; null when it does not exist. */
  size(location: ModelLocation, path: string): Promise<number | null>;
  /** Removes a version's files. Missing ones are fine. */
  remove(location: ModelLocation): Promise<void>;
  /**
   * Removes what processes that are gone left, never what a live process is writing: their
   * staging folders, and version folders that `keep` rejects (no metadata row lists them) that a
   * gone process was publishing, or that no process claims and that are older than the guard's
   * grace. Everything is listed before `keep` is built and `guard.live` read, so a version
   * registered or a process started meanwhile is seen. Returns how many entries were removed.
   */
  sweep(keep: () => Promise<(location: ModelLocation) => boolean>, guard?: SweepGuard): Promise<number>;
}

const STAGING = '.staging';

/**
 * Filesystem backend: `<root>/models/<project>/<name>/<version>/<path>`, staging under
 * `<root>/.staging/<owner>-<id>/` on the same file system so publishing is a few renames. While a
 * new version's folder is published and its row not yet written, `<root>/.staging/<owner>-<id>.claim`
 * names the folder, so that another process's sweep leaves it to its live owner.
 */
export class FilesystemModelArtifactStore implements ModelArtifactStore {
  /**
   * @param owner the id of the process this store writes for (its lease, see `ProcessLeases`):
   *   staging entries are named for it. Default: a random id.
   */
  constructor(
    readonly root: string,
    readonly owner: string = randomBytes(8).toString('hex'),
  ) {
    if (!PROCESS_ID.test(owner)) throw new Error(`model artifact store owner "${owner}" is not 16 hex characters`);
  }

  versionDir(location: ModelLocation): string {
    return join(this.root, 'models', location.project, location.name, String(location.version));
  }

  async stage(): Promise<ModelArtifactStaging> {
    const dir = join(this.root, STAGING, `${this.owner}-${uuidv7()}`);
    await mkdir(dir, { recursive: true });
    return new FilesystemStaging(this, dir);
  }

  async open(location: ModelLocation, path: string): Promise<{ stream: Readable; size: number } | null> {
    const file = inside(this.versionDir(location), path);
    try {
      const handle = await open(file, 'r');
      const { size } = await handle.stat();
      return { stream: handle.createReadStream(), size };
    } catch (error) {
      if (isCode(error, 'ENOENT', 'EISDIR', 'ENOTDIR')) return null;
      throw error;
    }
  }

  async size(location: ModelLocation, path: string): Promise<number | null> {
    try {
      const s = await stat(inside(this.versionDir(location), path));
      return s.isFile() ? s.size : null;
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return null;
      throw error;
    }
  }

  async remove(location: ModelLocation): Promise<void> {
    const dir = this.versionDir(location);
    // Out of the way in one step, so the version's path is free at once; then deleted.
    const trash = join(this.root, STAGING, `${this.owner}-trash-${uuidv7()}`);
    await mkdir(dirname(trash), { recursive: true });
    try {
      await rename(dir, trash);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return;
      throw error;
    }
    await rm(trash, { recursive: true, force: true });
    await this.pruneParents(dir);
  }

  async sweep(
    keep: () => Promise<(location: ModelLocation) => boolean>,
    guard: SweepGuard = { graceMs: UNOWNED_GRACE_MS, live: async () => () => true },
  ): Promise<number> {
    const stagingRoot = join(this.root, STAGING);
    const staged = await list(stagingRoot);
    const models = join(this.root, 'models');
    const versions: { project: string; name: string; version: string }[] = [];
    for (const project of await list(models)) {
      for (const name of await list(join(models, project))) {
        for (const version of await list(join(models, project, name))) versions.push({ project, name, version });
      }
    }
    const kept = await keep();
    const alive = await guard.live();
    /** Version folders (relative) being published, by whether their owner is alive. */
    const claimed = new Map<string, boolean>();
    for (const entry of staged.filter((e) => e.endsWith('.claim'))) {
      const target = await readFile(join(stagingRoot, entry), 'utf8').catch(() => null);
      const owner = ownerOf(entry);
      if (target !== null) claimed.set(target, claimed.get(target) === true || (owner !== undefined && alive(owner)));
    }
    let removed = 0;
    for (const entry of staged) {
      const owner = ownerOf(entry);
      const abandoned = owner !== undefined ? !alive(owner) : await olderThan(join(stagingRoot, entry), guard.graceMs);
      if (!abandoned) continue;
      await rm(join(stagingRoot, entry), { recursive: true, force: true });
      if (!entry.endsWith('.claim')) removed++;
    }
    for (const { project, name, version } of versions) {
      const dir = join(models, project, name, version);
      if (/^\d+$/.test(version) && kept({ project, name, version: Number(version) })) continue;
      const claim = claimed.get(join(project, name, version));
      if (claim === true) continue;
      if (claim === undefined && !(await olderThan(dir, guard.graceMs))) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
      await this.pruneParents(dir);
    }
    return removed;
  }

  /** @internal for FilesystemStaging: where the claim of a staging area's publication is written. */
  claimPath(stagingDir: string): string {
    return `${stagingDir}.claim`;
  }

  /** @internal for FilesystemStaging: `location`'s folder relative to `<root>/models`, as claims name it. */
  claimTarget(location: ModelLocation): string {
    return join(location.project, location.name, String(location.version));
  }

  /** Removes the name and project folders once empty; a concurrent publish recreates them. */
  async pruneParents(versionDir: string): Promise<void> {
    const nameDir = dirname(versionDir);
    try {
      await rmdir(nameDir);
      await rmdir(dirname(nameDir));
    } catch {
      // Not empty (other versions or names): keep it.
    }
  }
}

class FilesystemStaging implements ModelArtifactStaging {
  readonly files: StoredModelFile[] = [];
  #published: { mode: 'new'; dir: string } | { mode: 'add'; linked: string[]; dir: string } | undefined;
  #done = false;
  #claimed = false;

  constructor(
    private readonly store: FilesystemModelArtifactStore,
    private readonly dir: string,
  ) {}

  async addFile(path: string, source: string): Promise<StoredModelFile> {
    const target = inside(this.dir, path);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(source, target);
    } catch (error) {
      if (!isCode(error, 'EXDEV')) throw error;
      // The upload spool is on another file system: copy, then drop the original.
      await copyFile(source, target, fsConstants.COPYFILE_EXCL);
      await rm(source, { force: true });
    }
    const { size, sha256 } = await checksum(createReadStream(target));
    const file = { path, size, sha256 };
    this.files.push(file);
    return file;
  }

  async addStream(path: string, data: Readable): Promise<StoredModelFile> {
    const target = inside(this.dir, path);
    await mkdir(dirname(target), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(data, tap, createWriteStream(target, { flags: 'wx' }));
    const file = { path, size, sha256: hash.digest('hex') };
    this.files.push(file);
    return file;
  }

  async forget(path: string): Promise<void> {
    if (this.#published || this.#done) throw new Error('this staging was already published or discarded');
    const index = this.files.findIndex((f) => f.path === path);
    if (index < 0) return;
    this.files.splice(index, 1);
    await rm(inside(this.dir, path), { force: true });
  }

  async publish(location: ModelLocation, mode: 'new' | 'add'): Promise<void> {
    if (this.#published || this.#done) throw new Error('this staging was already published or discarded');
    const target = this.store.versionDir(location);
    if (mode === 'new') {
      // Another process's sweep leaves a folder with no row alone while its publisher is alive.
      await writeFile(this.store.claimPath(this.dir), this.store.claimTarget(location));
      this.#claimed = true;
      // Creating the folder is the claim: it fails when the folder exists, whatever it holds,
      // so two registrations never share one. Then the staged entries move in.
      await retryOnMissingParent(target, () => mkdir(target).then(() => {})).catch((error: unknown) => {
        if (isCode(error, 'EEXIST')) throw new VersionFolderTakenError(location);
        throw error;
      });
      this.#published = { mode, dir: target };
      await moveEntries(this.dir, target);
      await rmdir(this.dir);
      return;
    }
    const linked: string[] = [];
    this.#published = { mode, linked, dir: target };
    try {
      for (const file of this.files) {
        const destination = inside(target, file.path);
        await retryOnMissingParent(destination, () => linkOrCopy(inside(this.dir, file.path), destination)).catch((error: unknown) => {
          if (isCode(error, 'EEXIST', 'ENOTDIR', 'EISDIR')) throw new ArtifactExistsError(file.path);
          throw error;
        });
        linked.push(destination);
      }
    } catch (error) {
      await this.discard();
      throw error;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  async withdraw(): Promise<void> {
    const published = this.#published;
    if (this.#done || published?.mode !== 'new') throw new Error('only an uncommitted new publication can be withdrawn');
    await moveEntries(published.dir, this.dir);
    await rmdir(published.dir);
    this.#published = undefined;
    await this.store.pruneParents(published.dir);
  }

  commit(): void {
    if (!this.#published) throw new Error('nothing was published');
    this.#done = true;
    // The version's row is written: the folder needs its claim no more (one unlink).
    if (this.#claimed) rmSync(this.store.claimPath(this.dir), { force: true });
    this.#claimed = false;
  }

  async discard(): Promise<void> {
    if (this.#claimed) {
      this.#claimed = false;
      await rm(this.store.claimPath(this.dir), { force: true });
    }
    if (this.#done) return;
    this.#done = true;
    const published = this.#published;
    if (published?.mode === 'new') {
      await rm(published.dir, { recursive: true, force: true });
      await this.store.pruneParents(published.dir);
    } else if (published?.mode === 'add') {
      for (const file of published.linked) {
        await unlink(file).catch(() => {});
        await pruneEmpty(dirname(file), published.dir);
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Streams a file through SHA-256. */
export async function checksum(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** `base/path`, refusing any path that would resolve outside `base` (defence in depth: paths are validated before). */
function inside(base: string, path: string): string {
  const full = resolve(base, path);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(base, rel) !== full) {
    throw new Error(`path ${JSON.stringify(path)} is outside the version folder`);
  }
  return full;
}

/** Creates the parent of `target` and runs `op`, again if a concurrent prune removed the parent meanwhile. */
async function retryOnMissingParent(target: string, op: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(dirname(target), { recursive: true });
    try {
      return await op();
    } catch (error) {
      if (!isCode(error, 'ENOENT') || attempt >= 3) throw error;
    }
  }
}

/** Moves every entry of folder `from` into folder `to` (same file system: renames). */
async function moveEntries(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await list(from)) await rename(join(from, name), join(to, name));
}

/** Places `source` at `destination` without ever replacing a file there (EEXIST instead). */
async function linkOrCopy(source: string, destination: string): Promise<void> {
  try {
    await link(source, destination);
  } catch (error) {
    if (!isCode(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV')) throw error;
    // No hard links on this file system: an exclusive copy never replaces either.
    await copyFile(source, destination, fsConstants.COPYFILE_EXCL);
  }
}

/** Removes empty folders from `dir` up to (not including) `stop`. */
async function pruneEmpty(dir: string, stop: string): Promise<void> {
  for (let current = dir; current.startsWith(stop + sep); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
  }
}

/** The process a staging entry (`<owner>-…`) is named for; undefined for entries of older versions. */
function ownerOf(entry: string): string | undefined {
  const owner = entry.slice(0, 16);
  return entry[16] === '-' && PROCESS_ID.test(owner) ? owner : undefined;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw error;
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '');
}
