import { NotFoundError, OverloadedError, ValidationError } from '../../errors.ts';
import type { StreamDeadLetter } from '../../generated/sqlite/client.ts';
import type { IngestResult } from '../../services/stream/stream.service.ts';
import { streamCommitPolicy } from '../../services/stream/subjects.ts';
import type { Freshness } from '../../services/stream/freshness.ts';
import { builder } from '../builder.ts';
import { pageSize } from '../shared/pagination.ts';
import { CommitRefType, FeatureGroupRefInput, FeatureGroupType } from './types.ts';

const IngestWaitEnum = builder.enumType('IngestWait', {
  description: 'What `ingestFeatureGroupRows` waits for before it answers.',
  values: {
    ACCEPTED: { description: 'The rows are durably in the ingestion log (applied within milliseconds, committed offline within the group’s interval).' },
    ONLINE: { description: 'The rows are applied: readable by `featureVector` when the group is online enabled.' },
    OFFLINE: { description: 'The rows are in an offline commit (materialized now rather than at the group’s interval).' },
  } as const,
});

const IngestPayload = builder.objectRef<IngestResult>('IngestFeatureGroupRowsPayload').implement({
  description: 'Where the streamed rows are.',
  fields: (t) => ({
    accepted: t.exposeInt('accepted', { description: 'Rows accepted (all of them: a refused row refuses the request).' }),
    duplicate: t.exposeBoolean('duplicate', {
      description: 'The idempotency key was used before: the rows were accepted then, and nothing was appended again.',
    }),
    sequence: t.float({ description: 'The log position (an integer) of the message holding the rows.', resolve: (p) => p.sequence }),
    onlineAt: t.expose('onlineAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the rows were applied (written online for an online-enabled group); null under ACCEPTED, or when waiting timed out.',
    }),
    commit: t.field({
      type: CommitRefType,
      nullable: true,
      description: 'The offline commit holding the rows, under waitFor OFFLINE; null otherwise.',
      resolve: (p) => p.commit,
    }),
    featureGroup: t.field({ type: FeatureGroupType, description: 'The group.', resolve: (p) => p.group }),
  }),
});

builder.mutationField('ingestFeatureGroupRows', (t) =>
  t.field({
    type: IngestPayload,
    description:
      'Streams rows into a feature group through its ingestion log: checked against the schema now (a bad row refuses the request and nothing is appended), appended durably, applied to the online store within milliseconds (newest event wins) and committed offline in ranges every `streamCommitIntervalMs` or `streamCommitRows`. The same `idempotencyKey` sent again is accepted once. When the log’s consumers are too far behind, answers OverloadedError with `retryAfterMs`. `insertFeatureGroupData` stays the way to write one atomic offline commit.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, OverloadedError] },
    args: {
      featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }),
      rows: t.arg({
        type: ['JSON'],
        required: true,
        description: 'Rows as objects keyed by feature name (1–10 000); absent features are null, except key and event time.',
      }),
      idempotencyKey: t.arg.string({ description: 'Rows sent again with the same key (within 10 minutes) are accepted once.' }),
      waitFor: t.arg({ type: IngestWaitEnum, defaultValue: 'ONLINE', description: 'ONLINE by default.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.streams.ingest(ctx.viewer, args.featureGroup, args.rows, args.idempotencyKey ?? null, args.waitFor ?? 'ONLINE'),
  }),
);

const FreshnessRef = builder.objectRef<Freshness>('FeatureGroupFreshness').implement({
  description: 'How fresh a feature group’s stores are, from its ingestion log.',
  fields: (t) => ({
    lastEventTime: t.expose('lastEventTime', {
      type: 'DateTime',
      nullable: true,
      description: 'The newest event time streamed in (TIMESTAMP and DATE event times); null before any.',
    }),
    lastOnlineWriteAt: t.expose('lastOnlineWriteAt', { type: 'DateTime', nullable: true, description: 'When streamed rows were last applied.' }),
    lastOfflineCommitAt: t.expose('lastOfflineCommitAt', { type: 'DateTime', nullable: true, description: 'When the group’s last offline commit was made.' }),
    onlineLagMs: t.float({ description: 'How long the oldest streamed message not yet applied has waited (0: none waits).', resolve: (f) => f.onlineLagMs }),
    offlineLagMs: t.float({
      description: 'How long the oldest streamed message not yet in an offline commit has waited (0: none waits).',
      resolve: (f) => f.offlineLagMs,
    }),
    pendingRows: t.float({ description: 'Streamed rows applied and not yet in an offline commit.', resolve: (f) => f.pendingRows }),
  }),
});

const DeadLetterRef = builder.objectRef<StreamDeadLetter>('StreamDeadLetter').implement({
  description: 'A message of the ingestion log that could not be applied (not JSON, a wrong type, a missing key), kept with its reason; the stream went on.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Id; pass the last of a page as `after` for the next.' }),
    sequence: t.float({ description: 'Its log position.', resolve: (d) => Number(d.sequence) }),
    reason: t.exposeString('reason', { description: 'Why it was not applied.' }),
    payload: t.exposeString('payload', { description: 'The message as received (at most 64 KiB of it).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was set aside.' }),
  }),
});

