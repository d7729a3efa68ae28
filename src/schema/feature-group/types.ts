import type { FeatureDef } from '../../domain/feature-types.ts';
import { ValidationError } from '../../errors.ts';
import { featureGroupDataPath } from '../shared/download-paths.ts';
import { DownloadFormatEnum } from '../shared/download-format.ts';
import { builder } from '../builder.ts';
import { ColumnRef, DataFrameRef } from '../shared/data-frame.ts';
import { pageSize } from '../shared/pagination.ts';
import { isOfflineCommit } from '../../services/feature-group/commits.ts';
import { readFeatures } from '../../services/json-columns.ts';

export const FeatureGroupRefInput = builder.inputType('FeatureGroupRef', {
  description: 'A feature group by name and version; the latest version when version is omitted.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Group name.' }),
    version: t.int({ description: 'Version; latest when omitted.' }),
  }),
});

export const WriteOperationEnum = builder.enumType('WriteOperation', {
  description: 'How an insert treats rows whose identity (primary key + event time) exists.',
  values: {
    UPSERT: { description: 'Supersede existing rows with the same identity; duplicates within the insert keep the last.' },
    INSERT: { description: 'Like UPSERT, but duplicates within the insert are rejected.' },
  } as const,
});

export const StorageEnum = builder.enumType('Storage', {
  description: 'Which stores an insert writes.',
  values: {
    BOTH: { description: 'Offline (history) and, when the group is online enabled, online (serving).' },
    OFFLINE: { description: 'Only the offline store.' },
    ONLINE: { description: 'Only the online store (the rows are not kept in history).' },
  } as const,
});

export const DataFormatEnum = builder.enumType('DataFormat', {
  description: 'Format of an uploaded file.',
  values: {
    CSV: { description: 'Comma-separated values with a header row.' },
    PARQUET: { description: 'Apache Parquet.' },
    NDJSON: { description: 'One JSON object per line.' },
  } as const,
});

const FeatureRef = builder.objectRef<FeatureDef & { primary: boolean; eventTime: boolean }>('Feature').implement({
  description: 'A feature (column) of a feature group.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Feature name.' }),
    type: t.exposeString('type', {
      description: 'Feature type: BIGINT, INT, DOUBLE, FLOAT, STRING, BOOLEAN, TIMESTAMP, DATE, DECIMAL(p,s), BINARY or ARRAY<…>.',
    }),
    description: t.exposeString('description', { description: 'What the feature means.' }),
    primary: t.exposeBoolean('primary', { description: 'Part of the primary key.' }),
    eventTime: t.exposeBoolean('eventTime', { description: 'The group’s event-time feature.' }),
  }),
});

const LogRangeRef = builder.objectRef<{ from: number; to: number }>('LogRange').implement({
  description: 'A range of positions of the ingestion log, both ends included.',
  fields: (t) => ({
    from: t.float({ description: 'The first position (an integer).', resolve: (r) => r.from }),
    to: t.float({ description: 'The last position (an integer).', resolve: (r) => r.to }),
  }),
});

export const CommitRefType = builder.prismaObject('Commit', {
  description: 'One atomic insert into a feature group.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Commit id (uuid v7: sorts in commit order).' }),
    committedAt: t.expose('committedAt', { type: 'DateTime', description: 'When the commit became visible.' }),
    operation: t.field({ type: WriteOperationEnum, description: 'UPSERT or INSERT.', resolve: (c) => c.operation as 'UPSERT' | 'INSERT' }),
    storage: t.field({ type: StorageEnum, description: 'The stores written.', resolve: (c) => c.storage as 'BOTH' | 'OFFLINE' | 'ONLINE' }),
    rowCount: t.exposeInt('rowCount', { description: 'Rows written by the commit.' }),
    rowsInserted: t.exposeInt('rowsInserted', { description: 'Rows whose identity was new to the group.' }),
    rowsUpdated: t.exposeInt('rowsUpdated', { description: 'Rows that superseded an existing row with the same identity.' }),
    bytes: t.float({ description: 'Size of the commit’s offline files.', resolve: (c) => Number(c.bytes) }),
    onlineWritten: t.boolean({
      description: 'Whether the commit’s online rows are written (false only briefly, or until a restart replays them).',
      resolve: (c) => c.onlineState !== 'PENDING',
    }),
    validationReport: t.expose('validationReport', {
      type: 'JSON',
      nullable: true,
      description: 'Data validation report of the insert, when the group has an expectation suite.',
    }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description:
        'Name of the API key that made the commit: a job run’s key is `job:<job>#<execution>`, the ingestion log’s materializer `system:stream`. Null for commits made before it was kept.',
    }),
    logRange: t.field({
      type: LogRangeRef,
      nullable: true,
      description:
        'For a commit materialized from the ingestion log: the log positions it covers. A group’s streamed commits cover contiguous ranges, each position once. Null for an insert.',
      resolve: (c) => (c.logFrom === null || c.logTo === null ? null : { from: Number(c.logFrom), to: Number(c.logTo) }),
    }),
  }),
});

interface OnlineRows {
  readonly columns: readonly { name: string; type: string }[];
  readonly records: readonly (Record<string, unknown> | null)[];
}

const OnlineRowsRef = builder.objectRef<OnlineRows>('OnlineRows').implement({
  description: 'Rows read from the online store by primary key.',
  fields: (t) => ({
    columns: t.field({ type: [ColumnRef], description: 'The group’s features, in schema order.', resolve: (r) => [...r.columns] }),
    records: t.field({
      type: ['JSON'],
      nullable: { list: false, items: true },
      description: 'One per entry, in order: the row as an object keyed by feature name, or null when the online store has no row for the key.',
      resolve: (r) => [...r.records],
    }),
    found: t.int({ description: 'How many entries have a row.', resolve: (r) => r.records.filter((x) => x !== null).length }),
  }),
});

