import { compileJs } from '../../engine/transformations/index.ts';
import type { CompiledTransformations, FittedTransformation } from '../../engine/transformations/types.ts';
import { closestName, passedValueChecker, type PassedValueCheck } from '../../engine/feature-view/passed-values.ts';
import { viewColumns, type ViewQuery } from '../../engine/feature-view/query.ts';
import { NotFoundError, ValidationError, type InputIssue } from '../../errors.ts';
import type { FeatureView } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { GranaryPubSub } from '../../pubsub.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { OnlineStore, OnlineTable } from '../../stores/online/online-store.ts';
import { groupSchema } from '../feature-group/definition.ts';
import type { Viewer } from '../viewer.ts';
import { checkJsonDepth } from '../json-limits.ts';
import { definitionOf, type FeatureViewRef, type FeatureViewService } from './feature-view.service.ts';
import type { TrainingDatasetService } from './training-dataset.service.ts';

/** One entity's online features, transformed as training data was (or raw, when asked for). */
export interface FeatureVector {
  /** Output names in order: view features (labels left out), transformed ones replaced by their outputs (raw vectors keep the view's names). */
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
  /** Canonical feature type. */
  readonly type: string;
}

/** The groups' rows of one entity: the left group's, then each join's (null: no online row). */
type Rows = readonly (Readonly<Record<string, unknown>> | null)[];

/**
 * One vector: `record` is built only when asked for (a client that reads `values` does not pay for
 * 50 more properties per entity).
 */
class Vector implements FeatureVector {
  #record: Readonly<Record<string, unknown>> | undefined;
  constructor(
    readonly features: readonly string[],
    readonly values: readonly unknown[],
    readonly missing: readonly string[],
    private readonly toRecord: (values: readonly unknown[]) => Record<string, unknown>,
  ) {}
  get record(): Readonly<Record<string, unknown>> {
    this.#record ??= this.toRecord(this.values);
    return this.#record;
  }
}

const NOTHING_MISSING: readonly string[] = Object.freeze([]);

/** A property key in generated code: a JSON string literal, `__proto__` computed so it stays an own property. */
const keyLiteral = (name: string) => (name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name));

/**
 * Generated once per plan: the untransformed record of an entity as an object literal of one fixed
 * shape (sources in order, null where the group had no row), then passed features applied, then the
 * transformations; returns the values in output order. A literal with constant keys is several
 * times faster and allocates far less than building the records property by property.
 */
function compileAssemble(
  sources: readonly Source[],
  features: readonly string[],
  transformed: ReadonlySet<string>,
  transform: CompiledTransformations | null,
): (rows: Rows, passed: unknown) => unknown[] {
  const sourceNames = new Set(sources.map((s) => s.name));
  const raw = sources.map((s) => `${keyLiteral(s.name)}: r${s.group + 1} === null ? null : (r${s.group + 1}[${JSON.stringify(s.feature)}] ?? null)`);
  const groups = Math.max(0, ...sources.map((s) => s.group + 1)) + 1;
  const rows = Array.from({ length: groups }, (_, g) => `const r${g} = rows[${g}] ?? null;`).join('\n');
  const values = features.map((f) => (sourceNames.has(f) && !transformed.has(f) ? `raw[${JSON.stringify(f)}]` : `out[${JSON.stringify(f)}]`));
  const body = `${rows}
    const raw = { ${raw.join(', ')} };
    if (passed !== null && typeof passed === 'object') {
      for (const name of Object.keys(passed)) if (name !== '__proto__' && Object.hasOwn(raw, name)) raw[name] = passed[name];
    }
    const out = transform === null ? raw : transform(raw);
    return [${values.join(', ')}];`;
  const assemble = new Function('transform', 'rows', 'passed', body) as (transform: CompiledTransformations | null, rows: Rows, passed: unknown) => unknown[];
  return (rows, passed) => assemble(transform, rows, passed);
}

/** Generated once per plan: `{ [features[i]]: values[i] }` in output order, one fixed shape. */
function compileRecord(features: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  const fields = features.map((f, i) => `${keyLiteral(f)}: v[${i}]`);
  return new Function('v', `return { ${fields.join(', ')} };`) as (values: readonly unknown[]) => Record<string, unknown>;
}

/**
 * One entity's passed features checked against the plan: null for none; otherwise an object (no
 * prototype) of the features' values in the form the online store serves. Every unknown name and
 * every value of the wrong type is an issue at `path.<feature>`; the first one is the message.
 */
