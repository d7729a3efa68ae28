import { ConflictError, DataSourceError, NotFoundError, ValidationError } from '../../errors.ts';
import type { DataSource, FeatureGroup } from '../../generated/sqlite/client.ts';
import { builder } from '../builder.ts';
import { FeatureGroupType } from '../feature-group/types.ts';

const DataSourceTypeEnum = builder.enumType('DataSourceType', {
  description: 'Kind of data source.',
  values: {
    POSTGRES: { description: 'A PostgreSQL database; config `{ url }` (`postgresql://user:password@host:port/database`, the password stored encrypted).' },
    FILES: {
      description:
        'A directory of Parquet and CSV files on the server; config `{ path }` (absolute, inside one of the directories the server allows: GRANARY_FILE_SOURCE_ROOTS). Groups read paths under it only.',
    },
  } as const,
});

const FileFormatEnum = builder.enumType('ExternalFileFormat', {
  description: 'Format of the files an external group reads.',
  values: {
    PARQUET: { description: 'Apache Parquet: one file, or every `*.parquet` under a directory.' },
    CSV: { description: 'Comma-separated values with a header row: one file, or every `*.csv` under a directory.' },
  } as const,
});

export const DataSourceType = builder.prismaNode('DataSource', {
  description: 'A storage connector: where external feature groups read their rows in place. Secrets are never returned.',
  id: { field: 'id', description: 'Global id, for `node(id:)` and lineage.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique in the project.' }),
    type: t.field({ type: DataSourceTypeEnum, description: 'POSTGRES or FILES.', resolve: (s) => s.type as 'POSTGRES' | 'FILES' }),
    description: t.exposeString('description', { description: 'What the source holds.' }),
    config: t.field({
      type: 'JSON',
      description: 'POSTGRES: `{ url }` without the password; FILES: `{ path }`.',
      resolve: (s) => s.config,
    }),
    hasPassword: t.boolean({ description: 'Whether a password is stored (encrypted) for it.', resolve: (s) => s.sealedPassword !== null }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

builder.queryField('dataSources', (t) =>
  t.prismaField({
    type: ['DataSource'],
    description: 'The data sources of the caller’s project, by name.',
    authScopes: { read: true },
    resolve: (query, _root, _args, ctx) => ctx.prisma.dataSource.findMany({ ...query, where: { projectId: ctx.viewer.projectId }, orderBy: { name: 'asc' } }),
  }),
);

builder.queryField('dataSource', (t) =>
  t.prismaField({
    type: 'DataSource',
    nullable: true,
    description: 'A data source of the caller’s project by name; null when there is none.',
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true, description: 'Its name.' }) },
    resolve: (query, _root, { name }, ctx) =>
      ctx.prisma.dataSource.findUnique({ ...query, where: { projectId_name: { projectId: ctx.viewer.projectId, name } } }),
  }),
);

const CreateDataSourceInput = builder.inputType('CreateDataSourceInput', {
  description: 'A data source. The same definition again returns the existing one.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    type: t.field({ type: DataSourceTypeEnum, required: true, description: 'POSTGRES or FILES.' }),
    description: t.string({ description: 'What the source holds.' }),
    config: t.field({
      type: 'JSON',
      required: true,
      description:
        'POSTGRES: `{ url, password? }` (the password in the URL or apart; stored encrypted, never returned). FILES: `{ path }`, an absolute directory inside one the server allows (GRANARY_FILE_SOURCE_ROOTS, by default `<data dir>/files`).',
    }),
  }),
});

const DataSourcePayload = (name: string, description: string) =>
  builder.objectRef<{ dataSource: DataSource }>(name).implement({
    description,
    fields: (t) => ({
      dataSource: t.field({ type: DataSourceType, description: 'The data source.', resolve: (p) => p.dataSource }),
    }),
  });

builder.mutationField('createDataSource', (t) =>
  t.field({
    type: DataSourcePayload('CreateDataSourcePayload', 'The created data source, or the existing one with the same definition.'),
    description:
      'Creates a data source (needs ADMIN: it makes the server read a database or a directory). A POSTGRES password is stored encrypted with GRANARY_SECRET_KEY.',
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateDataSourceInput, required: true, description: 'The definition.' }) },
    resolve: async (_root, { input }, ctx) => ({
      dataSource: await ctx.services.dataSources.create(ctx.viewer, { ...input, config: input.config as Record<string, unknown> }),
    }),
  }),
);