const COMMIT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates the `after` argument of `commits`: a commit id (a uuid). */
function commitCursor(after: string): string {
  if (!COMMIT_ID.test(after)) throw ValidationError.at(['after'], 'after must be the id of a commit (from a previous page)');
  return after.toLowerCase();
}

export const FeatureGroupType = builder.prismaNode('FeatureGroup', {
  description:
    'A versioned table of features with a primary key and, usually, an event time. The offline store keeps every commit; the online store the newest row per key.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  // Another project's id resolves to null, not to a not-found error.
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique with the version in the project.' }),
    version: t.exposeInt('version', { description: 'Version; a new version is how a schema changes incompatibly.' }),
    description: t.exposeString('description', { description: 'What the group holds.' }),
    primaryKey: t.stringList({ description: 'Primary-key features, in key order.', resolve: (g) => g.primaryKey as string[] }),
    eventTime: t.exposeString('eventTime', { nullable: true, description: 'Event-time feature; null for a group without event time.' }),
    onlineEnabled: t.exposeBoolean('onlineEnabled', { description: 'Whether inserts also write the online store for serving.' }),
    features: t.field({
      type: [FeatureRef],
      description: 'The features in column order; empty until the first insert when the schema is inferred.',
      resolve: (g) =>
        readFeatures(g.features).map((f) => ({
          ...f,
          primary: (g.primaryKey as string[]).includes(f.name),
          eventTime: g.eventTime === f.name,
        })),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the group was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the group last changed (definition or data).' }),
    commits: t.relation('commits', {
      description:
        'Commits, newest first, in the order they were recorded. Page through all of them with `first` and `after`: pass the id of the last commit of a page as `after` to get the next page; a page shorter than `first` is the last.',
      args: {
        first: t.arg.int({ defaultValue: 100, description: 'At most this many (1–1000).' }),
        after: t.arg.string({
          description:
            'Only commits recorded before this one: the id of the last commit of the previous page. From the newest when omitted; a commit id that is not one of the group’s gives an empty list.',
        }),
      },
      // Prisma's cursor pages in whatever order `orderBy` gives, from the row after the cursor.
      query: (args) => ({
        orderBy: { id: 'desc' },
        take: pageSize(args.first, 100, 1000),
        ...(args.after == null ? {} : { cursor: { id: commitCursor(args.after) }, skip: 1 }),
      }),
    }),
    rowCount: t.int({
      description: 'Rows visible in the offline store (distinct primary key + event time); 0 for an external group, whose rows live in its data source.',
      select: { commits: { select: { rowsInserted: true, storage: true } } },
      resolve: (g) => g.commits.filter(isOfflineCommit).reduce((n, c) => n + c.rowsInserted, 0),
    }),
    changes: t.field({
      type: DataFrameRef,
      description:
        'Rows written by the commits made in a time window, superseded ones included, in key and commit order: the change log for incremental pipelines.',
      args: {
        from: t.arg({ type: 'DateTime', description: 'Commits made at or after this time; from the first when omitted.' }),
        to: t.arg({ type: 'DateTime', description: 'Commits made before this time; up to now when omitted.' }),
        first: t.arg.int({ defaultValue: 1000, description: 'At most this many rows (1–100 000).' }),
      },
      resolve: (g, args, ctx) =>
        ctx.services.featureGroups.readChanges(ctx.viewer, g, { from: args.from, to: args.to, first: pageSize(args.first, 1000, 100_000) }),
    }),
    downloadUrl: t.string({
      description:
        'Path of a download of the group’s rows (same as `read`, without a row limit), relative to the server’s origin. GET it with the same Authorization header.',
      args: {
        format: t.arg({ type: DownloadFormatEnum, defaultValue: 'PARQUET', description: 'PARQUET (default) or CSV.' }),
        asOf: t.arg({ type: 'DateTime', description: 'Time travel: only commits made up to this time.' }),
      },
      resolve: (g, args) => featureGroupDataPath(g.name, g.version, args.format ?? 'PARQUET', args.asOf),
    }),
    onlineRows: t.field({
      type: OnlineRowsRef,
      description:
        'The online store’s rows of the given entities (newest event per primary key, as served), in the order of `entries`. For an online-enabled group.',
      args: {
        entries: t.arg({
          type: ['JSON'],
          required: true,
          description: 'Each entity’s primary key as an object, e.g. `{ "customerid": "C0001" }` (at most 1 000).',
        }),
      },
      resolve: async (g, args, ctx) => {
        const records = await ctx.services.featureGroups.onlineRows(g, args.entries);
        return { columns: readFeatures(g.features).map((f) => ({ name: f.name, type: f.type })), records };
      },
    }),
    read: t.field({
      type: DataFrameRef,
      description: 'The group’s rows from the offline store: for each identity the row of the latest commit, ordered by key and event time.',
      args: {
        asOf: t.arg({ type: 'DateTime', description: 'Time travel: see only commits made up to this time.' }),
        first: t.arg.int({ defaultValue: 1000, description: 'At most this many rows (1–100 000). Use downloadUrl for more.' }),
      },
      resolve: (g, args, ctx) => ctx.services.featureGroups.read(ctx.viewer, g, { asOf: args.asOf, first: pageSize(args.first, 1000, 100_000) }),
    }),
  }),
});
