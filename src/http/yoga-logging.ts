import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import { codeOf, domainErrorOf } from './error-masking.ts';

/**
 * Yoga's log calls on the app's logger. Yoga logs at `error` every error the mask replaces, typed
 * domain errors included: those are the caller's mistakes (a bad id, a missing object, a refused
 * scope), logged at `info` with their type and message and no stack. Only unexpected failures are
 * logged as errors, with their stack.
 */
export function yogaLogging(logger: Logger): YogaLogger {
  const one = (args: unknown[]) => (args.length === 1 ? args[0] : args);
  return {
    debug: (...args) => logger.debug(one(args)),
    info: (...args) => logger.info(one(args)),
    warn: (...args) => logger.warn(one(args)),
    error: (...args) => {
      const domain = args.length === 1 ? domainErrorOf(args[0]) : undefined;
      if (domain) logger.info({ error: { type: domain.name, code: codeOf(domain).code, message: domain.message } }, 'request refused');
      else if (args.length === 1 && args[0] instanceof Error) {
        const error = args[0];
        logger.error({ err: error instanceof GraphQLError && error.originalError ? error.originalError : error }, 'unexpected error');
      } else logger.error(one(args));
    },
  };
}
