import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The depth of graphql-js's `getIntrospectionQuery()` (all options on), which GraphiQL sends to
 * load the schema: its `TypeRef` fragment nests `ofType` nine levels under `__schema { types }`.
 */
export const INTROSPECTION_QUERY_DEPTH = 21;

/**
 * No introspection, on every validation: HTTP (yoga and the fast path) and graphql-ws alike.
 * (yoga's plugin marks requests in onRequestParse, which neither the fast path nor graphql-ws runs.)
 */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * Where introspection is allowed, bounds its depth too: armor's depth limit skips everything
 * under `__schema`, where `ofType { ofType { … } }` nests without end. Introspection may go as deep
 * as GraphiQL's own query (or the configured limit, when higher); other selections keep the
 * configured limit (armor's rule).
 */
export function useIntrospectionDepthLimit(maxDepth: number): Plugin {
  const off = { enabled: false };
  return EnvelopArmorPlugin({
    maxDepth: { n: Math.max(maxDepth, INTROSPECTION_QUERY_DEPTH), ignoreIntrospection: false },
    blockFieldSuggestion: off,
    costLimit: off,
    maxAliases: off,
    maxDirectives: off,
    maxTokens: off,
  });
}
