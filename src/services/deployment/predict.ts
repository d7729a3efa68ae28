import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ValidationError } from '../../errors.ts';
import type { FeatureVector, ServingService } from '../feature-view/serving.service.ts';
import { checkJsonDepth } from '../json-limits.ts';
import type { Viewer } from '../viewer.ts';
import type { DeploymentService, Runtime } from './deployment.service.ts';
import type { LoggedPrediction } from './prediction-log-rows.ts';
import { ServedModels, type ServedVersion } from './served-models.ts';

/** One entry's answer. */
export interface Prediction {
  /** The model's prediction (a class label, a number, or an array for multi-output models); null when not scored. */
  readonly prediction: unknown;
  /** Class probabilities when the model gives them (in class order), else null. */
  readonly probabilities: readonly number[] | null;
  readonly modelVersion: number;
  readonly trainingDatasetVersion: number;
  /** The model's input vector, when asked for with `includeVector`. */
  readonly vector: FeatureVector | null;
  /** Input features that had no value (their group had no online row, or the value was null): the entry was not scored. */
  readonly missing: readonly string[];
}

export interface PredictResult {
  readonly requestId: string;
  readonly deployment: string;
  readonly predictions: readonly Prediction[];
}

export interface PredictOptions {
  readonly includeVector?: boolean | null;
}

const MAX_ENTRIES = 10_000;

/** A route's entries: indices into the request. */
interface Share {
  readonly served: ServedVersion;
  readonly indices: number[];
}

/** What a request answered, kept for the work after the answer: the log rows and the shadow's scores. */
interface Answered {
  readonly viewer: Viewer;
  readonly requestId: string;
  readonly entries: readonly unknown[];
  readonly passed: readonly unknown[] | null;
  /** Each share's served and raw vectors and scores. */
  readonly shares: readonly { share: Share; vectors: FeatureVector[]; raw: FeatureVector[]; scored: Prediction[] }[];
}

/** Where each input column of a model sits in the view's served features (null: the features are the input, in order). */
const inputIndexes = new WeakMap<readonly string[], WeakMap<ServedVersion, readonly number[] | null>>();

/**
 * `predict`: for each entry, the deployment's route (sticky per entity: a hash of its serving keys
 * picks the version), its features from the online store through the version's own feature view
 * and training dataset, the ONNX model run in process on every scorable row of the version at
 * once. The shadow version and the prediction log run after the answer is on its way.
 */
export class Predictor {
  constructor(
    private readonly deployments: DeploymentService,
    private readonly serving: ServingService,
  ) {}

  async predict(
    viewer: Viewer,
    name: string,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    requestParameters: readonly unknown[] | null | undefined,
    options: PredictOptions = {},
  ): Promise<PredictResult> {
    const started = performance.now();
    const runtime = await this.deployments.runtime(viewer, name);
    try {
      const result = await this.run(viewer, runtime, entries, passed, requestParameters, options);
      this.deployments.record(runtime.deployment, performance.now() - started, true);
      return result;
    } catch (error) {
      this.deployments.record(runtime.deployment, performance.now() - started, false);
      throw error;
    }
  }

  private async run(
    viewer: Viewer,
    runtime: Runtime,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    requestParameters: readonly unknown[] | null | undefined,
    options: PredictOptions,
  ): Promise<PredictResult> {
    if (entries.length === 0 || entries.length > MAX_ENTRIES) throw ValidationError.at(['entries'], `give 1 to ${MAX_ENTRIES} entries`);
    checkJsonDepth(entries, ['entries']);
    checkRequestParameters(requestParameters, entries.length);
    if (passed && passed.length !== entries.length) {
      throw ValidationError.at(['passedFeatures'], `give one passedFeatures object per entry (${entries.length}), or none`);
    }
    const { deployment } = runtime;
    const requestId = randomUUID();
    // A shadow's predictions go only to the log, so a deployment with one keeps the served vectors too.
    const logging = (deployment.loggingEnabled || runtime.shadow !== null) && deployment.loggingSampleRate > 0;
    const predictions = new Array<Prediction>(entries.length);
    const logged: Answered['shares'][number][] = [];
    await Promise.all(
      shares(runtime, entries).map(async (share) => {
        const subset = share.indices.length === entries.length ? entries : share.indices.map((i) => entries[i]);
        const subsetPassed = passed ? (share.indices.length === entries.length ? passed : share.indices.map((i) => passed[i])) : null;
        const ref = ServedModels.viewRef(share.served);
        const { vectors, raw } = await (logging
          ? this.serving.vectorsWithRaw(viewer, ref, subset, subsetPassed, share.served.trainingDatasetVersion)
          : this.serving.vectors(viewer, ref, subset, subsetPassed, share.served.trainingDatasetVersion).then((v) => ({ vectors: v, raw: [] }))
        ).catch((error: unknown) => {
          throw subset === entries ? error : inRequest(error, share.indices);
        });
        const scored = await score(share.served, vectors, options.includeVector === true);
        share.indices.forEach((index, k) => {
          predictions[index] = scored[k]!;
        });
        if (logging) logged.push({ share, vectors, raw, scored });
      }),
    );
    if (logging || runtime.shadow) {
      // After the answer: the shadow's scores and the log rows never delay it; the log waits for them when flushed.
      const answered: Answered = { viewer, requestId, entries, passed: passed ?? null, shares: logged };
      this.deployments.log.later(deployment.name, () => this.afterAnswer(runtime, answered));
    }
    return { requestId, deployment: deployment.name, predictions };
  }

