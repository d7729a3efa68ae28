import { compileJs } from '../../engine/transformations/index.ts';
import type { CompiledTransformations, FittedTransformation } from '../../engine/transformations/types.ts';
import { viewColumns, type ViewQuery } from '../../engine/feature-view/query.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { FeatureView } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { GranaryPubSub } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { OnlineStore, OnlineTable } from '../../stores/online/online-store.ts';
import { groupSchema } from '../feature-group/definition.ts';
import type { Viewer } from '../viewer.ts';
import { definitionOf, type FeatureViewRef, type FeatureViewService } from './feature-view.service.ts';
import type { TrainingDatasetService } from './training-dataset.service.ts';

/** One entity's online features, transformed as training data was. */
export interface FeatureVector {
  /** Output names in order: view features (labels left out), transformed ones replaced by their outputs. */
  readonly features: readonly string[];
  readonly values: readonly unknown[];
  readonly record: Readonly<Record<string, unknown>>;
  /** Feature groups that had no online row for the entity; their features are null. */
  readonly missing: readonly string[];
}

/** Where a view's output column comes from: the left group (-1) or a join, and the feature there. */
interface Source {
  readonly name: string;
  readonly group: number;
  readonly feature: string;
}

/** Everything serving a view needs, compiled once: no metadata read per request. */
interface ServingPlan {
  readonly servingKeys: readonly string[];
  readonly left: { readonly table: OnlineTable; readonly name: string };
  readonly joins: readonly {
    readonly table: OnlineTable;
    readonly name: string;
    /** For each of the joined group's primary-key features, in key order: the left feature holding it. */
    readonly keyFrom: readonly string[];
  }[];
  readonly sources: readonly Source[];
  readonly transform: CompiledTransformations | null;
  readonly transformed: ReadonlySet<string>;
  readonly features: readonly string[];
  readonly expiresAt: number;
}

/** How long "the latest version" is trusted in another process without a change event seen. */
const PLAN_TTL_MS = 30_000;

/**
 * Online feature vectors: each group of the view read from the online store by key, one round trip
 * per group per request (all entities batched), joined, passed features applied, then the view's
 * transformations with the fitted parameters of a training dataset version.
 */
