import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactExistsError,
  FilesystemModelArtifactStore,
  VersionFolderTakenError,
  type ModelLocation,
} from '../../../src/stores/artifacts/model-artifacts.ts';

let root: string;
let spool: string;
let store: FilesystemModelArtifactStore;
const v1: ModelLocation = { project: 'p', name: 'm', version: 1 };

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'granary-artifacts-'));
  root = join(dir, 'artifacts');
  spool = join(dir, 'spool');
  mkdirSync(spool);
  store = new FilesystemModelArtifactStore(root);
});
afterEach(() => rmSync(join(root, '..'), { recursive: true, force: true }));

function spooled(name: string, content: string): string {
  const path = join(spool, name);
  writeFileSync(path, content);
  return path;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const stagingLeft = () => (existsSync(join(root, '.staging')) ? readdirSync(join(root, '.staging')) : []);

async function read(location: ModelLocation, path: string): Promise<string | null> {
  const opened = await store.open(location, path);
  if (!opened) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('filesystem model artifact store', () => {
  it('moves uploads in, checksums them, and publishes a new version that no other staging can claim', async () => {
    const staging = await store.stage();
    const source = spooled('u1', 'weights');
    expect(await staging.addFile('model/weights.bin', source)).toEqual({ path: 'model/weights.bin', size: 7, sha256: sha256('weights') });
    expect(existsSync(source)).toBe(false);
    await staging.addStream('config.json', Readable.from([Buffer.from('{}')]));
    await staging.publish(v1, 'new');
    staging.commit();
    await staging.discard();
    expect(await read(v1, 'model/weights.bin')).toBe('weights');
    expect(await store.size(v1, 'config.json')).toBe(2);

    const rival = await store.stage();
    await expect(rival.publish(v1, 'new')).rejects.toBeInstanceOf(VersionFolderTakenError);
    await rival.discard();
    expect(stagingLeft()).toEqual([]);
  });

  it('adds files to a version without replacing any, and undoes a publication it does not commit', async () => {
    const first = await store.stage();
    await first.addFile('a.txt', spooled('a', 'a'));
    await first.publish(v1, 'new');
    first.commit();

    const clash = await store.stage();
    await clash.addFile('b.txt', spooled('b', 'b'));
    await clash.addFile('a.txt', spooled('a2', 'other'));
    await expect(clash.publish(v1, 'add')).rejects.toBeInstanceOf(ArtifactExistsError);
    expect(await read(v1, 'a.txt')).toBe('a');
    expect(await store.size(v1, 'b.txt')).toBeNull();

    const undone = await store.stage();
    await undone.addFile('deep/c.txt', spooled('c', 'c'));
    await undone.publish(v1, 'add');
    expect(await read(v1, 'deep/c.txt')).toBe('c');
    await undone.discard();
    expect(await store.size(v1, 'deep/c.txt')).toBeNull();
    expect(existsSync(join(store.versionDir(v1), 'deep'))).toBe(false);

    const v2 = { ...v1, version: 2 };
    const withdrawn = await store.stage();
    await withdrawn.addFile('x.txt', spooled('x', 'x'));
    await withdrawn.publish(v2, 'new');
    await withdrawn.withdraw();
    expect(existsSync(store.versionDir(v2))).toBe(false);
    await withdrawn.publish({ ...v1, version: 3 }, 'new');
    await withdrawn.discard();
    expect(existsSync(store.versionDir({ ...v1, version: 3 }))).toBe(false);
    expect(stagingLeft()).toEqual([]);
  });

  it('never resolves a path outside the version folder', async () => {
    const staging = await store.stage();
    await expect(staging.addFile('../escape.txt', spooled('e', 'e'))).rejects.toThrow(/outside/);
    await staging.discard();
    expect(await store.open(v1, '../../../etc/passwd').catch((e: Error) => e.message)).toMatch(/outside/);
  });

  it('removes a version, and sweeps staging leftovers and folders no row lists', async () => {
    for (const version of [1, 2]) {
      const staging = await store.stage();
      await staging.addFile('f', spooled(`f${version}`, String(version)));
      await staging.publish({ ...v1, version }, 'new');
      staging.commit();
    }
    await store.remove(v1);
    expect(await store.size(v1, 'f')).toBeNull();
    await store.remove(v1);
    const leftover = await store.stage();
    await leftover.addFile('g', spooled('g', 'g'));
    // As a later process sees it once this one is gone (its lease expired).
    const gone = { graceMs: 0, live: async () => () => false };
    const removed = await store.sweep(async () => (l) => l.version === 2, gone);
    expect(removed).toBe(1);
    expect(stagingLeft()).toEqual([]);
    expect(readFileSync(join(store.versionDir({ ...v1, version: 2 }), 'f'), 'utf8')).toBe('2');
    expect(await store.sweep(async () => () => false, gone)).toBe(1);
    expect(existsSync(join(root, 'models', 'p'))).toBe(false);
  });
});
