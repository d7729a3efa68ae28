import type { AlertDelivery, AlertReceiver, AlertRoute } from '../../generated/sqlite/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { builder } from '../builder.ts';
import { idOf } from '../shared/global-id.ts';
import { AlertDeliveryType, AlertEventTypeEnum, AlertReceiverType, AlertRouteType, AlertSubjectKindEnum, SIGNATURE_SCHEME } from './types.ts';

const CreateAlertReceiverInput = builder.inputType('CreateAlertReceiverInput', {
  description: 'A new alert receiver (webhook).',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Name, unique in the project: letters, digits, _, . and -, starting with a letter.' }),
    webhookUrl: t.string({
      required: true,
      description:
        'http:// or https:// URL deliveries are POSTed to. Its host must be loopback (127.0.0.0/8, ::1, localhost) or listed in the server’s GRANARY_ALERT_ALLOWED_HOSTS; redirects are not followed.',
    }),
    secret: t.string({
      required: true,
      description: `At least 16 characters; keys the HMAC-SHA256 signature of each delivery. Write-only: stored encrypted, never returned. ${SIGNATURE_SCHEME}`,
    }),
    description: t.string({ description: 'What the receiver is for.' }),
  }),
});

const CreateAlertReceiverPayload = builder.objectRef<{ alertReceiver: AlertReceiver }>('CreateAlertReceiverPayload').implement({
  description: 'The new receiver.',
  fields: (t) => ({
    alertReceiver: t.field({ type: AlertReceiverType, description: 'The receiver (without its secret).', resolve: (p) => p.alertReceiver }),
  }),
});

builder.mutationField('createAlertReceiver', (t) =>
  t.field({
    type: CreateAlertReceiverPayload,
    description:
      'Creates a webhook alert receiver (ADMIN: it holds a secret and makes the server call out). A name in use is a ConflictError; a host that is not allowed is a ValidationError.',
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateAlertReceiverInput, required: true, description: 'The receiver.' }) },
    resolve: async (_root, { input }, ctx) => ({ alertReceiver: await ctx.services.alerts.createReceiver(ctx.viewer, input) }),
  }),
);

const DeleteAlertReceiverPayload = builder.objectRef<AlertReceiver>('DeleteAlertReceiverPayload').implement({
  description: 'The deleted receiver.',
  fields: (t) => ({ name: t.exposeString('name', { description: 'Its name.' }) }),
});

builder.mutationField('deleteAlertReceiver', (t) =>
  t.field({
    type: DeleteAlertReceiverPayload,
    description: 'Deletes a receiver with its routes and deliveries; pending deliveries to it are not sent (ADMIN).',
    authScopes: { admin: true },
    errors: { types: [NotFoundError] },
    args: { name: t.arg.string({ required: true, description: 'Receiver name.' }) },
    resolve: (_root, { name }, ctx) => ctx.services.alerts.deleteReceiver(ctx.viewer, name),
  }),
);

const AlertSubjectFilterInput = builder.inputType('AlertSubjectFilterInput', {
  description: 'Limits a route to events about one subject.',
  fields: (t) => ({
    kind: t.field({ type: AlertSubjectKindEnum, required: true, description: 'The subject’s kind.' }),
    name: t.string({ required: true, description: 'The subject’s name.' }),
    version: t.int({ description: 'Only this version (feature groups); omitted: every version.' }),
  }),
});

const CreateAlertRouteInput = builder.inputType('CreateAlertRouteInput', {
  description: 'A new alert route.',
  fields: (t) => ({
    receiver: t.string({ required: true, description: 'Name of the receiver to send to.' }),
    eventTypes: t.field({ type: [AlertEventTypeEnum], required: true, description: 'The event types to send; at least one.' }),
    subject: t.field({ type: AlertSubjectFilterInput, description: 'Only events about this subject; omitted: every subject.' }),
    enabled: t.boolean({ description: 'Default true; a disabled route sends nothing.' }),
  }),
});

