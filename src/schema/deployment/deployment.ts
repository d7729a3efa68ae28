import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Deployment } from '../../generated/sqlite/client.ts';
import type { DeploymentStats } from '../../services/deployment/deployment.service.ts';
import type { Prediction, PredictResult } from '../../services/deployment/predict.ts';
import { builder } from '../builder.ts';
import { FeatureVectorRef } from '../feature-view/serving.ts';
import { DataFrameRef } from '../shared/data-frame.ts';
import { pageSize } from '../shared/pagination.ts';

const DeploymentStateEnum = builder.enumType('DeploymentState', {
  description: 'Whether a deployment answers predictions.',
  values: {
    RUNNING: { description: 'Answers predictions.' },
    STOPPED: { description: 'Answers none: predict is a DeploymentStoppedError (code DEPLOYMENT_STOPPED).' },
  } as const,
});

const TrafficRouteRef = builder.objectRef<{ version: number; alias: string | null; weight: number }>('TrafficRoute').implement({
  description: 'A share of a deployment’s traffic: the version it goes to now, and its weight.',
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'The model version (an alias resolved to where it points now).' }),
    alias: t.exposeString('alias', { nullable: true, description: 'The alias followed, when the share names one.' }),
    weight: t.exposeFloat('weight', { description: 'Relative weight; shares are weight / sum of weights.' }),
  }),
});

const DeploymentLoggingRef = builder.objectRef<Deployment>('DeploymentLogging').implement({
  description: 'Prediction logging of a deployment.',
  fields: (t) => ({
    enabled: t.exposeBoolean('loggingEnabled', { description: 'Whether served predictions are logged.' }),
    sampleRate: t.exposeFloat('loggingSampleRate', { description: 'Share of predicted rows logged (0–1).' }),
    featureGroup: t.string({
      nullable: true,
      description: 'Name of the feature group (version 1) holding the log; null until logging was first enabled.',
      resolve: (d) => (d.logGroupId ? `${d.name}_predictions` : null),
    }),
  }),
});

const DeploymentStatsRef = builder.objectRef<DeploymentStats>('DeploymentStats').implement({
  description: 'Predict requests of a deployment answered by this server process since it started; latencies of the last 2 048.',
  fields: (t) => ({
    requests: t.exposeInt('requests', { description: 'Requests answered or failed.' }),
    errors: t.exposeInt('errors', { description: 'Requests that failed.' }),
    p50Ms: t.exposeFloat('p50Ms', { nullable: true, description: 'Median latency in milliseconds.' }),
    p99Ms: t.exposeFloat('p99Ms', { nullable: true, description: '99th-percentile latency in milliseconds.' }),
  }),
});

const ShadowRef = builder.objectRef<{ version: number }>('DeploymentShadow').implement({
  description: 'The shadow version of a deployment.',
  fields: (t) => ({ version: t.exposeInt('version', { description: 'Model version.' }) }),
});

const DeploymentModelRef = builder.objectRef<Deployment>('DeploymentModel').implement({
  description: 'The model a deployment serves by default: a pinned version or a followed alias.',
  fields: (t) => ({
    name: t.exposeString('modelName', { description: 'Model name.' }),
    version: t.exposeInt('modelVersion', { nullable: true, description: 'The pinned version; null when an alias is followed.' }),
    alias: t.exposeString('modelAlias', { nullable: true, description: 'The alias followed: moving it moves the traffic.' }),
  }),
});

