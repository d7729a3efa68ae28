import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError, type InputIssue } from '../../errors.ts';
import {
  groupKey,
  normalizeViewQuery,
  viewColumns,
  type ResolvedGroup,
  type ViewColumn,
  type ViewGroupSelection,
  type ViewQuery,
  type ViewQueryInput,
} from '../../engine/feature-view/query.ts';
import { validateTransformationSpec } from '../../engine/transformations/index.ts';
import type { TransformationSpec } from '../../engine/transformations/types.ts';
import type { FeatureGroup, FeatureView, Prisma } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { OBJECT_NAME } from '../feature-group/definition.ts';
import { groupSchema } from '../feature-group/definition.ts';
import { recordCreated, recordDeleted } from '../lineage/catalog.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { readFeatures, readTransformations, readViewQuery } from '../json-columns.ts';

export interface FeatureViewRef {
  readonly name: string;
  readonly version?: number | null;
}

const refInput = z.object({ name: z.string(), version: z.number().int().min(1).nullish() });

const createInput = z.object({
  name: z.string().regex(OBJECT_NAME, 'lower-case letters, digits and _, starting with a letter, at most 63 characters'),
  version: z.number().int().min(1, 'versions start at 1').nullish(),
  description: z.string().max(10_000).nullish(),
  labels: z.array(z.string()).nullish(),
  query: z.object({
    featureGroup: refInput,
    features: z.array(z.string()).nullish(),
    exceptFeatures: z.array(z.string()).nullish(),
    joins: z.array(z.any()).nullish(),
    filters: z.array(z.any()).nullish(),
  }),
  transformations: z
    .array(
      z.object({
        function: z.string().min(1),
        feature: z.string().min(1),
        args: z
          .unknown()
          .refine((v) => v == null || (typeof v === 'object' && !Array.isArray(v)), 'must be a JSON object')
          .transform((v) => (v ?? null) as Record<string, unknown> | null)
          .optional(),
      }),
    )
    .nullish(),
});
export type CreateFeatureViewInput = z.input<typeof createInput>;

/** What a stored view holds, decoded from its JSON columns. */
export interface ViewDefinition {
  readonly query: ViewQuery;
  readonly labels: readonly string[];
  readonly transformations: readonly TransformationSpec[];
}

/** Decodes a view row's JSON columns. */
export function definitionOf(view: FeatureView): ViewDefinition {
  return {
    query: readViewQuery(view.query),
    labels: view.labels as string[],
    transformations: readTransformations(view.transformations),
  };
}

/** An output feature of a view with what it means. */
export interface DescribedViewColumn extends ViewColumn {
  /** The feature's description in its source group version, as the group has it now. */
  readonly description: string;
}

/** A group version a view reads, with its features as they are now (descriptions change with `updateFeatureGroup`). */
export interface ViewSourceGroup {
  readonly name: string;
  readonly version: number;
  readonly features: unknown;
}

/**
 * A view's output features, each with the description of its feature in the source group. The
 * view stores a snapshot of each group's schema, but descriptions may change on the group after
 * the view is created (a view pins the version, and a version's features keep their names and
 * types), so they are read from the group rows given. A group not given falls back to the snapshot.
 */
export function describedColumns(query: ViewQuery, groups: readonly ViewSourceGroup[]): DescribedViewColumn[] {
  const current = new Map(groups.map((g) => [groupKey(g), readFeatures(g.features)]));
  const snapshot = new Map([query.left, ...query.joins].map((s) => [groupKey(s.group), s.schema.features]));
  return viewColumns(query).map((c) => {
    const key = groupKey(c.group);
    const feature = current.get(key)?.find((f) => f.name === c.feature) ?? snapshot.get(key)?.find((f) => f.name === c.feature);
    return { ...c, description: feature?.description ?? '' };
  });
}

/**
 * The description of a transformation's output: the function applied to the output feature, with
 * the source feature's description when it has one ("min_max_scaler of tenure: Months as a customer").
 */
export function transformationDescription(spec: Pick<TransformationSpec, 'function' | 'feature'>, columns: readonly DescribedViewColumn[]): string {
  const source = columns.find((c) => c.name === spec.feature)?.description ?? '';
  const derived = `${spec.function} of ${spec.feature}`;
  return source === '' ? derived : `${derived}: ${source}`;
}

/**
 * Feature views: the registry (get-or-create by name and version, reads, deletes). A view pins the
 * group versions it reads; groups cannot be deleted while a view reads them.
 */
