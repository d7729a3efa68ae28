import { modelArchivePath, modelFilePath } from '../shared/download-paths.ts';
import type { Framework } from '../../services/model/definition.ts';
import type { ModelState } from '../../services/model/model.service.ts';
import { builder } from '../builder.ts';
// The FeatureView type, for Model.featureView and FeatureView.models.
import '../feature-view/types.ts';

export const ModelFrameworkEnum = builder.enumType('ModelFramework', {
  description: 'The library or kind of a model, as Hopsworks names them.',
  values: {
    PYTHON: { description: 'Plain Python (any pickled or custom model).' },
    SKLEARN: { description: 'scikit-learn.' },
    XGBOOST: { description: 'XGBoost.' },
    TORCH: { description: 'PyTorch.' },
    TENSORFLOW: { description: 'TensorFlow / Keras.' },
    ONNX: { description: 'ONNX.' },
    LLM: { description: 'A large language model (weights, adapters, tokenizer…).' },
    OTHER: { description: 'Anything else.' },
  } as const,
});

export const ModelStateEnum = builder.enumType('ModelState', {
  description: 'Whether a model version’s files are complete.',
  values: {
    PENDING: { description: 'Files are being added in steps (`addModelFiles`); not served by `model`, `models` or `bestModel` unless asked.' },
    READY: { description: 'All files are in place.' },
  } as const,
});

export const SortDirectionEnum = builder.enumType('SortDirection', {
  description: 'Which end of an order is best.',
  values: {
    MAX: { description: 'The highest value (accuracy, F1, AUC…).' },
    MIN: { description: 'The lowest value (loss, RMSE…).' },
  } as const,
});

export const ModelRefInput = builder.inputType('ModelRef', {
  description: 'A model version by name and version; the latest version (in any state) when version is omitted.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Model name.' }),
    version: t.int({ description: 'Version; the latest when omitted.' }),
    alias: t.string({ description: 'An alias (`champion`) instead of a version.' }),
  }),
});

export const ModelFileType = builder.prismaObject('ModelFile', {
  description: 'One artifact file of a model version, checksummed when it was stored.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Path inside the version (`model/model.json`), normalized.' }),
    size: t.float({ description: 'Size in bytes.', resolve: (f) => Number(f.size) }),
    sha256: t.exposeString('sha256', { description: 'Lower-case hex SHA-256 of the content.' }),
    downloadUrl: t.string({
      description: 'Path of the file’s download, relative to the server’s origin. GET it with the same Authorization header.',
      select: { model: { select: { name: true, version: true } } },
      resolve: (f) => modelFilePath(f.model.name, f.model.version, f.path),
    }),
  }),
});

export const ModelType = builder.prismaNode('Model', {
  description: 'A registered model version: metrics, schema, input example and artifact files, and the feature view and training dataset it was trained from.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  // Extended unique filter: a global id of another project resolves to nothing.
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  // Another project's id resolves to null, not to a not-found error.
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique with the version in the project.' }),
    version: t.exposeInt('version', { description: 'Version, from 1.' }),
    framework: t.field({ type: ModelFrameworkEnum, description: 'Library or kind of the model.', resolve: (m) => m.framework as Framework }),
    servingArtifact: t.exposeString('servingArtifact', {
      nullable: true,
      description: 'Path of the ONNX file deployments run; null when the version has none.',
    }),
    description: t.exposeString('description', { description: 'What the model does.' }),
    metrics: t.field({ type: 'JSON', description: 'Metric name to number, e.g. `{ "accuracy": 0.93 }`.', resolve: (m) => m.metrics }),
    inputExample: t.expose('inputExample', { type: 'JSON', nullable: true, description: 'An example of the model’s input.' }),
    modelSchema: t.expose('modelSchema', {
      type: 'JSON',
      nullable: true,
      description:
        '`{ inputSchema: { columnarSchema: [{ name, type }] }, outputSchema: … }` as Hopsworks prints it (camelCase); derived from the training dataset when not given.',
    }),
    state: t.field({
      type: ModelStateEnum,
      description: 'PENDING while files are added in steps, READY once finalized.',
      resolve: (m) => m.state as ModelState,
    }),
    files: t.relation('files', { description: 'The artifact files, by path.', query: { orderBy: { path: 'asc' } } }),
    archiveUrl: t.string({
      description: 'Path of a tar archive of all the version’s files, relative to the server’s origin. GET it with the same Authorization header.',
      resolve: (m) => modelArchivePath(m.name, m.version),
    }),
    featureView: t.relation('featureView', { nullable: true, description: 'The feature view the model was trained from, if registered with one.' }),
    trainingDataset: t.relation('trainingDataset', {
      nullable: true,
      description: 'The training dataset the model was trained on, if registered with one.',
    }),
    aliases: t.stringList({
      description: 'Aliases pointing at this version (`champion`…), by name.',
      select: { aliases: { select: { alias: true }, orderBy: { alias: 'asc' } } },
      resolve: (m) => m.aliases.map((a) => a.alias),
    }),
    createdBy: t.exposeString('createdBy', { description: 'Name of the API key that registered it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the version was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the version last changed.' }),
  }),
});

builder.prismaObjectField('FeatureView', 'models', (t) =>
  t.relation('models', {
    description: 'Model versions trained from this view, by name then version.',
    args: { includePending: t.arg.boolean({ defaultValue: false, description: 'Also list PENDING versions.' }) },
    query: (args) => ({ where: args.includePending ? {} : { state: 'READY' }, orderBy: [{ name: 'asc' }, { version: 'asc' }] }),
  }),
);
