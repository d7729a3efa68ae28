import { builder } from '../builder.ts';

export const ScopeEnum = builder.enumType('Scope', {
  description: 'What an API key may do. Scopes nest: ADMIN includes WRITE, WRITE includes READ.',
  values: {
    READ: { description: 'Queries and subscriptions.' },
    WRITE: { description: 'Mutations that create, change or delete objects and data.' },
    ADMIN: { description: 'Managing keys, tag schemas and jobs that run programs; on the first project, the whole server.' },
  } as const,
});
