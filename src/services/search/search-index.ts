import { Prisma } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { SqlDialect } from './sql.ts';

/** A search over one project's documents. */
export interface SearchQuery {
  readonly projectId: string;
  /** Normalized query tokens; each must prefix a token of the document. Empty: no text condition. */
  readonly tokens: readonly string[];
  /** The term as an object name would be spelled: a document with exactly this name ranks first. */
  readonly exactName: string | null;
  readonly kinds: readonly string[] | null;
  /** Only objects with this tag (and, when given, this canonical JSON value). */
  readonly tag: { readonly name: string; readonly valueKey: string | null } | null;
  readonly keyword: string | null;
  readonly offset: number;
  readonly limit: number;
}

/** A matching document, in rank order. */
export interface SearchHit {
  readonly entryId: string;
  readonly kind: string;
  readonly name: string;
  readonly version: number;
  /** The document's fields as stored (JSON text). */
  readonly fields: string;
  /** 0: the exact name; 1: the name matches every token; 2: another field matches. */
  readonly tier: number;
}

/**
 * The search port: full-text matching of SearchDocument.terms, one backend per metadata provider.
 * Both backends index the same normalized tokens and rank with the same portable SQL (tier, then
 * name, kind and newest version first), so they return the same results in the same order.
 */
export interface SearchIndex {
  /** One query, however many results. */
  search(query: SearchQuery): Promise<SearchHit[]>;
}

/** The SQL both backends share; `fullText` is the provider's full-text condition on `d`. */
export class SqlSearchIndex implements SearchIndex {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly dialect: SqlDialect,
    private readonly fullText: (tokens: readonly string[]) => Prisma.Sql,
  ) {}

  async search(query: SearchQuery): Promise<SearchHit[]> {
    const { table, byteOrder } = this.dialect;
    const conditions: Prisma.Sql[] = [Prisma.sql`d."projectId" = ${query.projectId}`];
    if (query.tokens.length > 0) conditions.push(this.fullText(query.tokens));
    if (query.kinds && query.kinds.length > 0) conditions.push(Prisma.sql`d."kind" IN (${Prisma.join([...query.kinds])})`);
    if (query.tag) {
      const value = query.tag.valueKey === null ? Prisma.empty : Prisma.sql` AND t."valueKey" = ${query.tag.valueKey}`;
      conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM ${table('Tag')} t WHERE t."entryId" = d."entryId" AND t."name" = ${query.tag.name}${value})`);
    }
    if (query.keyword !== null) {
      conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM ${table('Keyword')} k WHERE k."entryId" = d."entryId" AND k."keyword" = ${query.keyword})`);
    }
    // Tokens are letters and digits only: no LIKE wildcard or escape can be among them.
    const tier =
      query.tokens.length === 0
        ? Prisma.sql`0`
        : Prisma.sql`CASE WHEN d."name" = ${query.exactName ?? ''} THEN 0 WHEN ${Prisma.join(
            query.tokens.map((t) => Prisma.sql`(' ' || d."nameTerms") LIKE ${`% ${t}%`}`),
            ' AND ',
          )} THEN 1 ELSE 2 END`;
    const rows = await this.prisma.$queryRaw<{ entryId: string; kind: string; name: string; version: unknown; fields: string; tier: unknown }[]>`
      SELECT d."entryId", d."kind", d."name", d."version", d."fields", ${tier} AS "tier"
      FROM ${table('SearchDocument')} d
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY "tier", d."name"${byteOrder}, d."kind"${byteOrder}, d."version" DESC
      LIMIT ${query.limit} OFFSET ${query.offset}`;
    return rows.map((r) => ({ ...r, version: Number(r.version), tier: Number(r.tier) }));
  }
}