builder.mutationField('deleteDataSource', (t) =>
  t.field({
    type: DataSourcePayload('DeleteDataSourcePayload', 'The deleted data source.'),
    description: 'Deletes a data source; refused (ConflictError) while a feature group reads from it.',
    authScopes: { admin: true },
    errors: { types: [NotFoundError, ConflictError] },
    args: { name: t.arg.string({ required: true, description: 'Its name.' }) },
    resolve: async (_root, { name }, ctx) => ({ dataSource: await ctx.services.dataSources.delete(ctx.viewer, name) }),
  }),
);

const TestDataSourcePayload = builder.objectRef<{ objects: readonly string[] }>('TestDataSourcePayload').implement({
  description: 'What the data source holds.',
  fields: (t) => ({
    objects: t.stringList({
      description: 'POSTGRES: tables and views as `schema.table`; FILES: Parquet and CSV files (relative paths, at most 1000).',
      resolve: (p) => [...p.objects],
    }),
  }),
});

builder.mutationField('testDataSource', (t) =>
  t.field({
    type: TestDataSourcePayload,
    description: 'Connects to a data source and lists its tables or files; a DataSourceError says why it cannot.',
    authScopes: { write: true },
    errors: { types: [NotFoundError, DataSourceError] },
    args: { name: t.arg.string({ required: true, description: 'Its name.' }) },
    resolve: (_root, { name }, ctx) => ctx.services.dataSources.test(ctx.viewer, name),
  }),
);

const ExternalFeatureInput = builder.inputType('ExternalFeatureInput', {
  description: 'A feature of an external group: a source column (matched case-insensitively) read as this type.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name of the source column.' }),
    type: t.string({ required: true, description: 'BIGINT, INT, DOUBLE, FLOAT, STRING, BOOLEAN, TIMESTAMP, DATE, DECIMAL(p,s).' }),
    description: t.string({ description: 'What the feature means.' }),
  }),
});

const CreateExternalFeatureGroupInput = builder.inputType('CreateExternalFeatureGroupInput', {
  description: 'An external feature group: rows read in place from a data source at query time. Give one of table, query (POSTGRES) or path (FILES).',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    version: t.int({ description: 'Version. Omitted: the latest version if its definition matches, else the next one.' }),
    description: t.string({ description: 'What the group holds.' }),
    dataSource: t.string({ required: true, description: 'Name of the data source.' }),
    table: t.string({ description: 'POSTGRES: a table or view, `table` or `schema.table`.' }),
    query: t.string({ description: 'POSTGRES: a SELECT whose rows are the group’s rows.' }),
    path: t.string({ description: 'FILES: a file or a directory, relative to the source’s directory.' }),
    format: t.field({ type: FileFormatEnum, description: 'FILES: PARQUET or CSV; from the extension when omitted (else PARQUET).' }),
    primaryKey: t.stringList({ required: true, description: 'Primary-key features, in key order.' }),
    eventTime: t.string({ description: 'Event-time feature (TIMESTAMP, DATE or BIGINT epoch); omit for a group without event time.' }),
    onlineEnabled: t.boolean({ description: 'Served online: the MATERIALIZE job copies the newest row per key into the online store. Default false.' }),
    features: t.field({ type: [ExternalFeatureInput], description: 'The features. Omitted: every column of the source, with types read from it.' }),
    statisticsConfig: t.field({ type: 'JSON', description: 'Statistics settings, as in createFeatureGroup.' }),
  }),
});

builder.mutationField('createExternalFeatureGroup', (t) =>
  t.field({
    type: builder.objectRef<{ featureGroup: FeatureGroup }>('CreateExternalFeatureGroupPayload').implement({
      description: 'The created external feature group, or the existing one with the same definition.',
      fields: (f) => ({
        featureGroup: f.field({ type: FeatureGroupType, description: 'The feature group.', resolve: (p) => p.featureGroup }),
      }),
    }),
    description:
      'Registers an external feature group: its rows stay in the data source and are read at query time (joins, training data, statistics, MATERIALIZE). Inserts into it are refused.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError, DataSourceError] },
    args: { input: t.arg({ type: CreateExternalFeatureGroupInput, required: true, description: 'The definition.' }) },
    resolve: async (_root, { input }, ctx) => ({ featureGroup: await ctx.services.featureGroups.createExternal(ctx.viewer, input) }),
  }),
);

builder.prismaObjectField('FeatureGroup', 'dataSource', (t) =>
  t.relation('dataSource', { nullable: true, description: 'For an external group, the data source its rows are read from; null otherwise.' }),
);

builder.prismaObjectField('FeatureGroup', 'external', (t) =>
  t.field({
    type: 'JSON',
    nullable: true,
    description:
      'For an external group, what it reads: `{ table }`, `{ query }` or `{ path, format }`, with `columns` (feature → source column); null otherwise.',
    select: { external: true },
    resolve: (g) => g.external,
  }),
);
