/**
 * The operations the Granary client sends, typed against `schema.graphql` by gql.tada: a field
 * the schema does not have, or a variable of the wrong type, is a compile error.
 */
import { graphql } from './graphql.ts';

/** Every typed error of a mutation result: all implement `Error`; some say more. */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error {
    message
    ... on ValidationError { issues { path message } }
    ... on NotFoundError { kind key }
  }
`);

export const DataFrameFields = graphql(`
  fragment DataFrameFields on DataFrame {
    columns { name type }
    rows
    rowCount
  }
`);

export const FeatureGroupFields = graphql(`
  fragment FeatureGroupFields on FeatureGroup {
    id
    name
    version
    description
    primaryKey
    eventTime
    onlineEnabled
    features { name type description primary eventTime }
    rowCount
    createdAt
    updatedAt
  }
`);

export const FeatureViewFields = graphql(`
  fragment FeatureViewFields on FeatureView {
    id
    name
    version
    description
    labels
    servingKeys
    features { name type description label feature featureGroup { name version } }
    transformations { function feature outputColumn args description }
    featureGroups { name version }
    trainingDatasets { version }
    createdAt
  }
`);

export const TrainingDatasetFields = graphql(`
  fragment TrainingDatasetFields on TrainingDataset {
    version
    description
    split
    format
    createdAt
    splits { name rowCount }
    transformationStatistics
  }
`);

export const ModelFields = graphql(`
  fragment ModelFields on Model {
    id
    name
    version
    framework
    description
    metrics
    inputExample
    modelSchema
    state
    aliases
    createdAt
    createdBy
    archiveUrl
    servingArtifact
    files { path size sha256 downloadUrl }
    featureView { name version }
    trainingDataset { version }
  }
`);

export const ViewerQuery = graphql(`
  query Viewer {
    viewer { project { id name } scopes apiKey { name } }
  }
`);

export const FeatureGroupQuery = graphql(
  `
  query FeatureGroup($name: String!, $version: Int) {
    featureGroup(name: $name, version: $version) { ...FeatureGroupFields }
  }
`,
  [FeatureGroupFields],
);

export const CreateFeatureGroupMutation = graphql(
  `
  mutation CreateFeatureGroup($input: CreateFeatureGroupInput!) {
    createFeatureGroup(input: $input) {
      __typename
      ... on CreateFeatureGroupPayload { featureGroup { ...FeatureGroupFields } }
      ...ErrorFields
    }
  }