export class ServingService {
  private readonly plans = new Map<string, Promise<ServingPlan>>();
  private readonly watched = new Set<string>();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly views: FeatureViewService,
    private readonly trainingDatasets: TrainingDatasetService,
    private readonly online: OnlineStore,
    private readonly pubsub: GranaryPubSub,
    private readonly logger: Logger,
  ) {}

  async vectors(
    viewer: Viewer,
    ref: FeatureViewRef,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    trainingDatasetVersion?: number | null,
  ): Promise<FeatureVector[]> {
    const plan = await this.plan(viewer, ref, trainingDatasetVersion);
    const keys = entries.map((entry, i) => {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
        throw ValidationError.at(['entries', i], 'an entry is an object of serving keys, e.g. { "customerid": "…" }');
      }
      return plan.servingKeys.map((k) => {
        const value = (entry as Record<string, unknown>)[k];
        if (value === undefined || value === null) {
          throw ValidationError.at(['entries', i, k], `missing serving key ${k}; the view needs ${plan.servingKeys.join(', ')}`);
        }
        return value;
      });
    });
    if (passed && passed.length !== entries.length) {
      throw ValidationError.at(['passedFeatures'], `give one passedFeatures object per entry (${entries.length}), or none`);
    }
    const leftRows = await this.online.read(plan.left.table, keys);
    const joinRows = await Promise.all(
      plan.joins.map((join) =>
        this.online.read(
          join.table,
          leftRows.map((row, i) =>
            join.keyFrom.map((f) => row?.[f] ?? (entries[i] as Record<string, unknown>)[f] ?? null),
          ),
        ),
      ),
    );
    return entries.map((_entry, i) => {
      const left = leftRows[i] ?? null;
      const missing: string[] = [];
      if (!left) missing.push(plan.left.name);
      plan.joins.forEach((join, j) => {
        if (!joinRows[j]![i]) missing.push(join.name);
      });
      const raw: Record<string, unknown> = {};
      for (const s of plan.sources) {
        const row = s.group < 0 ? left : joinRows[s.group]![i];
        raw[s.name] = row ? (row[s.feature] ?? null) : null;
      }
      const overrides = passed?.[i];
      if (overrides && typeof overrides === 'object') {
        for (const [name, value] of Object.entries(overrides as Record<string, unknown>)) if (name in raw) raw[name] = value;
      }
      const outputs = plan.transform ? plan.transform(raw) : null;
      const record: Record<string, unknown> = {};
      for (const s of plan.sources) if (!plan.transformed.has(s.name)) record[s.name] = raw[s.name];
      if (outputs) Object.assign(record, outputs);
      const values = plan.features.map((f) => record[f]);
      const ordered: Record<string, unknown> = {};
      plan.features.forEach((f, k) => (ordered[f] = values[k]));
      return { features: plan.features, values, record: ordered, missing };
    });
  }

  private plan(viewer: Viewer, ref: FeatureViewRef, tdVersion?: number | null): Promise<ServingPlan> {
    const key = `${viewer.projectId}|${ref.name}|${ref.version ?? '*'}|${tdVersion ?? '*'}`;
    const cached = this.plans.get(key);
    if (cached) {
      return cached.then((plan) => {
        if (plan.expiresAt > Date.now()) return plan;
        this.plans.delete(key);
        return this.plan(viewer, ref, tdVersion);
      });
    }
    const built = this.build(viewer, ref, tdVersion);
    this.plans.set(key, built);
    built.catch(() => this.plans.delete(key));
    this.watch(viewer.projectId);
    return built;
  }

  /** Drops a project's plans whenever a view, training dataset or group of it changes. */
  private watch(projectId: string): void {
    if (this.watched.has(projectId)) return;
    this.watched.add(projectId);
    void (async () => {
      try {
        for await (const event of this.pubsub.subscribe('registryEvent', projectId)) {
          if (['FeatureView', 'TrainingDataset', 'FeatureGroup'].includes(event.kind)) this.forget(projectId);
        }
      } catch (error) {
        this.logger.warn({ err: error, projectId }, 'serving cache lost its change feed; plans expire by time');
      } finally {
        this.watched.delete(projectId);
      }
    })();
  }

  private forget(projectId: string): void {
    for (const key of this.plans.keys()) if (key.startsWith(`${projectId}|`)) this.plans.delete(key);
  }

  private async build(viewer: Viewer, ref: FeatureViewRef, tdVersion?: number | null): Promise<ServingPlan> {
    const view = await this.views.get(viewer, ref);
    const def = definitionOf(view);
    let fitted: FittedTransformation[] = [];
    if (def.transformations.length > 0) {
      const { dataset } = await this.trainingDatasets.get(viewer, ref, tdVersion).catch((error: unknown) => {
        if (error instanceof NotFoundError && tdVersion == null) {
          throw ValidationError.at(
            ['trainingDatasetVersion'],
            `feature view ${view.name} has transformation functions but no training dataset to take their fitted parameters from`,
          );
        }
        throw error;
      });
      fitted = this.trainingDatasets.fitted(dataset);
    } else if (tdVersion != null) {
      await this.trainingDatasets.get(viewer, ref, tdVersion);
    }
    const tables = await this.tables(viewer, view, def.query);
    const labels = new Set(def.labels);
    const sources: Source[] = [];
    const columns = viewColumns(def.query);
    let index = 0;
    for (const feature of def.query.left.features) {
      const c = columns[index++]!;
      if (!labels.has(c.name)) sources.push({ name: c.name, group: -1, feature });
    }
    def.query.joins.forEach((join, j) => {
      for (const feature of join.features) {
        const c = columns[index++]!;
        if (!labels.has(c.name)) sources.push({ name: c.name, group: j, feature });
      }
    });
    const byFeature = new Map(fitted.map((f) => [f.feature, f]));
    const features = sources.flatMap((s) => byFeature.get(s.name)?.outputs.map((o) => o.name) ?? [s.name]);
    return {
      servingKeys: def.query.left.schema.primaryKey,
      left: tables.left,
      joins: tables.joins,
      sources,
      transform: fitted.length > 0 ? compileJs(fitted.filter((f) => !labels.has(f.feature))) : null,
      transformed: new Set(fitted.map((f) => f.feature)),
      features,
      expiresAt: Date.now() + PLAN_TTL_MS,
    };
  }

  private async tables(viewer: Viewer, view: FeatureView, query: ViewQuery) {
    const refs = [query.left.group, ...query.joins.map((j) => j.group)];
    const groups = await this.prisma.featureGroup.findMany({
      where: { projectId: viewer.projectId, OR: refs.map((r) => ({ name: r.name, version: r.version })) },
    });
    const row = (r: { name: string; version: number }) => {
      const g = groups.find((x) => x.name === r.name && x.version === r.version);
      if (!g) throw new NotFoundError('FeatureGroup', `${r.name} version ${r.version}`);
      if (!g.onlineEnabled) {
        throw ValidationError.at(
          ['featureView'],
          `feature view ${view.name} reads feature group ${g.name} version ${g.version}, which is not online enabled: online vectors need every group online`,
        );
      }
      return g;
    };
    const left = row(query.left.group);
    return {
      left: { table: { id: left.id, schema: groupSchema(left) }, name: left.name },
      joins: query.joins.map((join) => {
        const g = row(join.group);
        const pk = join.schema.primaryKey;
        const keyFrom = pk.map((k) => {
          const pair = join.on.find((o) => o.right === k);
          if (!pair) {
            throw ValidationError.at(
              ['featureView'],
              `feature view ${view.name} joins ${g.name} on ${join.on.map((o) => o.right).join(', ')}, not on its primary key ${pk.join(', ')}: it cannot be looked up online`,
            );
          }
          return pair.left;
        });
        return { table: { id: g.id, schema: groupSchema(g) }, name: g.name, keyFrom };
      }),
    };
  }
}
