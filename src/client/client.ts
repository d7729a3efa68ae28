/**
 * GranaryClient: the calls a feature, training or inference pipeline makes, over the typed
 * operations in `operations.ts`. Mutations' typed errors are thrown as {@link GranaryError}s;
 * files (feature group inserts, model artifacts) go as GraphQL multipart requests streamed
 * from disk; subscriptions run over graphql-ws.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { print, type DocumentNode } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { asDataFrame, type DataFrame } from './data-frame.ts';
import { errorFromResult, GranaryError, GranaryRequestError, type ErrorResult, type GraphQLErrorEntry } from './errors.ts';
import type { ResultOf, TadaDocumentNode, VariablesOf } from './graphql.ts';
import { ACCEPT, extractFiles, postMultipart, uploadBlob, type ExtractedFile, type Upload } from './multipart.ts';
import {
  BatchDataQuery,
  BestModelQuery,
  CreateFeatureGroupMutation,
  CreateFeatureViewMutation,
  CreateDeploymentMutation,
  CreateModelMutation,
  CreateTrainingDatasetMutation,
  DeleteDeploymentMutation,
  DeploymentQuery,
  FeatureGroupQuery,
  FeatureVectorQuery,
  FeatureVectorsQuery,
  FeatureViewQuery,
  IngestFeatureGroupRowsMutation,
  InsertFeatureGroupDataMutation,
  ModelQuery,
  PredictQuery,
  ReadFeatureGroupQuery,
  ReadLogQuery,
  StartDeploymentMutation,
  StopDeploymentMutation,
  TrainingDataQuery,
  TrainingDatasetQuery,
  UpdateDeploymentMutation,
  ViewerQuery,
} from './operations.ts';

// ---------------------------------------------------------------------------------------------
// Compile-time checks of documents

type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * Paths of the result fields gql.tada could not type: fields the schema does not have come out
 * as `unknown` (every scalar of the schema, JSON included, has a concrete type here).
 */
export type UnknownFieldPaths<T, Path extends string = ''> =
  IsAny<T> extends true
    ? never
    : unknown extends T
      ? Path
      : T extends readonly (infer E)[]
        ? UnknownFieldPaths<E, Path>
        : T extends object
          ? { [K in keyof T & string]-?: UnknownFieldPaths<T[K], Path extends '' ? K : `${Path}.${K}`> }[keyof T & string]
          : never;

/**
 * `unknown` for a document whose every selected field exists in the schema; otherwise a
 * property the document lacks, so passing it to the client does not compile and the error
 * names the offending fields.
 */
export type SchemaChecked<D> = [UnknownFieldPaths<ResultOf<D>>] extends [never]
  ? unknown
  : { readonly 'selects fields that schema.graphql does not have': UnknownFieldPaths<ResultOf<D>> };

// biome-ignore lint/suspicious/noExplicitAny: the bound of every document, whatever its result and variables
type AnyDocument = TadaDocumentNode<any, any>;

// biome-ignore lint/complexity/noBannedTypes: `{} extends V` asks whether every variable is optional
type VariablesArgs<D extends AnyDocument> = {} extends VariablesOf<D> ? [variables?: VariablesOf<D>] : [variables: VariablesOf<D>];

// ---------------------------------------------------------------------------------------------
// Public types

/** A feature group, feature view or model by name and version (the latest when omitted); a bare name is the latest. */
export type Ref = string | { readonly name: string; readonly version?: number | null };

type Payload<R> = Extract<R, { __typename: `${string}Payload` }>;

export type FeatureGroup = NonNullable<ResultOf<typeof FeatureGroupQuery>['featureGroup']>;
export type FeatureGroupInput = VariablesOf<typeof CreateFeatureGroupMutation>['input'];
export type IngestResult = Omit<Payload<ResultOf<typeof IngestFeatureGroupRowsMutation>['ingestFeatureGroupRows']>, '__typename'>;
export type InsertResult = Omit<Payload<ResultOf<typeof InsertFeatureGroupDataMutation>['insertFeatureGroupData']>, '__typename'>;
export type FeatureView = NonNullable<ResultOf<typeof FeatureViewQuery>['featureView']>;
export type FeatureViewInput = VariablesOf<typeof CreateFeatureViewMutation>['input'];
export type TrainingDatasetInput = NonNullable<VariablesOf<typeof CreateTrainingDatasetMutation>['input']>;
export type TrainingDataset = NonNullable<ResultOf<typeof TrainingDatasetQuery>['trainingDataset']>;
/** One entity's online features, transformed: the model's input row. */
export interface FeatureVector {
  /** Feature names in order (labels left out; transformed features replaced by their outputs). */
  readonly features: string[];
  /** Values in the order of `features`. */
  readonly values: unknown[];
  /** Values keyed by feature name. */
  readonly record: Record<string, unknown>;
  /** Feature groups with no online row for this entity (their features are null). */
  readonly missing: string[];
}