const CreateAlertRoutePayload = builder.objectRef<{ alertRoute: AlertRoute }>('CreateAlertRoutePayload').implement({
  description: 'The new route.',
  fields: (t) => ({ alertRoute: t.field({ type: AlertRouteType, description: 'The route.', resolve: (p) => p.alertRoute }) }),
});

builder.mutationField('createAlertRoute', (t) =>
  t.field({
    type: CreateAlertRoutePayload,
    description: 'Routes events to a receiver (WRITE). An event goes once to each receiver with at least one enabled matching route, however many match.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: { input: t.arg({ type: CreateAlertRouteInput, required: true, description: 'The route.' }) },
    resolve: async (_root, { input }, ctx) => ({ alertRoute: await ctx.services.alerts.createRoute(ctx.viewer, input) }),
  }),
);

const DeleteAlertRoutePayload = builder.objectRef<AlertRoute>('DeleteAlertRoutePayload').implement({
  description: 'The deleted route.',
  fields: (t) => ({ id: t.exposeID('id', { description: 'Its database id (the global id no longer resolves).' }) }),
});

builder.mutationField('deleteAlertRoute', (t) =>
  t.field({
    type: DeleteAlertRoutePayload,
    description: 'Deletes a route (WRITE); deliveries it made stay, without the route.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: { id: t.arg.id({ required: true, description: 'The route’s global id.' }) },
    resolve: (_root, { id }, ctx) => ctx.services.alerts.deleteRoute(ctx.viewer, idOf(String(id), 'AlertRoute')),
  }),
);

const SetAlertRouteEnabledPayload = builder.objectRef<{ alertRoute: AlertRoute }>('SetAlertRouteEnabledPayload').implement({
  description: 'The route after the change.',
  fields: (t) => ({ alertRoute: t.field({ type: AlertRouteType, description: 'The route.', resolve: (p) => p.alertRoute }) }),
});

builder.mutationField('setAlertRouteEnabled', (t) =>
  t.field({
    type: SetAlertRouteEnabledPayload,
    description: 'Enables or disables a route (WRITE); a disabled route sends nothing until enabled again.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: {
      id: t.arg.id({ required: true, description: 'The route’s global id.' }),
      enabled: t.arg.boolean({ required: true, description: 'Whether the route sends events.' }),
    },
    resolve: async (_root, { id, enabled }, ctx) => ({
      alertRoute: await ctx.services.alerts.setRouteEnabled(ctx.viewer, idOf(String(id), 'AlertRoute'), enabled),
    }),
  }),
);

const TestAlertReceiverPayload = builder.objectRef<{ delivery: AlertDelivery }>('TestAlertReceiverPayload').implement({
  description: 'The outcome of the test delivery.',
  fields: (t) => ({
    ok: t.boolean({ description: 'The receiver answered 2xx.', resolve: (p) => p.delivery.state === 'DELIVERED' }),
    status: t.int({ nullable: true, description: 'The HTTP status; null when there was no answer.', resolve: (p) => p.delivery.lastStatus }),
    error: t.string({ nullable: true, description: 'Why it failed, if it did.', resolve: (p) => p.delivery.lastError }),
    delivery: t.field({ type: AlertDeliveryType, description: 'The recorded delivery (event type TEST).', resolve: (p) => p.delivery }),
  }),
});

builder.mutationField('testAlertReceiver', (t) =>
  t.field({
    type: TestAlertReceiverPayload,
    description: 'Sends a signed TEST event to a receiver now, once (no retries; up to the server’s alert timeout), and returns the answer (ADMIN).',
    authScopes: { admin: true },
    errors: { types: [NotFoundError] },
    args: { name: t.arg.string({ required: true, description: 'Receiver name.' }) },
    resolve: async (_root, { name }, ctx) => ({ delivery: await ctx.services.alerts.testReceiver(ctx.viewer, name) }),
  }),
);
