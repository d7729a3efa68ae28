import { Prisma } from '../../generated/sqlite/client.ts';
import { ValidationError } from '../../errors.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { SqlDialect } from '../search/sql.ts';
import type { Viewer } from '../viewer.ts';
import { CATALOG_KINDS, findTarget, type CatalogKind } from './catalog.ts';

export type LineageDirection = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

/** An object in a lineage graph; `deleted` ones are kept, as Hopsworks shows them. */
export interface LineageNode {
  readonly id: string;
  readonly kind: CatalogKind;
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

export const DEFAULT_LINEAGE_DEPTH = 10;
export const MAX_LINEAGE_DEPTH = 50;

const KIND_ORDER = new Map(CATALOG_KINDS.map((k, i) => [k, i]));

/**
 * Lineage from the recorded links: what an object was made from (UPSTREAM: parent groups, the
 * groups of a view, the view of a training dataset, the training dataset and view of a model),
 * what was made from it (DOWNSTREAM), or both, up to `depth` links away. Three queries whatever
 * the size of the graph: the root, the links (one recursive query), the nodes.
 */
export class LineageService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly dialect: SqlDialect,
  ) {}

  async graph(viewer: Viewer, id: string, direction: LineageDirection, depth: number): Promise<LineageGraph> {
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
      throw ValidationError.at(['depth'], `depth must be between 1 and ${MAX_LINEAGE_DEPTH}`);
    }
    const root = await findTarget(this.prisma, viewer, id, { path: ['id'], includeDeleted: true });
    const links = await this.links(root.id, direction, depth);
    const ids = new Set([root.id, ...links.flatMap((l) => [l.fromId, l.toId])]);
    const rows = await this.prisma.catalogEntry.findMany({ where: { id: { in: [...ids] }, projectId: viewer.projectId } });
    const byId = new Map(rows.map((r) => [r.id, toNode(r)]));
    const nodes = [...byId.values()].sort(
      (a, b) => (KIND_ORDER.get(a.kind) ?? 9) - (KIND_ORDER.get(b.kind) ?? 9) || compare(a.name, b.name) || a.version - b.version || compare(a.id, b.id),
    );
    const edges = links
      .filter((l) => byId.has(l.fromId) && byId.has(l.toId))
      .map((l) => ({ ...l, from: byId.get(l.fromId)!, to: byId.get(l.toId)! }))
      .sort((a, b) => nodes.indexOf(a.from) - nodes.indexOf(b.from) || nodes.indexOf(a.to) - nodes.indexOf(b.to));
    return { root: byId.get(root.id) ?? toNode(root), nodes, edges };
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

function toNode(row: { id: string; kind: string; name: string; version: number; deletedAt: Date | null }): LineageNode {
  return { id: row.id, kind: row.kind as CatalogKind, name: row.name, version: row.version, deletedAt: row.deletedAt };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
