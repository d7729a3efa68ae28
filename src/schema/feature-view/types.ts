import { definitionOf, describedColumns, transformationDescription, type DescribedViewColumn } from '../../services/feature-view/feature-view.service.ts';
import { builder } from '../builder.ts';

const GroupVersionRef = builder.objectRef<{ name: string; version: number }>('FeatureGroupVersion').implement({
  description: 'A feature group version a view reads.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Group name.' }),
    version: t.exposeInt('version', { description: 'Group version.' }),
  }),
});

const ViewFeatureRef = builder.objectRef<DescribedViewColumn & { label: boolean }>('FeatureViewFeature').implement({
  description: 'An output feature of a view.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Output name (with the join’s prefix, if any).' }),
    type: t.exposeString('type', { description: 'Feature type.' }),
    description: t.exposeString('description', {
      description: 'What the feature means: its description in the source group version, as set there (`updateFeatureGroup(input: { featureDescriptions })`).',
    }),
    featureGroup: t.field({ type: GroupVersionRef, description: 'The group it comes from.', resolve: (c) => c.group }),
    feature: t.exposeString('feature', { description: 'Its name in that group.' }),
    label: t.exposeBoolean('label', { description: 'Whether it is a label (target).' }),
  }),
});

const TransformationRef = builder.objectRef<{ function: string; feature: string; args: unknown; description: string }>('FeatureViewTransformation').implement({
  description: 'A transformation function attached to a feature of the view.',
  fields: (t) => ({
    function: t.exposeString('function', { description: 'Function name.' }),
    feature: t.exposeString('feature', { description: 'Output feature it applies to.' }),
    args: t.field({ type: 'JSON', nullable: true, description: 'Arguments given.', resolve: (x) => x.args ?? null }),
    outputColumn: t.string({
      description: 'Name of its output column (`<function>_<feature>_`); one-hot outputs add `0`, `1`, … to it.',
      resolve: (x) => `${x.function}_${x.feature}_`,
    }),
    description: t.exposeString('description', {
      description: 'What its output means: the function and feature, then the source feature’s description when it has one.',
    }),
  }),
});

/** The group versions a view reads, loaded with the view: their features carry the current descriptions. */
const SOURCE_GROUPS = { groups: { select: { featureGroup: { select: { name: true, version: true, features: true } } } } } as const;

function sourceGroups(v: { groups: readonly { featureGroup: { name: string; version: number; features: unknown } }[] }) {
  return v.groups.map((g) => g.featureGroup);
}

export const FeatureViewType = builder.prismaNode('FeatureView', {
  description:
    'Features selected from one or more groups, joined point in time, with labels and transformation functions. Training and inference both read through it.',
  id: { field: 'id', description: 'Global id, for `node(id:)`.' },
  findUnique: (id, ctx) => ({ id, projectId: ctx.viewer.projectId }),
  // Another project's id resolves to null, not to a not-found error.
  nullable: true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique with the version in the project.' }),
    version: t.exposeInt('version', { description: 'Version.' }),
    description: t.exposeString('description', { description: 'What the view is for.' }),
    labels: t.stringList({ description: 'Label features.', resolve: (v) => definitionOf(v).labels as string[] }),
    features: t.field({
      type: [ViewFeatureRef],
      description: 'Output features in order, before transformations.',
      select: SOURCE_GROUPS,
      resolve: (v) => {
        const { labels, query } = definitionOf(v);
        return describedColumns(query, sourceGroups(v)).map((c) => ({ ...c, label: labels.includes(c.name) }));
      },
    }),
    servingKeys: t.stringList({
      description: 'What an online lookup needs: the left group’s primary key (join keys of other groups come from it).',
      resolve: (v) => [...definitionOf(v).query.left.schema.primaryKey],
    }),
    featureGroups: t.field({
      type: [GroupVersionRef],
      description: 'The group versions the view reads, left group first.',
      resolve: (v) => {
        const { query } = definitionOf(v);
        return [query.left.group, ...query.joins.map((j) => j.group)];
      },
    }),
    transformations: t.field({
      type: [TransformationRef],
      description: 'Transformation functions, fitted on each training dataset’s train split.',
      select: SOURCE_GROUPS,
      resolve: (v) => {
        const { query, transformations } = definitionOf(v);
        const columns = describedColumns(query, sourceGroups(v));
        return transformations.map((x) => ({ ...x, args: x.args ?? null, description: transformationDescription(x, columns) }));
      },
    }),
    query: t.field({ type: 'JSON', description: 'The normalized query as stored (groups pinned to versions).', resolve: (v) => v.query }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the view was created.' }),
  }),
});
