import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** Structured JSON logs on stdout; secrets never reach them (the Authorization header is redacted). */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'granary' },
    redact: ['req.headers.authorization', 'headers.authorization', 'authorization', 'secret'],
  });
}
