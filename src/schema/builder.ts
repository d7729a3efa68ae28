import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context } from '../context.ts';
import { DomainError } from '../errors.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { grants } from '../services/viewer.ts';

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The Pothos builder and its plugins; types live in the domain folders beside it. */
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { read: boolean; write: boolean; admin: boolean; serverAdmin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  // Scope auth first, so its refusals are thrown (FORBIDDEN) rather than caught as results.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      read: grants(ctx.viewer.scopes, 'READ'),
      write: grants(ctx.viewer.scopes, 'WRITE'),
      admin: grants(ctx.viewer.scopes, 'ADMIN'),
      serverAdmin: ctx.viewer.serverAdmin,
    }),
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, _ctx, info, result) =>
      new GraphQLError(`not allowed: ${info.parentType.name}.${info.fieldName} ${result.message.replace(/^Not authorized to resolve \S+ /, '')}`.trim(), {
        extensions: { code: 'FORBIDDEN', http: { status: 403 } },
      }),
  },
  errors: {
    defaultTypes: [DomainError],
    directResult: true,
    defaultUnionOptions: {
      name: ({ fieldName }) => `${capitalize(fieldName)}Result`,
      description: 'The mutation’s payload, or one of its typed errors (each implements `Error`).',
    },
    defaultResultOptions: {
      name: ({ fieldName }) => `${capitalize(fieldName)}Payload`,
      description: 'What the mutation returns when it succeeds.',
    },
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    idFieldOptions: { description: 'Global id, for `node(id:)`.' },
    nodeQueryOptions: {
      description: 'Any object of the caller’s project by its global id; null when there is none.',
      args: { id: { description: 'A global id.' } },
    },
    nodesQueryOptions: {
      description: 'Objects of the caller’s project by their global ids, in order; null for each not found.',
      args: { ids: { description: 'Global ids.' } },
    },
    nodeTypeOptions: { description: 'An object with a global id.' },
    pageInfoTypeOptions: { description: 'Where a page of a connection starts and ends.' },
    hasNextPageFieldOptions: { description: 'More items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Items precede this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of the page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of the page; pass it as `after` for the next page.' },
    cursorFieldOptions: { description: 'Opaque position of this item, for `after` and `before`.' },
    nodeFieldOptions: { description: 'The item.' },
    edgesFieldOptions: { description: 'The items of this page with their cursors.' },
    pageInfoFieldOptions: { description: 'Where this page starts and ends.' },
    firstArgOptions: { description: 'Page size from the start (or after `after`).' },
    afterArgOptions: { description: 'Cursor to start after.' },
    lastArgOptions: { description: 'Page size from the end (or before `before`).' },
    beforeArgOptions: { description: 'Cursor to end before.' },
    defaultConnectionTypeOptions: { description: 'A page of items.' },
    defaultEdgeTypeOptions: { description: 'An item of a page, with its cursor.' },
  },
});

builder.queryType({ description: 'Reads. Every field needs a key with at least READ scope.' });
builder.mutationType({ description: 'Writes. Each returns its payload or a typed error; most need WRITE scope.' });
builder.subscriptionType({ description: 'Live updates over graphql-ws (same path) or SSE.' });
