import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Model } from '../../generated/sqlite/client.ts';
import { builder } from '../builder.ts';
import { FeatureViewRefInput } from '../feature-view/inputs.ts';
import { ModelFrameworkEnum, ModelRefInput, ModelType } from './types.ts';

const ModelFileInput = builder.inputType('ModelFileInput', {
  description: 'An artifact file of a model version.',
  fields: (t) => ({
    path: t.string({
      description:
        'Where the file goes inside the version, e.g. `model/model.json`; the uploaded file’s name when omitted. A relative path with / between folders: no `..`, `.`, empty segments, backslashes, control characters or escapes.',
    }),
    file: t.field({ type: 'File', required: true, description: 'The file (GraphQL multipart upload).' }),
  }),
});

const CreateModelInput = builder.inputType('CreateModelInput', {
  description: 'A model version to register, with its files.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    version: t.int({ description: 'Version. Omitted: the next one. An existing version with the same definition and files is returned as it is.' }),
    framework: t.field({ type: ModelFrameworkEnum, required: true, description: 'Library or kind of the model.' }),
    description: t.string({ description: 'What the model does.' }),
    metrics: t.field({ type: 'JSON', description: 'Metric name to number (a flat object), e.g. `{ "accuracy": 0.93, "rmse": 1.2 }`.' }),
    inputExample: t.field({
      type: 'JSON',
      description:
        'An example input: an object keyed by column, an array of values in column order, or a list of those. Checked against the input schema when both are given.',
    }),
    modelSchema: t.field({
      type: 'JSON',
      description:
        '`{ inputSchema: { columnarSchema: [{ name, type }] } | { tensorSchema: [{ name, type, shape }] }, outputSchema: … }` (Hopsworks’ snake_case accepted). Omitted with featureView and trainingDatasetVersion: derived from the training dataset’s transformed features (input) and labels (output).',
    }),
    featureView: t.field({ type: FeatureViewRefInput, description: 'The feature view the model was trained from.' }),
    trainingDatasetVersion: t.int({ description: 'The version of the feature view’s training dataset it was trained on (needs featureView).' }),
    files: t.field({ type: [ModelFileInput], description: 'Artifact files, uploaded with the request.' }),
    pending: t.boolean({ description: 'Register the version as PENDING, to add more files with addModelFiles and then finalizeModel. Default false.' }),
    servingArtifact: t.string({
      description:
        'Path of the `.onnx` file among `files` that deployments run (framework ONNX: the only `.onnx` file when omitted). It is loaded and checked at registration: its inputs against the input schema, tensor outputs only, and the input example scored.',
    }),
  }),
});

const UpdateModelInput = builder.inputType('UpdateModelInput', {
  description: 'Changes to a model version’s description and metrics.',
  fields: (t) => ({
    description: t.string({ description: 'New description.' }),
    metrics: t.field({ type: 'JSON', description: 'Metrics merged into the existing ones; a null value removes that metric.' }),
  }),
});

const ModelPayload = (name: string, description: string) =>
  builder.objectRef<{ model: Model }>(name).implement({
    description,
    fields: (t) => ({
      model: t.field({ type: ModelType, description: 'The model version.', resolve: (p) => p.model }),
    }),
  });

builder.mutationField('createModel', (t) =>
  t.field({
    type: ModelPayload('CreateModelPayload', 'The registered model version (or the existing one with the same definition).'),
    description:
      'Registers a model version with its files (GraphQL multipart). The files are checksummed and moved into the version’s folder before the version is committed: a failed or interrupted registration registers nothing and leaves no file.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: { input: t.arg({ type: CreateModelInput, required: true, description: 'The model version and its files.' }) },
    resolve: async (_root, { input }, ctx) => ({ model: await ctx.services.models.create(ctx.viewer, input) }),
  }),
);