export const DeploymentType = builder.prismaNode('Deployment', {
  description:
    'A model served for predictions: `predict` looks up the features of each entity through the model’s own feature view and training dataset, runs its ONNX file in process, and answers. Traffic may be split over versions (sticky per entity); a shadow version is scored and only logged.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique in the project.' }),
    description: t.exposeString('description', { description: 'What it serves and for whom.' }),
    state: t.field({ type: DeploymentStateEnum, description: 'RUNNING or STOPPED.', resolve: (d) => d.state as 'RUNNING' | 'STOPPED' }),
    model: t.field({ type: DeploymentModelRef, description: 'The model reference served when no traffic split is given.', resolve: (d) => d }),
    traffic: t.field({
      type: [TrafficRouteRef],
      description: 'Where requests go now, with weights (one entry with weight 1 when there is no split).',
      resolve: (d, _args, ctx) => ctx.services.deployments.routesOf(ctx.viewer, d),
    }),
    shadow: t.field({
      type: ShadowRef,
      nullable: true,
      description: 'A version scored on the same vectors as the served one; its predictions are only logged. Null when none.',
      resolve: (d) => (d.shadowVersion == null ? null : { version: d.shadowVersion }),
    }),
    logging: t.field({ type: DeploymentLoggingRef, description: 'Prediction logging.', resolve: (d) => d }),
    stats: t.field({
      type: DeploymentStatsRef,
      description: 'Requests and latencies in this process.',
      resolve: (d, _a, ctx) => ctx.services.deployments.statsOf(d),
    }),
    createdBy: t.exposeString('createdBy', { description: 'Name of the API key that created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('deployment', (t) =>
  t.prismaField({
    type: 'Deployment',
    nullable: true,
    description: 'A deployment of the caller’s project by name.',
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true, description: 'Deployment name.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.deployment.findUnique({ ...query, where: { projectId_name: { projectId: ctx.viewer.projectId, name: args.name } } }),
  }),
);

builder.queryField('deployments', (t) =>
  t.prismaConnection(
    {
      type: 'Deployment',
      cursor: 'id',
      description: 'Deployments of the caller’s project, by name.',
      authScopes: { read: true },
      args: {
        model: t.arg.string({ description: 'Only deployments of this model name.' }),
        state: t.arg({ type: DeploymentStateEnum, description: 'Only deployments in this state.' }),
      },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.deployment.findMany({ ...query, where: ctx.services.deployments.listWhere(ctx.viewer, args), orderBy: { name: 'asc' } }),
    },
    { name: 'DeploymentConnection', description: 'A page of deployments.' },
    { name: 'DeploymentEdge', description: 'A deployment in a page, with its cursor.' },
  ),
);

const PredictionRef = builder.objectRef<Prediction>('Prediction').implement({
  description: 'One entry’s prediction.',
  fields: (t) => ({
    prediction: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The model’s prediction (a class label, a number, or an array); null when the entry was not scored (see `missing`).',
      resolve: (p) => p.prediction as never,
    }),
    probabilities: t.floatList({
      nullable: true,
      description: 'Class probabilities in class order, when the model gives them.',
      resolve: (p) => p.probabilities as number[] | null,
    }),
    modelVersion: t.exposeInt('modelVersion', { description: 'The model version that answered.' }),
    trainingDatasetVersion: t.exposeInt('trainingDatasetVersion', { description: 'Whose fitted transformations built the vector.' }),
    vector: t.field({
      type: FeatureVectorRef,
      nullable: true,
      description: 'The model’s input, with `options: { includeVector: true }`.',
      resolve: (p) => p.vector,
    }),
    missing: t.stringList({
      description: 'Input features without a value (no online row for their group, or a null value): the model is not called for such an entry.',
      resolve: (p) => p.missing as string[],
    }),
  }),
});

const PredictResultRef = builder.objectRef<PredictResult>('PredictResult').implement({
  description: 'The answer to one predict request.',
  fields: (t) => ({
    requestId: t.exposeString('requestId', { description: 'Id of the request, as the prediction log records it.' }),
    deployment: t.exposeString('deployment', { description: 'The deployment that answered.' }),
    predictions: t.field({ type: [PredictionRef], description: 'One per entry, in order.', resolve: (r) => r.predictions as Prediction[] }),
  }),
});

const PredictOptionsInput = builder.inputType('PredictOptions', {
  description: 'What else a predict answer holds.',
  fields: (t) => ({
    includeVector: t.boolean({ description: 'Return each entry’s model input vector too. Default false.' }),
  }),
});

