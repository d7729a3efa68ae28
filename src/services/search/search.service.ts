import { z } from 'zod';
import { ValidationError, issueMessage } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { CATALOG_KINDS, type CatalogKind } from '../lineage/catalog.ts';
import { canonicalJson } from '../tag/json-schema.ts';
import { keywordSchema } from '../tag/tag.service.ts';
import type { Viewer } from '../viewer.ts';
import { writeSearchDocument, type SearchField } from './document.ts';
import { highlightLine, highlights, type Highlight } from './highlight.ts';
import type { SearchIndex } from './search-index.ts';
import { INDEX_VERSION, tokens } from './terms.ts';

/** What to search for. */
export interface SearchArgs {
  /** Words to find; each must start a word of the object's name, description, features, tags or keywords. */
  readonly term: string;
  readonly kinds?: readonly CatalogKind[] | null;
  /** Only objects carrying this tag; with `value`, only those whose value equals it. */
  readonly tag?: { readonly name: string; readonly value?: unknown } | null;
  readonly keyword?: string | null;
}

/** One object found, with what matched. */
export interface SearchResult {
  readonly entryId: string;
  readonly kind: CatalogKind;
  readonly name: string;
  readonly version: number;
  readonly highlights: readonly Highlight[];
  /** The highlights as lines of (HTML-escaped) text with matched words in `<em>`. */
  readonly matches: readonly string[];
}

const argsInput = z.object({
  term: z.string().max(1000, 'at most 1000 characters'),
  kinds: z.array(z.enum(CATALOG_KINDS)).nullish(),
  tag: z.object({ name: z.string().min(1), value: z.unknown().optional() }).nullish(),
  keyword: keywordSchema.nullish(),
});

/** Query tokens beyond these are ignored. */
const MAX_TOKENS = 16;

/**
 * Search over the caller's project: names, descriptions, feature names and descriptions, tags
 * and keywords of feature groups, views, training datasets and models. Ranked: the exact name
 * first, then objects whose name matches every word, then the rest; by name, kind and newest
 * version within each rank.
 */
export class SearchService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly index: SearchIndex,
    private readonly logger?: Logger,
  ) {}

  /** One page of results: one query, however many results. */
  async search(viewer: Viewer, raw: SearchArgs, page: { offset: number; limit: number }): Promise<SearchResult[]> {
    const parsed = argsInput.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issueMessage(i) }));
      throw new ValidationError(`${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
    }
    const args = parsed.data;
    const queryTokens = [...new Set(tokens(args.term))].slice(0, MAX_TOKENS);
    const tag = args.tag ? { name: args.tag.name, valueKey: args.tag.value === undefined ? null : canonicalJson(args.tag.value) } : null;
    const hits = await this.index.search({
      projectId: viewer.projectId,
      tokens: queryTokens,
      exactName: args.term.trim().toLowerCase(),
      kinds: args.kinds ?? null,
      tag,
      keyword: args.keyword ?? null,
      offset: page.offset,
      limit: page.limit,
    });
    return hits.map((hit) => {
      const fields = JSON.parse(hit.fields) as SearchField[];
      const found = highlights(
        fields,
        queryTokens,
        (f) => (tag !== null && f.field === 'tag' && f.key === tag.name) || (args.keyword != null && f.field === 'keyword' && f.text === args.keyword),
      );
      return {
        entryId: hit.entryId,
        kind: hit.kind as CatalogKind,
        name: hit.name,
        version: hit.version,
        highlights: found,
        matches: found.map(highlightLine),
      };
    });
  }

  /**
   * Builds the search documents that are missing (objects written before search existed) or were
   * built by an older tokenizer. Run on start; returns how many it built.
   */
  async reindex(): Promise<number> {
    const stale = await this.prisma.catalogEntry.findMany({
      where: { deletedAt: null, OR: [{ search: { is: null } }, { search: { is: { indexVersion: { lt: INDEX_VERSION } } } }] },
      select: { id: true },
    });
    let built = 0;
    for (const { id } of stale) {
      try {
        await this.prisma.$transaction((tx) => writeSearchDocument(tx, id));
        built++;
      } catch (error) {
        // Another process may be building the same one; it is there next time either way.
        this.logger?.warn({ err: error, entryId: id }, 'could not build a search document');
      }
    }
    return built;
  }
}
