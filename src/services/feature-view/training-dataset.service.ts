import { join } from 'node:path';
import { z } from 'zod';
import type { DataFrame, DataFrameColumn } from '../../domain/data-frame.ts';
import { duckdbType } from '../../domain/feature-types.ts';
import { compileViewSql, EVENT_TIME_COLUMN, keyColumn, type GroupSource } from '../../engine/feature-view/compile.ts';
import { groupKey, viewColumns, type ViewQuery } from '../../engine/feature-view/query.ts';
import { computeSplitStatistics } from '../../engine/statistics/compute.ts';
import { fitTransformations, parseFittedTransformations, transformationSql } from '../../engine/transformations/index.ts';
import type { FittedTransformation } from '../../engine/transformations/types.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { FeatureView, Prisma, TrainingDataset } from '../../generated/sqlite/client.ts';
import type { ExternalGroupService } from '../external-group/external-group.service.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { ident } from '../../domain/sql.ts';
import type { OfflineStore } from '../../stores/offline/offline-store.ts';
import type { MaterializedSplit, SplitSpec, TimeWindow, TrainingDataFiles } from '../../stores/offline/training-data.ts';
import { OFFLINE_COMMITS } from '../feature-group/commits.ts';
import { GroupRowsReader } from '../feature-group/group-rows.ts';
import { recordCreated, recordDeleted, trainingDatasetName } from '../lineage/catalog.ts';
import type { RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { definitionOf, type FeatureViewRef, type FeatureViewService } from './feature-view.service.ts';
import { readSplits } from '../json-columns.ts';

const fraction = z.number().min(0, 'must be between 0 and 1').lt(1, 'must be between 0 and 1');

const createInput = z.object({
  description: z.string().max(10_000).nullish(),
  split: z.enum(['NONE', 'RANDOM', 'TIME_SERIES']).nullish(),
  testSize: fraction.nullish(),
  validationSize: fraction.nullish(),
  seed: z.number().int().nullish(),
  trainStart: z.date().nullish(),
  trainEnd: z.date().nullish(),
  validationStart: z.date().nullish(),
  validationEnd: z.date().nullish(),
  testStart: z.date().nullish(),
  testEnd: z.date().nullish(),
  startTime: z.date().nullish(),
  endTime: z.date().nullish(),
  format: z.enum(['PARQUET', 'CSV']).nullish(),
});
export type CreateTrainingDatasetInput = z.input<typeof createInput>;

/** The stored splits of a training dataset version. */
export interface StoredSplit extends MaterializedSplit {}

export interface BatchDataOptions {
  readonly trainingDatasetVersion?: number | null;
  readonly startTime?: Date | null;
  readonly endTime?: Date | null;
  readonly transformed?: boolean;
  readonly includeKeys?: boolean;
  readonly first?: number;
}

/** A column of transformed data: its name and type, and how to compute it from the view's columns. */
interface OutputColumn extends DataFrameColumn {
  readonly sql: string;
}

/**
 * Training datasets (versions of a view's data, split and materialized with fitted
 * transformations) and batch data (the view's rows for inference, transformed the same way).
 */
export class TrainingDatasetService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly views: FeatureViewService,
    private readonly offline: OfflineStore,
    private readonly files: TrainingDataFiles,
    external: ExternalGroupService | null = null,
  ) {
    this.rows = new GroupRowsReader(prisma, offline, external);
  }

  private readonly rows: GroupRowsReader;

  /**
   * Checks what `create` would refuse before reading any data (input ranges, split and windows, the
   * view exists), so a job that creates the dataset later is refused when it is defined.
   */
  async check(viewer: Viewer, ref: FeatureViewRef, raw: CreateTrainingDatasetInput): Promise<void> {
    const input = parseInput(createInput, raw);
    const view = await this.views.get(viewer, ref);
    splitSpec(input, definitionOf(view).query);
  }

  /** Creates the next training dataset version of a view: split, fit on train, write per split. */
  async create(viewer: Viewer, ref: FeatureViewRef, raw: CreateTrainingDatasetInput): Promise<TrainingDataset> {
    const input = parseInput(createInput, raw);
    const view = await this.views.get(viewer, ref);
    const def = definitionOf(view);
    const split = splitSpec(input, def.query);
    const format = input.format ?? 'PARQUET';
    const latest = await this.prisma.trainingDataset.findFirst({ where: { featureViewId: view.id }, orderBy: { version: 'desc' } });
    const version = (latest?.version ?? 0) + 1;
    const dir = this.files.dir(viewer.projectName, view.name, view.version, version);
    const sources = await this.groupSources(viewer, def.query, { startTime: input.startTime ?? null, endTime: input.endTime ?? null });
    let materialized: Awaited<ReturnType<typeof this.files.materialize<FittedTransformation[]>>>;
    try {
      const sql = compileViewSql(def.query, sources.map, {
        startTime: input.startTime ?? null,
        endTime: input.endTime ?? null,
        includeEventTime: true,
        includeKeys: true,
      });
      materialized = await this.files.materialize({
        dir,
        sourceSql: sql,
        columns: viewColumns(def.query).map((c) => c.name),
        eventTimeColumn: def.query.left.schema.eventTime ? EVENT_TIME_COLUMN : null,
        keyColumns: def.query.left.schema.primaryKey.map(keyColumn),
        split,
        format,
        fit: (connection, trainSql) => fitTransformations(connection, trainSql, def.transformations),
      });
    } finally {
      await sources.release();
    }
    const { splits, fitted } = materialized;
    try {
      // Statistics of each split's files, untransformed, stored with the version.
      const statistics = await computeSplitStatistics(
        (statisticsSql) => this.offline.aggregate(statisticsSql),
        splits.map((s) => ({ name: s.name, paths: s.files.map((f) => join(dir, f.path)) })),
        viewColumns(def.query).map((c) => ({ name: c.name, type: c.type })),
        format,
      );
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.trainingDataset.create({
          data: {
            featureViewId: view.id,
            version,
            description: input.description ?? '',
            split: json(describeSplit(split, input)),
            format,
            splits: json(splits),
            transformationParams: json(fitted),
            statistics: json(statistics),
          },
        });
        await recordCreated(
          tx,
          { id: value.id, projectId: viewer.projectId, kind: 'TRAINING_DATASET', name: trainingDatasetName(view), version: value.version },
          [view.id],
        );
        return {
          value,
          change: { kind: 'TrainingDataset', objectId: value.id, name: view.name, version: value.version, action: 'CREATED' },
        };
      });
    } catch (error) {
      await this.files.remove(dir);
      throw error;
    }
  }

  async get(viewer: Viewer, ref: FeatureViewRef, version?: number | null): Promise<{ view: FeatureView; dataset: TrainingDataset }> {
    const view = await this.views.get(viewer, ref);
    const dataset = await this.prisma.trainingDataset.findFirst({
      where: { featureViewId: view.id, ...(version != null ? { version } : {}) },
      orderBy: { version: 'desc' },
    });
    if (!dataset) {
      throw new NotFoundError('TrainingDataset', `${view.name} version ${view.version}, training dataset ${version ?? '(latest)'}`);
    }
    return { view, dataset };
  }

  /** Deletes a training dataset version and its files. */
  async delete(viewer: Viewer, ref: FeatureViewRef, version: number): Promise<TrainingDataset> {
    const { view, dataset } = await this.get(viewer, ref, version);
    await this.events.change(viewer.projectId, async (tx) => {
      await tx.trainingDataset.delete({ where: { id: dataset.id } });
      await recordDeleted(tx, [dataset.id]);
      return { value: null, change: { kind: 'TrainingDataset', objectId: dataset.id, name: view.name, version, action: 'DELETED' } };
    });
    await this.files.remove(this.files.dir(viewer.projectName, view.name, view.version, version));
    return dataset;
  }

  /** Deletes a view version with its training datasets and their files. */
  async deleteView(viewer: Viewer, ref: FeatureViewRef): Promise<FeatureView> {
    const view = await this.views.delete(viewer, ref);
    await this.files.remove(this.files.viewDir(viewer.projectName, view.name, view.version));
    return view;
  }

  /** One split's rows, transformed with the version's fitted parameters unless asked not to. */
  async splitData(
    viewer: Viewer,
    view: FeatureView,
    dataset: TrainingDataset,
    splitName: string,
    options: { transformed: boolean; first?: number },
  ): Promise<DataFrame> {
    const split = readSplits(dataset.splits).find((s) => s.name === splitName);
    if (!split) throw new NotFoundError('TrainingDatasetSplit', splitName);
    const dir = this.files.dir(viewer.projectName, view.name, view.version, dataset.version);
    const columns = this.outputColumns(view, options.transformed ? this.fitted(dataset) : [], { labels: true });
    return this.files.read(
      split.files.map((f) => join(dir, f.path)),
      columns.map((c) => `${c.sql} AS ${ident(c.name)}`),
      columns,
      options.first,
      dataset.format as 'PARQUET' | 'CSV',
    );
  }

  /** Writes one split's rows (as `splitData` reads them, every row) to a file: downloads. */
  async exportSplit(
    viewer: Viewer,
    ref: FeatureViewRef,
    version: number,
    splitName: string,
    options: { transformed: boolean; format: 'PARQUET' | 'CSV' | 'COLUMNS' },
    path: string,
  ): Promise<{ view: FeatureView; dataset: TrainingDataset }> {
    const { view, dataset } = await this.get(viewer, ref, version);
    const split = readSplits(dataset.splits).find((s) => s.name === splitName);
    if (!split) throw new NotFoundError('TrainingDatasetSplit', splitName);
    const dir = this.files.dir(viewer.projectName, view.name, view.version, dataset.version);
    const columns = this.outputColumns(view, options.transformed ? this.fitted(dataset) : [], { labels: true });
    // CSV splits are read with inferred types; the columns file takes its encodings from the
    // column types, so there each column is cast to its feature's type first.
    const typed = options.format === 'COLUMNS' && dataset.format === 'CSV';
    await this.files.exportTo(
      split.files.map((f) => join(dir, f.path)),
      columns.map((c) => `${typed ? `CAST(${c.sql} AS ${duckdbType(c.type)})` : c.sql} AS ${ident(c.name)}`),
      dataset.format as 'PARQUET' | 'CSV',
      { format: options.format, path },
    );
    return { view, dataset };
  }

  /**
   * The view's rows for inference (labels left out), in key order: transformed with the fitted
   * parameters of a training dataset version (the latest when not given).
   */
  async batchData(viewer: Viewer, ref: FeatureViewRef, options: BatchDataOptions): Promise<DataFrame> {
    return this.withBatch(viewer, ref, options, (select, columns) => this.files.query(select, columns));
  }

  /**
   * The same rows as `batchData`, written to a Parquet or CSV file (a download): no row limit
   * unless `first` is given, and no row passes through JavaScript.
   */
  async exportBatchData(
    viewer: Viewer,
    ref: FeatureViewRef,
    options: BatchDataOptions,
    target: { format: 'PARQUET' | 'CSV' | 'COLUMNS'; path: string },
  ): Promise<FeatureView> {
    let view: FeatureView | null = null;
    await this.withBatch(viewer, ref, options, (select, _columns, v) => {
      view = v;
      return this.files.exportQuery(select, target);
    });
    return view!;
  }

  /** Builds the batch rows' SELECT (key order, transformations applied) and hands it to `work`. */
  private async withBatch<R>(
    viewer: Viewer,
    ref: FeatureViewRef,
    options: BatchDataOptions,
    work: (select: string, columns: DataFrameColumn[], view: FeatureView) => Promise<R>,
  ): Promise<R> {
    const view = await this.views.get(viewer, ref);
    const def = definitionOf(view);
    let fitted: FittedTransformation[] = [];
    if (options.transformed !== false && def.transformations.length > 0) {
      const { dataset } = await this.get(viewer, ref, options.trainingDatasetVersion).catch((error: unknown) => {
        if (error instanceof NotFoundError && options.trainingDatasetVersion == null) {
          throw ValidationError.at(
            ['trainingDatasetVersion'],
            `feature view ${view.name} has transformation functions but no training dataset to take their fitted parameters from: create one, or ask for transformed: false`,
          );
        }
        throw error;
      });
      fitted = this.fitted(dataset);
    }
    const sources = await this.groupSources(viewer, def.query, { startTime: options.startTime ?? null, endTime: options.endTime ?? null });
    try {
      const sql = compileViewSql(def.query, sources.map, {
        startTime: options.startTime ?? null,
        endTime: options.endTime ?? null,
        limit: options.first ?? null,
        ordered: true,
        includeEventTime: options.includeKeys === true,
        includeKeys: options.includeKeys === true,
      });
      const { select, columns } = this.batchSelect(def, fitted, view, sql, options);
      return await work(select, columns, view);
    } finally {
      await sources.release();
    }
  }

  private batchSelect(
    def: ReturnType<typeof definitionOf>,
    fitted: FittedTransformation[],
    view: FeatureView,
    sql: string,
    options: BatchDataOptions,
  ): { select: string; columns: OutputColumn[] } {
    const columns = this.outputColumns(view, fitted, { labels: false });
    const hidden: OutputColumn[] = [];
    if (options.includeKeys) {
      for (const key of def.query.left.schema.primaryKey) {
        const type = def.query.left.schema.features.find((f) => f.name === key)!.type;
        hidden.push({ name: key, type, sql: ident(keyColumn(key)) });
      }
      if (def.query.left.schema.eventTime) hidden.push({ name: def.query.left.schema.eventTime, type: 'TIMESTAMP', sql: ident(EVENT_TIME_COLUMN) });
    }
    const all = [...hidden, ...columns.filter((c) => !hidden.some((h) => h.name === c.name))];
    return { select: `SELECT ${all.map((c) => `${c.sql} AS ${ident(c.name)}`).join(', ')} FROM (${sql})`, columns: all };
  }

  /** The fitted transformations stored with a training dataset version. */
  fitted(dataset: TrainingDataset): FittedTransformation[] {
    return parseFittedTransformations(dataset.transformationParams);
  }

  /**
   * Output columns of a view after transformations: each transformed feature is replaced, in
   * place, by its function's outputs (`<function>_<feature>_`); labels kept or left out.
   */
  outputColumns(view: FeatureView, fitted: readonly FittedTransformation[], options: { labels: boolean }): OutputColumn[] {
    const def = definitionOf(view);
    const byFeature = new Map(fitted.map((f) => [f.feature, f]));
    return viewColumns(def.query).flatMap((c) => {
      if (!options.labels && def.labels.includes(c.name)) return [];
      const f = byFeature.get(c.name);
      if (!f) return [{ name: c.name, type: c.type, sql: ident(c.name) }];
      const exprs = transformationSql(f, ident(c.name));
      return f.outputs.map((o, i) => ({ name: o.name, type: o.type, sql: exprs[i]!.sql }));
    });
  }

  /**
   * What the compiler reads for every group of a query, keyed by `groupKey` (GroupRowsReader): its
   * committed rows, or for an external group its rows read from the source now (only the columns the query uses and,
   * pushed into the source, the event-time window: the left group's [startTime, endTime), a joined
   * group's rows before endTime). `release` frees what the reads loaded; call it after the SQL ran.
   */
  async groupSources(
    viewer: Viewer,
    query: ViewQuery,
    window: { startTime?: Date | null; endTime?: Date | null } = {},
  ): Promise<{ map: Map<string, GroupSource>; release(): Promise<void> }> {
    const refs = [query.left.group, ...query.joins.map((j) => j.group)];
    const map = new Map<string, GroupSource>();
    const releases: (() => Promise<void>)[] = [];
    const release = async () => {
      await Promise.allSettled(releases.map((r) => r()));
    };
    try {
      for (const [i, ref] of refs.entries()) {
        const key = groupKey(ref);
        const group = await this.prisma.featureGroup.findUnique({
          where: { projectId_name_version: { projectId: viewer.projectId, name: ref.name, version: ref.version } },
          include: { commits: { where: OFFLINE_COMMITS, orderBy: { id: 'asc' } } },
        });
        if (!group) throw new NotFoundError('FeatureGroup', `${ref.name} version ${ref.version}`);
        // One group may be read twice (joined to itself): the union of the columns, the widest window.
        const uses = refs.map((r, n) => ({ r, n })).filter(({ r }) => groupKey(r) === key);
        if (uses[0]!.n !== i) continue;
        const columns = uses.flatMap(({ n }) =>
          n === 0
            ? [...query.left.features, ...query.joins.flatMap((j) => j.on.map((o) => o.left))]
            : [...query.joins[n - 1]!.features, ...query.joins[n - 1]!.on.map((o) => o.right)],
        );
        const leftOnly = uses.every(({ n }) => n === 0);
        const opened = await this.rows.open(viewer.projectName, group, {
          commits: group.commits,
          columns: [...new Set(columns)],
          from: leftOnly ? (window.startTime ?? null) : null,
          to: window.endTime ?? null,
        });
        releases.push(() => opened.release());
        map.set(key, opened.rows);
      }
    } catch (error) {
      await release();
      throw error;
    }
    return { map, release };
  }
}

