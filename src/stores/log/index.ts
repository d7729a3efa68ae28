import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ValidationError } from '../../errors.ts';
import { NatsStreamLog } from './nats.ts';
import { SqliteStreamLog } from './sqlite.ts';
import type { StreamLog } from './stream-log.ts';

export { NatsStreamLog, type NatsStreamLogOptions } from './nats.ts';
export { SqliteStreamLog, type SqliteStreamLogOptions } from './sqlite.ts';
export type { AppendResult, ConsumeOptions, Consumer, ConsumerState, LogMessage, ReadOptions, StreamLog } from './stream-log.ts';

/** Where the stream log lives: the data directory, and `STREAM_URL` when set. */
export interface OpenStreamLogOptions {
  readonly dataDir: string;
  /** `nats://…` for NATS JetStream; unset (or empty) for SQLite in `<dataDir>/stream/log.db`. */
  readonly url?: string | undefined;
}

/** Opens the configured stream log: embedded SQLite by default, NATS JetStream for a `nats://` URL. */
export async function openStreamLog(options: OpenStreamLogOptions): Promise<StreamLog> {
  const { dataDir, url } = options;
  if (url === undefined || url === '') {
    const dir = join(dataDir, 'stream');
    mkdirSync(dir, { recursive: true });
    return new SqliteStreamLog({ file: join(dir, 'log.db') });
  }
  if (/^nats:\/\//.test(url)) return NatsStreamLog.connect(url);
  // Name only the scheme: the URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'without a scheme';
  throw ValidationError.at(['STREAM_URL'], `unsupported stream URL (${scheme}): use nats://, or leave it unset for SQLite`);
}
