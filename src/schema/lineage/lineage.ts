import { ValidationError } from '../../errors.ts';
import {
  DEFAULT_LINEAGE_DEPTH,
  lineageNodeId,
  MAX_LINEAGE_DEPTH,
  type LineageGraph,
  type LineageLink,
  type LineageNode,
  type LineageRoot,
} from '../../services/lineage/lineage.service.ts';
import type { CatalogKind } from '../../services/lineage/catalog.ts';
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
    JOB: { description: 'A job working on a feature group or view (its config’s `featureGroup` or `featureView`); version 1, jobs have none.' },
    DATA_SOURCE: { description: 'The data source an external feature group reads in place; version 1, sources have none.' },
    DEPLOYMENT: { description: 'A deployment serving a model version, with its prediction log group downstream; version 1, deployments have none.' },
  } as const,
});

const LineageNodeRef = builder.objectRef<LineageNode>('LineageNode').implement({
  description: 'An object in a lineage graph. Deleted objects stay in lineage, marked deleted.',
  fields: (t) => ({
    id: t.id({ description: 'Its global id (still the same after it was deleted).', resolve: (n) => lineageNodeId(n) }),
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
    from: t.id({ description: 'Global id of the object it was made from (upstream).', resolve: (e) => lineageNodeId(e.from) }),
    to: t.id({ description: 'Global id of the object made from it (downstream).', resolve: (e) => lineageNodeId(e.to) }),
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
      'The lineage of a feature group, feature view, training dataset or model (deleted ones too) of the caller’s project: what it was made from, what was made from it, or both, up to `depth` links away; with the data sources behind external groups upstream and the jobs working on groups and views downstream. Name the object by `id`, or by `kind`, `name` and `version`.',
    authScopes: { read: true },
    args: {
      id: t.arg.id({ description: 'Global id of the object; or give kind and name instead.' }),
      kind: t.arg({ type: LineageKindEnum, description: 'Kind of the object named by `name` (FEATURE_GROUP, FEATURE_VIEW, TRAINING_DATASET or MODEL).' }),
      name: t.arg.string({ description: 'Name of the object (a training dataset’s is `<view>_<view version>`).' }),
      version: t.arg.int({ description: 'Version of the object named by `name`; the latest when omitted.' }),
      direction: t.arg({ type: LineageDirectionEnum, defaultValue: 'BOTH', description: 'UPSTREAM, DOWNSTREAM or BOTH (default).' }),
      depth: t.arg.int({
        defaultValue: DEFAULT_LINEAGE_DEPTH,
        description: `How many links to follow (1–${MAX_LINEAGE_DEPTH}); ${DEFAULT_LINEAGE_DEPTH} by default.`,
      }),
    },
    resolve: (_root, args, ctx) => ctx.services.lineage.graph(ctx.viewer, lineageRoot(args), args.direction ?? 'BOTH', args.depth ?? DEFAULT_LINEAGE_DEPTH),
  }),
);

/** The object a `lineage` query names: by id, or by kind and name (with a version or the latest). */
function lineageRoot(args: { id?: string | number | null; kind?: string | null; name?: string | null; version?: number | null }): LineageRoot {
  const byName = args.kind != null || args.name != null || args.version != null;
  if (args.id != null) {
    if (byName) throw ValidationError.at(['id'], 'give either id, or kind and name (and version), not both');
    return { id: String(args.id) };
  }
  if (args.kind == null || args.name == null) throw ValidationError.at([args.kind == null ? 'kind' : 'name'], 'give id, or kind and name (and version)');
  if (args.kind === 'JOB' || args.kind === 'DATA_SOURCE' || args.kind === 'DEPLOYMENT') {
    throw ValidationError.at(['kind'], 'lineage starts from a feature group, feature view, training dataset or model');
  }
  return { kind: args.kind as CatalogKind, name: args.name, version: args.version };
}
