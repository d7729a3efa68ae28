import { ConflictError, ForbiddenError, ValidationError } from '../../errors.ts';
import { builder } from '../builder.ts';
import type { Project } from '../../generated/sqlite/client.ts';
import { ApiKeyRef } from '../api-key/api-key.ts';
import { ScopeEnum } from '../api-key/scope.ts';

export const ProjectRef = builder.prismaNode('Project', {
  description: 'A namespace of feature groups, feature views, models and API keys. A key sees only its own project.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  // Extended unique filter: a global id of another project resolves to nothing.
  findUnique: (id, ctx) => ({ id, name: ctx.viewer.projectName }),
  // Another project's id resolves to null, not to a not-found error.
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name, lower-case letters, digits and _.' }),
    description: t.exposeString('description', { description: 'What the project is for.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the project was created.' }),
  }),
});

const ViewerRef = builder.objectRef<{ projectId: string; scopes: readonly string[]; apiKeyId: string }>('Viewer').implement({
  description: 'The caller: the API key of this request and its project.',
  fields: (t) => ({
    project: t.prismaField({
      type: 'Project',
      description: 'The project the key belongs to.',
      resolve: (query, viewer, _args, ctx) => ctx.prisma.project.findUniqueOrThrow({ ...query, where: { id: viewer.projectId } }),
    }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key of this request.',
      resolve: (query, viewer, _args, ctx) => ctx.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: viewer.apiKeyId } }),
    }),
    scopes: t.field({
      type: [ScopeEnum],
      description: 'What the key may do.',
      resolve: (viewer) => [...viewer.scopes] as ('READ' | 'WRITE' | 'ADMIN')[],
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who is calling: the API key, its project and scopes.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
);

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  description: 'A new project.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique name: lower-case letters, digits and _, starting with a letter.' }),
    description: t.string({ description: 'What the project is for.' }),
  }),
});

const CreateProjectPayload = builder.objectRef<{ project: Project }>('CreateProjectPayload').implement({
  description: 'The project created (or the existing one with the same definition).',
  fields: (t) => ({
    project: t.field({ type: ProjectRef, description: 'The project.', resolve: (p) => p.project }),
  }),
});

builder.mutationField('createProject', (t) =>
  t.field({
    type: CreateProjectPayload,
    description: 'Creates a project. Needs an ADMIN key of the server’s first project. Mint its keys with `createApiKey(input: { project })`.',
    authScopes: { serverAdmin: true },
    errors: { types: [ValidationError, ConflictError, ForbiddenError] },
    args: { input: t.arg({ type: CreateProjectInput, required: true, description: 'The project.' }) },
    resolve: async (_root, { input }, ctx) => ({ project: await ctx.services.projects.create(ctx.viewer, input) }),
  }),
);

export { ApiKeyRef };
