import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { v7 as uuidv7 } from 'uuid';
import type { App } from '../app.ts';
import { DomainError, NotFoundError, UnauthenticatedError, ValidationError } from '../errors.ts';
import type { Viewer } from '../services/viewer.ts';
import { FILES_PREFIX } from '../schema/shared/download-paths.ts';
import { serveModelFiles } from './model-files.ts';

export { FILES_PREFIX };

const FORMATS = { parquet: 'PARQUET', csv: 'CSV' } as const;
const CONTENT_TYPES = { PARQUET: 'application/vnd.apache.parquet', CSV: 'text/csv; charset=utf-8' } as const;

/**
 * `GET /files/…`: large reads as files, with the same API-key auth as GraphQL (header only).
 *   /files/feature-groups/<name>/<version>/data.parquet|csv[?asOf=ISO]
 *   /files/models/<name>/<version>/<path> and /files/models/<name>/<version>/archive (tar)
 */
export function createFilesHandler(app: App) {
  return async (req: IncomingMessage, res: ServerResponse, pathname: string, search: URLSearchParams): Promise<void> => {
    let tempPath: string | undefined;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', { allow: 'GET, HEAD' });
      }
      const viewer = await app.services.apiKeys.authenticate(req.headers.authorization);
      const parts = pathname.slice(FILES_PREFIX.length).split('/').map(decodeSegment);
      if (parts[0] === 'models') return await serveModelFiles(app, viewer, req, res, parts.slice(1), pathname);
      const [kind, name, versionText, file] = parts;
      const match = /^data\.(parquet|csv)$/.exec(file ?? '');
      if (parts.length !== 4 || kind !== 'feature-groups' || !name || !/^\d+$/.test(versionText ?? '') || !match) {
        throw new NotFoundError('File', pathname);
      }
      const format = FORMATS[match[1] as keyof typeof FORMATS];
      const asOfText = search.get('asOf');
      const asOf = asOfText ? new Date(asOfText) : null;
      if (asOf && Number.isNaN(asOf.getTime())) throw ValidationError.at(['asOf'], 'asOf must be an ISO 8601 date and time');
      const group = await app.services.featureGroups.get(viewer as Viewer, { name, version: Number(versionText) });
      const dir = join(app.services.tempFiles.dir, 'exports');
      await mkdir(dir, { recursive: true });
      tempPath = join(dir, `${uuidv7()}.${match[1]}`);
      await app.services.featureGroups.exportData(viewer, group, { format, asOf }, tempPath);
      const { size } = await stat(tempPath);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[format],
        'content-length': size,
        'content-disposition': `attachment; filename="${group.name}_${group.version}.${match[1]}"`,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') return void res.end();
      await pipeline(createReadStream(tempPath), res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof UnauthenticatedError) {
        send(res, 401, 'UNAUTHENTICATED', error.message);
      } else if (error instanceof NotFoundError) {
        send(res, 404, 'NOT_FOUND', error.message);
      } else if (error instanceof DomainError) {
        send(res, 400, 'BAD_USER_INPUT', error.message);
      } else {
        app.logger.error({ err: error, path: pathname }, 'file download failed');
        send(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      }
    } finally {
      if (tempPath) await rm(tempPath, { force: true });
    }
  };
}

/** A path segment, decoded; a malformed escape names no file. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NotFoundError('File', segment);
  }
}

function send(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}
