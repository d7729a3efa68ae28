import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Model, ModelAlias, ModelFile, Prisma } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import {
  ArtifactExistsError,
  VersionFolderTakenError,
  type ModelArtifactStaging,
  type ModelArtifactStore,
  type ModelLocation,
  type StoredModelFile,
} from '../../stores/artifacts/model-artifacts.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { DiskFile, takeOver } from '../../domain/disk-file.ts';
import { recordChanged, recordCreated, recordDeleted } from '../lineage/catalog.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import { grants, type Viewer } from '../viewer.ts';
import {
  aliasName,
  canonicalSchema,
  checkInputExample,
  createModelInput,
  inputColumns,
  modelName,
  modelRef,
  resolveFilePaths,
  updateModelInput,
  type CreateModelInput,
  type FeatureViewRef,
  type ModelFileInput,
  type ModelRef,
  type UpdateModelInput,
} from './definition.ts';
import { deriveModelSchema } from './derive-schema.ts';
import { trafficOf } from '../deployment/definition.ts';
import { checkServingArtifact, readAll, servingArtifactOf } from './serving-artifact.ts';
import { OnnxModelError } from '../../engine/models/onnx-scorer.ts';
import type { SweepGuard } from '../../stores/process-owner.ts';

export type { CreateModelInput, ModelFileInput, ModelRef, UpdateModelInput };

export type ModelState = 'PENDING' | 'READY';
export type SortDirection = 'MAX' | 'MIN';

/** How a query names a model version: a version, an alias, or neither (the latest). */
export interface ModelLookup {
  readonly name: string;
  readonly version?: number | null;
  readonly alias?: string | null;
  /** Also consider PENDING versions (default: READY only). */
  readonly includePending?: boolean | null;
}

/** Filters of the `models` list. */
export interface ModelFilter {
  readonly name?: string | null;
  readonly framework?: string | null;
  readonly featureView?: FeatureViewRef | null;
  readonly includePending?: boolean | null;
}

/** Injection points for tests of atomicity: each runs at its step and may throw. */
export interface ModelFaults {
  /** After the files are in the version's folder, before the version row is written. */
  afterPublish?(): void | Promise<void>;
}

/** Attempts at the next free version when version is omitted and others are registering too. */
const VERSION_ATTEMPTS = 10;

/**
 * The model registry: versions of a model name with metrics, schema, input example and artifact
 * files, the feature view and training dataset they were trained from, and aliases. A version's
 * files are staged and moved into its folder before its row is written, so a version row always
 * has its files, and a failed registration leaves neither.
 */
