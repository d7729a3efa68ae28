import { OnnxModelError, OnnxScorer } from '../../engine/models/onnx-scorer.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Model } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { FeatureViewRef } from '../feature-view/feature-view.service.ts';
import type { TrainingDatasetService } from '../feature-view/training-dataset.service.ts';
import { inputColumns } from '../model/definition.ts';
import type { ModelService } from '../model/model.service.ts';
import type { Viewer } from '../viewer.ts';
import type { LogLayouts } from './prediction-log.ts';

/** A model version ready to score: its ONNX session and where its vectors come from. */
export interface ServedVersion {
  readonly model: Model;
  readonly featureView: { readonly name: string; readonly version: number };
  readonly trainingDatasetVersion: number;
  readonly scorer: OnnxScorer;
}

/** How a model version is bound to its features: its feature view and training dataset version. */
export interface ModelBinding {
  readonly featureView: { readonly name: string; readonly version: number };
  readonly trainingDatasetVersion: number;
}

/**
 * Model versions loaded for serving, one ONNX session per version shared by every deployment of
 * the process (a version's files never change, so a session never goes stale).
 */
export class ServedModels {
  private readonly sessions = new Map<string, Promise<OnnxScorer>>();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly models: ModelService,
    private readonly logger: Logger,
  ) {}

  async version(viewer: Viewer, model: Model): Promise<ServedVersion> {
    const binding = await this.binding(viewer, model, ['model']);
    return { model, ...binding, scorer: await this.scorer(viewer, model) };
  }

  /**
   * The feature view and training dataset a model version was trained from: serving through the
   * model always uses them, so its vectors are transformed with its own fitted parameters.
   */
  async binding(viewer: Viewer, model: Model, at: (string | number)[]): Promise<ModelBinding> {
    const which = `model ${model.name} version ${model.version}`;
    if (!model.featureViewId || !model.trainingDatasetId) {
      throw ValidationError.at(at, `${which} was not registered with a feature view and training dataset version`);
    }
    const dataset = await this.prisma.trainingDataset.findFirst({
      where: { id: model.trainingDatasetId, featureView: { projectId: viewer.projectId } },
      select: { version: true, featureView: { select: { name: true, version: true } } },
    });
    if (!dataset) throw new NotFoundError('TrainingDataset', `of ${which}`);
    return { featureView: dataset.featureView, trainingDatasetVersion: dataset.version };
  }

  /**
   * What `featureVector`, `featureVectors` and `batchData` serve: with `model`, that version's own
   * feature view and training dataset (a featureView or trainingDatasetVersion given as well must
   * be those); without, the view given and the training dataset version given (the latest when
   * omitted).
   */
  async target(
    viewer: Viewer,
    args: {
      featureView?: FeatureViewRef | null;
      model?: { name: string; version?: number | null; alias?: string | null } | null;
      trainingDatasetVersion?: number | null;
    },
  ): Promise<{ featureView: FeatureViewRef; trainingDatasetVersion: number | null | undefined }> {
    if (!args.model) {
      if (!args.featureView)
        throw ValidationError.at(['featureView'], 'give featureView, or model to serve through a registered model’s feature view and training dataset');
      return { featureView: args.featureView, trainingDatasetVersion: args.trainingDatasetVersion };
    }
    const model = await this.models.get(viewer, args.model);
    const binding = await this.binding(viewer, model, ['model']);
    const which = `model ${model.name} version ${model.version}`;
    const view = args.featureView;
    if (view && (view.name !== binding.featureView.name || (view.version != null && view.version !== binding.featureView.version))) {
      throw ValidationError.at(
        ['featureView'],
        `${which} was trained from feature view ${binding.featureView.name} version ${binding.featureView.version}; leave featureView out or name that one`,
      );
    }
    if (args.trainingDatasetVersion != null && args.trainingDatasetVersion !== binding.trainingDatasetVersion) {
      throw ValidationError.at(
        ['trainingDatasetVersion'],
        `${which} was trained on training dataset version ${binding.trainingDatasetVersion}; serving through it uses that version's fitted parameters`,
      );
    }
    return { featureView: ServedModels.viewRef(binding), trainingDatasetVersion: binding.trainingDatasetVersion };
  }

  /** A model binding as the serving service takes it. */
  static viewRef(binding: ModelBinding): FeatureViewRef {
    return { name: binding.featureView.name, version: binding.featureView.version };
  }

  private scorer(viewer: Viewer, model: Model): Promise<OnnxScorer> {
    let session = this.sessions.get(model.id);
    if (!session) {
      session = this.load(viewer, model);
      this.sessions.set(model.id, session);
      session.catch(() => this.sessions.delete(model.id));
    }
    return session;
  }

  private async load(viewer: Viewer, model: Model): Promise<OnnxScorer> {
    const bytes = await this.models.servingBytes(viewer.projectName, model);
    try {
      return await OnnxScorer.load(bytes, inputColumns(model.modelSchema));
    } catch (error) {
      if (error instanceof OnnxModelError) {
        this.logger.warn({ model: model.name, version: model.version, err: error }, 'a registered ONNX model no longer loads');
        throw ValidationError.at(['model'], `ONNX model ${model.servingArtifact} of model ${model.name} version ${model.version}: ${error.message}`);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map(async (s) => (await s).release()));
  }
}

/**
 * The prediction log's layouts (see PredictionLog): a model version's raw vector is its view's
 * features (labels left out), its transformed vector their outputs under its training dataset's
 * fitted transformations, each with the type the view serves it as.
 */
export function logLayouts(models: ModelService, served: ServedModels, trainingDatasets: TrainingDatasetService): LogLayouts {
  return async (viewer, ref) => {
    const model = await models.get(viewer, { name: ref.name, version: ref.version });
    const binding = await served.binding(viewer, model, ['model']);
    const { view, dataset } = await trainingDatasets.get(viewer, binding.featureView, binding.trainingDatasetVersion);
    const columns = (fitted: Parameters<TrainingDatasetService['outputColumns']>[1]) =>
      trainingDatasets.outputColumns(view, fitted, { labels: false }).map((c) => ({ name: c.name, type: c.type }));
    return { raw: columns([]), transformed: columns(trainingDatasets.fitted(dataset)) };
  };
}