function asVector(raw: ResultOf<typeof FeatureVectorQuery>['featureVector']): FeatureVector {
  return { features: raw.features, values: raw.values as unknown[], record: raw.record as Record<string, unknown>, missing: raw.missing };
}
export type Model = NonNullable<ResultOf<typeof ModelQuery>['model']>;
export type ModelFile = Model['files'][number];
/** createModel's fields but the files (given apart): name, framework, metrics, modelSchema, servingArtifact, … */
export type ModelInput = Omit<VariablesOf<typeof CreateModelMutation>['input'], 'files'>;
/** A model version by name, and a version or an alias (the latest version when both are omitted). */
export interface ModelRef {
  readonly name: string;
  readonly version?: number | null;
  readonly alias?: string | null;
}
export type Deployment = NonNullable<ResultOf<typeof DeploymentQuery>['deployment']>;
export type DeploymentInput = VariablesOf<typeof CreateDeploymentMutation>['input'];
export type DeploymentUpdate = VariablesOf<typeof UpdateDeploymentMutation>['input'];
export type PredictResult = ResultOf<typeof PredictQuery>['predict'];
export type Prediction = PredictResult['predictions'][number];
export type DataFormat = NonNullable<VariablesOf<typeof InsertFeatureGroupDataMutation>['format']>;

/** A training dataset version with the data of each split. */
export interface TrainingData extends Omit<TrainingDataset, 'splits'> {
  /** Each split's rows (labels included), by split name: `train`, `test`, `validation`. */
  readonly splits: Readonly<Record<string, DataFrame>>;
}

export type { Upload } from './multipart.ts';

/** A live subscription: iterate it for events; `return()` unsubscribes. */
export interface Subscription<T> extends AsyncIterableIterator<T, undefined> {
  return(value?: unknown): Promise<IteratorReturnResult<undefined>>;
}

/** An artifact file of a model version. */
export interface ModelFileUpload {
  /** Where the file goes inside the version (`model/model.json`); the file's base name when omitted. */
  readonly path?: string;
  /** A path on disk, or the content. */
  readonly file: Upload;
}

export interface GranaryClientOptions {
  /** The server's origin (`http://127.0.0.1:4000`) or its GraphQL endpoint (`…/graphql`). */
  readonly url: string;
  /** An API key; sent as `Authorization: Bearer <key>`. */
  readonly apiKey: string;
  /** A fetch implementation for JSON requests and downloads (default: the global one); multipart uploads use node:http. */
  readonly fetch?: typeof fetch;
}

export interface InsertOptions {
  /** Format of a file; from its extension when omitted. */
  readonly format?: DataFormat;
  /** UPSERT (default) or INSERT. */
  readonly operation?: 'UPSERT' | 'INSERT';
  /** Stores to write: BOTH (default), OFFLINE or ONLINE. */
  readonly storage?: 'BOTH' | 'OFFLINE' | 'ONLINE';
  /** Insert null for features the data lacks; false (default): such data is rejected, naming the missing columns. */
  readonly fillMissing?: boolean;
  /** The uploaded file's name, when `data` is a Blob or bytes (the server reads the format from its extension). */
  readonly fileName?: string;
}

export interface IngestOptions {
  /** The same rows sent again with the same key (within 10 minutes) are accepted once. */
  readonly idempotencyKey?: string;
  /** ACCEPTED (in the log), ONLINE (default: readable by featureVector) or OFFLINE (in an offline commit). */
  readonly waitFor?: 'ACCEPTED' | 'ONLINE' | 'OFFLINE';
  /** Attempts while the server answers OverloadedError (waiting its retryAfterMs between); default 5. */
  readonly attempts?: number;
}

