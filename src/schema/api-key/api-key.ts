import type { ApiKey } from '../../generated/sqlite/client.ts';
import type { Scope } from '../../services/viewer.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { builder } from '../builder.ts';
import { idOf } from '../shared/global-id.ts';
import { ScopeEnum } from './scope.ts';

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  description: 'A bearer credential of a project. Its secret is shown once, at creation, and never stored.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  // Another project's id resolves to null, not to a not-found error.
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'The public part of the secret (`gra_<prefix>_…`), to recognise a key.' }),
    scopes: t.field({
      type: [ScopeEnum],
      description: 'What the key may do.',
      resolve: (key) => key.scopes as Scope[],
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was minted.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last request with this key (to the minute).' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When the key stops working; null: never.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the key was revoked; null: active.' }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.prismaField({
    type: ['ApiKey'],
    description: 'Every API key of the caller’s project, newest first. Needs ADMIN.',
    authScopes: { admin: true },
    args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Also list revoked keys.' }) },
    resolve: (query, _root, { includeRevoked }, ctx) =>
      ctx.prisma.apiKey.findMany({
        ...query,
        where: { projectId: ctx.viewer.projectId, ...(includeRevoked ? {} : { revokedAt: null }) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'What the key is for.' }),
    scopes: t.field({ type: [ScopeEnum], required: true, description: 'At most the scopes of the key that asks.' }),
    project: t.string({
      description: 'Project name. Default: the caller’s. Another project needs an ADMIN key of the server’s first project.',
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the key stops working. Default: never.' }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ secret: string; apiKey: ApiKey }>('CreateApiKeyPayload').implement({
  description: 'The new key and its secret.',
  fields: (t) => ({
    secret: t.exposeString('secret', { description: 'Send it as `Authorization: Bearer <secret>`. Shown only this once.' }),
    apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (p) => p.apiKey }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreateApiKeyPayload,
    description: 'Mints an API key with at most the caller’s scopes. Needs WRITE.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ForbiddenError, NotFoundError] },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true, description: 'The key.' }) },
    resolve: (_root, { input }, ctx) => ctx.services.apiKeys.create(ctx.viewer, input),
  }),
);

const RevokeApiKeyPayload = builder.objectRef<{ apiKey: ApiKey }>('RevokeApiKeyPayload').implement({
  description: 'The revoked key.',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, description: 'The key, with `revokedAt` set.', resolve: (p) => p.apiKey }),
  }),
});

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: RevokeApiKeyPayload,
    description: 'Revokes a key at once; requests with it are refused from then on. Needs WRITE; revoking another key than the caller’s needs ADMIN.',
    authScopes: { write: true },
    errors: { types: [ForbiddenError, NotFoundError] },
    args: { id: t.arg.id({ required: true, description: 'The key’s global id.' }) },
    resolve: async (_root, { id }, ctx) => ({ apiKey: await ctx.services.apiKeys.revoke(ctx.viewer, idOf(String(id), 'ApiKey')) }),
  }),
);
