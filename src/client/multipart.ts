/**
 * The client's file transport: Blobs in a request's variables are taken out and sent as the
 * parts of a GraphQL multipart request, streamed from disk with backpressure.
 */
import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A file to upload: a path on disk (streamed from it), or content in memory. */
export type Upload = string | Blob | Uint8Array;

export async function uploadBlob(file: Upload, name?: string): Promise<{ blob: Blob; name: string }> {
  if (typeof file === 'string') return { blob: await openAsBlob(file), name: name ?? basename(file) };
  if (file instanceof Blob) return { blob: file, name: name ?? (file instanceof File ? file.name : 'upload') };
  return { blob: new Blob([new Uint8Array(file)]), name: name ?? 'upload' };
}

export interface ExtractedFile {
  readonly blob: Blob;
  readonly name: string;
  readonly path: string;
}

/** Replaces every Blob in the variables by null and lists where each was (`variables.input.files.0.file`). */
export function extractFiles(value: unknown, path: string, names: WeakMap<Blob, string>, found: ExtractedFile[]): unknown {
  if (value instanceof Blob) {
    found.push({ blob: value, name: names.get(value) ?? (value instanceof File ? value.name : 'upload'), path });
    return null;
  }
  if (Array.isArray(value)) return value.map((v, i) => extractFiles(v, `${path}.${i}`, names, found));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extractFiles(v, `${path}.${k}`, names, found)]));
  }
  return value;
}

export const ACCEPT = 'application/graphql-response+json, application/json';

/**
 * Sends a GraphQL multipart request (operations, map, then each file) over node:http with
 * backpressure, so a file-backed Blob (`fs.openAsBlob`) streams from disk chunk by chunk: fetch
 * on Node 20 reads a request body as fast as it can, holding a whole file in memory.
 */
export async function postMultipart(url: URL, apiKey: string, operations: string, files: readonly ExtractedFile[]): Promise<{ status: number; text: string }> {
  const boundary = `----granary-${randomUUID()}`;
  const quote = (text: string) => text.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
  const field = (name: string, value: string) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  const head: Buffer[] = [field('operations', operations), field('map', JSON.stringify(Object.fromEntries(files.map((f, i) => [String(i), [f.path]]))))];
  const fileHeads = files.map((f, i) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${i}"; filename="${quote(f.name)}"\r\nContent-Type: ${f.blob.type || 'application/octet-stream'}\r\n\r\n`,
    ),
  );
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length = head.reduce((n, b) => n + b.length, 0) + fileHeads.reduce((n, b, i) => n + b.length + files[i]!.blob.size + crlf.length, 0) + tail.length;
  async function* body(): AsyncGenerator<Buffer | Uint8Array> {
    yield* head;
    for (const [i, f] of files.entries()) {
      yield fileHeads[i]!;
      for await (const chunk of f.blob.stream() as unknown as AsyncIterable<Uint8Array>) yield chunk;
      yield crlf;
    }
    yield tail;
  }
  const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      accept: ACCEPT,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(length),
      // The server runs multipart requests only with this header (a cross-site form cannot send it).
      'x-graphql-yoga-csrf': '1',
    },
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  // The server may answer (an auth or size error) before the body is sent: the answer wins.
  const sent = pipeline(Readable.from(body()), request).catch((error: unknown) => error);
  const result = await response;
  await sent;
  return result;
}