builder.objectFields(FeatureGroupType, (t) => ({
  freshness: t.field({
    type: FreshnessRef,
    description: 'How fresh the group’s stores are: newest event, last online write and offline commit, lags and rows waiting.',
    resolve: (g, _args, ctx) => ctx.services.streams.readings.freshness(g, ctx.viewer.projectName),
  }),
  streamSubject: t.string({
    nullable: true,
    description:
      'The NATS subject (of stream `<namespace>_<project>`, namespace `granary` by default) producers may publish rows to directly: a message is one JSON row object or an array of them; a `Nats-Msg-Id` header deduplicates. Null for an external group.',
    resolve: (g, _args, ctx) => (g.dataSourceId === null ? ctx.services.streams.names.subject(ctx.viewer.projectName, g) : null),
  }),
  streamCommitIntervalMs: t.int({
    description: 'Streamed rows become an offline commit at least this often (milliseconds).',
    resolve: (g) => streamCommitPolicy(g).intervalMs,
  }),
  streamCommitRows: t.int({ description: 'Streamed rows become an offline commit as soon as this many wait.', resolve: (g) => streamCommitPolicy(g).rows }),
  deadLetters: t.field({
    type: [DeadLetterRef],
    description: 'Streamed messages that could not be applied, newest first.',
    args: {
      first: t.arg.int({ defaultValue: 100, description: 'At most this many (1–1000).' }),
      after: t.arg.string({ description: 'The id of the last dead letter of the previous page.' }),
    },
    resolve: (g, args, ctx) => ctx.services.streams.readings.deadLetters(g, pageSize(args.first, 100, 1000), args.after ?? null),
  }),
}));

const IngestionUpdateRef = builder.objectRef<{ featureGroupId: string; sequence: number; rows: number }>('IngestionUpdate').implement({
  description: 'A batch of streamed rows was applied.',
  fields: (t) => ({
    featureGroup: t.field({
      type: FeatureGroupType,
      nullable: true,
      description: 'The group (null when it was deleted since).',
      resolve: (u, _args, ctx) => ctx.prisma.featureGroup.findFirst({ where: { id: u.featureGroupId, projectId: ctx.viewer.projectId } }),
    }),
    sequence: t.float({ description: 'The last log position applied.', resolve: (u) => u.sequence }),
    rows: t.exposeInt('rows', { description: 'Rows applied in the batch.' }),
  }),
});

builder.subscriptionField('ingestionUpdated', (t) =>
  t.field({
    type: IngestionUpdateRef,
    description: 'Each applied batch of streamed rows in the caller’s project; only one group’s when given.',
    authScopes: { read: true },
    args: { featureGroup: t.arg({ type: FeatureGroupRefInput, description: 'Only this group (the latest version when version is omitted).' }) },
    subscribe: (_root, args, ctx) => ctx.services.streams.readings.subscribe(ctx.viewer, args.featureGroup),
    resolve: (event) => event,
  }),
);
