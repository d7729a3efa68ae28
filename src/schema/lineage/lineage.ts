import { DEFAULT_LINEAGE_DEPTH, MAX_LINEAGE_DEPTH, type LineageGraph, type LineageLink, type LineageNode } from '../../services/lineage/lineage.service.ts';
import { globalIdOf } from '../../services/lineage/catalog.ts';
import { builder } from '../builder.ts';

const LineageDirectionEnum = builder.enumType('LineageDirection', {
  description: 'Which way to follow lineage from an object.',
  values: {
    UPSTREAM: { description: 'What it was made from: parent groups, a view’s groups, a training dataset’s view, a model’s training dataset and view.' },
    DOWNSTREAM: { description: 'What was made from it.' },
    BOTH: { description: 'Both ways.' },
  } as const,
});

const LineageKindEnum = builder.enumType('LineageKind', {
  description: 'Kinds of objects in a lineage graph.',
  values: {
    FEATURE_GROUP: { description: 'A feature group version.' },
    FEATURE_VIEW: { description: 'A feature view version.' },
    TRAINING_DATASET: { description: 'A training dataset version (named `<view>_<view version>`).' },
    MODEL: { description: 'A model version.' },
  } as const,
});

const LineageNodeRef = builder.objectRef<LineageNode>('LineageNode').implement({
  description: 'An object in a lineage graph. Deleted objects stay in lineage, marked deleted.',
  fields: (t) => ({
    id: t.id({ description: 'Its global id (still the same after it was deleted).', resolve: (n) => globalIdOf(n) }),
    kind: t.field({ type: LineageKindEnum, description: 'What it is.', resolve: (n) => n.kind }),
    name: t.exposeString('name', { description: 'Its name.' }),
    version: t.exposeInt('version', { description: 'Its version.' }),
    deleted: t.boolean({ description: 'Whether it has been deleted.', resolve: (n) => n.deletedAt !== null }),
    deletedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was deleted.', resolve: (n) => n.deletedAt }),
  }),
});

const LineageEdgeRef = builder.objectRef<LineageLink>('LineageEdge').implement({
  description: '`to` was made from `from`.',
  fields: (t) => ({
    from: t.id({ description: 'Global id of the object it was made from (upstream).', resolve: (e) => globalIdOf(e.from) }),
    to: t.id({ description: 'Global id of the object made from it (downstream).', resolve: (e) => globalIdOf(e.to) }),
  }),
});

const LineageGraphRef = builder.objectRef<LineageGraph>('LineageGraph').implement({
  description: 'Objects linked to one object by recorded lineage, and the links.',
  fields: (t) => ({
    root: t.field({ type: LineageNodeRef, description: 'The object asked about.', resolve: (g) => g.root }),
    nodes: t.field({
      type: [LineageNodeRef],
      description: 'Every object in the graph, the root included: by kind (groups, views, training datasets, models), name and version.',
      resolve: (g) => [...g.nodes],
    }),
    edges: t.field({ type: [LineageEdgeRef], description: 'The links between them.', resolve: (g) => [...g.edges] }),
  }),
});

builder.queryField('lineage', (t) =>
  t.field({
    type: LineageGraphRef,
    description:
      'The lineage of a feature group, feature view, training dataset or model (deleted ones too) of the caller’s project: what it was made from, what was made from it, or both, up to `depth` links away.',
    authScopes: { read: true },
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the object.' }),
      direction: t.arg({ type: LineageDirectionEnum, defaultValue: 'BOTH', description: 'UPSTREAM, DOWNSTREAM or BOTH (default).' }),
      depth: t.arg.int({
        defaultValue: DEFAULT_LINEAGE_DEPTH,
        description: `How many links to follow (1–${MAX_LINEAGE_DEPTH}); ${DEFAULT_LINEAGE_DEPTH} by default.`,
      }),
    },
    resolve: (_root, args, ctx) => ctx.services.lineage.graph(ctx.viewer, String(args.id), args.direction ?? 'BOTH', args.depth ?? DEFAULT_LINEAGE_DEPTH),
  }),
);
