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

const FORMATS = { parquet: 'PARQUET', csv: 'CSV', columns: 'COLUMNS' } as const;
const formatOf = (extension: string) => FORMATS[extension as keyof typeof FORMATS];
const CONTENT_TYPES = {
  PARQUET: 'application/vnd.apache.parquet',
  CSV: 'text/csv; charset=utf-8',
  COLUMNS: 'application/vnd.granary.columns',
} as const;

/**
 * `GET /files/…`: large reads as files, with the same API-key auth as GraphQL (header only).
 *   /files/feature-groups/<name>/<version>/data.parquet|csv|columns[?asOf=ISO]
 *   /files/feature-views/<name>/<version>/training-datasets/<td version>/<split>.parquet|csv|columns[?transformed=false]
 *   /files/feature-views/<name>/<version>/batch-data.parquet|csv|columns[?trainingDatasetVersion=&startTime=&endTime=&transformed=&includeKeys=&first=]
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
      const target =
        parts[0] !== 'feature-views'
          ? groupTarget(parts, search, pathname)
          : parts.length === 4
            ? batchTarget(parts, search, pathname)
            : splitTarget(parts, search, pathname);
      const dir = join(app.services.tempFiles.dir, 'exports');
      await mkdir(dir, { recursive: true });
      tempPath = join(dir, `${uuidv7()}.${target.extension}`);
      const fileName = await target.write(app, viewer, tempPath);
      const { size } = await stat(tempPath);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[target.format],
        'content-length': size,
        'content-disposition': `attachment; filename="${fileName}"`,
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

/** A table to export to a temporary file and send: `write` exports it and names the download. */
interface ExportTarget {
  readonly format: 'PARQUET' | 'CSV' | 'COLUMNS';
  readonly extension: string;
  write(app: App, viewer: Viewer, path: string): Promise<string>;
}

/** `feature-groups/<name>/<version>/data.parquet|csv|columns[?asOf=ISO]`: a group's rows as of a time. */
function groupTarget(parts: readonly string[], search: URLSearchParams, pathname: string): ExportTarget {
  const [kind, name, versionText, file] = parts;
  const match = /^data\.(parquet|csv|columns)$/.exec(file ?? '');
  if (parts.length !== 4 || kind !== 'feature-groups' || !name || !/^\d+$/.test(versionText ?? '') || !match) {
    throw new NotFoundError('File', pathname);
  }
  const format = formatOf(match[1]!);
  const asOfText = search.get('asOf');
  const asOf = asOfText ? new Date(asOfText) : null;
  if (asOf && Number.isNaN(asOf.getTime())) throw ValidationError.at(['asOf'], 'asOf must be an ISO 8601 date and time');
  return {
    format,
    extension: match[1]!,
    async write(app, viewer, path) {
      const group = await app.services.featureGroups.get(viewer, { name, version: Number(versionText) });
      await app.services.featureGroups.exportData(viewer, group, { format, asOf }, path);
      return `${group.name}_${group.version}.${match[1]}`;
    },
  };
}

/**
 * `feature-views/<name>/<version>/batch-data.parquet|csv|columns`: `batchData` as a file, for bulk
 * reads: every row unless `first` is given, transformed with a training dataset version's fitted
 * parameters (the latest when not given) unless `transformed=false`. `columns` is the columns file
 * (stores/offline/duckdb/columns-file.ts): numbers as their bytes, which the Python client's
 * `get_batch_data` turns into numpy arrays without parsing text.
 */
function batchTarget(parts: readonly string[], search: URLSearchParams, pathname: string): ExportTarget {
  const [, name, versionText, file] = parts;
  const match = /^batch-data\.(parquet|csv|columns)$/.exec(file ?? '');
  if (!name || !/^\d+$/.test(versionText ?? '') || !match) throw new NotFoundError('File', pathname);
  const flag = (key: string, fallback: boolean) => {
    const text = search.get(key);
    if (text === null) return fallback;
    if (text !== 'true' && text !== 'false') throw ValidationError.at([key], `${key} must be true or false`);
    return text === 'true';
  };
  const integer = (key: string) => {
    const text = search.get(key);
    if (text === null) return null;
    if (!/^[1-9]\d{0,8}$/.test(text)) throw ValidationError.at([key], `${key} must be a positive integer`);
    return Number(text);
  };
  const time = (key: string) => {
    const text = search.get(key);
    if (text === null) return null;
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) throw ValidationError.at([key], `${key} must be an ISO 8601 date and time`);
    return at;
  };
  const options = {
    trainingDatasetVersion: integer('trainingDatasetVersion'),
    startTime: time('startTime'),
    endTime: time('endTime'),
    transformed: flag('transformed', true),
    includeKeys: flag('includeKeys', false),
    ...(search.has('first') ? { first: integer('first')! } : {}),
  };
  const format = formatOf(match[1]!);
  return {
    format,
    extension: match[1]!,
    async write(app, viewer, path) {
      const view = await app.services.trainingDatasets.exportBatchData(viewer, { name, version: Number(versionText) }, options, { format, path });
      return `${view.name}_${view.version}_batch.${match[1]}`;
    },
  };
}

/**
 * `feature-views/<name>/<version>/training-datasets/<td version>/<split>.parquet|csv|columns[?transformed=false]`:
 * a training dataset split's rows, transformed with its fitted parameters unless asked not to.
 */
function splitTarget(parts: readonly string[], search: URLSearchParams, pathname: string): ExportTarget {
  const [, name, versionText, section, datasetText, file] = parts;
  const match = /^([a-z]+)\.(parquet|csv|columns)$/.exec(file ?? '');
  if (parts.length !== 6 || section !== 'training-datasets' || !name || !/^\d+$/.test(versionText ?? '') || !/^\d+$/.test(datasetText ?? '') || !match) {
    throw new NotFoundError('File', pathname);
  }
  const transformedText = search.get('transformed');
  if (transformedText !== null && transformedText !== 'true' && transformedText !== 'false') {
    throw ValidationError.at(['transformed'], 'transformed must be true or false');
  }
  const format = formatOf(match[2]!);
  return {
    format,
    extension: match[2]!,
    async write(app, viewer, path) {
      const ref = { name, version: Number(versionText) };
      const transformed = transformedText !== 'false';
      const { view, dataset } = await app.services.trainingDatasets.exportSplit(viewer, ref, Number(datasetText), match[1]!, { transformed, format }, path);
      return `${view.name}_${view.version}_td${dataset.version}_${match[1]}${transformed ? '' : '_raw'}.${match[2]}`;
    },
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