builder.queryField('predict', (t) =>
  t.field({
    type: PredictResultRef,
    description:
      'Predictions of a running deployment for entities by serving key: features from the online store through the model’s feature view, transformed with its training dataset’s fitted parameters, scored by its ONNX model in process. READ keys may predict.',
    authScopes: { read: true },
    args: {
      deployment: t.arg.string({ required: true, description: 'Deployment name.' }),
      entries: t.arg({ type: ['JSON'], required: true, description: 'Serving keys of each entity, e.g. [{ "customerid": "7590-VHVEG" }].' }),
      passedFeatures: t.arg({
        type: ['JSON'],
        required: { list: false, items: false },
        description: 'Per entry, feature values that override the stored ones (null for none), as in featureVectors.',
      }),
      requestParameters: t.arg({
        type: ['JSON'],
        required: { list: false, items: false },
        description: 'Per entry, values for on-demand features (null for none).',
      }),
      options: t.arg({ type: PredictOptionsInput, description: 'What else to return.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.predictor.predict(ctx.viewer, args.deployment, args.entries, args.passedFeatures, args.requestParameters, args.options ?? {}),
  }),
);

builder.queryField('readLog', (t) =>
  t.field({
    type: DataFrameRef,
    description:
      'Logged predictions of a deployment, oldest first: request id, entity keys, raw and transformed vectors (JSON), per-feature status, prediction, model and training dataset version, time. The log is the feature group `<deployment>_predictions`.',
    authScopes: { read: true },
    args: {
      deployment: t.arg.string({ required: true, description: 'Deployment name.' }),
      from: t.arg({ type: 'DateTime', description: 'Only rows logged at or after this time.' }),
      to: t.arg({ type: 'DateTime', description: 'Only rows logged before this time.' }),
      modelVersion: t.arg.int({ description: 'Only rows of this model version.' }),
      shadow: t.arg.boolean({ description: 'true: only the shadow version’s rows; false: only served rows; omitted: both.' }),
      first: t.arg.int({ description: 'The oldest rows, at most this many (1–100 000; default 1 000 when last is not given).' }),
      last: t.arg.int({ description: 'The newest rows instead, at most this many (1–100 000), still oldest first.' }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.first != null && args.last != null) throw ValidationError.at(['last'], 'give first or last, not both');
      const deployment = await ctx.services.deployments.get(ctx.viewer, args.deployment);
      return ctx.services.deployments.log.read(ctx.viewer, deployment, {
        from: args.from,
        to: args.to,
        modelVersion: args.modelVersion,
        shadow: args.shadow,
        ...(args.last != null ? { first: pageSize(args.last, 1000, 100_000, 'last'), newest: true } : { first: pageSize(args.first, 1000, 100_000) }),
      });
    },
  }),
);

const DeploymentModelInput = builder.inputType('DeploymentModelInput', {
  description: 'The model a deployment serves: a version, an alias to follow, or neither (the latest version, pinned).',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Model name.' }),
    version: t.int({ description: 'A version to pin.' }),
    alias: t.string({ description: 'An alias to follow (`champion`): moving it moves the traffic.' }),
  }),
});

const TrafficInput = builder.inputType('TrafficInput', {
  description: 'A share of traffic: a version or an alias of the deployment’s model, and a relative weight.',
  fields: (t) => ({
    version: t.int({ description: 'Model version.' }),
    alias: t.string({ description: 'Or an alias, followed.' }),
    weight: t.float({ required: true, description: 'Relative weight (80 and 20, or 0.8 and 0.2).' }),
  }),
});

const ShadowInput = builder.inputType('ShadowInput', {
  description: 'A shadow version: scored on the same vectors as the served one, its predictions only logged.',
  fields: (t) => ({ version: t.int({ description: 'Model version; null removes the shadow (updateDeployment).' }) }),
});

const LoggingInput = builder.inputType('DeploymentLoggingInput', {
  description: 'Prediction logging.',
  fields: (t) => ({
    enabled: t.boolean({ required: true, description: 'Log predicted rows to the feature group `<deployment>_predictions`.' }),
    sampleRate: t.float({ description: 'Share of rows logged, 0–1 (default 1).' }),
  }),
});

const CreateDeploymentInput = builder.inputType('CreateDeploymentInput', {
  description: 'A new deployment.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Name: lower-case letters, digits and _, at most 51 characters.' }),
    description: t.string({ description: 'What it serves and for whom.' }),
    model: t.field({ type: DeploymentModelInput, required: true, description: 'The model served.' }),
    traffic: t.field({ type: [TrafficInput], description: 'A split over versions; all traffic to `model` when omitted.' }),
    shadow: t.field({ type: ShadowInput, description: 'A shadow version.' }),
    logging: t.field({ type: LoggingInput, description: 'Prediction logging (off by default).' }),
    start: t.boolean({ description: 'Start serving at once (default true).' }),
  }),
});

