import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import { ConflictError, DataValidationError, NotFoundError, ValidationError } from '../../errors.ts';
import type { InsertSource } from '../../domain/insert-source.ts';
import { DiskFile } from '../../domain/disk-file.ts';
import { builder } from '../builder.ts';
import { CommitRefType, DataFormatEnum, FeatureGroupRefInput, FeatureGroupType, StorageEnum, WriteOperationEnum } from './types.ts';

const FeatureInput = builder.inputType('FeatureInput', {
  description: 'A feature of a new feature group.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    type: t.string({ required: true, description: 'BIGINT, INT, DOUBLE, FLOAT, STRING, BOOLEAN, TIMESTAMP, DATE, DECIMAL(p,s), BINARY or ARRAY<type>.' }),
    description: t.string({ description: 'What the feature means.' }),
  }),
});

const CreateFeatureGroupInput = builder.inputType('CreateFeatureGroupInput', {
  description: 'A feature group definition. The same definition again returns the existing group.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    version: t.int({ description: 'Version. Omitted: the latest version if its definition matches, else the next one.' }),
    description: t.string({ description: 'What the group holds.' }),
    primaryKey: t.stringList({ required: true, description: 'Primary-key features, in key order.' }),
    eventTime: t.string({ description: 'Event-time feature (TIMESTAMP, DATE or BIGINT epoch); omit for a group without event time.' }),
    onlineEnabled: t.boolean({ description: 'Also write inserts to the online store for serving. Default false.' }),
    features: t.field({ type: [FeatureInput], description: 'The features. Omitted: inferred from the first insert.' }),
    statisticsConfig: t.field({
      type: 'JSON',
      description:
        'Statistics settings: { enabled (default true), histograms (true), correlations (false), exactUniqueness (false), columns (null: all), histogramBins (20) }. Unknown keys and columns that are not features are a ValidationError.',
    }),
    parents: t.field({
      type: [FeatureGroupRefInput],
      description:
        'Feature groups this one is derived from, recorded as its lineage (each the latest version when version is omitted). When given, they are part of the definition: an existing version with other parents is a different definition.',
    }),
  }),
});

const FeatureGroupPayload = (name: string, description: string) =>
  builder.objectRef<{ featureGroup: FeatureGroup }>(name).implement({
    description,
    fields: (t) => ({
      featureGroup: t.field({ type: FeatureGroupType, description: 'The feature group.', resolve: (p) => p.featureGroup }),
    }),
  });

builder.mutationField('createFeatureGroup', (t) =>
  t.field({
    type: FeatureGroupPayload('CreateFeatureGroupPayload', 'The created feature group, or the existing one with the same definition.'),
    description: 'Creates a feature group, or returns the existing one when the definition is the same (get-or-create).',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError] },
    args: { input: t.arg({ type: CreateFeatureGroupInput, required: true, description: 'The definition.' }) },
    resolve: async (_root, { input }, ctx) => {
      const featureGroup = await ctx.services.featureGroups.create(ctx.viewer, input);
      // Its subject exists from now on: producers may publish to it before any ingest through the API.
      await ctx.services.streams.prepare(ctx.viewer.projectName);
      return { featureGroup };
    },
  }),
);

const FeatureDescriptionInput = builder.inputType('FeatureDescriptionInput', {
  description: 'A new description for an existing feature.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Feature name.' }),
    description: t.string({ required: true, description: 'The new description.' }),
  }),
});

const UpdateFeatureGroupInput = builder.inputType('UpdateFeatureGroupInput', {
  description: 'Changes allowed within a version. Changing or dropping a feature needs a new version.',
  fields: (t) => ({
    description: t.string({ description: 'New description of the group.' }),
    featureDescriptions: t.field({ type: [FeatureDescriptionInput], description: 'New descriptions of features.' }),
    appendFeatures: t.field({ type: [FeatureInput], description: 'Features to append; existing rows read them as null.' }),
    statisticsConfig: t.field({
      type: 'JSON',
      description:
        'Statistics settings to change, as in createFeatureGroup: { enabled, histograms, correlations, exactUniqueness, columns, histogramBins }; omitted keys keep their values.',
    }),
    streamCommitIntervalMs: t.int({
      description:
        'Streamed rows (ingestFeatureGroupRows) become an offline commit at least this often, in milliseconds (1 000 to 86 400 000; default 10 000).',
    }),
    streamCommitRows: t.int({ description: 'Streamed rows become an offline commit as soon as this many wait (1 to 10 000 000; default 100 000).' }),
  }),
});

builder.mutationField('updateFeatureGroup', (t) =>
  t.field({
    type: FeatureGroupPayload('UpdateFeatureGroupPayload', 'The updated feature group.'),
    description: 'Updates descriptions or statistics settings, or appends nullable features.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group.' }),
      input: t.arg({ type: UpdateFeatureGroupInput, required: true, description: 'The changes.' }),
    },
    resolve: async (_root, args, ctx) => ({
      featureGroup: await ctx.services.featureGroups.update(ctx.viewer, args.featureGroup, args.input),
    }),
  }),
);