export interface BatchDataOptions {
  /** Serve through a registered model version: its feature view and training dataset (the feature view may then be null). */
  readonly model?: ModelRef;
  readonly trainingDatasetVersion?: number;
  readonly startTime?: string;
  readonly endTime?: string;
  /** Apply the transformation functions (default true). */
  readonly transformed?: boolean;
  /** Prepend the serving keys and the left event time (default false). */
  readonly includeKeys?: boolean;
  /** At most this many rows (default 1 000 000, the server's maximum). */
  readonly first?: number;
}

export interface FeatureVectorOptions {
  /** Serve through a registered model version: its feature view and training dataset (the feature view may then be null). */
  readonly model?: ModelRef;
  readonly trainingDatasetVersion?: number;
}

export interface PredictOptions {
  /** Per entry, feature values that override the stored ones (null for none). */
  readonly passedFeatures?: readonly (Record<string, unknown> | null)[];
  /** Per entry, values for on-demand features (null for none). */
  readonly requestParameters?: readonly (Record<string, unknown> | null)[];
  /** Return each entry's model input vector too (default false). */
  readonly includeVector?: boolean;
}

export interface ReadLogOptions {
  /** Only rows logged at or after this time (ISO 8601). */
  readonly from?: string;
  /** Only rows logged before this time (ISO 8601). */
  readonly to?: string;
  /** Only rows of this model version. */
  readonly modelVersion?: number;
  /** true: only the shadow version's rows; false: only served rows; omitted: both. */
  readonly shadow?: boolean;
  /** At most this many rows (default 1 000, at most 100 000). */
  readonly first?: number;
}

const MAX_ROWS = 1_000_000;

/** Introspection of one type's fields: outside schema.graphql, so not a gql.tada document. */
const INTROSPECT_FIELDS = 'query GranaryHasField($name: String!) { __type(name: $name) { fields { name } } }';

function ref(r: Ref): { name: string; version?: number | null } {
  return typeof r === 'string' ? { name: r } : { name: r.name, version: r.version ?? null };
}

/** The feature view and model arguments of a serving query: either may be absent (the server needs one). */
function source(featureView: Ref | null | undefined, model: ModelRef | undefined) {
  return {
    featureView: featureView == null ? null : ref(featureView),
    model: model ? { name: model.name, version: model.version ?? null, alias: model.alias ?? null } : null,
  };
}

/** Mutation payload, or the typed error thrown as a GranaryError. */
function payload<R extends { __typename: string }>(result: R): Payload<R> {
  if (result.__typename.endsWith('Payload')) return result as Payload<R>;
  throw errorFromResult(result as unknown as ErrorResult);
}

/** A typed client of one Granary server and project (the API key's). */
export class GranaryClient {
  /** The GraphQL endpoint (`http://host:port/graphql`). */
  readonly endpoint: string;
  /** The server's origin, which `downloadUrl`s are relative to. */
  readonly origin: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #printed = new WeakMap<DocumentNode, string>();
  /** File names of Blobs passed as variables, for multipart parts. */
  readonly #fileNames = new WeakMap<Blob, string>();
  #ws: WsClient | undefined;

  constructor(options: GranaryClientOptions) {
    const url = new URL(options.url);
    if (!url.pathname.endsWith('/graphql')) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
    this.endpoint = url.toString();
    this.origin = url.origin;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? fetch;
  }

