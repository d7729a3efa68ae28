import type { Plugin } from 'graphql-yoga';
import { UnauthenticatedError } from '../errors.ts';
import type { ApiKeyService } from '../services/api-key.service.ts';
import type { Viewer } from '../services/viewer.ts';
import { unauthenticated } from './error-masking.ts';
import type { AuthOutcome } from './graphql-fast-path.ts';

/**
 * Authenticates every GraphQL request before its document is even parsed, so a caller
 * without a valid key learns nothing about the schema (no validation errors, no suggestions).
 * A request the fast path handed over comes with the outcome of authenticating its key.
 */
export function useApiKeyAuth(
  apiKeys: Pick<ApiKeyService, 'authenticate'>,
  viewers: WeakMap<Request, Viewer>,
  authenticated: WeakMap<Request, AuthOutcome>,
): Plugin {
  return {
    async onRequestParse({ request }) {
      try {
        const outcome = authenticated.get(request);
        if (outcome && 'error' in outcome) throw outcome.error;
        viewers.set(request, outcome?.viewer ?? (await apiKeys.authenticate(request.headers.get('authorization'))));
      } catch (error) {
        if (error instanceof UnauthenticatedError) throw unauthenticated(error.message);
        throw error;
      }
    },
  };
}
