import { Prisma } from '../../generated/sqlite/client.ts';
import { ValidationError } from '../../errors.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { SqlDialect } from '../search/sql.ts';
import { trafficOf } from '../deployment/definition.ts';
import type { Viewer } from '../viewer.ts';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../../errors.ts';
import type { CatalogEntry } from '../../generated/sqlite/client.ts';
import { CATALOG_KINDS, findTarget, TYPENAME_OF, type CatalogKind } from './catalog.ts';

export type LineageDirection = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

/**
 * Kinds in a lineage graph: the catalog's objects, plus the jobs that work on them and the data
 * sources behind external groups (found from their definitions, not recorded links).
 */
export type LineageNodeKind = CatalogKind | 'JOB' | 'DATA_SOURCE' | 'DEPLOYMENT';

/** An object in a lineage graph; `deleted` ones are kept, as Hopsworks shows them. */
export interface LineageNode {
  readonly id: string;
  readonly kind: LineageNodeKind;
  readonly name: string;
  readonly version: number;
  readonly deletedAt: Date | null;
}

/** `to` was made from `from`. */
export interface LineageLink {
  readonly fromId: string;
  readonly toId: string;
  readonly from: LineageNode;
  readonly to: LineageNode;
}

export interface LineageGraph {
  readonly root: LineageNode;
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageLink[];
}

/** Where a graph starts: a global id, or a catalog object by kind, name and version (the latest when omitted). */
export type LineageRoot = { readonly id: string } | { readonly kind: CatalogKind; readonly name: string; readonly version?: number | null };

export const DEFAULT_LINEAGE_DEPTH = 10;
export const MAX_LINEAGE_DEPTH = 50;

const KIND_ORDER = new Map<LineageNodeKind, number>(['DATA_SOURCE', ...CATALOG_KINDS, 'DEPLOYMENT', 'JOB'].map((k, i) => [k as LineageNodeKind, i]));

/** The global id of a lineage node (a deleted object's too). */
export function lineageNodeId(node: { id: string; kind: LineageNodeKind }): string {
  if (node.kind === 'JOB') return encodeGlobalID('Job', node.id);
  if (node.kind === 'DATA_SOURCE') return encodeGlobalID('DataSource', node.id);
  if (node.kind === 'DEPLOYMENT') return encodeGlobalID('Deployment', node.id);
  return encodeGlobalID(TYPENAME_OF[node.kind], node.id);
}

/**
 * Lineage from the recorded links: what an object was made from (UPSTREAM: parent groups, the
 * groups of a view, the view of a training dataset, the training dataset and view of a model),
 * what was made from it (DOWNSTREAM), or both, up to `depth` links away. Around those, from their
 * definitions: the data source behind each external group reached upstream (or the root), and the
 * jobs working on a group or view reached downstream (or the root), by the `featureGroup` or
 * `featureView` of their config (a ref without version names the latest), and the deployments
 * serving a model version reached downstream (or the root), by traffic, alias or shadow, each with
 * its prediction log group. These add no depth.
 * A handful of queries whatever the size of the graph.
 */