export class ModelService {
  /** Tests set this to inject failures between the steps of a registration. */
  faults: ModelFaults = {};

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly artifacts: ModelArtifactStore,
    private readonly logger: Logger,
  ) {}

  /**
   * Registers a model version with its files. Version omitted: the next one. An existing
   * (name, version) with the same definition and files is returned as it is; with another, it is
   * a ConflictError. `pending: true` registers the version as PENDING, to add files in steps
   * (`addFiles`) and `finalize` it.
   */
  async create(viewer: Viewer, raw: CreateModelInput): Promise<Model> {
    const input = parseInput(createModelInput, raw);
    const uploads = input.files ?? [];
    const paths = resolveFilePaths(uploads);
    const { featureViewId, trainingDatasetId, derivedSchema } = await this.lineage(viewer, input.featureView, input.trainingDatasetVersion);
    const modelSchema = input.modelSchema ? canonicalSchema(input.modelSchema) : derivedSchema;
    const columns = inputColumns(modelSchema);
    if (input.inputExample != null && columns) checkInputExample(input.inputExample, columns);
    const createdBy = (await this.prisma.apiKey.findUnique({ where: { id: viewer.apiKeyId }, select: { name: true } }))?.name ?? '';
    const requested: Definition = {
      framework: input.framework,
      description: input.description ?? '',
      metrics: input.metrics ?? {},
      inputExample: input.inputExample ?? null,
      modelSchema: modelSchema ?? null,
      featureViewId,
      trainingDatasetId,
      servingArtifact: servingArtifactOf(input.framework, input.servingArtifact, paths, ['input', 'servingArtifact'], input.pending === true),
    };

    const staging = await this.stage(uploads, paths, ['input', 'files']);
    try {
      if (input.version != null) {
        const existing = await this.findVersion(viewer, input.name, input.version);
        if (existing) return await this.sameOrConflict(existing, requested, staging.files);
      }
      let candidate = 0;
      for (let attempt = 0; attempt < VERSION_ATTEMPTS; attempt++) {
        const version = input.version ?? Math.max(candidate + 1, (await this.latestVersion(viewer, input.name)) + 1);
        candidate = version;
        try {
          await staging.publish({ project: viewer.projectName, name: input.name, version }, 'new');
        } catch (error) {
          if (!(error instanceof VersionFolderTakenError)) throw error;
          // Omitted version: another registration holds this one; try the next.
          if (input.version == null) continue;
          const existing = await this.findVersion(viewer, input.name, version);
          if (existing) return await this.sameOrConflict(existing, requested, staging.files);
          throw new ConflictError(`model ${input.name} version ${version} is being registered by another request`);
        }
        await this.faults.afterPublish?.();
        if (requested.servingArtifact !== null && !input.pending) {
          await this.checkServing({ name: input.name, version }, viewer.projectName, requested, ['input', 'files']);
        }
        let model: Model;
        try {
          model = await this.events.change(viewer.projectId, async (tx) => {
            const value = await tx.model.create({
              data: {
                projectId: viewer.projectId,
                name: input.name,
                version,
                framework: requested.framework,
                description: requested.description,
                metrics: json(requested.metrics),
                // Omitted rather than null: a JSON column left out is SQL NULL.
                inputExample: requested.inputExample == null ? undefined : json(requested.inputExample),
                modelSchema: requested.modelSchema == null ? undefined : json(requested.modelSchema),
                featureViewId,
                trainingDatasetId,
                servingArtifact: requested.servingArtifact,
                state: input.pending ? 'PENDING' : 'READY',
                createdBy,
                files: { create: staging.files.map(fileRow) },
              },
            });
            await recordCreated(tx, { id: value.id, projectId: viewer.projectId, kind: 'MODEL', name: value.name, version: value.version }, [
              trainingDatasetId,
              featureViewId,
            ]);
            return { value, change: modelChange(value, 'CREATED') };
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // Another registration wrote this version's row first (its folder was empty or being
          // deleted, so ours took its place): take our files back, then try the next version,
          // or answer as if that version had been found first.
          await staging.withdraw();
          if (input.version == null) continue;
          const existing = await this.findVersion(viewer, input.name, version);
          if (existing) return await this.sameOrConflict(existing, requested, staging.files);
          throw error;
        }
        staging.commit();
        return model;
      }
      throw new ConflictError(`could not find a free version of model ${input.name}: other registrations keep taking them; try again`);
    } finally {
      await staging.discard();
    }
  }

  /** Adds files to a PENDING version. A file identical to one already there (path and SHA-256) is skipped. */
  async addFiles(viewer: Viewer, ref: ModelRef, files: readonly ModelFileInput[]): Promise<Model> {
    const model = await this.get(viewer, ref);
    if (model.state !== 'PENDING') {
      throw new ConflictError(`model ${model.name} version ${model.version} is ${model.state}: files can only be added while it is PENDING`);
    }
    if (files.length === 0) throw ValidationError.at(['files'], 'give at least one file');
    const existing = await this.prisma.modelFile.findMany({ where: { modelId: model.id } });
    const byPath = new Map(existing.map((f) => [f.path, f]));
    const paths = resolveFilePaths(files, ['files'], [...byPath.keys()]);
    const staging = await this.stage(files, paths, ['files']);
    try {
      const fresh: StoredModelFile[] = [];
      for (const [i, file] of [...staging.files].entries()) {
        const old = byPath.get(file.path);
        if (!old) fresh.push(file);
        else if (old.sha256 !== file.sha256) {
          throw ValidationError.at(['files', i, 'path'], `${file.path} is already in model ${model.name} version ${model.version} with other content`);
        } else {
          // Identical to a stored file: a retried request is harmless.
          await staging.forget(file.path);
        }
      }
      if (fresh.length === 0) return model;
      try {
        await staging.publish(this.location(viewer.projectName, model), 'add');
      } catch (error) {
        if (error instanceof ArtifactExistsError) {
          throw new ConflictError(`${error.path} is being added to model ${model.name} version ${model.version} by another request`);
        }
        throw error;
      }
      const updated = await this.events.change(viewer.projectId, async (tx) => {
        // A conditional update first: it locks the row, so a concurrent finalize waits for us.
        const { count } = await tx.model.updateMany({ where: { id: model.id, state: 'PENDING' }, data: { updatedAt: new Date() } });
        if (count === 0) throw new ConflictError(`model ${model.name} version ${model.version} is no longer PENDING`);
        await tx.modelFile.createMany({ data: fresh.map((f) => ({ modelId: model.id, ...fileRow(f) })) });
        const value = await tx.model.findUniqueOrThrow({ where: { id: model.id } });
        return { value, change: modelChange(value, 'UPDATED') };
      });
      staging.commit();
      return updated;
    } finally {
      await staging.discard();
    }
  }

  /**
   * Marks a PENDING version READY once every file it lists is in place (and, when `expected`
   * is given, every expected path is among them). READY already: returned as it is.
   */
  async finalize(viewer: Viewer, ref: ModelRef, expected?: readonly string[] | null): Promise<Model> {
    const model = await this.get(viewer, ref);
    if (model.state === 'READY') return model;
    const files = await this.prisma.modelFile.findMany({ where: { modelId: model.id } });
    const have = new Set(files.map((f) => f.path));
    const missing = (expected ?? []).map((p, i) => ({ p, i })).filter(({ p }) => !have.has(p));
    if (missing.length > 0) {
      const issues = missing.map(({ p, i }) => ({ path: ['expectedFiles', i], message: `${p} has not been added` }));
      throw new ValidationError(`model ${model.name} version ${model.version} lacks ${missing.map((m) => m.p).join(', ')}`, issues);
    }
    const location = this.location(viewer.projectName, model);
    for (const file of files) {
      const size = await this.artifacts.size(location, file.path);
      if (size !== Number(file.size)) {
        throw new ConflictError(`file ${file.path} of model ${model.name} version ${model.version} is not in place; add it again`);
      }
    }
    const servingArtifact = model.servingArtifact ?? servingArtifactOf(model.framework, null, [...have], ['model']);
    if (servingArtifact !== null) {
      if (!have.has(servingArtifact)) throw ValidationError.at(['expectedFiles'], `the serving artifact ${servingArtifact} has not been added`);
      await this.checkServing(model, viewer.projectName, { ...model, servingArtifact }, ['model']);
    }
    return this.events.change(viewer.projectId, async (tx) => {
      const { count } = await tx.model.updateMany({ where: { id: model.id, state: 'PENDING' }, data: { state: 'READY', servingArtifact } });
      const value = await tx.model.findUniqueOrThrow({ where: { id: model.id } });
      if (count === 0 && value.state !== 'READY') throw new ConflictError(`model ${model.name} version ${model.version} changed meanwhile`);
      return { value, change: modelChange(value, 'UPDATED') };
    });
  }

  /** The bytes of a version's serving artifact (its ONNX file). */
  async servingBytes(projectName: string, model: Pick<Model, 'name' | 'version' | 'servingArtifact'>): Promise<Uint8Array> {
    const path = model.servingArtifact;
    const file = path ? await this.artifacts.open(this.location(projectName, model), path) : null;
    if (!path || !file) throw new NotFoundError('ModelFile', `serving artifact of model ${model.name} version ${model.version}`);
    return readAll(file.stream, file.size);
  }

  /** Registration's check of the ONNX file: loads, matches the schema, scores the input example. */
  private async checkServing(
    model: Pick<Model, 'name' | 'version'>,
    projectName: string,
    definition: Pick<Definition, 'servingArtifact' | 'modelSchema' | 'inputExample'>,
    at: (string | number)[],
  ): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await this.servingBytes(projectName, { ...model, servingArtifact: definition.servingArtifact });
    } catch (error) {
      if (error instanceof OnnxModelError) throw ValidationError.at(at, `ONNX model ${definition.servingArtifact}: ${error.message}`);
      throw error;
    }
    await checkServingArtifact(definition.servingArtifact!, bytes, definition.modelSchema, definition.inputExample, at, this.logger);
  }

  /** Changes the description and merges metrics in (a null metric removes it). */
  async update(viewer: Viewer, ref: ModelRef, raw: UpdateModelInput): Promise<Model> {
    const input = parseInput(updateModelInput, raw);
    const model = await this.get(viewer, ref);
    // Optimistic: the write applies only if the row is unchanged since it was read, so two
    // concurrent merges never lose each other's metrics; the loser merges again.
    for (let attempt = 0; ; attempt++) {
      const current = await this.prisma.model.findUnique({ where: { id: model.id } });
      if (!current) throw new NotFoundError('Model', `${model.name} version ${model.version}`);
      const metrics: Record<string, number> = { ...(current.metrics as Record<string, number>) };
      for (const [key, value] of Object.entries(input.metrics ?? {})) {
        if (value === null) delete metrics[key];
        else metrics[key] = value;
      }
      try {
        return await this.events.change(viewer.projectId, async (tx) => {
          const { count } = await tx.model.updateMany({
            where: { id: model.id, updatedAt: current.updatedAt },
            data: { description: input.description ?? current.description, metrics: json(metrics) },
          });
          if (count === 0) throw new ChangedMeanwhile();
          const value = await tx.model.findUniqueOrThrow({ where: { id: model.id } });
          await recordChanged(tx, value.id);
          return { value, change: modelChange(value, 'UPDATED') };
        });
      } catch (error) {
        if (!(error instanceof ChangedMeanwhile)) throw error;
        if (attempt >= 5) throw new ConflictError(`model ${model.name} version ${model.version} keeps changing; try again`);
      }
    }
  }

  /** Deletes a version, its aliases and its files. */
  async delete(viewer: Viewer, name: string, version: number): Promise<Model> {
    const model = await this.findVersion(viewer, name, version);
    if (!model) throw new NotFoundError('Model', `${name} version ${version}`);
    const serving = await this.servedBy(viewer, model);
    if (serving) {
      throw new ConflictError(`model ${name} version ${version} is served by deployment ${serving}: change or delete the deployment first`);
    }
    await this.events.change(viewer.projectId, async (tx) => {
      await tx.model.delete({ where: { id: model.id } });
      await recordDeleted(tx, [model.id]);
      return { value: null, change: modelChange(model, 'DELETED') };
    });
    // The row is gone, so nothing serves these any more; a failure leaves garbage that the next start sweeps.
    await this.artifacts.remove(this.location(viewer.projectName, model)).catch((error: unknown) => {
      this.logger.error({ err: error, model: model.name, version: model.version }, 'could not remove the files of a deleted model');
    });
    return model;
  }

  /** The name of a deployment serving the version (by version, traffic, shadow, or an alias pointing at it), or null. */
  private async servedBy(viewer: Viewer, model: Model): Promise<string | null> {
    const deployments = await this.prisma.deployment.findMany({ where: { projectId: viewer.projectId, modelName: model.name } });
    if (deployments.length === 0) return null;
    const aliases = new Set((await this.prisma.modelAlias.findMany({ where: { modelId: model.id }, select: { alias: true } })).map((a) => a.alias));
    const found = deployments.find(
      (d) => d.shadowVersion === model.version || trafficOf(d).some((e) => e.version === model.version || (e.alias != null && aliases.has(e.alias))),
    );
    return found?.name ?? null;
  }

  /** Points `alias` of a model name at one READY version, creating or moving it in one step. */
  async setAlias(viewer: Viewer, name: string, alias: string, version: number): Promise<ModelAlias & { model: Model }> {
    const parsedName = parseInput(modelName, name, 'name');
    const parsedAlias = parseInput(aliasName, alias, 'alias');
    const model = await this.findVersion(viewer, parsedName, version);
    if (!model) throw new NotFoundError('Model', `${name} version ${version}`);
    if (model.state !== 'READY') throw ValidationError.at(['version'], `model ${name} version ${version} is PENDING; finalize it first`);
    const upsert = () =>
      this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.modelAlias.upsert({
          where: { projectId_name_alias: { projectId: viewer.projectId, name: parsedName, alias: parsedAlias } },
          create: { projectId: viewer.projectId, name: parsedName, alias: parsedAlias, modelId: model.id },
          update: { modelId: model.id },
          include: { model: true },
        });
        return { value, change: modelChange(model, 'UPDATED') };
      });
    try {
      return await upsert();
    } catch (error) {
      // Two requests created the alias at once: the loser's upsert now finds it and moves it.
      if (!isUniqueViolation(error)) throw error;
      return upsert();
    }
  }

  /** Removes an alias. */
  async deleteAlias(viewer: Viewer, name: string, alias: string): Promise<ModelAlias & { model: Model }> {
    const existing = await this.prisma.modelAlias.findUnique({
      where: { projectId_name_alias: { projectId: viewer.projectId, name, alias } },
      include: { model: true },
    });
    if (!existing) throw new NotFoundError('ModelAlias', `${name} alias ${alias}`);
    return this.events.change(viewer.projectId, async (tx) => {
      const { count } = await tx.modelAlias.deleteMany({ where: { id: existing.id } });
      if (count === 0) throw new NotFoundError('ModelAlias', `${name} alias ${alias}`);
      return { value: existing, change: modelChange(existing.model, 'UPDATED') };
    });
  }

  /** A version of the caller's project (any state); the latest version when none is given. */
  async get(viewer: Viewer, raw: ModelRef): Promise<Model> {
    const ref = parseInput(modelRef, raw, 'model');
    if (ref.alias != null) {
      const alias = await this.prisma.modelAlias.findUnique({
        where: { projectId_name_alias: { projectId: viewer.projectId, name: ref.name, alias: ref.alias } },
        include: { model: true },
      });
      if (!alias) throw new NotFoundError('ModelAlias', `${ref.name}@${ref.alias}`);
      return alias.model;
    }
    const model =
      ref.version == null
        ? await this.prisma.model.findFirst({ where: { projectId: viewer.projectId, name: ref.name }, orderBy: { version: 'desc' } })
        : await this.findVersion(viewer, ref.name, ref.version);
    if (!model) throw new NotFoundError('Model', ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`);
    return model;
  }

  /** The Prisma filter of `model(name, version | alias)`: highest version first is the answer. */
  lookupWhere(viewer: Viewer, lookup: ModelLookup): Prisma.ModelWhereInput {
    if (lookup.version != null && lookup.alias != null) throw ValidationError.at(['alias'], 'give either version or alias, not both');
    return {
      projectId: viewer.projectId,
      name: lookup.name,
      ...(lookup.version != null ? { version: lookup.version } : {}),
      ...(lookup.alias != null ? { aliases: { some: { alias: lookup.alias } } } : {}),
      ...(lookup.includePending ? {} : { state: 'READY' }),
    };
  }

  /** The Prisma filter of the `models` list. */
  listWhere(viewer: Viewer, filter: ModelFilter): Prisma.ModelWhereInput {
    return {
      projectId: viewer.projectId,
      ...(filter.name ? { name: filter.name } : {}),
      ...(filter.framework ? { framework: filter.framework } : {}),
      ...(filter.featureView
        ? { featureView: { name: filter.featureView.name, ...(filter.featureView.version != null ? { version: filter.featureView.version } : {}) } }
        : {}),
      ...(filter.includePending ? {} : { state: 'READY' }),
    };
  }

  /**
   * Id of the version with the highest (MAX) or lowest (MIN) value of `metric`; versions
   * without that metric are ignored, and a tie goes to the newer version. Null when none has it.
   */
  async best(viewer: Viewer, name: string, metric: string, direction: SortDirection, includePending = false): Promise<string | null> {
    const versions = await this.prisma.model.findMany({
      where: { projectId: viewer.projectId, name, ...(includePending ? {} : { state: 'READY' }) },
      select: { id: true, version: true, metrics: true },
      orderBy: { version: 'desc' },
    });
    let best: { id: string; value: number } | null = null;
    for (const v of versions) {
      const value = (v.metrics as Record<string, unknown> | null)?.[metric];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (!best || (direction === 'MAX' ? value > best.value : value < best.value)) best = { id: v.id, value };
    }
    return best?.id ?? null;
  }

  /** One stored file of a version, opened for reading (any state: a pending version's files can be checked). */
  async openFile(viewer: Viewer, name: string, version: number, path: string) {
    if (!grants(viewer.scopes, 'READ')) throw new NotFoundError('ModelFile', `${name}/${version}/${path}`);
    const file = await this.prisma.modelFile.findFirst({
      where: { path, model: { projectId: viewer.projectId, name, version } },
      include: { model: true },
    });
    if (!file) throw new NotFoundError('ModelFile', `${name}/${version}/${path}`);
    const opened = await this.artifacts.open(this.location(viewer.projectName, file.model), file.path);
    if (!opened) {
      this.logger.error({ model: name, version, path }, 'a registered model file is missing from the artifact store');
      throw new NotFoundError('ModelFile', `${name}/${version}/${path}`);
    }
    return { file, model: file.model, ...opened };
  }

  /** A version and its files (ordered by path), with a way to open each: what an archive download needs. */
  async archive(viewer: Viewer, name: string, version: number) {
    if (!grants(viewer.scopes, 'READ')) throw new NotFoundError('Model', `${name} version ${version}`);
    const model = await this.prisma.model.findUnique({
      where: { projectId_name_version: { projectId: viewer.projectId, name, version } },
      include: { files: { orderBy: { path: 'asc' } } },
    });
    if (!model) throw new NotFoundError('Model', `${name} version ${version}`);
    const location = this.location(viewer.projectName, model);
    return {
      model,
      files: model.files,
      open: async (file: ModelFile) => {
        const opened = await this.artifacts.open(location, file.path);
        if (!opened) throw new Error(`model file ${file.path} of ${name} version ${version} is missing from the artifact store`);
        return opened;
      },
    };
  }

  /**
   * Removes artifacts no version row lists that a process that is gone left (a registration killed
   * midway), and its staging leftovers; never what a live process sharing the folder is writing
   * (see `ModelArtifactStore.sweep`). Call at start.
   */
  async recover(guard?: SweepGuard): Promise<{ sweptFolders: number }> {
    const sweptFolders = await this.artifacts.sweep(async () => {
      // Read after the artifact folders are listed: a version registered meanwhile keeps its files.
      const rows = await this.prisma.model.findMany({ select: { name: true, version: true, project: { select: { name: true } } } });
      const known = new Set(rows.map((r) => `${r.project.name}/${r.name}/${r.version}`));
      return (l) => known.has(`${l.project}/${l.name}/${l.version}`);
    }, guard);
    return { sweptFolders };
  }

  location(projectName: string, model: Pick<Model, 'name' | 'version'>): ModelLocation {
    return { project: projectName, name: model.name, version: model.version };
  }

  /** Moves (or streams) each upload into a new staging area; on failure nothing stays staged. */
  private async stage(uploads: readonly ModelFileInput[], paths: readonly string[], root: (string | number)[]): Promise<ModelArtifactStaging> {
    const seen = new Set<File>();
    uploads.forEach((upload, i) => {
      if (seen.has(upload.file)) throw ValidationError.at([...root, i, 'file'], `file ${i + 1} is the same upload as an earlier one; upload it once per path`);
      seen.add(upload.file);
    });
    const staging = await this.artifacts.stage();
    try {
      for (const [i, upload] of uploads.entries()) {
        const file = upload.file;
        if (file instanceof DiskFile) await staging.addFile(paths[i]!, takeOver(file));
        else await staging.addStream(paths[i]!, Readable.fromWeb(file.stream() as unknown as NodeReadableStream));
      }
      return staging;
    } catch (error) {
      await staging.discard();
      throw error;
    }
  }

  private async lineage(viewer: Viewer, ref: FeatureViewRef | null | undefined, trainingDatasetVersion: number | null | undefined) {
    if (!ref) return { featureViewId: null, trainingDatasetId: null, derivedSchema: null };
    const view = await this.prisma.featureView.findFirst({
      where: { projectId: viewer.projectId, name: ref.name, ...(ref.version != null ? { version: ref.version } : {}) },
      orderBy: { version: 'desc' },
    });
    if (!view) throw new NotFoundError('FeatureView', ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`);
    if (trainingDatasetVersion == null) return { featureViewId: view.id, trainingDatasetId: null, derivedSchema: null };
    const dataset = await this.prisma.trainingDataset.findUnique({
      where: { featureViewId_version: { featureViewId: view.id, version: trainingDatasetVersion } },
    });
    if (!dataset) throw new NotFoundError('TrainingDataset', `${view.name} version ${view.version}, training dataset version ${trainingDatasetVersion}`);
    const derivedSchema = deriveModelSchema({
      query: view.query,
      labels: view.labels,
      transformations: view.transformations,
      transformationParams: dataset.transformationParams,
    });
    return { featureViewId: view.id, trainingDatasetId: dataset.id, derivedSchema };
  }

  private findVersion(viewer: Viewer, name: string, version: number): Promise<Model | null> {
    return this.prisma.model.findUnique({ where: { projectId_name_version: { projectId: viewer.projectId, name, version } } });
  }

  private async latestVersion(viewer: Viewer, name: string): Promise<number> {
    const latest = await this.prisma.model.findFirst({
      where: { projectId: viewer.projectId, name },
      orderBy: { version: 'desc' },
      select: { version: true },
    });
    return latest?.version ?? 0;
  }

  private async sameOrConflict(existing: Model, requested: Definition, files: readonly StoredModelFile[]): Promise<Model> {
    const diffs: string[] = [];
    const fields: (keyof Definition)[] = [
      'framework',
      'description',
      'metrics',
      'inputExample',
      'modelSchema',
      'featureViewId',
      'trainingDatasetId',
      'servingArtifact',
    ];
    for (const field of fields) {
      if (canonicalJson(existing[field]) !== canonicalJson(requested[field])) diffs.push(field);
    }
    const stored = await this.prisma.modelFile.findMany({ where: { modelId: existing.id }, orderBy: { path: 'asc' } });
    const shape = (fs: readonly { path: string; sha256: string }[]) =>
      fs
        .map((f) => `${f.path}:${f.sha256}`)
        .sort()
        .join('\n');
    if (shape(stored) !== shape(files)) diffs.push('files');
    if (diffs.length === 0) return existing;
    throw new ConflictError(
      `model ${existing.name} version ${existing.version} exists with other ${diffs.join(', ')}. Register a new version (omit version) instead.`,
    );
  }
}

/** The row changed between read and write: read again. */
class ChangedMeanwhile extends Error {}

interface Definition {
  readonly framework: string;
  readonly description: string;
  readonly metrics: Record<string, number>;
  readonly inputExample: unknown;
  readonly modelSchema: unknown;
  readonly featureViewId: string | null;
  readonly trainingDatasetId: string | null;
  readonly servingArtifact: string | null;
}

function modelChange(model: Pick<Model, 'id' | 'name' | 'version'>, action: RegistryChange['action']): RegistryChange {
  return { kind: 'Model', objectId: model.id, name: model.name, version: model.version, action };
}

function fileRow(file: StoredModelFile) {
  return { path: file.path, size: BigInt(file.size), sha256: file.sha256 };
}

/** JSON with object keys sorted, to compare stored and requested values. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'P2002';
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
