import { createClient as createWsClient } from 'graphql-ws';
import { Client, cacheExchange, type CombinedError, fetchExchange, subscriptionExchange } from 'urql';

export { graphql, type ResultOf, type VariablesOf } from '../../src/client/graphql.ts';

/**
 * The console's GraphQL client for one key: queries and mutations over HTTP at /graphql,
 * subscriptions over graphql-ws on the same path, the key sent as a bearer token (and as the
 * socket's connection parameter). Only the public API; nothing else.
 */
export function createApiClient(key: string): { client: Client; close: () => void } {
  const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`;
  const ws = createWsClient({ url: wsUrl, connectionParams: { authorization: `Bearer ${key}` }, lazy: true, retryAttempts: 5 });
  const client = new Client({
    url: '/graphql',
    // Results are read fresh from the API each time a page asks: the console shows what is there now.
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${key}` } }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
  });
  return { client, close: () => void ws.dispose() };
}

/** The API's own message of a failed request, without urql's "[GraphQL]" / "[Network]" prefixes. */
export function errorMessage(error: CombinedError): string {
  const first = error.graphQLErrors[0];
  if (first) return first.message;
  const network = error.networkError;
  if (network) return `could not reach the API: ${network.message}`;
  return error.message.replace(/^\[(GraphQL|Network)\]\s*/, '');
}

/** Whether the API refused the key itself (unknown, revoked or expired: UNAUTHENTICATED, HTTP 401), not some other failure. */
export function isRefusal(error: CombinedError): boolean {
  if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) return true;
  return (error.response as { status?: number } | undefined)?.status === 401;
}

/** A payload that may be one of the API's typed errors (union results carry `__typename` and `message`). */
export function typedError(payload: { __typename?: string; message?: string } | null | undefined): string | null {
  if (!payload || payload.__typename === undefined) return null;
  return /Error$/.test(payload.__typename) && typeof payload.message === 'string' ? payload.message : null;
}
