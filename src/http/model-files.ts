import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack } from 'tar-stream';
import type { App } from '../app.ts';
import { NotFoundError } from '../errors.ts';
import { MODEL_ARCHIVE } from '../schema/shared/download-paths.ts';
import type { Viewer } from '../services/viewer.ts';

/**
 * Serves `/files/models/<name>/<version>/<path>` (one file, streamed, with its SHA-256 in
 * `x-checksum-sha256`) and `/files/models/<name>/<version>/archive` (the version's files as a tar,
 * streamed as it is built). `parts` are the decoded segments after `models`. Returns false when
 * the path is not a model route. Errors are thrown for the caller to answer.
 */
export async function serveModelFiles(
  app: App,
  viewer: Viewer,
  req: IncomingMessage,
  res: ServerResponse,
  parts: readonly string[],
  pathname: string,
): Promise<void> {
  const [name, versionText, ...rest] = parts;
  if (!name || !/^\d{1,9}$/.test(versionText ?? '') || rest.length === 0) throw new NotFoundError('File', pathname);
  const version = Number(versionText);
  const models = app.services.models;
  if (rest.length === 1 && rest[0] === MODEL_ARCHIVE) {
    const { model, files, open } = await models.archive(viewer, name, version);
    res.writeHead(200, {
      'content-type': 'application/x-tar',
      'content-disposition': `attachment; filename="${model.name}_${model.version}.tar"`,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') return void res.end();
    const pack = tarPack();
    const sent = pipeline(pack, res);
    sent.catch(() => {}); // awaited below; a failure also ends the race of the entry being written
    const mtime = model.createdAt;
    for (const file of files) {
      const { stream, size } = await open(file);
      try {
        await Promise.race([writeEntry(pack, { name: file.path, size, mtime }, stream), sent]);
      } finally {
        stream.destroy();
      }
    }
    pack.finalize();
    await sent;
    return;
  }
  const path = rest.join('/');
  const { file, stream, size } = await models.openFile(viewer, name, version, path);
  try {
    const fileName = basename(file.path);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'content-disposition': `attachment; filename="${fileName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
      'x-checksum-sha256': file.sha256,
      etag: `"${file.sha256}"`,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(stream, res);
  } finally {
    stream.destroy();
  }
}

function writeEntry(pack: ReturnType<typeof tarPack>, header: { name: string; size: number; mtime: Date }, data: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ ...header, mode: 0o644, type: 'file' }, (error) => (error ? reject(error) : resolve()));
    data.once('error', (error) => {
      entry.destroy(error);
      reject(error);
    });
    data.pipe(entry);
  });
}
