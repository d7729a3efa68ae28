import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError, issueMessage } from '../../errors.ts';
import type { DataFrame } from '../../domain/data-frame.ts';
import type { FeatureDef } from '../../domain/feature-types.ts';
import { featureValueCoercer } from '../../domain/row-coercion.ts';
import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { GroupLocation, InsertSource, OfflineStore, StagedCommit } from '../../stores/offline/offline-store.ts';
import { commitRef, OFFLINE_COMMITS } from './commits.ts';
import { GroupRowsReader, groupLocation } from './group-rows.ts';
import type { OnlineColumns, OnlineStore, OnlineTable } from '../../stores/online/online-store.ts';
import { noAlerts, type AlertSink } from '../alert/alert-event.ts';
import { recordChanged, recordCreated, recordDeleted } from '../lineage/catalog.ts';
import type { RegistryEventsService } from '../registry-events.service.ts';
import { checkJsonDepth } from '../json-limits.ts';
import { parseInput } from '../validation.ts';
import { CommitRecorder, groupChange, json, type InsertFaults, type InsertOptions, type PendingCommit, type Storage } from './commit-recorder.ts';
import { ident } from '../../domain/sql.ts';
import { parseStatisticsConfig, storedStatisticsConfig } from '../../engine/statistics/config.ts';
import type { Viewer } from '../viewer.ts';
import type { ProcessLeases } from '../process-lease.service.ts';
import { UNOWNED_GRACE_MS, type SweepGuard } from '../../stores/process-owner.ts';
import type { DataSourceService } from '../data-source/data-source.service.ts';
import { externalInput, type ExternalGroupService, type ExternalSpec } from '../external-group/external-group.service.ts';
import {
  checkDefinition,
  checkDefinitionForAppend,
  createFeatureGroupInput,
  definitionDifferences,
  featureInput,
  groupSchema,
  OBJECT_NAME,
  type CreateFeatureGroupInput,
} from './definition.ts';
import { ONLINE_BATCH, replayOnline } from './replay-online.ts';
import { NOT_VALIDATED, validateInsert } from './insert-validation.ts';
import { readFeatures } from '../json-columns.ts';
import { GroupTurns } from './commit-order.ts';

/** JSON-row inserts of at most this many rows are small: they stage one at a time per group (see insert). */
const SMALL_INSERT_ROWS = 10_000;
/** Entities per `onlineRows` request. */
const MAX_ONLINE_ENTRIES = 1000;

/** createExternalFeatureGroup's input: a group definition plus the data source and what to read from it. */
export type CreateExternalFeatureGroupInput = Omit<CreateFeatureGroupInput, 'parents'> & {
  readonly dataSource: string;
  readonly table?: string | null;
  readonly query?: string | null;
  readonly path?: string | null;
  readonly format?: 'PARQUET' | 'CSV' | null;
};

export interface FeatureGroupRef {
  readonly name: string;
  /** Omitted: the latest version. */
  readonly version?: number | null;
}

const updateInput = z.object({
  description: z.string().max(10_000).nullish(),
  featureDescriptions: z.array(z.object({ name: z.string(), description: z.string().max(10_000) })).nullish(),
  appendFeatures: z.array(featureInput).nullish(),
  /** Statistics settings to change; omitted keys keep their current values. */
  statisticsConfig: z.unknown().nullish(),
  /** Streamed rows become an offline commit at least this often, in milliseconds (1 s to 1 day)... */
  streamCommitIntervalMs: z.number().int().min(1000).max(86_400_000).nullish(),
  /** ...or as soon as this many rows wait. */
  streamCommitRows: z.number().int().min(1).max(10_000_000).nullish(),
});
export type UpdateFeatureGroupInput = z.input<typeof updateInput>;

/** Called after an insert committed offline rows to a group. */
export type CommitListener = (viewer: Viewer, group: FeatureGroup, commit: Commit, made: CommitMade) => Promise<void>;

/** How a commit was made: by an insert or by materializing the ingestion log, and how long it took from the start of the insert. */
export interface CommitMade {
  readonly source: 'insert' | 'stream';
  readonly seconds: number;
}