export class LineageService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly dialect: SqlDialect,
  ) {}

  async graph(viewer: Viewer, from: LineageRoot, direction: LineageDirection, depth: number): Promise<LineageGraph> {
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
      throw ValidationError.at(['depth'], `depth must be between 1 and ${MAX_LINEAGE_DEPTH}`);
    }
    const root = 'id' in from ? await findTarget(this.prisma, viewer, from.id, { path: ['id'], includeDeleted: true }) : await this.named(viewer, from);
    const links = await this.links(root.id, direction, depth);
    const ids = new Set([root.id, ...links.flatMap((l) => [l.fromId, l.toId])]);
    const rows = await this.prisma.catalogEntry.findMany({ where: { id: { in: [...ids] }, projectId: viewer.projectId } });
    const byId = new Map<string, LineageNode>(rows.map((r) => [r.id, toNode(r)]));
    const found = links.filter((l) => byId.has(l.fromId) && byId.has(l.toId));
    // Data sources are upstream of their groups, jobs downstream of what they work on.
    const upstream = direction === 'DOWNSTREAM' ? new Set<string>() : reach(root.id, found, 'UPSTREAM');
    const downstream = direction === 'UPSTREAM' ? new Set<string>() : reach(root.id, found, 'DOWNSTREAM');
    const around = [
      ...(await this.dataSources(viewer, byId, upstream)),
      ...(await this.jobs(viewer, byId, downstream)),
      ...(await this.deployments(viewer, byId, downstream)),
    ];
    for (const link of around) {
      byId.set(link.fromId, link.from);
      byId.set(link.toId, link.to);
    }
    const nodes = [...byId.values()].sort(
      (a, b) => (KIND_ORDER.get(a.kind) ?? 9) - (KIND_ORDER.get(b.kind) ?? 9) || compare(a.name, b.name) || a.version - b.version || compare(a.id, b.id),
    );
    const edges = [...found.map((l) => ({ ...l, from: byId.get(l.fromId)!, to: byId.get(l.toId)! })), ...around].sort(
      (a, b) => nodes.indexOf(a.from) - nodes.indexOf(b.from) || nodes.indexOf(a.to) - nodes.indexOf(b.to),
    );
    return { root: byId.get(root.id) ?? toNode(root), nodes, edges };
  }

  /** A catalog object by kind, name and version; without version the latest one not deleted (else the latest). */
  private async named(viewer: Viewer, from: { kind: CatalogKind; name: string; version?: number | null }): Promise<CatalogEntry> {
    const where = { projectId: viewer.projectId, kind: from.kind, name: from.name };
    const entry =
      from.version != null
        ? await this.prisma.catalogEntry.findFirst({ where: { ...where, version: from.version } })
        : ((await this.prisma.catalogEntry.findFirst({ where: { ...where, deletedAt: null }, orderBy: { version: 'desc' } })) ??
          (await this.prisma.catalogEntry.findFirst({ where, orderBy: { version: 'desc' } })));
    if (!entry) throw new NotFoundError(TYPENAME_OF[from.kind], from.version == null ? from.name : `${from.name} version ${from.version}`);
    return entry;
  }

  /** The data sources behind the external groups among `ids`: a link from each source to its group. */
  private async dataSources(viewer: Viewer, nodes: ReadonlyMap<string, LineageNode>, ids: ReadonlySet<string>): Promise<LineageLink[]> {
    const groups = [...ids].filter((id) => nodes.get(id)?.kind === 'FEATURE_GROUP');
    if (groups.length === 0) return [];
    const external = await this.prisma.featureGroup.findMany({
      where: { id: { in: groups }, projectId: viewer.projectId, dataSourceId: { not: null } },
      select: { id: true, dataSource: { select: { id: true, name: true } } },
    });
    return external.flatMap((g) => {
      if (!g.dataSource) return [];
      const source: LineageNode = { id: g.dataSource.id, kind: 'DATA_SOURCE', name: g.dataSource.name, version: 1, deletedAt: null };
      return [{ fromId: source.id, toId: g.id, from: source, to: nodes.get(g.id)! }];
    });
  }

  /** The jobs whose config names a group or view among `ids`: a link from that object to the job. */
  private async jobs(viewer: Viewer, nodes: ReadonlyMap<string, LineageNode>, ids: ReadonlySet<string>): Promise<LineageLink[]> {
    const targets = [...ids].map((id) => nodes.get(id)!).filter((n) => n.kind === 'FEATURE_GROUP' || n.kind === 'FEATURE_VIEW');
    if (targets.length === 0) return [];
    const jobs = await this.prisma.job.findMany({ where: { projectId: viewer.projectId }, select: { id: true, name: true, config: true } });
    const refs = jobs.flatMap((job) => {
      const config = job.config as Record<string, unknown> | null;
      const found: { job: typeof job; kind: CatalogKind; name: string; version: number | null }[] = [];
      for (const [field, kind] of [
        ['featureGroup', 'FEATURE_GROUP'],
        ['featureView', 'FEATURE_VIEW'],
      ] as const) {
        const ref = config && typeof config === 'object' ? (config[field] as { name?: unknown; version?: unknown } | undefined) : undefined;
        if (ref && typeof ref.name === 'string') found.push({ job, kind, name: ref.name, version: typeof ref.version === 'number' ? ref.version : null });
      }
      return found;
    });
    if (refs.length === 0) return [];
    const latest = await this.latestVersions(
      viewer,
      refs.filter((r) => r.version === null),
    );
    const links: LineageLink[] = [];
    for (const ref of refs) {
      const version = ref.version ?? latest.get(`${ref.kind}/${ref.name}`);
      const target = targets.find((t) => t.kind === ref.kind && t.name === ref.name && t.version === version);
      if (!target) continue;
      const job: LineageNode = { id: ref.job.id, kind: 'JOB', name: ref.job.name, version: 1, deletedAt: null };
      links.push({ fromId: target.id, toId: job.id, from: target, to: job });
    }
    return links;
  }

  /**
   * The deployments serving a model version among `ids` (a traffic version, the version an alias
   * points at, or the shadow): a link from the version to the deployment, and from the deployment
   * to its prediction log group when it has one.
   */
  private async deployments(viewer: Viewer, nodes: ReadonlyMap<string, LineageNode>, ids: ReadonlySet<string>): Promise<LineageLink[]> {
    const models = [...ids].map((id) => nodes.get(id)!).filter((n) => n.kind === 'MODEL');
    if (models.length === 0) return [];
    const names = [...new Set(models.map((m) => m.name))];
    const [deployments, aliases] = await Promise.all([
      this.prisma.deployment.findMany({ where: { projectId: viewer.projectId, modelName: { in: names } } }),
      this.prisma.modelAlias.findMany({
        where: { projectId: viewer.projectId, name: { in: names } },
        select: { name: true, alias: true, model: { select: { version: true } } },
      }),
    ]);
    if (deployments.length === 0) return [];
    const aliasTarget = new Map(aliases.map((a) => [`${a.name}@${a.alias}`, a.model.version]));
    const logGroups = await this.prisma.catalogEntry.findMany({
      where: { projectId: viewer.projectId, id: { in: deployments.flatMap((d) => (d.logGroupId ? [d.logGroupId] : [])) } },
    });
    const links: LineageLink[] = [];
    for (const d of deployments) {
      const traffic = trafficOf(d);
      const versions = new Set<number>();
      for (const t of traffic) {
        const version = t.version ?? (t.alias ? aliasTarget.get(`${d.modelName}@${t.alias}`) : undefined);
        if (version != null) versions.add(version);
      }
      if (d.shadowVersion != null) versions.add(d.shadowVersion);
      const node: LineageNode = { id: d.id, kind: 'DEPLOYMENT', name: d.name, version: 1, deletedAt: null };
      for (const model of models) {
        if (model.name === d.modelName && versions.has(model.version)) links.push({ fromId: model.id, toId: d.id, from: model, to: node });
      }
      const log = logGroups.find((g) => g.id === d.logGroupId);
      if (log && links.some((l) => l.to === node)) links.push({ fromId: d.id, toId: log.id, from: node, to: toNode(log) });
    }
    return links;
  }

  /** The latest version not deleted of each named object (`<kind>/<name>` → version). */
  private async latestVersions(viewer: Viewer, refs: readonly { kind: CatalogKind; name: string }[]): Promise<Map<string, number>> {
    if (refs.length === 0) return new Map();
    const rows = await this.prisma.catalogEntry.groupBy({
      by: ['kind', 'name'],
      where: { projectId: viewer.projectId, deletedAt: null, OR: refs.map((r) => ({ kind: r.kind, name: r.name })) },
      _max: { version: true },
    });
    return new Map(rows.map((r) => [`${r.kind}/${r.name}`, r._max.version ?? 0]));
  }

  /** The links within `depth` of the root, in one recursive query. */
  private async links(rootId: string, direction: LineageDirection, depth: number): Promise<{ fromId: string; toId: string }[]> {
    const edge = this.dialect.table('LineageEdge');
    const parts: Prisma.Sql[] = [];
    const selects: Prisma.Sql[] = [];
    if (direction !== 'DOWNSTREAM') {
      parts.push(Prisma.sql`up ("fromId", "toId", "depth") AS (
        SELECT e."fromId", e."toId", 1 FROM ${edge} e WHERE e."toId" = ${rootId}
        UNION
        SELECT e."fromId", e."toId", up."depth" + 1 FROM ${edge} e JOIN up ON e."toId" = up."fromId" WHERE up."depth" < ${depth}
      )`);
      selects.push(Prisma.sql`SELECT DISTINCT "fromId", "toId" FROM up`);
    }
    if (direction !== 'UPSTREAM') {
      parts.push(Prisma.sql`down ("fromId", "toId", "depth") AS (
        SELECT e."fromId", e."toId", 1 FROM ${edge} e WHERE e."fromId" = ${rootId}
        UNION
        SELECT e."fromId", e."toId", down."depth" + 1 FROM ${edge} e JOIN down ON e."fromId" = down."toId" WHERE down."depth" < ${depth}
      )`);
      selects.push(Prisma.sql`SELECT DISTINCT "fromId", "toId" FROM down`);
    }
    return this.prisma.$queryRaw<{ fromId: string; toId: string }[]>`
      WITH RECURSIVE ${Prisma.join(parts, ', ')}
      ${Prisma.join(selects, ' UNION ')}`;
  }
}

/** The ids reachable from `root` along `links`, against them (UPSTREAM) or along them (DOWNSTREAM), the root included. */
function reach(root: string, links: readonly { fromId: string; toId: string }[], direction: 'UPSTREAM' | 'DOWNSTREAM'): Set<string> {
  const seen = new Set([root]);
  const queue = [root];
  while (queue.length > 0) {
    const id = queue.pop()!;
    for (const l of links) {
      const [here, next] = direction === 'UPSTREAM' ? [l.toId, l.fromId] : [l.fromId, l.toId];
      if (here === id && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

function toNode(row: { id: string; kind: string; name: string; version: number; deletedAt: Date | null }): LineageNode {
  return { id: row.id, kind: row.kind as CatalogKind, name: row.name, version: row.version, deletedAt: row.deletedAt };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