const DeleteFeatureGroupPayload = builder.objectRef<FeatureGroup>('DeleteFeatureGroupPayload').implement({
  description: 'The deleted feature group version.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name of the deleted group.' }),
    version: t.exposeInt('version', { description: 'Version deleted.' }),
  }),
});

builder.mutationField('deleteFeatureGroup', (t) =>
  t.field({
    type: DeleteFeatureGroupPayload,
    description: 'Deletes a feature group version, its offline files and online rows.',
    authScopes: { write: true },
    errors: { types: [NotFoundError, ConflictError] },
    args: { featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }) },
    resolve: async (_root, args, ctx) => {
      const group = await ctx.services.featureGroups.delete(ctx.viewer, args.featureGroup);
      await ctx.services.streams.forget(ctx.viewer.projectName, group);
      return group;
    },
  }),
);

const InsertFeatureGroupDataPayload = builder.objectRef<{ commit: Commit; featureGroup: FeatureGroup }>('InsertFeatureGroupDataPayload').implement({
  description: 'The commit the insert became.',
  fields: (t) => ({
    commit: t.field({ type: CommitRefType, description: 'The commit.', resolve: (p) => p.commit }),
    validationReport: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Data validation report of the insert (shaped like a Great Expectations result: success, statistics, results per expectation), when the group has an expectation suite; null otherwise.',
      resolve: (p) => p.commit.validationReport,
    }),
    featureGroup: t.field({ type: FeatureGroupType, description: 'The group after the insert.', resolve: (p) => p.featureGroup }),
  }),
});

const EXTENSIONS: Record<string, 'CSV' | 'PARQUET' | 'NDJSON'> = {
  csv: 'CSV',
  parquet: 'PARQUET',
  pq: 'PARQUET',
  ndjson: 'NDJSON',
  jsonl: 'NDJSON',
  json: 'NDJSON',
};

/**
 * The insert's input from its arguments: JSON `rows`, or an uploaded `file` read where the upload
 * layer spooled it (which keeps it until the operation has executed, then removes it).
 */
function insertSource(args: { rows?: readonly unknown[] | null; file?: File | null; format?: 'CSV' | 'PARQUET' | 'NDJSON' | null }): InsertSource {
  if ((args.rows == null) === (args.file == null)) throw ValidationError.at(['rows'], 'give either rows or file');
  if (args.rows) {
    const bad = args.rows.findIndex((r) => r === null || typeof r !== 'object' || Array.isArray(r));
    if (bad >= 0) throw ValidationError.at(['rows', bad + 1], 'each row must be an object keyed by feature name');
    return { kind: 'rows', rows: args.rows as Record<string, unknown>[] };
  }
  const file = args.file!;
  const format = args.format ?? EXTENSIONS[file.name.split('.').pop()?.toLowerCase() ?? ''];
  if (!format) throw ValidationError.at(['format'], `cannot tell the format of ${file.name}: give format`);
  if (!(file instanceof DiskFile)) throw ValidationError.at(['file'], 'send the file as a multipart upload');
  return { kind: 'file', path: file.path, format, name: file.name || null };
}

builder.mutationField('insertFeatureGroupData', (t) =>
  t.field({
    type: InsertFeatureGroupDataPayload,
    description:
      'Inserts rows as one atomic commit: JSON `rows` for small batches, or a `file` (multipart upload) for bulk. Values are checked against the schema; on any bad row nothing is written and a ValidationError names the row, column and reason. Every feature must be given (a file column, a key of each JSON row) unless `fillMissing` is true. When the group has an expectation suite, the rows are validated before they are committed: a failure under STRICT is a DataValidationError with the report and nothing is written; under ALWAYS the insert is committed with the report.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, DataValidationError, ConflictError] },
    args: {
      featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }),
      rows: t.arg({ type: ['JSON'], description: 'Rows as objects keyed by feature name.' }),
      file: t.arg({ type: 'File', description: 'A CSV, Parquet or NDJSON file.' }),
      format: t.arg({ type: DataFormatEnum, description: 'Format of `file`; from its extension when omitted.' }),
      operation: t.arg({ type: WriteOperationEnum, defaultValue: 'UPSERT', description: 'UPSERT (default) or INSERT.' }),
      storage: t.arg({ type: StorageEnum, defaultValue: 'BOTH', description: 'Stores to write; BOTH by default.' }),
      fillMissing: t.arg.boolean({
        defaultValue: false,
        description:
          'Insert null for features the input lacks (a file without the column, a JSON row without the key). False (default): such an input is rejected with a ValidationError naming the missing columns. Primary key and event time are required either way.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const { featureGroups } = ctx.services;
      const commit = await featureGroups.insert(ctx.viewer, args.featureGroup, insertSource(args), {
        operation: args.operation ?? 'UPSERT',
        storage: args.storage ?? 'BOTH',
        fillMissing: args.fillMissing ?? false,
      });
      return { commit, featureGroup: await featureGroups.get(ctx.viewer, args.featureGroup) };
    },
  }),
);