function splitSpec(input: z.output<typeof createInput>, query: ViewQuery): SplitSpec {
  const kind = input.split ?? (input.trainStart || input.testStart || input.trainEnd || input.testEnd ? 'TIME_SERIES' : input.testSize ? 'RANDOM' : 'NONE');
  if (kind === 'NONE') return { kind };
  if (kind === 'RANDOM') {
    const testSize = input.testSize ?? 0;
    const validationSize = input.validationSize ?? 0;
    if (testSize + validationSize >= 1) throw ValidationError.at(['input', 'testSize'], 'testSize + validationSize must be below 1');
    if (testSize === 0 && validationSize === 0) throw ValidationError.at(['input', 'testSize'], 'a RANDOM split needs testSize or validationSize above 0');
    return { kind, testSize, validationSize, seed: input.seed ?? 42 };
  }
  if (!query.left.schema.eventTime) {
    throw ValidationError.at(['input', 'split'], `a TIME_SERIES split needs an event time, and feature group ${query.left.group.name} has none`);
  }
  const window = (start?: Date | null, end?: Date | null): TimeWindow => ({ start: start?.toISOString() ?? null, end: end?.toISOString() ?? null });
  const train = window(input.trainStart, input.trainEnd);
  const validation = input.validationStart || input.validationEnd ? window(input.validationStart, input.validationEnd) : null;
  const test = window(input.testStart, input.testEnd);
  if (!input.testStart && !input.testEnd) throw ValidationError.at(['input', 'testStart'], 'a TIME_SERIES split needs testStart or testEnd');
  const named: [string, TimeWindow][] = [['train', train], ...(validation ? [['validation', validation] as [string, TimeWindow]] : []), ['test', test]];
  for (const [name, w] of named) {
    if (w.start && w.end && w.start >= w.end) throw ValidationError.at(['input', `${name}Start`], `the ${name} window starts at or after its end`);
  }
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [a, wa] = named[i]!;
      const [b, wb] = named[j]!;
      const overlap = (wa.end === null || wb.start === null || wb.start < wa.end) && (wb.end === null || wa.start === null || wa.start < wb.end);
      if (overlap) throw ValidationError.at(['input', `${b}Start`], `the ${a} and ${b} windows overlap: time-series splits must not share any time`);
    }
  }
  return { kind, train, validation, test };
}

function describeSplit(split: SplitSpec, input: z.output<typeof createInput>) {
  return { ...split, startTime: input.startTime?.toISOString() ?? null, endTime: input.endTime?.toISOString() ?? null };
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