/**
 * Feature groups: the registry (get-or-create by name and version, updates, deletes) and inserts
 * (validated, committed atomically to the offline store, then written to the online store).
 */
export class FeatureGroupService {
  /** Tests set this to inject failures between the steps of an insert. */
  faults: InsertFaults = {};

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly offline: OfflineStore,
    private readonly online: OnlineStore,
    private readonly logger: Logger,
    private readonly alerts: AlertSink = noAlerts,
    private readonly external: ExternalGroupService | null = null,
    private readonly dataSources: DataSourceService | null = null,
    /** This process's lease and the others' liveness: commits name their writer, recovery spares live processes' work. */
    private readonly processes: ProcessLeases | null = null,
  ) {
    this.rows = new GroupRowsReader(prisma, offline, external);
    this.recorder = new CommitRecorder(prisma, events, this.rows, processes, () => this.faults);
  }

  private readonly committedListeners: CommitListener[] = [];
  /** Small inserts stage one at a time per group (see insert). */
  private readonly smallStages = new GroupTurns();
  /** Where a group's rows come from: its external source, or its offline commits. */
  private readonly rows: GroupRowsReader;
  private readonly recorder: CommitRecorder;

  /**
   * Calls `listener` after each insert that committed offline rows (statistics after each commit).
   * A listener's failure is logged: the commit has happened and stays.
   */
  onCommitted(listener: CommitListener): void {
    this.committedListeners.push(listener);
  }

  private async notifyCommitted(viewer: Viewer, group: FeatureGroup, commit: Commit, source: CommitMade['source'], started: number): Promise<void> {
    const made: CommitMade = { source, seconds: (performance.now() - started) / 1000 };
    for (const listener of this.committedListeners) {
      try {
        await listener(viewer, group, commit, made);
      } catch (error) {
        this.logger.error({ err: error, commitId: commit.id, group: group.name }, 'after-commit step failed');
      }
    }
  }

  /**
   * Creates an external group (rows read in place from a data source), or returns the existing one
   * with the same definition (as `create`; the source and what it reads are part of it). The
   * features are read from the source when omitted; given features must each name a source column.
   */
  async createExternal(viewer: Viewer, raw: CreateExternalFeatureGroupInput): Promise<FeatureGroup> {
    if (!this.external || !this.dataSources) throw new Error('external feature groups are not configured');
    const { dataSource, table, query, path, format, ...rest } = raw;
    const base = parseInput(createFeatureGroupInput, rest);
    const ext = parseInput(externalInput, { dataSource, table, query, path, format });
    const source = await this.dataSources.get(viewer, ext.dataSource);
    const { spec, features } = await this.external.define(source, ext, base.features ?? null);
    return this.create(viewer, { ...rest, features }, { dataSourceId: source.id, spec });
  }

  /**
   * Creates a group, or returns the existing one when its definition is the same
   * (primary key, event time, online flag and, when given, features and parents). A different
   * definition for an existing (name, version) is a ConflictError; version omitted picks the
   * latest version when it matches, else the next one. Parents are recorded as its lineage.
   */
  async create(viewer: Viewer, raw: CreateFeatureGroupInput, external: ExternalDefinition | null = null): Promise<FeatureGroup> {
    const input = parseInput(createFeatureGroupInput, raw);
    const features = checkDefinition(input.features ?? null, input.primaryKey, input.eventTime ?? null);
    const statisticsConfig = parseStatisticsConfig(input.statisticsConfig, {
      path: ['input', 'statisticsConfig'],
      features: features?.map((f) => f.name) ?? null,
    });
    const parents = input.parents ? await this.resolveParents(viewer, input.parents) : null;
    const requested = {
      primaryKey: input.primaryKey,
      eventTime: input.eventTime ?? null,
      onlineEnabled: input.onlineEnabled ?? false,
      features,
      external,
    };
    const latest = await this.prisma.featureGroup.findFirst({
      where: { projectId: viewer.projectId, name: input.name },
      orderBy: { version: 'desc' },
    });
    let version = input.version ?? undefined;
    if (version === undefined) {
      if (latest && (await this.differences(latest, requested, parents)).length === 0) return latest;
      version = (latest?.version ?? 0) + 1;
    } else {
      const existing = await this.prisma.featureGroup.findUnique({
        where: { projectId_name_version: { projectId: viewer.projectId, name: input.name, version } },
      });
      if (existing) return this.sameOrConflict(existing, requested, parents);
    }
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const group = await tx.featureGroup.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            version: version,
            description: input.description ?? '',
            primaryKey: [...input.primaryKey],
            eventTime: input.eventTime ?? null,
            onlineEnabled: input.onlineEnabled ?? false,
            features: json(features ?? []),
            statisticsConfig: json(statisticsConfig),
            ...(external ? { dataSourceId: external.dataSourceId, external: json(external.spec) } : {}),
          },
        });
        await recordCreated(
          tx,
          { id: group.id, projectId: viewer.projectId, kind: 'FEATURE_GROUP', name: group.name, version: group.version },
          (parents ?? []).map((p) => p.id),
        );
        return { value: group, change: groupChange(group, 'CREATED') };
      });
    } catch (error) {
      // Another request created the same (name, version) first.
      const existing = await this.prisma.featureGroup.findUnique({
        where: { projectId_name_version: { projectId: viewer.projectId, name: input.name, version } },
      });
      if (existing) return this.sameOrConflict(existing, requested, parents);
      throw error;
    }
  }

  private async sameOrConflict(existing: FeatureGroup, requested: Requested, parents: readonly FeatureGroup[] | null): Promise<FeatureGroup> {
    const diffs = await this.differences(existing, requested, parents);
    if (diffs.length === 0) return existing;
    throw new ConflictError(
      `feature group ${existing.name} version ${existing.version} exists with another definition: ${diffs.join('; ')}. Create a new version to change it.`,
    );
  }

  /** Definition differences, and, when parents are given, whether the recorded ones differ. */
  private async differences(existing: FeatureGroup, requested: Requested, parents: readonly FeatureGroup[] | null): Promise<string[]> {
    const diffs = definitionDifferences(definitionOf(existing), requested);
    const reads = existing.dataSourceId === null ? null : canonicalJson({ dataSourceId: existing.dataSourceId, spec: existing.external });
    const wanted = requested.external === null ? null : canonicalJson(requested.external);
    if (reads !== wanted)
      diffs.push(reads === null ? 'it is not external' : wanted === null ? 'it is external' : 'it reads another data source, table, query or path');
    if (parents === null) return diffs;
    const recorded = await this.prisma.lineageEdge.findMany({
      where: { toId: existing.id, from: { kind: 'FEATURE_GROUP' } },
      select: { from: { select: { id: true, name: true, version: true } } },
    });
    const shape = (gs: readonly { id: string; name: string; version: number }[]) =>
      gs.map((g) => ({ id: g.id, text: `${g.name} version ${g.version}` })).sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    const was = shape(recorded.map((r) => r.from));
    const now = shape(parents);
    if (was.map((g) => g.id).join() !== now.map((g) => g.id).join()) {
      diffs.push(`parents are (${was.map((g) => g.text).join(', ') || 'none'}), not (${now.map((g) => g.text).join(', ') || 'none'})`);
    }
    return diffs;
  }

  /** The parent groups named in a create input, each a ValidationError issue when missing. */
  private async resolveParents(viewer: Viewer, refs: readonly FeatureGroupRef[]): Promise<FeatureGroup[]> {
    const issues: { path: (string | number)[]; message: string }[] = [];
    const found: FeatureGroup[] = [];
    for (const [i, ref] of refs.entries()) {
      const group = await this.find(viewer, ref);
      if (!group) issues.push({ path: ['input', 'parents', i], message: `parent feature group ${refText(ref)} not found` });
      else if (!found.some((g) => g.id === group.id)) found.push(group);
    }
    if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
    return found;
  }

  /** A group of the caller's project; the latest version when none is given. */
  async get(viewer: Viewer, ref: FeatureGroupRef): Promise<FeatureGroup> {
    const group = await this.find(viewer, ref);
    if (!group) throw new NotFoundError('FeatureGroup', refText(ref));
    return group;
  }

  /** Like `get`, but null when there is no such group. */
  find(viewer: Viewer, ref: FeatureGroupRef): Promise<FeatureGroup | null> {
    return ref.version == null
      ? this.prisma.featureGroup.findFirst({ where: { projectId: viewer.projectId, name: ref.name }, orderBy: { version: 'desc' } })
      : this.prisma.featureGroup.findUnique({
          where: { projectId_name_version: { projectId: viewer.projectId, name: ref.name, version: ref.version } },
        });
  }

  /**
   * Changes what may change within a version: descriptions, and appending nullable features
   * (existing rows read them as null). Changing or dropping a feature needs a new version.
   */
  async update(viewer: Viewer, ref: FeatureGroupRef, raw: UpdateFeatureGroupInput): Promise<FeatureGroup> {
    const input = parseInput(updateInput, raw);
    const group = await this.get(viewer, ref);
    const features = [...readFeatures(group.features)];
    const issues: { path: (string | number)[]; message: string }[] = [];
    (input.featureDescriptions ?? []).forEach((fd, i) => {
      const index = features.findIndex((f) => f.name === fd.name);
      if (index < 0) issues.push({ path: ['input', 'featureDescriptions', i, 'name'], message: `no feature ${fd.name} in ${group.name}` });
      else features[index] = { ...features[index]!, description: fd.description };
    });
    const appended = input.appendFeatures ?? [];
    if (appended.length > 0 && features.length === 0) {
      issues.push({ path: ['input', 'appendFeatures'], message: 'the schema is inferred from the first insert; insert first' });
    }
    const all = checkDefinitionForAppend(features, appended, group, issues);
    let statisticsConfig: ReturnType<typeof parseStatisticsConfig> | undefined;
    if (input.statisticsConfig != null) {
      try {
        statisticsConfig = parseStatisticsConfig(input.statisticsConfig, {
          path: ['input', 'statisticsConfig'],
          base: storedStatisticsConfig(group.statisticsConfig),
          features: all.length > 0 ? all.map((f) => f.name) : null,
        });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        issues.push(...error.issues.map((i) => ({ path: [...i.path], message: issueMessage(i) })));
      }
    }
    if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
    const updated = await this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.featureGroup.update({
        where: { id: group.id },
        data: {
          description: input.description ?? group.description,
          features: json(all),
          ...(statisticsConfig ? { statisticsConfig: json(statisticsConfig) } : {}),
          ...(input.streamCommitIntervalMs != null ? { streamCommitIntervalMs: input.streamCommitIntervalMs } : {}),
          ...(input.streamCommitRows != null ? { streamCommitRows: input.streamCommitRows } : {}),
        },
      });
      await recordChanged(tx, value.id);
      return { value, change: groupChange(value, 'UPDATED') };
    });
    if (appended.length > 0 && updated.onlineEnabled) await this.online.ensure(this.onlineTable(updated));
    return updated;
  }

  /** Deletes a group version with its offline files and online rows; refused while a view reads it. */
  async delete(viewer: Viewer, ref: FeatureGroupRef): Promise<FeatureGroup> {
    const group = await this.get(viewer, ref);
    const views = await this.prisma.featureViewGroup.findMany({
      where: { featureGroupId: group.id },
      include: { featureView: { select: { name: true, version: true } } },
    });
    if (views.length > 0) {
      const names = views.map((v) => `${v.featureView.name} version ${v.featureView.version}`).join(', ');
      throw new ConflictError(`feature group ${group.name} version ${group.version} is used by feature view ${names}; delete those first`);
    }
    await this.events.change(viewer.projectId, async (tx) => {
      await tx.featureGroup.delete({ where: { id: group.id } });
      await recordDeleted(tx, [group.id]);
      return { value: null, change: groupChange(group, 'DELETED') };
    });
    // The metadata row is gone, so nothing reads these any more; failures leave only garbage.
    await Promise.allSettled([this.offline.drop(this.location(viewer.projectName, group)), this.online.drop(this.onlineTable(group))]);
    return group;
  }

  /** The group's commits, oldest first, optionally only those committed up to `asOf`. */
  async commits(groupId: string, asOf?: Date | null): Promise<Commit[]> {
    return this.prisma.commit.findMany({
      where: { featureGroupId: groupId, ...(asOf ? { committedAt: { lte: asOf } } : {}) },
      orderBy: { id: 'asc' },
    });
  }

  /** The group's visible rows, as of a wall-clock time when given. */
  async read(viewer: Viewer, group: FeatureGroup, options: { asOf?: Date | null; first?: number }): Promise<DataFrame> {
    // An external group has no history: its rows are what the source holds now.
    if (this.rows.isExternal(group)) return this.external!.read(group, { first: options.first });
    const commits = await this.rows.commits(group, options.asOf);
    return this.offline.read(this.location(viewer.projectName, group), groupSchema(group), commits.map(commitRef), { first: options.first });
  }

  /**
   * A query over the group's visible rows: `build` gets their SELECT and returns a statement whose
   * result has `columns`. For services that read a group they own (a deployment's prediction log).
   */
  async select(viewer: Viewer, group: FeatureGroup, columns: readonly { name: string; type: string }[], build: (rows: string) => string): Promise<DataFrame> {
    return this.rows.with(viewer.projectName, group, {}, (rows) => this.offline.query(build(rows.sql()), columns));
  }

  /**
   * The online store's rows of the given entities, in order: each entry is an object holding the
   * group's primary key; its row (every feature) or null when the store has none. Input errors
   * name `entries.<i>.<key>`; a group that is not online enabled is a ValidationError.
   */
  async onlineRows(group: FeatureGroup, entries: readonly unknown[]): Promise<(Record<string, unknown> | null)[]> {
    if (!group.onlineEnabled) {
      throw ValidationError.at(['featureGroup'], `feature group ${group.name} version ${group.version} is not online enabled: read it with read(asOf:)`);
    }
    if (entries.length > MAX_ONLINE_ENTRIES) throw ValidationError.at(['entries'], `at most ${MAX_ONLINE_ENTRIES} entries per request`);
    checkJsonDepth(entries, ['entries']);
    const schema = groupSchema(group);
    const { primaryKey } = schema;
    const coercers = primaryKey.map((k) => featureValueCoercer(schema.features.find((f) => f.name === k)!.type));
    const keys = entries.map((entry, i) => {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
        throw ValidationError.at(['entries', i], `an entry is an object of the primary key, e.g. { "${primaryKey[0]}": … }`);
      }
      return primaryKey.map((k, n) => {
        const value = (entry as Record<string, unknown>)[k];
        if (value === undefined || value === null) {
          throw ValidationError.at(['entries', i, k], `missing primary key feature ${k}; the group's primary key is ${primaryKey.join(', ')}`);
        }
        const coerced = coercers[n]!(value);
        if (!coerced.ok) throw ValidationError.at(['entries', i, k], `primary key feature ${k}: ${coerced.why}`);
        return coerced.value;
      });
    });
    return keys.length === 0 ? [] : this.online.read(this.onlineTable(group), keys);
  }

  /** Rows written by the commits made in a wall-clock window [from, to), superseded ones included. */
  async readChanges(viewer: Viewer, group: FeatureGroup, options: { from?: Date | null; to?: Date | null; first?: number }): Promise<DataFrame> {
    const commits = await this.prisma.commit.findMany({
      where: {
        featureGroupId: group.id,
        ...OFFLINE_COMMITS,
        committedAt: { ...(options.from ? { gte: options.from } : {}), ...(options.to ? { lt: options.to } : {}) },
      },
      orderBy: { id: 'asc' },
    });
    return this.offline.readCommits(this.location(viewer.projectName, group), groupSchema(group), commits.map(commitRef), {
      first: options.first,
    });
  }

  /** Writes the group's visible rows (as of a time when given) to a Parquet or CSV file. */
  async exportData(viewer: Viewer, group: FeatureGroup, options: { format: 'PARQUET' | 'CSV' | 'COLUMNS'; asOf?: Date | null }, path: string): Promise<void> {
    if (this.rows.isExternal(group)) {
      const schema = groupSchema(group);
      const order = [...schema.primaryKey, ...(schema.eventTime ? [schema.eventTime] : [])].map(ident).join(', ');
      await this.external!.withRelation(group, {}, (sql) =>
        this.offline.exportQuery(`SELECT * FROM (${sql}) ORDER BY ${order}`, { format: options.format, path }),
      );
      return;
    }
    const commits = await this.rows.commits(group, options.asOf);
    await this.offline.exportTo(this.location(viewer.projectName, group), groupSchema(group), commits.map(commitRef), {
      format: options.format,
      path,
    });
  }

  /**
   * Inserts rows as one commit. Order of steps, for atomicity: stage (validate, write temporary
   * files, count superseded identities against the commits so far) → order → publish (rename into
   * place) → commit row (the commit point) → online write. A failure before the commit row leaves
   * nothing visible; after it, the commit is durable and its online rows are replayed on start if
   * writing them failed (idempotent under newest-event-wins).
   * Order, so that counts are exact and commit order (by id) is record order whatever the
   * concurrency: one insert of a group at a time per process (GroupTurns) reads the group's
   * last offline commit; when commits were recorded since those counted against at staging,
   * `rowsUpdated` is counted again against them all (a row whose identity exists supersedes it;
   * the rest are `rowsInserted`, so the group's `rowCount`, their sum, is its distinct
   * identities); when the last commit's id is after the staged one's, the staged commit takes a
   * new id after it (renumber), so that commit order is record order and a commit only supersedes
   * earlier ones. The commit row is written only if, under the group's row lock inside its
   * transaction, the group's last offline commit is still the one counted against; else (another
   * process recorded one) order, count and record again (a ConflictError after 20 attempts).
   * An ONLINE-only insert keeps no history: its rows are written online, then its commit recorded.
   * When the group has an expectation suite, the staged rows are validated before anything is
   * published: a failure raises a VALIDATION_FAILED alert and, under STRICT, discards the staged
   * files and throws DataValidationError; under ALWAYS the report is stored with the commit, and
   * the alert, naming the commit, is raised once the commit is recorded.
   * Steps: `insertTarget`, `stageInsert`, `validateInsert`, then `commitOnlineOnly`, or
   * `commitInOrder` and `writeOnlineAfterCommit`.
   */
  async insert(viewer: Viewer, ref: FeatureGroupRef, source: InsertSource, options: InsertOptions): Promise<Commit> {
    const started = performance.now();
    const group = await this.insertTarget(viewer, ref, source, options.storage);
    const writeOffline = options.storage !== 'ONLINE';
    const writeOnline = group.onlineEnabled && options.storage !== 'OFFLINE';
    // Small inserts of a group stage one at a time in this process: each then starts after the one
    // before it has staged, its commit id sorts after that one's, and recording it finds nothing to
    // renumber; staged side by side they would contend for DuckDB and mostly be renumbered.
    const stage = () => this.stageInsert(viewer, group, source, options, writeOnline);
    const small = source.kind === 'rows' && source.rows.length <= SMALL_INSERT_ROWS;
    const { staged, existing, suite } = await (small ? this.smallStages.run(group.id, stage) : stage());
    const validation = suite ? await validateInsert(this.alerts, viewer, group, suite, staged) : NOT_VALIDATED;
    const pending: PendingCommit = { viewer, group, staged, options, writeOffline, validation };
    if (!writeOffline) return this.commitOnlineOnly(pending);
    let commit = await this.recorder.inOrder(pending, existing, writeOnline ? 'PENDING' : 'NONE');
    validation.raiseCommitted?.(commit.id);
    if (writeOnline) commit = await this.writeOnlineAfterCommit(group, staged, commit);
    await this.notifyCommitted(viewer, group, commit, 'insert', started);
    return commit;
  }

  /**
   * Materializes a range of the ingestion log as one offline commit (UPSERT, offline only: the
   * apply consumer wrote the rows online already). `messages` are the bodies of the log's messages
   * of the group from sequence `from` on, in log order; they are turned into rows where the staging
   * runs (the staging thread), taken whole until `maxRows` rows are, messages the apply consumer
   * dead-lettered adding none. The commit covers `from` to the last message taken (`to`), and is
   * recorded only while the group's log progress still ends right before `from` (RangeTaken
   * otherwise: another process committed it). When the messages taken hold no good row, nothing is
   * committed (`commit` null) and the caller moves the progress past `to`. An expectation suite
   * validates the commit as under ALWAYS whatever its policy: the rows were accepted when they were
   * appended, so a failure is reported (report stored, VALIDATION_FAILED alert), never refused.
   */
  async commitLogRange(
    viewer: Viewer,
    group: FeatureGroup,
    range: { readonly from: number; readonly messages: readonly { readonly sequence: number; readonly data: Uint8Array }[]; readonly maxRows: number },
  ): Promise<{ commit: Commit | null; to: number }> {
    const started = performance.now();
    const options: InsertOptions = { operation: 'UPSERT', storage: 'OFFLINE', fillMissing: true };
    const source: InsertSource = { kind: 'messages', messages: range.messages.map((m) => m.data), maxRows: range.maxRows };
    const { staged, existing, suite } = await this.stageInsert(viewer, group, source, options, false);
    const to = range.messages[(staged.sourceMessages ?? range.messages.length) - 1]!.sequence;
    if (staged.rowCount === 0) {
      await staged.discard();
      return { commit: null, to };
    }
    const validation = suite ? await validateInsert(this.alerts, viewer, group, { ...suite, ingestionPolicy: 'ALWAYS' }, staged) : NOT_VALIDATED;
    const commit = await this.recorder.inOrder(
      { viewer, group, staged, options, writeOffline: true, validation, range: { from: range.from, to } },
      existing,
      'NONE',
    );
    validation.raiseCommitted?.(commit.id);
    await this.notifyCommitted(viewer, group, commit, 'stream', started);
    return { commit, to };
  }

  /**
   * The group an insert writes to, its schema inferred from the input on its first insert. Refuses
   * external groups, and ONLINE storage for a group that is not online enabled.
   */
  private async insertTarget(viewer: Viewer, ref: FeatureGroupRef, source: InsertSource, storage: Storage): Promise<FeatureGroup> {
    if (source.kind === 'rows') checkJsonDepth(source.rows, ['rows']);
    let group = await this.get(viewer, ref);
    if (group.dataSourceId !== null) {
      throw ValidationError.at(
        ['featureGroup'],
        `feature group ${group.name} version ${group.version} is external: its rows live in its data source and are read in place; write them there`,
      );
    }
    if ((group.features as unknown[]).length === 0) group = await this.inferSchema(viewer, group, source);
    if (storage === 'ONLINE' && !group.onlineEnabled) {
      throw ValidationError.at(['storage'], `feature group ${group.name} is not online enabled`);
    }
    return group;
  }

  /**
   * Stages an insert's rows under a new commit id (validated, coerced, written to temporary files,
   * superseded identities counted against the group's offline commits so far, `existing`), with the
   * group's expectation suite if it has one.
   */
  private async stageInsert(viewer: Viewer, group: FeatureGroup, source: InsertSource, options: InsertOptions, writeOnline: boolean) {
    const location = this.location(viewer.projectName, group);
    const [commits, suite] = await Promise.all([this.rows.commits(group), this.prisma.expectationSuite.findUnique({ where: { featureGroupId: group.id } })]);
    const existing = commits.map(commitRef);
    const staged = await this.offline.stage(location, groupSchema(group), uuidv7(), source, {
      operation: options.operation,
      fillMissing: options.fillMissing === true,
      existing,
      online: writeOnline,
    });
    return { staged, existing, suite };
  }

  /** An ONLINE-only insert keeps no history: its rows are written online, then its commit recorded (DONE). */
  private async commitOnlineOnly(pending: PendingCommit): Promise<Commit> {
    const { group, staged, validation } = pending;
    try {
      await this.writeOnline(group, staged.onlineColumns(ONLINE_BATCH), staged.commitId);
      const done = await this.recorder.record(pending, 'DONE');
      validation.raiseCommitted?.(done.id);
      return done;
    } finally {
      await staged.discard();
    }
  }

  /** Writes a recorded commit's rows online and marks it DONE; on failure logs, and the commit (PENDING) is replayed on start. */
  private async writeOnlineAfterCommit(group: FeatureGroup, staged: StagedCommit, commit: Commit): Promise<Commit> {
    try {
      await this.writeOnline(group, staged.onlineColumns(ONLINE_BATCH), commit.id);
      return await this.prisma.commit.update({ where: { id: commit.id }, data: { onlineState: 'DONE' } });
    } catch (error) {
      this.logger.error({ err: error, commitId: commit.id, group: group.name }, 'online write failed; the commit is replayed on start');
      return commit;
    }
  }

  private async writeOnline(group: FeatureGroup, batches: AsyncIterable<OnlineColumns>, commitId: string): Promise<void> {
    const table = this.onlineTable(group);
    await this.online.ensure(table);
    for await (const batch of batches) await this.online.writeColumns(table, batch, commitId);
  }

  /**
   * Repairs what a process that is gone (killed, or its lease expired) left, before serving; never
   * touches the work of a live process sharing the data directory and database. Removes offline
   * files of its inserts that no commit lists (see `OfflineStore.sweep`: the folder is listed
   * before the commits and leases are read, so a commit recorded meanwhile keeps its file), and
   * writes the online rows of commits that became durable before their writer finished writing
   * them online (PENDING, and their writer's lease is gone). Returns what it did: both zero on a
   * clean start, whatever other processes are doing.
   */
  async recover(): Promise<{ sweptFiles: number; replayedCommits: number }> {
    const groups = await this.prisma.featureGroup.findMany({
      where: { dataSourceId: null },
      include: { project: { select: { name: true } } },
    });
    const guard: SweepGuard = this.processes?.guard() ?? { graceMs: UNOWNED_GRACE_MS, live: async () => () => true };
    let sweptFiles = 0;
    let replayedCommits = 0;
    for (const group of groups) {
      const location = this.location(group.project.name, group);
      const offlineCommits = () => this.rows.commits(group);
      sweptFiles += (await this.offline.sweep(location, async () => (await offlineCommits()).map(commitRef), guard)).length;
      const pending = (await offlineCommits()).filter((c) => c.onlineState === 'PENDING');
      if (pending.length === 0) continue;
      const alive = await guard.live();
      const table = this.onlineTable(group);
      for (const commit of pending.filter((c) => c.writer === null || !alive(c.writer))) {
        await this.online.ensure(table);
        await replayOnline({ offline: this.offline, online: this.online }, location, table, commitRef(commit));
        await this.prisma.commit.update({ where: { id: commit.id }, data: { onlineState: 'DONE' } });
        replayedCommits++;
      }
    }
    return { sweptFiles, replayedCommits };
  }

  private async inferSchema(viewer: Viewer, group: FeatureGroup, source: InsertSource): Promise<FeatureGroup> {
    const inferred = await this.offline.infer(source);
    const features = checkDefinition(
      inferred.map((f: FeatureDef) => ({ ...f })),
      group.primaryKey as string[],
      group.eventTime,
      ['rows'],
    )!;
    // Only the first insert fixes the schema; a concurrent one may have done it already.
    const { count } = await this.prisma.featureGroup.updateMany({
      where: { id: group.id, updatedAt: group.updatedAt },
      data: { features: json(features) },
    });
    // Its features are searchable now.
    if (count > 0) await this.prisma.$transaction((tx) => recordChanged(tx, group.id));
    return this.get(viewer, { name: group.name, version: group.version });
  }

  location(projectName: string, group: FeatureGroup): GroupLocation {
    return groupLocation(projectName, group);
  }

  onlineTable(group: FeatureGroup): OnlineTable {
    return { id: group.id, schema: groupSchema(group) };
  }
}

/** What a create asks for: the definition, and for an external group its source and what it reads. */
type Requested = ReturnType<typeof definitionOf> & { readonly external: ExternalDefinition | null };

/** An external group's source and what it reads from it. */
export interface ExternalDefinition {
  readonly dataSourceId: string;
  readonly spec: ExternalSpec;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

function definitionOf(group: FeatureGroup) {
  const features = readFeatures(group.features);
  return {
    primaryKey: group.primaryKey as string[],
    eventTime: group.eventTime,
    onlineEnabled: group.onlineEnabled,
    features: features.length > 0 ? features : null,
  };
}

export function refText(ref: FeatureGroupRef): string {
  return ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`;
}

export { OBJECT_NAME };
export type { InsertFaults, InsertOptions, Storage, WriteOperation } from './commit-recorder.ts';
