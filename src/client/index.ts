/**
 * The typed TypeScript client of Granary (`import { GranaryClient } from 'granary/client'`).
 * Documents are checked against `schema.graphql` at compile time through gql.tada.
 */
export {
  GranaryClient,
  type BatchDataOptions,
  type DataFormat,
  type FeatureGroup,
  type FeatureGroupInput,
  type FeatureVector,
  type FeatureVectorOptions,
  type FeatureView,
  type FeatureViewInput,
  type GranaryClientOptions,
  type IngestOptions,
  type IngestResult,
  type InsertOptions,
  type InsertResult,
  type Model,
  type ModelFile,
  type ModelFileUpload,
  type ModelInput,
  type Ref,
  type SchemaChecked,
  type TrainingData,
  type TrainingDataset,
  type TrainingDatasetInput,
  type UnknownFieldPaths,
  type Upload,
} from './client.ts';
export {
  GranaryConflictError,
  GranaryDataValidationError,
  GranaryOverloadedError,
  GranaryError,
  GranaryForbiddenError,
  GranaryNotFoundError,
  GranaryRequestError,
  GranaryUnauthenticatedError,
  GranaryValidationError,
  type GranaryIssue,
  type GraphQLErrorEntry,
} from './errors.ts';
export { asDataFrame, column, columnIndex, columnNames, dropColumns, toRecords, type Column, type DataFrame } from './data-frame.ts';
export { fittedTransformations, inverseTransform, inverseTransformRecord, INVERTIBLE_FUNCTIONS, type FittedTransformation } from './transformations.ts';
export {
  buildOnnxModel,
  logisticRegressionGraph,
  logisticRegressionOnnx,
  onnxDataType,
  onnxMapType,
  onnxSequenceType,
  onnxTensorType,
  type LogisticRegressionGraphOptions,
  type LogisticRegressionOnnxOptions,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxElementType,
  type OnnxInitializer,
  type OnnxModelOptions,
  type OnnxNode,
  type OnnxSubgraph,
  type OnnxTensor,
  type OnnxType,
  type OnnxValueInfo,
} from './onnx-model.ts';
export { graphql, readFragment, type FragmentOf, type ResultOf, type TadaDocumentNode, type VariablesOf } from './graphql.ts';
export * as operations from './operations.ts';