export class FeatureViewService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
  ) {}

  /**
   * Creates a view, or returns the existing one with the same definition (query with the group
   * versions it resolves to, labels, transformations). Another definition for an existing
   * (name, version) is a ConflictError; version omitted: the latest if it matches, else the next.
   */
  async create(viewer: Viewer, raw: CreateFeatureViewInput): Promise<FeatureView> {
    const input = parseInput(createInput, raw);
    const groups = await this.groupsNamed(viewer, input.query as ViewQueryInput);
    const query = normalizeViewQuery(input.query as ViewQueryInput, groups.map(resolved));
    const columns = viewColumns(query);
    const names = new Set(columns.map((c) => c.name));
    const issues: InputIssue[] = [];
    const labels = input.labels ?? [];
    labels.forEach((label, i) => {
      if (!names.has(label)) issues.push({ path: ['input', 'labels', i], message: `label ${label} is not a selected feature of the view` });
    });
    const transformations = (input.transformations ?? []).map((spec, i) => {
      const column = columns.find((c) => c.name === spec.feature);
      if (!column) {
        issues.push({ path: ['input', 'transformations', i, 'feature'], message: `${spec.feature} is not a selected feature of the view` });
        return { function: spec.function, feature: spec.feature, args: spec.args ?? null };
      }
      if (labels.includes(spec.feature)) {
        // Labels may be encoded too (label_encoder on a string target), so this is allowed.
      }
      try {
        validateTransformationSpec({ function: spec.function, feature: spec.feature, args: spec.args ?? null }, column.type, ['input', 'transformations', i]);
      } catch (error) {
        if (error instanceof ValidationError) issues.push(...error.issues);
        else throw error;
      }
      return { function: spec.function, feature: spec.feature, args: spec.args ?? null };
    });
    const seen = new Set<string>();
    transformations.forEach((t, i) => {
      if (seen.has(t.feature)) issues.push({ path: ['input', 'transformations', i, 'feature'], message: `${t.feature} has more than one transformation` });
      seen.add(t.feature);
    });
    if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);

    const definition: ViewDefinition = { query, labels, transformations };
    const latest = await this.prisma.featureView.findFirst({
      where: { projectId: viewer.projectId, name: input.name },
      orderBy: { version: 'desc' },
    });
    let version = input.version ?? undefined;
    if (version === undefined) {
      if (latest && sameDefinition(definitionOf(latest), definition)) return latest;
      version = (latest?.version ?? 0) + 1;
    } else {
      const existing = await this.find(viewer, { name: input.name, version });
      if (existing) return this.sameOrConflict(existing, definition);
    }
    const usedGroups = [query.left.group, ...query.joins.map((j) => j.group)];
    const groupIds = [...new Set(usedGroups.map((g) => groups.find((row) => row.name === g.name && row.version === g.version)!.id))];
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.featureView.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            version,
            description: input.description ?? '',
            labels: json(labels),
            query: json(query),
            transformations: json(transformations),
            groups: { create: groupIds.map((featureGroupId) => ({ featureGroupId })) },
          },
        });
        await recordCreated(tx, { id: value.id, projectId: viewer.projectId, kind: 'FEATURE_VIEW', name: value.name, version: value.version }, groupIds);
        return { value, change: viewChange(value, 'CREATED') };
      });
    } catch (error) {
      const existing = await this.find(viewer, { name: input.name, version });
      if (existing) return this.sameOrConflict(existing, definition);
      throw error;
    }
  }

  private sameOrConflict(existing: FeatureView, definition: ViewDefinition): FeatureView {
    if (sameDefinition(definitionOf(existing), definition)) return existing;
    throw new ConflictError(`feature view ${existing.name} version ${existing.version} exists with another definition; create a new version to change it`);
  }

  /** The groups a query input names (every version of each name), so normalization can pick. */
  private async groupsNamed(viewer: Viewer, query: ViewQueryInput): Promise<FeatureGroup[]> {
    const names = new Set([query.featureGroup.name, ...(query.joins ?? []).map((j) => j.featureGroup?.name).filter(Boolean)]);
    return this.prisma.featureGroup.findMany({ where: { projectId: viewer.projectId, name: { in: [...names] as string[] } } });
  }

  async get(viewer: Viewer, ref: FeatureViewRef): Promise<FeatureView> {
    const view = await this.find(viewer, ref);
    if (!view) throw new NotFoundError('FeatureView', ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`);
    return view;
  }

  find(viewer: Viewer, ref: FeatureViewRef): Promise<FeatureView | null> {
    return this.prisma.featureView.findFirst({
      where: { projectId: viewer.projectId, name: ref.name, ...(ref.version != null ? { version: ref.version } : {}) },
      orderBy: { version: 'desc' },
    });
  }

  /** Output columns of a view, in order, with their types and source groups. */
  columns(view: FeatureView): ViewColumn[] {
    return viewColumns(definitionOf(view).query);
  }

  /** Deletes a view version and its training datasets (their files are removed by the caller's store). */
  async delete(viewer: Viewer, ref: FeatureViewRef): Promise<FeatureView> {
    const view = await this.get(viewer, ref);
    await this.events.change(viewer.projectId, async (tx) => {
      // Its training datasets go with it (cascade): lineage marks them deleted too.
      const datasets = await tx.trainingDataset.findMany({ where: { featureViewId: view.id }, select: { id: true } });
      await tx.featureView.delete({ where: { id: view.id } });
      await recordDeleted(tx, [view.id, ...datasets.map((d) => d.id)]);
      return { value: null, change: viewChange(view, 'DELETED') };
    });
    return view;
  }
}

function resolved(group: FeatureGroup): ResolvedGroup {
  return { group: { name: group.name, version: group.version }, schema: groupSchema(group) };
}

/**
 * Equal definitions, whatever order their objects' keys come in (PostgreSQL's jsonb reorders them).
 * Feature descriptions in the groups' schema snapshots are left out: they change on the group
 * (`updateFeatureGroup`) without changing what the view reads, and the view shows the group's.
 */
function sameDefinition(a: ViewDefinition, b: ViewDefinition): boolean {
  return canonicalJson(withoutDescriptions(a)) === canonicalJson(withoutDescriptions(b));
}

/** The definition as compared: its features without descriptions (no longer a ViewDefinition). */
function withoutDescriptions(definition: ViewDefinition): unknown {
  const strip = (selection: ViewGroupSelection) => ({
    ...selection,
    schema: { ...selection.schema, features: selection.schema.features.map(({ description: _description, ...feature }) => feature) },
  });
  const { query } = definition;
  return { ...definition, query: { ...query, left: strip(query.left), joins: query.joins.map(strip) } };
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

export function viewChange(view: FeatureView, action: RegistryChange['action']): RegistryChange {
  return { kind: 'FeatureView', objectId: view.id, name: view.name, version: view.version, action };
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