builder.mutationField('addModelFiles', (t) =>
  t.field({
    type: ModelPayload('AddModelFilesPayload', 'The model version with the files added.'),
    description:
      'Adds files to a PENDING model version (large artifacts in several requests). A file identical to one already there (same path and SHA-256) is skipped; another at the same path is refused.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: {
      model: t.arg({ type: ModelRefInput, required: true, description: 'The PENDING model version.' }),
      files: t.arg({ type: [ModelFileInput], required: true, description: 'The files, uploaded with the request.' }),
    },
    resolve: async (_root, args, ctx) => ({ model: await ctx.services.models.addFiles(ctx.viewer, args.model, args.files) }),
  }),
);

builder.mutationField('finalizeModel', (t) =>
  t.field({
    type: ModelPayload('FinalizeModelPayload', 'The model version, now READY.'),
    description: 'Marks a PENDING model version READY once all its files are in place. A READY version is returned as it is.',
    authScopes: { write: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError] },
    args: {
      model: t.arg({ type: ModelRefInput, required: true, description: 'The PENDING model version.' }),
      expectedFiles: t.arg.stringList({ description: 'Paths that must all have been added; refused (ValidationError) if any is missing.' }),
    },
    resolve: async (_root, args, ctx) => ({ model: await ctx.services.models.finalize(ctx.viewer, args.model, args.expectedFiles) }),
  }),
);

builder.mutationField('updateModel', (t) =>
  t.field({
    type: ModelPayload('UpdateModelPayload', 'The updated model version.'),
    description: 'Changes a model version’s description and merges metrics in.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      model: t.arg({ type: ModelRefInput, required: true, description: 'The model version.' }),
      input: t.arg({ type: UpdateModelInput, required: true, description: 'The changes.' }),
    },
    resolve: async (_root, args, ctx) => ({ model: await ctx.services.models.update(ctx.viewer, args.model, args.input) }),
  }),
);

const DeleteModelPayload = builder.objectRef<Model>('DeleteModelPayload').implement({
  description: 'The deleted model version.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name of the deleted model.' }),
    version: t.exposeInt('version', { description: 'Version deleted.' }),
  }),
});

builder.mutationField('deleteModel', (t) =>
  t.field({
    type: DeleteModelPayload,
    description: 'Deletes a model version, its aliases and its files. A version a deployment serves (by version, traffic, shadow or alias) is a ConflictError.',
    authScopes: { write: true },
    errors: { types: [NotFoundError, ConflictError] },
    args: {
      name: t.arg.string({ required: true, description: 'Model name.' }),
      version: t.arg.int({ required: true, description: 'Version to delete.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.models.delete(ctx.viewer, args.name, args.version),
  }),
);

const SetModelAliasPayload = builder.objectRef<{ alias: string; model: Model }>('SetModelAliasPayload').implement({
  description: 'The alias and the version it now points at.',
  fields: (t) => ({
    alias: t.exposeString('alias', { description: 'The alias.' }),
    model: t.field({ type: ModelType, description: 'The version the alias points at.', resolve: (p) => p.model }),
  }),
});

builder.mutationField('setModelAlias', (t) =>
  t.field({
    type: SetModelAliasPayload,
    description: 'Points an alias of a model name (`champion`) at one READY version, creating it or moving it from another version in one step.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      name: t.arg.string({ required: true, description: 'Model name.' }),
      alias: t.arg.string({ required: true, description: 'Alias: lower-case letters, digits, _ and -, starting with a letter.' }),
      version: t.arg.int({ required: true, description: 'The version it should point at.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.models.setAlias(ctx.viewer, args.name, args.alias, args.version),
  }),
);

const DeleteModelAliasPayload = builder.objectRef<{ name: string; alias: string; model: Model }>('DeleteModelAliasPayload').implement({
  description: 'The removed alias.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Model name.' }),
    alias: t.exposeString('alias', { description: 'The removed alias.' }),
    version: t.int({ description: 'The version it pointed at.', resolve: (p) => p.model.version }),
  }),
});

builder.mutationField('deleteModelAlias', (t) =>
  t.field({
    type: DeleteModelAliasPayload,
    description: 'Removes an alias of a model name.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: {
      name: t.arg.string({ required: true, description: 'Model name.' }),
      alias: t.arg.string({ required: true, description: 'The alias.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.models.deleteAlias(ctx.viewer, args.name, args.alias),
  }),
);
