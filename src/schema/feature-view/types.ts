import { viewColumns, type ViewColumn } from '../../engine/feature-view/query.ts';
import { definitionOf } from '../../services/feature-view/feature-view.service.ts';
import { builder } from '../builder.ts';

const GroupVersionRef = builder.objectRef<{ name: string; version: number }>('FeatureGroupVersion').implement({
  description: 'A feature group version a view reads.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Group name.' }),
    version: t.exposeInt('version', { description: 'Group version.' }),
  }),
});

const ViewFeatureRef = builder.objectRef<ViewColumn & { label: boolean }>('FeatureViewFeature').implement({
  description: 'An output feature of a view.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Output name (with the join’s prefix, if any).' }),
    type: t.exposeString('type', { description: 'Feature type.' }),
    featureGroup: t.field({ type: GroupVersionRef, description: 'The group it comes from.', resolve: (c) => c.group }),
    feature: t.exposeString('feature', { description: 'Its name in that group.' }),
    label: t.exposeBoolean('label', { description: 'Whether it is a label (target).' }),
  }),
});

const TransformationRef = builder.objectRef<{ function: string; feature: string; args: unknown }>('FeatureViewTransformation').implement({
  description: 'A transformation function attached to a feature of the view.',
  fields: (t) => ({
    function: t.exposeString('function', { description: 'Function name.' }),
    feature: t.exposeString('feature', { description: 'Output feature it applies to.' }),
    args: t.field({ type: 'JSON', nullable: true, description: 'Arguments given.', resolve: (x) => x.args ?? null }),
    outputColumn: t.string({
      description: 'Name of its output column (`<function>_<feature>_`); one-hot outputs add `0`, `1`, … to it.',
      resolve: (x) => `${x.function}_${x.feature}_`,
    }),
  }),
});

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
      resolve: (v) => {
        const labels = definitionOf(v).labels;
        return viewColumns(definitionOf(v).query).map((c) => ({ ...c, label: labels.includes(c.name) }));
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
      resolve: (v) => definitionOf(v).transformations.map((x) => ({ ...x, args: x.args ?? null })),
    }),
    query: t.field({ type: 'JSON', description: 'The normalized query as stored (groups pinned to versions).', resolve: (v) => v.query }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the view was created.' }),
  }),
});
