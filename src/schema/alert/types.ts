import { builder } from '../builder.ts';

export const SIGNATURE_SCHEME =
  'Each delivery is a POST of JSON `{ id, type, project, subject, message, details, at }` with headers `X-Granary-Event` (the event type), ' +
  '`X-Granary-Delivery` (the delivery id: the same on every retry, to deduplicate), `X-Granary-Timestamp` (Unix seconds of the attempt) and ' +
  '`X-Granary-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the receiver’s secret>`. ' +
  'A receiver recomputes the HMAC over the raw body, compares in constant time, and rejects old timestamps (say, older than 5 minutes).';

export const AlertEventTypeEnum = builder.enumType('AlertEventType', {
  description: 'What an alert is about.',
  values: {
    JOB_FAILED: { description: 'A job run ended FAILED.' },
    JOB_SUCCEEDED: { description: 'A job run ended SUCCEEDED.' },
    JOB_LONG_RUNNING: { description: 'A job run is taking longer than expected.' },
    VALIDATION_FAILED: { description: 'Inserted data failed its feature group’s expectation suite.' },
    STATISTICS_COMPUTED: { description: 'Statistics of a feature group were computed.' },
  } as const,
});

export const AlertSubjectKindEnum = builder.enumType('AlertSubjectKind', {
  description: 'The kind of object an alert is about.',
  values: {
    JOB: { value: 'Job', description: 'A job (by name).' },
    FEATURE_GROUP: { value: 'FeatureGroup', description: 'A feature group (by name, optionally version).' },
  } as const,
});

export const AlertDeliveryStateEnum = builder.enumType('AlertDeliveryState', {
  description: 'Where a delivery stands.',
  values: {
    PENDING: { description: 'Recorded; being sent or waiting for its next attempt.' },
    DELIVERED: { description: 'The receiver answered 2xx.' },
    FAILED: {
      description: 'Given up: a 4xx other than 429, a 3xx, a refused host, or the last allowed attempt failed (network error, timeout, 5xx, 429).',
    },
  } as const,
});

export const AlertReceiverType = builder.prismaNode('AlertReceiver', {
  description: `A webhook that alert routes send events to. Its secret is write-only: set at creation, never returned. ${SIGNATURE_SCHEME}`,
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique in the project.' }),
    description: t.exposeString('description', { description: 'What the receiver is for.' }),
    webhookUrl: t.exposeString('webhookUrl', { description: 'Where deliveries are POSTed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    routes: t.relation('routes', { description: 'The routes that send events to it, oldest first.', query: { orderBy: { id: 'asc' } } }),
  }),
});

const AlertSubjectFilter = builder.objectRef<{ kind: string; name: string; version: number | null }>('AlertSubjectFilter').implement({
  description: 'The one subject a route is limited to.',
  fields: (t) => ({
    kind: t.field({ type: AlertSubjectKindEnum, description: 'Its kind.', resolve: (s) => s.kind as 'Job' | 'FeatureGroup' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    version: t.exposeInt('version', { nullable: true, description: 'Its version; null: every version.' }),
  }),
});

export const AlertRouteType = builder.prismaNode('AlertRoute', {
  description: 'Sends events of some types (optionally only about one subject) to a receiver.',
  id: { field: 'id', description: 'Global id, for `node(id:)` and `deleteAlertRoute`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    eventTypes: t.field({
      type: [AlertEventTypeEnum],
      description: 'The event types it sends.',
      resolve: (route) => route.eventTypes as ('JOB_FAILED' | 'JOB_SUCCEEDED' | 'JOB_LONG_RUNNING' | 'VALIDATION_FAILED' | 'STATISTICS_COMPUTED')[],
    }),
    subject: t.field({
      type: AlertSubjectFilter,
      nullable: true,
      description: 'Only events about this subject; null: every subject.',
      resolve: (route) => (route.subjectKind && route.subjectName ? { kind: route.subjectKind, name: route.subjectName, version: route.subjectVersion } : null),
    }),
    enabled: t.exposeBoolean('enabled', { description: 'A disabled route sends nothing.' }),
    receiver: t.relation('receiver', { description: 'Where it sends.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const AlertDeliveryType = builder.prismaNode('AlertDelivery', {
  description: `One event on its way to one receiver, recorded before the first attempt. ${SIGNATURE_SCHEME}`,
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    deliveryId: t.exposeString('id', { description: 'The id sent as `X-Granary-Delivery`, the same on every attempt.' }),
    eventType: t.exposeString('eventType', { description: 'The event type (an `AlertEventType`), or `TEST` for `testAlertReceiver`.' }),
    payload: t.expose('payload', { type: 'JSON', description: 'The JSON body sent: `{ id, type, project, subject, message, details, at }`.' }),
    state: t.field({ type: AlertDeliveryStateEnum, description: 'Where it stands.', resolve: (d) => d.state as 'PENDING' | 'DELIVERED' | 'FAILED' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true, description: 'HTTP status of the last attempt; null when it got no answer.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed (status, network error, timeout, refused host).' }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a PENDING delivery is (re)tried; null once DELIVERED or FAILED.',
    }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true, description: 'When the receiver accepted it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event was recorded for this receiver.' }),
    receiver: t.relation('receiver', { description: 'The receiver.' }),
    route: t.relation('route', { nullable: true, description: 'The route that matched; null for tests and deleted routes.' }),
  }),
});
