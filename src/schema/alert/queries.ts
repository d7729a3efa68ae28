import { builder } from '../builder.ts';
import { AlertDeliveryStateEnum } from './types.ts';

builder.queryField('alertReceivers', (t) =>
  t.prismaField({
    type: ['AlertReceiver'],
    description: 'The alert receivers of the caller’s project, by name. Their secrets are never returned.',
    authScopes: { read: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.alertReceiver.findMany({ ...query, where: { projectId: ctx.viewer.projectId }, orderBy: { name: 'asc' } }),
  }),
);

builder.queryField('alertRoutes', (t) =>
  t.prismaField({
    type: ['AlertRoute'],
    description: 'The alert routes of the caller’s project, oldest first.',
    authScopes: { read: true },
    args: { receiver: t.arg.string({ description: 'Only routes to this receiver (by name).' }) },
    resolve: (query, _root, { receiver }, ctx) =>
      ctx.prisma.alertRoute.findMany({
        ...query,
        where: { projectId: ctx.viewer.projectId, ...(receiver ? { receiver: { name: receiver } } : {}) },
        orderBy: { id: 'asc' },
      }),
  }),
);

builder.queryField('alertDeliveries', (t) =>
  t.prismaConnection(
    {
      type: 'AlertDelivery',
      cursor: 'id',
      description: 'Alert deliveries of the caller’s project, newest first: state, attempts, last status and error.',
      authScopes: { read: true },
      args: {
        receiver: t.arg.string({ description: 'Only deliveries to this receiver (by name).' }),
        state: t.arg({ type: AlertDeliveryStateEnum, description: 'Only deliveries in this state.' }),
      },
      resolve: (query, _root, { receiver, state }, ctx) =>
        ctx.prisma.alertDelivery.findMany({
          ...query,
          where: {
            projectId: ctx.viewer.projectId,
            ...(receiver ? { receiver: { name: receiver } } : {}),
            ...(state ? { state } : {}),
          },
          orderBy: { id: 'desc' },
        }),
    },
    { name: 'AlertDeliveryConnection', description: 'A page of alert deliveries.' },
    { name: 'AlertDeliveryEdge', description: 'An alert delivery in a page, with its cursor.' },
  ),
);