  /** A client of `GRANARY_URL` with `GRANARY_API_KEY`; throws naming what is missing. */
  static fromEnv(env: Record<string, string | undefined> = process.env): GranaryClient {
    const url = env.GRANARY_URL;
    const apiKey = env.GRANARY_API_KEY;
    if (!url || !apiKey) throw new Error('set GRANARY_URL (e.g. http://127.0.0.1:4000) and GRANARY_API_KEY');
    return new GranaryClient({ url, apiKey });
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  /**
   * Runs a typed operation (a document from `graphql()`) and returns its data. Blobs anywhere in
   * the variables are sent as files (GraphQL multipart request). GraphQL `errors` are thrown as
   * a {@link GranaryRequestError}.
   */
  async request<D extends AnyDocument>(document: D & SchemaChecked<D>, ...[variables]: VariablesArgs<D>): Promise<ResultOf<D>> {
    return (await this.#post(this.#print(document), variables ?? {})) as ResultOf<D>;
  }

  /**
   * Whether the server's schema has `typeName.fieldName` (asked by introspection; false where
   * introspection is off), to use a newer server's features when it has them.
   */
  async hasField(typeName: string, fieldName: string): Promise<boolean> {
    try {
      const data = (await this.#post(INTROSPECT_FIELDS, { name: typeName })) as { __type: { fields: { name: string }[] | null } | null };
      return data.__type?.fields?.some((f) => f.name === fieldName) ?? false;
    } catch (error) {
      if (error instanceof GranaryRequestError) return false;
      throw error;
    }
  }

  async #post(query: string, variables: unknown): Promise<unknown> {
    const files: ExtractedFile[] = [];
    const vars = extractFiles(variables, 'variables', this.#fileNames, files);
    const operations = JSON.stringify({ query, variables: vars });
    const { status, text } =
      files.length === 0
        ? await this.#fetch(this.endpoint, {
            method: 'POST',
            headers: { authorization: `Bearer ${this.#apiKey}`, accept: ACCEPT, 'content-type': 'application/json' },
            body: operations,
          }).then(async (response) => ({ status: response.status, text: await response.text() }))
        : await postMultipart(new URL(this.endpoint), this.#apiKey, operations, files);
    let parsed: { data?: unknown; errors?: GraphQLErrorEntry[] };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new GranaryRequestError(`HTTP ${status} from ${this.endpoint}: ${text.slice(0, 300)}`, [], status);
    }
    if (parsed.errors?.length) {
      const first = parsed.errors[0]!;
      const where = first.path ? ` (at ${first.path.join('.')})` : '';
      throw new GranaryRequestError(`${first.message}${where}`, parsed.errors, status);
    }
    if (status >= 400 || parsed.data == null) throw new GranaryRequestError(`HTTP ${status} without data from ${this.endpoint}`, [], status);
    return parsed.data;
  }

  /**
   * Subscribes over graphql-ws (one socket per client, opened on first use) and yields each
   * event's data; GraphQL errors end the iteration with a {@link GranaryRequestError}. Break out
   * of the loop (or call `return()`, even while a `next()` waits) to unsubscribe.
   */
  subscribe<D extends AnyDocument>(document: D & SchemaChecked<D>, ...[variables]: VariablesArgs<D>): Subscription<ResultOf<D>> {
    const events = this.#socket().iterate<ResultOf<D>>({ query: this.#print(document), variables: (variables ?? {}) as Record<string, unknown> });
    const done = { done: true, value: undefined } as const;
    // Not an async generator: its `return()` would wait for the pending `next()`, that is for the next event.
    const subscription: Subscription<ResultOf<D>> = {
      [Symbol.asyncIterator]: () => subscription,
      async next() {
        for (let step = await events.next(); !step.done; step = await events.next()) {
          const { errors, data } = step.value;
          if (errors?.length) {
            await events.return?.();
            throw new GranaryRequestError(errors[0]!.message, errors as GraphQLErrorEntry[]);
          }
          if (data != null) return { done: false, value: data as ResultOf<D> };
        }
        return done;
      },
      async return() {
        await events.return?.();
        return done;
      },
    };
    return subscription;
  }

  /** Closes the subscription socket, if one was opened. */
  async close(): Promise<void> {
    const ws = this.#ws;
    this.#ws = undefined;
    await ws?.dispose();
  }

  #socket(): WsClient {
    this.#ws ??= createClient({
      url: this.endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.#apiKey}` },
      lazy: true,
      retryAttempts: 0,
    });
    return this.#ws;
  }

  #print(document: DocumentNode): string {
    let text = this.#printed.get(document);
    if (text === undefined) {
      text = print(document);
      this.#printed.set(document, text);
    }
    return text;
  }

  async #blob(file: Upload, name?: string): Promise<Blob> {
    const { blob, name: fileName } = await uploadBlob(file, name);
    this.#fileNames.set(blob, fileName);
    return blob;
  }

  // -------------------------------------------------------------------------------------------
  // Project

  /** Who the key is: its project and scopes. */
  async viewer() {
    return (await this.request(ViewerQuery)).viewer;
  }

  // -------------------------------------------------------------------------------------------
  // Feature groups

  /** A feature group (the latest version when omitted), or null. */
  async featureGroup(name: string, version?: number): Promise<FeatureGroup | null> {
    return (await this.request(FeatureGroupQuery, { name, version: version ?? null })).featureGroup;
  }

  /** Creates a feature group, or returns the existing one with the same definition (get-or-create). */
  async ensureFeatureGroup(input: FeatureGroupInput): Promise<FeatureGroup> {
    return payload((await this.request(CreateFeatureGroupMutation, { input })).createFeatureGroup).featureGroup;
  }

  /**
   * Inserts rows as one atomic commit: `data` is an array of row objects (sent as JSON), or a
   * file (a path on disk, streamed from it as a multipart upload; CSV, Parquet or NDJSON by
   * extension unless `format` says) or its content.
   */
  async insert(featureGroup: Ref, data: readonly Record<string, unknown>[] | Upload, options: InsertOptions = {}): Promise<InsertResult> {
    const common = {
      featureGroup: ref(featureGroup),
      format: options.format,
      operation: options.operation,
      storage: options.storage,
      fillMissing: options.fillMissing,
    };
    const result = Array.isArray(data)
      ? await this.request(InsertFeatureGroupDataMutation, { ...common, rows: data as Record<string, unknown>[] })
      : await this.request(InsertFeatureGroupDataMutation, { ...common, file: await this.#blob(data as Upload, options.fileName) });
    const { __typename: _, ...rest } = payload(result.insertFeatureGroupData);
    return rest;
  }

  /**
   * Streams rows into a feature group (`ingestFeatureGroupRows`): checked, appended to its ingestion
   * log, applied online within milliseconds and committed offline within the group's interval.
   * While the server answers OverloadedError, waits its `retryAfterMs` and sends again (the same
   * idempotency key, so nothing is taken twice), up to `attempts` times; then throws it.
   */
  async ingest(featureGroup: Ref, rows: readonly Record<string, unknown>[], options: IngestOptions = {}): Promise<IngestResult> {
    const attempts = Math.max(1, options.attempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      const result = await this.request(IngestFeatureGroupRowsMutation, {
        featureGroup: ref(featureGroup),
        rows: rows as Record<string, unknown>[],
        idempotencyKey: options.idempotencyKey ?? null,
        waitFor: options.waitFor ?? 'ONLINE',
      });
      const answer = result.ingestFeatureGroupRows;
      if (answer.__typename === 'OverloadedError' && attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, answer.retryAfterMs));
        continue;
      }
      const { __typename: _, ...rest } = payload(answer);
      return rest;
    }
  }

  /** A feature group's rows from the offline store (the latest row of each identity), up to `first` (≤ 100 000). */
  async read(featureGroup: Ref, options: { first?: number; asOf?: string } = {}): Promise<DataFrame> {
    const { name, version } = ref(featureGroup);
    const group = (await this.request(ReadFeatureGroupQuery, { name, version, first: options.first ?? 100_000, asOf: options.asOf ?? null })).featureGroup;
    if (!group) throw new GranaryRequestError(`feature group ${name} not found`);
    return asDataFrame(group.read);
  }

  // -------------------------------------------------------------------------------------------
  // Feature views and training data

  /** A feature view (the latest version when omitted), or null. */
  async featureView(name: string, version?: number): Promise<FeatureView | null> {
    return (await this.request(FeatureViewQuery, { name, version: version ?? null })).featureView;
  }

  /** Creates a feature view, or returns the existing one with the same definition (get-or-create). */
  async ensureFeatureView(input: FeatureViewInput): Promise<FeatureView> {
    return payload((await this.request(CreateFeatureViewMutation, { input })).createFeatureView).featureView;
  }

  /** Creates the next training dataset version of a view: splits, fits the transformations, writes the splits. */
  async createTrainingDataset(featureView: Ref, input: TrainingDatasetInput = {}): Promise<TrainingDataset> {
    return payload((await this.request(CreateTrainingDatasetMutation, { featureView: ref(featureView), input })).createTrainingDataset).trainingDataset;
  }

  /** A training dataset version's metadata (the latest when omitted), or null. */
  async trainingDataset(featureView: Ref, version?: number): Promise<TrainingDataset | null> {
    return (await this.request(TrainingDatasetQuery, { featureView: ref(featureView), version: version ?? null })).trainingDataset;
  }

  /**
   * A training dataset version with the rows of every split (labels included), transformed with
   * its fitted parameters unless `transformed: false`.
   */
  async trainingData(featureView: Ref, version?: number, options: { transformed?: boolean; first?: number } = {}): Promise<TrainingData> {
    const result = await this.request(TrainingDataQuery, {
      featureView: ref(featureView),
      version: version ?? null,
      first: options.first ?? MAX_ROWS,
      transformed: options.transformed ?? true,
    });
    const dataset = result.trainingDataset;
    if (!dataset) throw new GranaryRequestError(`training dataset ${version ?? '(latest)'} of ${ref(featureView).name} not found`);
    return { ...dataset, splits: Object.fromEntries(dataset.splits.map((s) => [s.name, asDataFrame(s.data)])) };
  }

  /**
   * The view's rows for inference (labels left out), transformed as the training data was. With
   * `model`, through that model version's feature view and training dataset (`featureView` may be null).
   */
  async batchData(featureView: Ref | null, options: BatchDataOptions = {}): Promise<DataFrame> {
    const result = await this.request(BatchDataQuery, {
      ...source(featureView, options.model),
      trainingDatasetVersion: options.trainingDatasetVersion ?? null,
      startTime: options.startTime ?? null,
      endTime: options.endTime ?? null,
      transformed: options.transformed ?? true,
      includeKeys: options.includeKeys ?? false,
      first: options.first ?? MAX_ROWS,
    });
    return asDataFrame(result.batchData);
  }

  /**
   * One entity's online features, transformed; `entry` holds the serving keys (`{ customerid }`).
   * With `model`, through that model version's feature view and training dataset (`featureView` may be null).
   */
  async featureVector(
    featureView: Ref | null,
    entry: Record<string, unknown>,
    options: FeatureVectorOptions & { passedFeatures?: Record<string, unknown> } = {},
  ): Promise<FeatureVector> {
    const result = await this.request(FeatureVectorQuery, {
      ...source(featureView, options.model),
      entry,
      passedFeatures: options.passedFeatures ?? null,
      trainingDatasetVersion: options.trainingDatasetVersion ?? null,
    });
    return asVector(result.featureVector);
  }

  /** Several entities' online features, in order of `entries` (`model` as for featureVector). */
  async featureVectors(
    featureView: Ref | null,
    entries: readonly Record<string, unknown>[],
    options: FeatureVectorOptions & { passedFeatures?: readonly (Record<string, unknown> | null)[] } = {},
  ): Promise<FeatureVector[]> {
    const result = await this.request(FeatureVectorsQuery, {
      ...source(featureView, options.model),
      entries: [...entries],
      passedFeatures: options.passedFeatures ? [...options.passedFeatures] : null,
      trainingDatasetVersion: options.trainingDatasetVersion ?? null,
    });
    return result.featureVectors.map(asVector);
  }

  // -------------------------------------------------------------------------------------------
  // Model registry

  /**
   * Registers a model version with its files, in one multipart request (files on disk stream
   * from it). With `featureView` and `trainingDatasetVersion` and no `modelSchema`, the server
   * derives the schema from the training dataset.
   */
  async createModel(input: ModelInput, files: readonly ModelFileUpload[] = []): Promise<Model> {
    const uploads = await Promise.all(files.map(async (f) => ({ path: f.path ?? null, file: await this.#blob(f.file) })));
    const result = await this.request(CreateModelMutation, { input: { ...input, files: uploads.length > 0 ? uploads : null } });
    return payload(result.createModel).model;
  }

  /** A model version: by version, by alias, or the latest READY one; null when there is none. */
  async model(name: string, options: { version?: number; alias?: string } = {}): Promise<Model | null> {
    return (await this.request(ModelQuery, { name, version: options.version ?? null, alias: options.alias ?? null })).model;
  }

  /** The version of a model with the best value of a metric (highest unless `direction: 'MIN'`); null when none has it. */
  async bestModel(name: string, metric: string, direction: 'MAX' | 'MIN' = 'MAX'): Promise<Model | null> {
    return (await this.request(BestModelQuery, { name, metric, direction })).bestModel;
  }

  /**
   * Downloads a model file: into `destination` (streamed to disk; resolves to the path) or into
   * memory. A file given as a `ModelFile` is checked against its SHA-256.
   */
  downloadModelFile(file: ModelFile | string, destination: string): Promise<string>;
  downloadModelFile(file: ModelFile | string): Promise<Buffer>;
  async downloadModelFile(file: ModelFile | string, destination?: string): Promise<string | Buffer> {
    const url = typeof file === 'string' ? file : file.downloadUrl;
    const expected = typeof file === 'string' ? undefined : file.sha256;
    const response = await this.#fetch(new URL(url, this.origin), { headers: { authorization: `Bearer ${this.#apiKey}` } });
    if (!response.ok || !response.body) throw new GranaryRequestError(`HTTP ${response.status} downloading ${url}`, [], response.status);
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    let result: string | Buffer;
    if (destination) {
      await mkdir(dirname(destination), { recursive: true });
      await pipeline(source, hashing, createWriteStream(destination));
      result = destination;
    } else {
      const chunks: Buffer[] = [];
      await pipeline(source, hashing, async (stream: AsyncIterable<Buffer>) => {
        for await (const chunk of stream) chunks.push(chunk);
      });
      result = Buffer.concat(chunks);
    }
    const actual = hash.digest('hex');
    if (expected && actual !== expected) throw new GranaryError('ChecksumError', `${url}: SHA-256 ${actual}, expected ${expected}`);
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Deployments

  /**
   * Deploys a model (its version's ONNX serving artifact, run by the server): a version, an alias
   * to follow or the latest; optionally a traffic split, a shadow version and prediction logging.
   */
  async createDeployment(input: DeploymentInput): Promise<Deployment> {
    return payload((await this.request(CreateDeploymentMutation, { input })).createDeployment).deployment;
  }

  /** Changes a deployment's model reference, traffic, shadow or logging; omitted fields stay. */
  async updateDeployment(name: string, input: DeploymentUpdate): Promise<Deployment> {
    return payload((await this.request(UpdateDeploymentMutation, { name, input })).updateDeployment).deployment;
  }

  /** Starts answering predictions. */
  async startDeployment(name: string): Promise<Deployment> {
    return payload((await this.request(StartDeploymentMutation, { name })).startDeployment).deployment;
  }

  /** Stops answering predictions: predict then fails with code DEPLOYMENT_STOPPED. */
  async stopDeployment(name: string): Promise<Deployment> {
    return payload((await this.request(StopDeploymentMutation, { name })).stopDeployment).deployment;
  }

  /** Deletes a deployment; its prediction log (the feature group `<name>_predictions`) stays. */
  async deleteDeployment(name: string): Promise<Deployment> {
    return payload((await this.request(DeleteDeploymentMutation, { name })).deleteDeployment).deployment;
  }

  /** A deployment by name, or null. */
  async deployment(name: string): Promise<Deployment | null> {
    return (await this.request(DeploymentQuery, { name })).deployment;
  }

  /**
   * Predictions of a running deployment for entities by serving key (`[{ customerid }]`): the
   * server reads their features through the model's feature view and training dataset and runs
   * the model. A failure (unknown or stopped deployment, bad entries) is a {@link GranaryRequestError}.
   */
  async predict(deployment: string, entries: readonly Record<string, unknown>[], options: PredictOptions = {}): Promise<PredictResult> {
    const result = await this.request(PredictQuery, {
      deployment,
      entries: [...entries],
      passedFeatures: options.passedFeatures ? [...options.passedFeatures] : null,
      requestParameters: options.requestParameters ? [...options.requestParameters] : null,
      options: options.includeVector === undefined ? null : { includeVector: options.includeVector },
    });
    return result.predict;
  }

  /**
   * A deployment's logged predictions, oldest first (the feature group `<deployment>_predictions`):
   * request id, entity keys, vectors, prediction, model version, time.
   */
  async readLog(deployment: string, options: ReadLogOptions = {}): Promise<DataFrame> {
    const result = await this.request(ReadLogQuery, {
      deployment,
      from: options.from ?? null,
      to: options.to ?? null,
      modelVersion: options.modelVersion ?? null,
      shadow: options.shadow ?? null,
      // Left out when omitted, so the server's default (1 000) applies.
      first: options.first,
    });
    return asDataFrame(result.readLog);
  }
}
