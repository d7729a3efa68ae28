import type { RegistryEventMessage } from '../../pubsub.ts';
import { builder } from '../builder.ts';
import { pageSize } from '../shared/pagination.ts';

const RegistryActionEnum = builder.enumType('RegistryAction', {
  description: 'What happened to a registry object.',
  values: {
    CREATED: { description: 'The object was created.' },
    UPDATED: { description: 'The object was changed (including revoked, for API keys).' },
    DELETED: { description: 'The object was deleted.' },
  } as const,
});

const RegistryEventRef = builder.objectRef<RegistryEventMessage>('RegistryEvent').implement({
  description: 'One change in the caller’s project: the change feed’s unit.',
  fields: (t) => ({
    sequence: t.int({ description: 'Position in the feed; increases with every event.', resolve: (e) => e.id }),
    kind: t.exposeString('kind', { description: 'Kind of object: `Project`, `ApiKey`, `FeatureGroup`, `FeatureView`, `Model`, …' }),
    objectId: t.exposeString('objectId', { description: 'Database id of the object.' }),
    name: t.exposeString('name', { description: 'Name of the object.' }),
    version: t.exposeInt('version', { nullable: true, description: 'Version of the object, for versioned kinds.' }),
    action: t.field({ type: RegistryActionEnum, description: 'What happened.', resolve: (e) => e.action }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => e.at }),
  }),
});

builder.queryField('registryChanges', (t) =>
  t.field({
    type: [RegistryEventRef],
    description: 'The stored change feed after `since`, oldest first: what a client that was offline missed.',
    authScopes: { read: true },
    args: {
      since: t.arg({ type: 'DateTime', required: true, description: 'Only events strictly after this time.' }),
      first: t.arg.int({ defaultValue: 1000, description: 'At most this many events (1–10 000).' }),
    },
    resolve: (_root, { since, first }, ctx) => ctx.services.events.changesSince(ctx.viewer.projectId, since, pageSize(first, 1000, 10_000)),
  }),
);

builder.subscriptionField('registryEvents', (t) =>
  t.field({
    type: RegistryEventRef,
    description: 'Every create, update and delete in the caller’s project, as it happens.',
    authScopes: { read: true },
    args: {
      kinds: t.arg.stringList({ description: 'Only these kinds (`FeatureGroup`, `ApiKey`, …); all when omitted.' }),
    },
    subscribe: (_root, { kinds }, ctx) => ctx.services.events.subscribe(ctx.viewer.projectId, kinds),
    resolve: (event) => event as RegistryEventMessage,
  }),
);
