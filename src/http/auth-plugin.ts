import type { Plugin } from 'graphql-yoga';
import { UnauthenticatedError } from '../errors.ts';
import type { ApiKeyService } from '../services/api-key.service.ts';
import type { Viewer } from '../services/viewer.ts';
import { unauthenticated } from './error-masking.ts';

/** What authenticating a request's key gave: handed to yoga's auth hook when yoga answers instead. */
export type AuthOutcome = { readonly viewer: Viewer } | { readonly error: unknown };

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
