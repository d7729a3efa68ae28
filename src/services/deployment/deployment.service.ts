import { ConflictError, DeploymentStoppedError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Deployment, Model, Prisma } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { GranaryPubSub } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { ModelService } from '../model/model.service.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import {
  createDeploymentInput,
  deploymentName,
  updateDeploymentInput,
  type CreateDeploymentInput,
  trafficOf,
  type TrafficEntry,
  type UpdateDeploymentInput,
} from './definition.ts';
import type { PredictionLog } from './prediction-log.ts';
import type { ServedModels, ServedVersion } from './served-models.ts';

export type DeploymentState = 'RUNNING' | 'STOPPED';

/** One route of a running deployment: a served version and the end of its share of [0, 1). */
export interface Route {
  readonly served: ServedVersion;
  readonly upTo: number;
}

/** What predict needs of a deployment, resolved once and kept until a change (or 30 s in another process). */
export interface Runtime {
  readonly deployment: Deployment;
  readonly routes: readonly Route[];
  readonly shadow: ServedVersion | null;
  readonly expiresAt: number;
}

/** Request counts and latencies of a deployment in this process (recent 2 048 requests for percentiles). */
export interface DeploymentStats {
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

const RUNTIME_TTL_MS = 30_000;
const LATENCY_WINDOW = 2048;

class Stats {
  requests = 0;
  errors = 0;
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private next = 0;
  private filled = 0;

  record(ms: number, ok: boolean): void {
    this.requests++;
    if (!ok) this.errors++;
    this.latencies[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    if (this.filled < LATENCY_WINDOW) this.filled++;
  }

  snapshot(): DeploymentStats {
    const sorted = Array.from(this.latencies.subarray(0, this.filled)).sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000);
    return { requests: this.requests, errors: this.errors, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}

/**
 * Deployments: a model served for predictions by name. Each has traffic over versions (or the
 * version an alias points at, followed as it moves), an optional shadow version and prediction
 * logging. Managing them needs WRITE; predicting needs READ. What predict needs (versions, their
 * views, training datasets and ONNX sessions) is resolved once per deployment and dropped when a
 * deployment or model of the project changes.
 */
export class DeploymentService {
  private readonly runtimes = new Map<string, Promise<Runtime>>();
  private readonly built = new Map<string, Runtime>();
  private readonly refreshing = new Set<string>();
  private readonly stats = new Map<string, Stats>();
  private readonly watched = new Set<string>();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly models: ModelService,
    readonly served: ServedModels,
    readonly log: PredictionLog,
    private readonly pubsub: GranaryPubSub,
    private readonly logger: Logger,
  ) {}