  private afterAnswer(runtime: Runtime, answered: Answered): Promise<void> | void {
    const { deployment, shadow } = runtime;
    const { viewer, requestId, entries, passed } = answered;
    const rate = deployment.loggingSampleRate;
    const at = Date.now();
    const rows: LoggedPrediction[] = [];
    const sampled = () => rate >= 1 || Math.random() < rate;
    if (deployment.loggingEnabled) {
      for (const { share, vectors, raw, scored } of answered.shares) {
        share.indices.forEach((index, k) => {
          if (sampled()) rows.push(logRow(requestId, index, at, share.served, entries[index], passed?.[index], vectors[k]!, raw[k]!, scored[k]!, false));
        });
      }
    }
    // The log is the deployment's, not the caller's: a READ key's prediction is logged all the same.
    const writer: Viewer = { ...viewer, scopes: ['WRITE'], apiKeyId: '' };
    // Without a shadow nothing here waits: the rows are queued at once.
    if (!shadow) return this.deployments.log.append(writer, deployment, rows);
    return this.shadowRows(shadow, answered, at, sampled).then((more) => this.deployments.log.append(writer, deployment, [...rows, ...more]));
  }

  /** The shadow version's log rows: scored on the served vectors (or on its own view's), never returned. */
  private async shadowRows(shadow: ServedVersion, answered: Answered, at: number, sampled: () => boolean): Promise<LoggedPrediction[]> {
    const { viewer, requestId, entries, passed } = answered;
    const rows: LoggedPrediction[] = [];
    for (const { share, vectors, raw } of answered.shares) {
      const sameInput = share.served.featureView.name === shadow.featureView.name && share.served.featureView.version === shadow.featureView.version;
      const same = sameInput && share.served.trainingDatasetVersion === shadow.trainingDatasetVersion;
      let shadowVectors = vectors;
      let shadowRaw = raw;
      if (!same) {
        const subset = share.indices.map((i) => entries[i]);
        const subsetPassed = passed ? share.indices.map((i) => passed[i]) : null;
        ({ vectors: shadowVectors, raw: shadowRaw } = await this.serving.vectorsWithRaw(
          viewer,
          ServedModels.viewRef(shadow),
          subset,
          subsetPassed,
          shadow.trainingDatasetVersion,
        ));
      }
      const scored = await score(shadow, shadowVectors, false);
      share.indices.forEach((index, k) => {
        if (sampled()) rows.push(logRow(requestId, index, at, shadow, entries[index], passed?.[index], shadowVectors[k]!, shadowRaw[k]!, scored[k]!, true));
      });
    }
    return rows;
  }
}

/** An input error about a route's share of the entries, with its paths naming positions in the whole request. */
function inRequest(error: unknown, indices: readonly number[]): unknown {
  if (!(error instanceof ValidationError)) return error;
  const remap = (path: readonly (string | number)[]) =>
    (path[0] === 'entries' || path[0] === 'passedFeatures') && typeof path[1] === 'number' ? [path[0], indices[path[1]] ?? path[1], ...path.slice(2)] : path;
  const issues = error.issues.map((issue) => ({ ...issue, path: remap(issue.path) }));
  return new ValidationError(error.message, issues);
}

/** Request parameters feed on-demand features; a view without them takes none. */
function checkRequestParameters(parameters: readonly unknown[] | null | undefined, entries: number): void {
  if (!parameters) return;
  if (parameters.length !== entries) throw ValidationError.at(['requestParameters'], `give one requestParameters object per entry (${entries}), or none`);
  parameters.forEach((p, i) => {
    if (p == null) return;
    if (typeof p !== 'object' || Array.isArray(p)) throw ValidationError.at(['requestParameters', i], 'requestParameters is an object of values by name');
    const names = Object.keys(p);
    if (names.length > 0) {
      throw ValidationError.at(
        ['requestParameters', i, names[0]!],
        `${names[0]} is not a request parameter: the deployment's feature view has no on-demand features that take request parameters`,
      );
    }
  });
}

