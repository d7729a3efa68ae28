import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';

/**
 * Streams a file the server ships (GraphiQL's assets, the console's build) with the given headers:
 * 200 once it is open, 500 when it cannot be read before anything was sent, the connection cut
 * when reading fails midway; the read stops when the client goes away.
 */
export function sendFile(res: ServerResponse, path: string, headers: Record<string, string>): void {
  const stream = createReadStream(path);
  res.once('close', () => stream.destroy());
  stream.once('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error');
  });
  stream.once('open', () => {
    res.writeHead(200, headers);
    stream.pipe(res);
  });
}