  async create(viewer: Viewer, raw: CreateDeploymentInput): Promise<Deployment> {
    const input = parseInput(createDeploymentInput, raw);
    const model = await this.models.get(viewer, { name: input.model.name, version: input.model.version, alias: input.model.alias });
    // Neither version nor alias: the latest version now, pinned.
    const modelVersion = input.model.alias != null ? null : model.version;
    const definition = {
      modelName: model.name,
      modelVersion,
      modelAlias: input.model.alias ?? null,
      traffic: input.traffic ?? [],
      shadowVersion: input.shadow?.version ?? null,
    };
    await this.checkServable(viewer, definition);
    const existing = await this.prisma.deployment.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name: input.name } } });
    if (existing) throw new ConflictError(`deployment ${input.name} exists: change it with updateDeployment, or delete it first`);
    const logging = input.logging?.enabled === true;
    // A shadow's predictions go only to the log: it needs the log group even with logging off.
    const logGroup = logging || definition.shadowVersion != null ? await this.log.ensureGroup(viewer, input.name) : null;
    const createdBy = (await this.prisma.apiKey.findUnique({ where: { id: viewer.apiKeyId }, select: { name: true } }))?.name ?? '';
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.deployment.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            description: input.description ?? '',
            ...definition,
            traffic: json(definition.traffic),
            loggingEnabled: logging,
            loggingSampleRate: input.logging?.sampleRate ?? 1,
            logGroupId: logGroup?.id ?? null,
            state: input.start === false ? 'STOPPED' : 'RUNNING',
            createdBy,
          },
        });
        return { value, change: deploymentChange(value, 'CREATED') };
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') throw new ConflictError(`deployment ${input.name} exists`);
      throw error;
    }
  }

  async update(viewer: Viewer, name: string, raw: UpdateDeploymentInput): Promise<Deployment> {
    const input = parseInput(updateDeploymentInput, raw);
    const current = await this.get(viewer, name);
    const definition = {
      modelName: current.modelName,
      modelVersion: input.model ? (input.model.version ?? null) : current.modelVersion,
      modelAlias: input.model ? (input.model.alias ?? null) : current.modelAlias,
      traffic: input.traffic ?? (current.traffic as unknown as TrafficEntry[]),
      shadowVersion: input.shadow === undefined ? current.shadowVersion : (input.shadow?.version ?? null),
    };
    await this.checkServable(viewer, definition);
    const logging = input.logging ? input.logging.enabled : current.loggingEnabled;
    const logGroup = logging || definition.shadowVersion != null ? await this.log.ensureGroup(viewer, current.name) : null;
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.deployment.update({
        where: { id: current.id },
        data: {
          ...(input.description != null ? { description: input.description } : {}),
          modelVersion: definition.modelVersion,
          modelAlias: definition.modelAlias,
          traffic: json(definition.traffic),
          shadowVersion: definition.shadowVersion,
          loggingEnabled: logging,
          ...(input.logging?.sampleRate != null ? { loggingSampleRate: input.logging.sampleRate } : {}),
          ...(logGroup ? { logGroupId: logGroup.id } : {}),
        },
      });
      return { value, change: deploymentChange(value, 'UPDATED') };
    });
  }

  /** Starts or stops serving; the same state again is harmless. */
  async setState(viewer: Viewer, name: string, state: DeploymentState): Promise<Deployment> {
    const current = await this.get(viewer, name);
    if (current.state === state) return current;
    if (state === 'RUNNING') await this.checkServable(viewer, { ...current, traffic: current.traffic as unknown as TrafficEntry[] });
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.deployment.update({ where: { id: current.id }, data: { state } });
      return { value, change: deploymentChange(value, 'UPDATED') };
    });
  }

  /** Deletes a deployment; its prediction log group stays (it is data). */
  async delete(viewer: Viewer, name: string): Promise<Deployment> {
    const current = await this.get(viewer, name);
    await this.log.flush();
    return this.events.change(viewer.projectId, async (tx) => {
      await tx.deployment.delete({ where: { id: current.id } });
      return { value: current, change: deploymentChange(current, 'DELETED') };
    });
  }

  async get(viewer: Viewer, name: string): Promise<Deployment> {
    const parsed = parseInput(deploymentName, name, 'deployment');
    const found = await this.prisma.deployment.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name: parsed } } });
    if (!found) throw new NotFoundError('Deployment', name);
    return found;
  }

  /** The Prisma filter of the `deployments` list. */
  listWhere(viewer: Viewer, filter: { model?: string | null; state?: DeploymentState | null }): Prisma.DeploymentWhereInput {
    return {
      projectId: viewer.projectId,
      ...(filter.model ? { modelName: filter.model } : {}),
      ...(filter.state ? { state: filter.state } : {}),
    };
  }

  /** This process's request counts and latencies of a deployment. */
  statsOf(deployment: Pick<Deployment, 'id'>): DeploymentStats {
    return this.stats.get(deployment.id)?.snapshot() ?? { requests: 0, errors: 0, p50Ms: null, p99Ms: null };
  }

  record(deployment: Pick<Deployment, 'id'>, ms: number, ok: boolean): void {
    let stats = this.stats.get(deployment.id);
    if (!stats) {
      stats = new Stats();
      this.stats.set(deployment.id, stats);
    }
    stats.record(ms, ok);
  }

  /** The versions traffic goes to now, with their weights (aliases resolved). */
  async routesOf(viewer: Viewer, deployment: Deployment): Promise<{ version: number; alias: string | null; weight: number }[]> {
    const entries = trafficOf(deployment);
    const out = [];
    for (const e of entries) {
      const model = await this.resolve(viewer, deployment.modelName, e);
      out.push({ version: model.version, alias: e.alias ?? null, weight: e.weight });
    }
    return out;
  }

  /**
   * A running deployment's runtime: cached, rebuilt after a change of the project's deployments or
   * models. Once its time is up (the bound on a change made by another process whose event did not
   * arrive) it keeps serving while a rebuild runs beside the requests; a rebuild that fails (the
   * deployment was stopped or deleted) drops it, so the next request gets the error.
   */
  async runtime(viewer: Viewer, name: string): Promise<Runtime> {
    const key = `${viewer.projectId}|${name}`;
    const ready = this.built.get(key);
    if (ready) {
      if (ready.expiresAt <= Date.now()) this.refresh(viewer, name, key, ready);
      return ready;
    }
    let pending = this.runtimes.get(key);
    if (pending) {
      const runtime = await pending;
      if (runtime.expiresAt > Date.now()) return runtime;
      if (this.runtimes.get(key) === pending) this.forgetKey(key);
    }
    pending = this.build(viewer, name);
    this.runtimes.set(key, pending);
    this.watch(viewer.projectId);
    try {
      const runtime = await pending;
      if (this.runtimes.get(key) === pending) this.built.set(key, runtime);
      return runtime;
    } catch (error) {
      if (this.runtimes.get(key) === pending) this.forgetKey(key);
      throw error;
    }
  }

  /** Rebuilds an expired runtime in the background; requests keep the old one meanwhile. */
  private refresh(viewer: Viewer, name: string, key: string, stale: Runtime): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    this.build(viewer, name)
      .then(
        (runtime) => {
          // Unless a change dropped it meanwhile (then the next request builds afresh).
          if (this.built.get(key) === stale) this.built.set(key, runtime);
        },
        () => {
          if (this.built.get(key) === stale) this.forgetKey(key);
        },
      )
      .finally(() => this.refreshing.delete(key));
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.served.close();
  }

  private async build(viewer: Viewer, name: string): Promise<Runtime> {
    const deployment = await this.get(viewer, name);
    if (deployment.state !== 'RUNNING') throw new DeploymentStoppedError(name);
    const entries = trafficOf(deployment);
    const total = entries.reduce((sum, e) => sum + e.weight, 0);
    const routes: Route[] = [];
    let upTo = 0;
    for (const entry of entries) {
      if (entry.weight <= 0) continue;
      upTo += entry.weight / total;
      routes.push({ served: await this.served.version(viewer, await this.resolve(viewer, deployment.modelName, entry)), upTo });
    }
    // Rounding must not leave a sliver of [0, 1) unrouted.
    routes[routes.length - 1] = { ...routes[routes.length - 1]!, upTo: 1 };
    const shadow =
      deployment.shadowVersion == null
        ? null
        : await this.served.version(viewer, await this.resolve(viewer, deployment.modelName, { version: deployment.shadowVersion }));
    return { deployment, routes, shadow, expiresAt: Date.now() + RUNTIME_TTL_MS };
  }

  private async resolve(viewer: Viewer, modelName: string, entry: { version?: number | null; alias?: string | null }): Promise<Model> {
    return this.models.get(viewer, { name: modelName, version: entry.version, alias: entry.alias });
  }

  /**
   * Every version the deployment would serve exists, is READY, has an ONNX serving artifact and a
   * feature view and training dataset to build its vectors; the shadow is not a served version.
   */
  private async checkServable(
    viewer: Viewer,
    d: { modelName: string; modelVersion: number | null; modelAlias: string | null; traffic: readonly TrafficEntry[]; shadowVersion: number | null },
  ): Promise<void> {
    const entries = trafficOf({ ...d, traffic: d.traffic as unknown });
    const served = new Set<number>();
    for (const [i, entry] of entries.entries()) {
      const at = d.traffic.length > 0 ? ['input', 'traffic', i] : ['input', 'model'];
      const model = await this.resolve(viewer, d.modelName, entry).catch((error: unknown) => {
        if (error instanceof NotFoundError) throw ValidationError.at(at, error.message);
        throw error;
      });
      checkModel(model, at);
      served.add(model.version);
    }
    if (d.shadowVersion != null) {
      if (served.has(d.shadowVersion))
        throw ValidationError.at(['input', 'shadow', 'version'], `version ${d.shadowVersion} already gets traffic; a shadow is another version`);
      const shadow = await this.resolve(viewer, d.modelName, { version: d.shadowVersion }).catch((error: unknown) => {
        if (error instanceof NotFoundError) throw ValidationError.at(['input', 'shadow', 'version'], error.message);
        throw error;
      });
      checkModel(shadow, ['input', 'shadow', 'version']);
    }
  }

  private watch(projectId: string): void {
    if (this.watched.has(projectId)) return;
    this.watched.add(projectId);
    void (async () => {
      try {
        for await (const event of this.pubsub.subscribe('registryEvent', projectId)) {
          // A commit (the prediction log's every few seconds among them) leaves runtimes as they are.
          if (!event.rowsOnly && ['Deployment', 'Model', 'FeatureView', 'TrainingDataset', 'FeatureGroup'].includes(event.kind)) {
            for (const key of this.runtimes.keys()) if (key.startsWith(`${projectId}|`)) this.forgetKey(key);
          }
        }
      } catch (error) {
        this.logger.warn({ err: error, projectId }, 'deployment cache lost its change feed; runtimes expire by time');
      } finally {
        this.watched.delete(projectId);
      }
    })();
  }

  private forgetKey(key: string): void {
    this.runtimes.delete(key);
    this.built.delete(key);
  }
}

function checkModel(model: Model, at: (string | number)[]): void {
  const which = `model ${model.name} version ${model.version}`;
  if (model.state !== 'READY') throw ValidationError.at(at, `${which} is ${model.state}: finalize it first`);
  if (!model.servingArtifact) {
    throw ValidationError.at(at, `${which} has no ONNX file to serve: register it with an .onnx file (framework ONNX, or servingArtifact naming the file)`);
  }
  if (!model.featureViewId || !model.trainingDatasetId) {
    throw ValidationError.at(at, `${which} was not registered with a feature view and training dataset version, so its features cannot be looked up`);
  }
}

function deploymentChange(d: Pick<Deployment, 'id' | 'name'>, action: RegistryChange['action']): RegistryChange {
  return { kind: 'Deployment', objectId: d.id, name: d.name, version: null, action };
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