/** FNV-1a (32 bit) of a string, as a share of [0, 1). */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche (murmur3's fmix32) spreads keys that differ only in their last characters.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** The sticky key of an entry: its fields sorted by name, so the same entity always lands on the same version. */
function entityKey(entry: unknown): string {
  if (!entry || typeof entry !== 'object') return String(entry);
  const record = entry as Record<string, unknown>;
  return Object.keys(record)
    .sort()
    .map((k) => `${k}=${JSON.stringify(record[k])}`)
    .join('&');
}

/** Splits the entries over the routes. */
function shares(runtime: Runtime, entries: readonly unknown[]): Share[] {
  const { routes } = runtime;
  if (routes.length === 1) return [{ served: routes[0]!.served, indices: entries.map((_, i) => i) }];
  const out = routes.map((r) => ({ served: r.served, indices: [] as number[] }));
  entries.forEach((entry, i) => {
    const u = unitHash(entityKey(entry));
    let r = 0;
    while (r < routes.length - 1 && u >= routes[r]!.upTo) r++;
    out[r]!.indices.push(i);
  });
  return out.filter((s) => s.indices.length > 0);
}

/** Scores the vectors of one version: rows with a missing input are answered without calling the model. */
async function score(served: ServedVersion, vectors: readonly FeatureVector[], includeVector: boolean): Promise<Prediction[]> {
  const features = vectors[0]?.features ?? [];
  const index = inputIndex(served, features);
  const rows: unknown[][] = [];
  const at: number[] = [];
  const missing: (readonly string[])[] = vectors.map((v, k) => {
    const row = index === null ? (v.values as unknown[]) : index.map((i) => v.values[i]);
    let absent: string[] | null = null;
    for (let c = 0; c < row.length; c++) {
      const value = row[c];
      if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) {
        absent ??= [];
        absent.push(index === null ? features[c]! : features[index[c]!]!);
      }
    }
    if (absent === null) {
      rows.push(row);
      at.push(k);
      return [];
    }
    return absent;
  });
  const { predictions, probabilities } = await served.scorer.score(rows);
  const out: Prediction[] = vectors.map((v, k) => ({
    prediction: null,
    probabilities: null,
    modelVersion: served.model.version,
    trainingDatasetVersion: served.trainingDatasetVersion,
    vector: includeVector ? v : null,
    missing: missing[k]!,
  }));
  at.forEach((k, r) => {
    out[k] = { ...out[k]!, prediction: predictions[r], probabilities: probabilities[r] ?? null };
  });
  return out;
}

/** Positions of the model's input columns among the served features (cached per plan and version). */
function inputIndex(served: ServedVersion, features: readonly string[]): readonly number[] | null {
  let byVersion = inputIndexes.get(features);
  if (!byVersion) {
    byVersion = new WeakMap();
    inputIndexes.set(features, byVersion);
  }
  if (byVersion.has(served)) return byVersion.get(served)!;
  const columns = served.scorer.columns;
  let index: number[] | null = null;
  if (columns.length > 0) {
    const position = new Map(features.map((f, i) => [f, i]));
    index = columns.map((c) => {
      const i = position.get(c);
      if (i === undefined) {
        throw ValidationError.at(
          ['deployment'],
          `model ${served.model.name} version ${served.model.version} takes ${c}, which feature view ${served.featureView.name} version ${served.featureView.version} does not serve (it serves ${features.join(', ')})`,
        );
      }
      return i;
    });
    // The input is the served vector itself: no reordering needed.
    if (index.length === features.length && index.every((v, i) => v === i)) index = null;
  }
  byVersion.set(served, index);
  return index;
}

function logRow(
  requestId: string,
  index: number,
  at: number,
  served: ServedVersion,
  entry: unknown,
  passedFeatures: unknown,
  vector: FeatureVector,
  raw: FeatureVector,
  scored: Prediction,
  shadow: boolean,
): LoggedPrediction {
  return {
    requestId,
    entryIndex: index,
    modelVersion: served.model.version,
    modelName: served.model.name,
    loggedAt: at,
    trainingDatasetVersion: served.trainingDatasetVersion,
    shadow,
    entry,
    raw,
    vector,
    passed: passedFeatures && typeof passedFeatures === 'object' ? Object.keys(passedFeatures) : null,
    prediction: scored.prediction ?? null,
    probabilities: scored.probabilities ?? null,
  };
}