function checkPassed(plan: ServingPlan, passed: unknown, path: readonly (string | number)[]): Record<string, unknown> | null {
  if (passed === null || passed === undefined) return null;
  if (typeof passed !== 'object' || Array.isArray(passed)) {
    throw ValidationError.at(path, 'passedFeatures is an object of feature values by name, e.g. { "tenure": 3 }');
  }
  const out: Record<string, unknown> = Object.create(null);
  let issues: InputIssue[] | null = null;
  for (const name of Object.keys(passed)) {
    const value = (passed as Record<string, unknown>)[name];
    const check = plan.passable.get(name);
    let message: string | null = null;
    if (check === undefined) message = unknownPassed(plan, name);
    else {
      const checked = check(value);
      if (checked.ok) out[name] = checked.value;
      else message = `feature ${name}: ${checked.message}`;
    }
    if (message !== null) {
      issues ??= [];
      issues.push({ path: [...path, name], message });
    }
  }
  if (issues !== null) throw new ValidationError(`${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
  return out;
}

/** Why `name` cannot be passed: a label, or not a feature of the view (with the closest name). */
function unknownPassed(plan: ServingPlan, name: string): string {
  const shown = JSON.stringify(name.length > 63 ? `${name.slice(0, 60)}...` : name);
  if (plan.labels.has(name)) return `${shown} is a label of feature view ${plan.viewName}: labels are not served, so they cannot be passed`;
  const names = [...plan.passable.keys()];
  const close = closestName(name, names);
  const list = names.length > 30 ? `${names.slice(0, 30).join(', ')}, … (${names.length} in all)` : names.join(', ');
  return `${shown} is not a feature of feature view ${plan.viewName}${close ? ` (did you mean ${close}?)` : ''}; its features are ${list}`;
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
    /** For each of them, its position among the serving keys, or -1. */
    readonly keyIndex: readonly number[];
  }[];
  /** Whether every join is keyed by serving keys only, so all groups can be read at once. */
  readonly joinsByServingKeys: boolean;
  readonly viewName: string;
  readonly labels: ReadonlySet<string>;
  readonly sources: readonly Source[];
  /** The features a client may pass (the view's features, labels left out), each with its type's checker. */
  readonly passable: ReadonlyMap<string, PassedValueCheck>;
  readonly features: readonly string[];
  readonly assemble: (rows: Rows, passed: unknown) => unknown[];
  readonly toRecord: (values: readonly unknown[]) => Record<string, unknown>;
  readonly expiresAt: number;
}

/** How long "the latest version" is trusted in another process without a change event seen. */
const PLAN_TTL_MS = 30_000;

/**
 * Whether vectors are transformed with the fitted parameters (`featureVector`'s default) or are the
 * raw feature values (`transformed: false`): two plans of one view, each compiled and cached.
 */
export type VectorForm = 'transformed' | 'raw';

const planKey = (viewer: Viewer, ref: FeatureViewRef, tdVersion: number | null | undefined, form: VectorForm) =>
  `${viewer.projectId}|${ref.name}|${ref.version ?? '*'}|${tdVersion ?? '*'}|${form}`;

/**
 * Online feature vectors: each group of the view read from the online store by key, one round trip
 * per group per request (all entities batched), joined, passed features applied, then the view's
 * transformations with the fitted parameters of a training dataset version (none for raw vectors).
 */
export class ServingService {
  private readonly plans = new Map<string, Promise<ServingPlan>>();
  /** The plans of `plans` that are built, for the hot path. */
  private readonly built = new Map<string, ServingPlan>();
  private readonly watched = new Set<string>();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly views: FeatureViewService,
    private readonly trainingDatasets: TrainingDatasetService,
    private readonly online: OnlineStore,
    private readonly pubsub: GranaryPubSub,
    private readonly logger: Logger,
  ) {}

  /**
   * One entity's vector (`featureVector`): input errors name `entry` and `passedFeatures.<feature>`.
   * `form` 'raw' serves the view's features as stored (passed features applied), no transformation
   * function applied, so no training dataset is needed; one given must still exist.
   */
  async vector(
    viewer: Viewer,
    ref: FeatureViewRef,
    entry: unknown,
    passed: unknown,
    trainingDatasetVersion?: number | null,
    form: VectorForm = 'transformed',
  ): Promise<FeatureVector> {
    const [vector] = await this.serve(viewer, ref, [entry], passed == null ? null : [passed], trainingDatasetVersion, form, true);
    return vector!;
  }

  /**
   * Vectors of several entities, in order (`featureVectors`). Passed features must be features of
   * the view with values of their types: anything else is a ValidationError naming the feature,
   * before any online read.
   */
  vectors(
    viewer: Viewer,
    ref: FeatureViewRef,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    trainingDatasetVersion?: number | null,
    form: VectorForm = 'transformed',
  ): Promise<FeatureVector[]> {
    return this.serve(viewer, ref, entries, passed, trainingDatasetVersion, form, false);
  }

  /**
   * Transformed vectors and, from the same online rows, the raw ones (what a prediction log
   * records: the model's input and the values it was computed from).
   */
  async vectorsWithRaw(
    viewer: Viewer,
    ref: FeatureViewRef,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    trainingDatasetVersion: number,
  ): Promise<{ vectors: FeatureVector[]; raw: FeatureVector[] }> {
    const raw = this.ready(viewer, ref, trainingDatasetVersion, 'raw') ?? (await this.plan(viewer, ref, trainingDatasetVersion, 'raw'));
    const out: FeatureVector[] = [];
    const vectors = await this.serve(viewer, ref, entries, passed, trainingDatasetVersion, 'transformed', false, { plan: raw, out });
    return { vectors, raw: out };
  }

  private async serve(
    viewer: Viewer,
    ref: FeatureViewRef,
    entries: readonly unknown[],
    passed: readonly unknown[] | null | undefined,
    trainingDatasetVersion: number | null | undefined,
    form: VectorForm,
    single: boolean,
    also?: { readonly plan: ServingPlan; readonly out: FeatureVector[] },
  ): Promise<FeatureVector[]> {
    checkJsonDepth(single ? entries[0] : entries, [single ? 'entry' : 'entries']);
    checkJsonDepth(single ? passed?.[0] : passed, ['passedFeatures']);
    const plan = this.ready(viewer, ref, trainingDatasetVersion, form) ?? (await this.plan(viewer, ref, trainingDatasetVersion, form));
    const { servingKeys } = plan;
    const keys = new Array<unknown[]>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
        throw ValidationError.at(single ? ['entry'] : ['entries', i], 'an entry is an object of serving keys, e.g. { "customerid": "…" }');
      }
      const key = new Array<unknown>(servingKeys.length);
      for (let k = 0; k < servingKeys.length; k++) {
        const value = (entry as Record<string, unknown>)[servingKeys[k]!];
        if (value === undefined || value === null) {
          throw ValidationError.at(
            [...(single ? ['entry'] : ['entries', i]), servingKeys[k]!],
            `missing serving key ${servingKeys[k]}; the view needs ${servingKeys.join(', ')}`,
          );
        }
        key[k] = value;
      }
      keys[i] = key;
    }
    if (passed && passed.length !== entries.length) {
      throw ValidationError.at(['passedFeatures'], `give one passedFeatures object per entry (${entries.length}), or none`);
    }
    const overrides = passed ? passed.map((p, i) => checkPassed(plan, p, single ? ['passedFeatures'] : ['passedFeatures', i])) : null;
    let groups: (Record<string, unknown> | null)[][];
    if (plan.joins.length === 0) {
      groups = [await this.online.read(plan.left.table, keys)];
    } else if (plan.joinsByServingKeys) {
      // Every join is keyed by serving keys: its keys are known without the left rows, so every
      // group is read at once (one round trip in all on Redis, not two).
      groups = await Promise.all([
        this.online.read(plan.left.table, keys),
        ...plan.joins.map((join) =>
          this.online.read(
            join.table,
            keys.map((key) => join.keyIndex.map((k) => key[k])),
          ),
        ),
      ]);
    } else {
      const leftRows = await this.online.read(plan.left.table, keys);
      groups = [
        leftRows,
        ...(await Promise.all(
          plan.joins.map((join) =>
            this.online.read(
              join.table,
              leftRows.map((row, i) => join.keyFrom.map((f) => row?.[f] ?? (entries[i] as Record<string, unknown>)[f] ?? null)),
            ),
          ),
        )),
      ];
    }
    const vectors = new Array<FeatureVector>(entries.length);
    const rows = new Array<Record<string, unknown> | null>(groups.length);
    for (let i = 0; i < entries.length; i++) {
      let missing = NOTHING_MISSING as string[];
      for (let g = 0; g < groups.length; g++) {
        const row = groups[g]![i] ?? null;
        rows[g] = row;
        if (row === null) {
          if (missing === NOTHING_MISSING) missing = [];
          missing.push(g === 0 ? plan.left.name : plan.joins[g - 1]!.name);
        }
      }
      vectors[i] = new Vector(plan.features, plan.assemble(rows, overrides?.[i] ?? null), missing, plan.toRecord);
      if (also) also.out[i] = new Vector(also.plan.features, also.plan.assemble(rows, overrides?.[i] ?? null), missing, also.plan.toRecord);
    }
    return vectors;
  }

  /** The plan when it is built and fresh: no promise to wait for on the hot path. */
  private ready(viewer: Viewer, ref: FeatureViewRef, tdVersion: number | null | undefined, form: VectorForm): ServingPlan | undefined {
    const plan = this.built.get(planKey(viewer, ref, tdVersion, form));
    return plan !== undefined && plan.expiresAt > Date.now() ? plan : undefined;
  }

  private plan(viewer: Viewer, ref: FeatureViewRef, tdVersion: number | null | undefined, form: VectorForm): Promise<ServingPlan> {
    const key = planKey(viewer, ref, tdVersion, form);
    const cached = this.plans.get(key);
    if (cached) {
      return cached.then((plan) => {
        if (plan.expiresAt > Date.now()) return plan;
        if (this.plans.get(key) === cached) this.forgetPlan(key);
        return this.plan(viewer, ref, tdVersion, form);
      });
    }
    const built = this.build(viewer, ref, tdVersion, form);
    this.plans.set(key, built);
    built.then(
      (plan) => {
        // Still the current build (not dropped by a change meanwhile): serve it without a promise.
        if (this.plans.get(key) === built) this.built.set(key, plan);
      },
      () => {
        if (this.plans.get(key) === built) this.forgetPlan(key);
      },
    );
    this.watch(viewer.projectId);
    return built;
  }

  private forgetPlan(key: string): void {
    this.plans.delete(key);
    this.built.delete(key);
  }

  /** Drops a project's plans whenever a view, training dataset or group of it changes. */
  private watch(projectId: string): void {
    if (this.watched.has(projectId)) return;
    this.watched.add(projectId);
    void (async () => {
      try {
        for await (const event of this.pubsub.subscribe('registryEvent', projectId)) {
          // A commit changes a group's rows, not what a plan is built from.
          if (!event.rowsOnly && ['FeatureView', 'TrainingDataset', 'FeatureGroup'].includes(event.kind)) this.forget(projectId);
        }
      } catch (error) {
        this.logger.warn({ err: error, projectId }, 'serving cache lost its change feed; plans expire by time');
      } finally {
        this.watched.delete(projectId);
      }
    })();
  }

  private forget(projectId: string): void {
    for (const key of this.plans.keys()) if (key.startsWith(`${projectId}|`)) this.forgetPlan(key);
  }

  private async build(viewer: Viewer, ref: FeatureViewRef, tdVersion: number | null | undefined, form: VectorForm): Promise<ServingPlan> {
    const view = await this.views.get(viewer, ref);
    const def = definitionOf(view);
    let fitted: FittedTransformation[] = [];
    if (form === 'transformed' && def.transformations.length > 0) {
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
      if (!labels.has(c.name)) sources.push({ name: c.name, group: -1, feature, type: c.type });
    }
    def.query.joins.forEach((join, j) => {
      for (const feature of join.features) {
        const c = columns[index++]!;
        if (!labels.has(c.name)) sources.push({ name: c.name, group: j, feature, type: c.type });
      }
    });
    const byFeature = new Map(fitted.map((f) => [f.feature, f]));
    const features = sources.flatMap((s) => byFeature.get(s.name)?.outputs.map((o) => o.name) ?? [s.name]);
    const servingKeys = def.query.left.schema.primaryKey;
    const transform = fitted.length > 0 ? compileJs(fitted.filter((f) => !labels.has(f.feature))) : null;
    const joins = tables.joins.map((join) => ({ ...join, keyIndex: join.keyFrom.map((f) => servingKeys.indexOf(f)) }));
    return {
      servingKeys,
      left: tables.left,
      joins,
      joinsByServingKeys: joins.every((join) => join.keyIndex.every((k) => k >= 0)),
      viewName: view.name,
      labels,
      sources,
      passable: new Map(sources.map((s) => [s.name, passedValueChecker(s.type)])),
      features,
      assemble: compileAssemble(sources, features, new Set(fitted.map((f) => f.feature)), transform),
      toRecord: compileRecord(features),
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