const UpdateDeploymentInput = builder.inputType('UpdateDeploymentInput', {
  description: 'Changes to a deployment; omitted fields stay as they are.',
  fields: (t) => ({
    description: t.string({ description: 'What it serves and for whom.' }),
    model: t.field({
      type: builder.inputType('DeploymentVersionInput', {
        description: 'A version to pin, or an alias to follow, of the deployment’s model.',
        fields: (f) => ({ version: f.int({ description: 'A version to pin.' }), alias: f.string({ description: 'An alias to follow.' }) }),
      }),
      description: 'What the deployment serves when no split is given.',
    }),
    traffic: t.field({ type: [TrafficInput], description: 'A new split; an empty list sends all traffic to the model reference.' }),
    shadow: t.field({ type: ShadowInput, description: 'A new shadow version, or `{ version: null }` for none.' }),
    logging: t.field({ type: LoggingInput, description: 'Prediction logging.' }),
  }),
});

const DeploymentPayload = (name: string, description: string) =>
  builder.objectRef<{ deployment: Deployment }>(name).implement({
    description,
    fields: (t) => ({ deployment: t.field({ type: DeploymentType, description: 'The deployment.', resolve: (p) => p.deployment }) }),
  });

builder.mutationField('createDeployment', (t) =>
  t.field({
    type: DeploymentPayload('CreateDeploymentPayload', 'The new deployment.'),
    description:
      'Deploys a model: every version it would serve must be READY, have an ONNX serving artifact, and have been registered with a feature view and training dataset version.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    args: { input: t.arg({ type: CreateDeploymentInput, required: true, description: 'The deployment.' }) },
    resolve: async (_root, args, ctx) => ({ deployment: await ctx.services.deployments.create(ctx.viewer, args.input) }),
  }),
);

builder.mutationField('updateDeployment', (t) =>
  t.field({
    type: DeploymentPayload('UpdateDeploymentPayload', 'The changed deployment.'),
    description: 'Changes a deployment’s model reference, traffic, shadow or logging; requests after the change use it.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    args: {
      name: t.arg.string({ required: true, description: 'Deployment name.' }),
      input: t.arg({ type: UpdateDeploymentInput, required: true, description: 'The changes.' }),
    },
    resolve: async (_root, args, ctx) => ({ deployment: await ctx.services.deployments.update(ctx.viewer, args.name, args.input) }),
  }),
);

for (const [field, state, text] of [
  ['startDeployment', 'RUNNING', 'Starts answering predictions.'],
  ['stopDeployment', 'STOPPED', 'Stops answering predictions (predict then fails with DEPLOYMENT_STOPPED).'],
] as const) {
  builder.mutationField(field, (t) =>
    t.field({
      type: DeploymentPayload(`${field[0]!.toUpperCase()}${field.slice(1)}Payload`, 'The deployment in its new state.'),
      description: text,
      authScopes: { write: true },
      errors: { types: [ValidationError, NotFoundError] },
      args: { name: t.arg.string({ required: true, description: 'Deployment name.' }) },
      resolve: async (_root, args, ctx) => ({ deployment: await ctx.services.deployments.setState(ctx.viewer, args.name, state) }),
    }),
  );
}

builder.mutationField('deleteDeployment', (t) =>
  t.field({
    type: DeploymentPayload('DeleteDeploymentPayload', 'The deleted deployment.'),
    description: 'Deletes a deployment. Its prediction log (the feature group) stays.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: { name: t.arg.string({ required: true, description: 'Deployment name.' }) },
    resolve: async (_root, args, ctx) => ({ deployment: await ctx.services.deployments.delete(ctx.viewer, args.name) }),
  }),
);