`,
  [FeatureGroupFields, ErrorFields],
);

export const IngestFeatureGroupRowsMutation = graphql(
  `
  mutation IngestFeatureGroupRows($featureGroup: FeatureGroupRef!, $rows: [JSON!]!, $idempotencyKey: String, $waitFor: IngestWait) {
    ingestFeatureGroupRows(featureGroup: $featureGroup, rows: $rows, idempotencyKey: $idempotencyKey, waitFor: $waitFor) {
      __typename
      ... on IngestFeatureGroupRowsPayload {
        accepted
        duplicate
        sequence
        onlineAt
        commit { id committedAt rowCount logRange { from to } }
      }
      ... on OverloadedError { retryAfterMs }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const InsertFeatureGroupDataMutation = graphql(
  `
  mutation InsertFeatureGroupData(
    $featureGroup: FeatureGroupRef!
    $rows: [JSON!]
    $file: File
    $format: DataFormat
    $operation: WriteOperation
    $storage: Storage
    $fillMissing: Boolean
  ) {
    insertFeatureGroupData(
      featureGroup: $featureGroup
      rows: $rows
      file: $file
      format: $format
      operation: $operation
      storage: $storage
      fillMissing: $fillMissing
    ) {
      __typename
      ... on InsertFeatureGroupDataPayload {
        commit { id committedAt rowCount rowsInserted rowsUpdated storage }
        validationReport
        featureGroup { name version rowCount }
      }
      ... on DataValidationError { report }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const ReadFeatureGroupQuery = graphql(
  `
  query ReadFeatureGroup($name: String!, $version: Int, $first: Int, $asOf: DateTime) {
    featureGroup(name: $name, version: $version) { name version read(first: $first, asOf: $asOf) { ...DataFrameFields } }
  }
`,
  [DataFrameFields],
);

export const FeatureViewQuery = graphql(
  `
  query FeatureView($name: String!, $version: Int) {
    featureView(name: $name, version: $version) { ...FeatureViewFields }
  }
`,
  [FeatureViewFields],
);

export const CreateFeatureViewMutation = graphql(
  `
  mutation CreateFeatureView($input: CreateFeatureViewInput!) {
    createFeatureView(input: $input) {
      __typename
      ... on CreateFeatureViewPayload { featureView { ...FeatureViewFields } }
      ...ErrorFields
    }
  }
`,
  [FeatureViewFields, ErrorFields],
);

export const CreateTrainingDatasetMutation = graphql(
  `
  mutation CreateTrainingDataset($featureView: FeatureViewRef!, $input: CreateTrainingDatasetInput) {
    createTrainingDataset(featureView: $featureView, input: $input) {
      __typename
      ... on CreateTrainingDatasetPayload { trainingDataset { ...TrainingDatasetFields } }
      ...ErrorFields
    }
  }
`,
  [TrainingDatasetFields, ErrorFields],
);

export const TrainingDatasetQuery = graphql(
  `
  query TrainingDataset($featureView: FeatureViewRef!, $version: Int) {
    trainingDataset(featureView: $featureView, version: $version) { ...TrainingDatasetFields }
  }
`,
  [TrainingDatasetFields],
);

export const TrainingDataQuery = graphql(
  `
  query TrainingData($featureView: FeatureViewRef!, $version: Int, $first: Int, $transformed: Boolean) {
    trainingDataset(featureView: $featureView, version: $version) {
      version
      description
      split
      format
      createdAt
      transformationStatistics
      splits { name rowCount data(first: $first, transformed: $transformed) { ...DataFrameFields } }
    }
  }
`,
  [DataFrameFields],
);

export const BatchDataQuery = graphql(
  `
  query BatchData(
    $featureView: FeatureViewRef
    $model: ModelRef
    $trainingDatasetVersion: Int
    $startTime: DateTime
    $endTime: DateTime
    $transformed: Boolean
    $includeKeys: Boolean
    $first: Int
  ) {
    batchData(
      featureView: $featureView
      model: $model
      trainingDatasetVersion: $trainingDatasetVersion
      startTime: $startTime
      endTime: $endTime
      transformed: $transformed
      includeKeys: $includeKeys
      first: $first
    ) { ...DataFrameFields }
  }
`,
  [DataFrameFields],
);

export const FeatureVectorQuery = graphql(`
  query FeatureVector($featureView: FeatureViewRef, $model: ModelRef, $entry: JSON!, $passedFeatures: JSON, $trainingDatasetVersion: Int) {
    featureVector(
      featureView: $featureView
      model: $model
      entry: $entry
      passedFeatures: $passedFeatures
      trainingDatasetVersion: $trainingDatasetVersion
    ) { features values record missing }
  }
`);

export const FeatureVectorsQuery = graphql(`
  query FeatureVectors($featureView: FeatureViewRef, $model: ModelRef, $entries: [JSON!]!, $passedFeatures: [JSON], $trainingDatasetVersion: Int) {
    featureVectors(
      featureView: $featureView
      model: $model
      entries: $entries
      passedFeatures: $passedFeatures
      trainingDatasetVersion: $trainingDatasetVersion
    ) { features values record missing }
  }
`);

export const CreateModelMutation = graphql(
  `
  mutation CreateModel($input: CreateModelInput!) {
    createModel(input: $input) {
      __typename
      ... on CreateModelPayload { model { ...ModelFields } }
      ...ErrorFields
    }
  }
`,
  [ModelFields, ErrorFields],
);

export const ModelQuery = graphql(
  `
  query Model($name: String!, $version: Int, $alias: String) {
    model(name: $name, version: $version, alias: $alias) { ...ModelFields }
  }
`,
  [ModelFields],
);

export const BestModelQuery = graphql(
  `
  query BestModel($name: String!, $metric: String!, $direction: SortDirection) {
    bestModel(name: $name, metric: $metric, direction: $direction) { ...ModelFields }
  }
`,
  [ModelFields],
);

export const DeploymentFields = graphql(`
  fragment DeploymentFields on Deployment {
    id
    name
    description
    state
    model { name version alias }
    traffic { version alias weight }
    shadow { version }
    logging { enabled sampleRate featureGroup }
    stats { requests errors p50Ms p99Ms }
    createdAt
    createdBy
    updatedAt
  }
`);

export const DeploymentQuery = graphql(
  `
  query Deployment($name: String!) {
    deployment(name: $name) { ...DeploymentFields }
  }
`,
  [DeploymentFields],
);

export const CreateDeploymentMutation = graphql(
  `
  mutation CreateDeployment($input: CreateDeploymentInput!) {
    createDeployment(input: $input) {
      __typename
      ... on CreateDeploymentPayload { deployment { ...DeploymentFields } }
      ...ErrorFields
    }
  }
`,
  [DeploymentFields, ErrorFields],
);

export const UpdateDeploymentMutation = graphql(
  `
  mutation UpdateDeployment($name: String!, $input: UpdateDeploymentInput!) {
    updateDeployment(name: $name, input: $input) {
      __typename
      ... on UpdateDeploymentPayload { deployment { ...DeploymentFields } }
      ...ErrorFields
    }
  }
`,
  [DeploymentFields, ErrorFields],
);

export const StartDeploymentMutation = graphql(
  `
  mutation StartDeployment($name: String!) {
    startDeployment(name: $name) {
      __typename
      ... on StartDeploymentPayload { deployment { ...DeploymentFields } }
      ...ErrorFields
    }
  }
`,
  [DeploymentFields, ErrorFields],
);

export const StopDeploymentMutation = graphql(
  `
  mutation StopDeployment($name: String!) {
    stopDeployment(name: $name) {
      __typename
      ... on StopDeploymentPayload { deployment { ...DeploymentFields } }
      ...ErrorFields
    }
  }
`,
  [DeploymentFields, ErrorFields],
);

export const DeleteDeploymentMutation = graphql(
  `
  mutation DeleteDeployment($name: String!) {
    deleteDeployment(name: $name) {
      __typename
      ... on DeleteDeploymentPayload { deployment { ...DeploymentFields } }
      ...ErrorFields
    }
  }
`,
  [DeploymentFields, ErrorFields],
);

export const PredictQuery = graphql(`
  query Predict($deployment: String!, $entries: [JSON!]!, $passedFeatures: [JSON], $requestParameters: [JSON], $options: PredictOptions) {
    predict(deployment: $deployment, entries: $entries, passedFeatures: $passedFeatures, requestParameters: $requestParameters, options: $options) {
      requestId
      deployment
      predictions { prediction probabilities modelVersion trainingDatasetVersion missing vector { features values } }
    }
  }
`);

export const ReadLogQuery = graphql(
  `
  query ReadLog($deployment: String!, $from: DateTime, $to: DateTime, $modelVersion: Int, $shadow: Boolean, $first: Int) {
    readLog(deployment: $deployment, from: $from, to: $to, modelVersion: $modelVersion, shadow: $shadow, first: $first) { ...DataFrameFields }
  }
`,
  [DataFrameFields],
);

export const RegistryEventsSubscription = graphql(`
  subscription RegistryEvents($kinds: [String!]) {
    registryEvents(kinds: $kinds) { sequence kind name version action at }
  }
`);
