import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { globalIdOf } from '../../services/lineage/catalog.ts';
import type { Highlight } from '../../services/search/highlight.ts';
import type { SearchResult } from '../../services/search/search.service.ts';
import { builder } from '../builder.ts';

export const SearchKindEnum = builder.enumType('SearchKind', {
  description: 'Kinds of objects search finds.',
  values: {
    FEATURE_GROUP: { description: 'Feature group versions.' },
    FEATURE_VIEW: { description: 'Feature view versions.' },
    TRAINING_DATASET: { description: 'Training dataset versions (named `<view>_<view version>`).' },
    MODEL: { description: 'Model versions.' },
  } as const,
});

const SearchFieldEnum = builder.enumType('SearchField', {
  description: 'The part of an object a match is in.',
  values: {
    name: { value: 'name', description: 'Its name.' },
    description: { value: 'description', description: 'Its description.' },
    feature: { value: 'feature', description: 'The name of one of its features (`key`).' },
    featureDescription: { value: 'featureDescription', description: 'The description of one of its features (`key`).' },
    framework: { value: 'framework', description: 'A model’s framework.' },
    tag: { value: 'tag', description: 'A tag (`key` its name; `text` its value, objects as JSON).' },
    keyword: { value: 'keyword', description: 'One of its keywords.' },
  } as const,
});

const TagFilterInput = builder.inputType('SearchTagFilter', {
  description: 'Only objects carrying a tag.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Tag name.' }),
    value: t.field({ type: 'JSON', description: 'Only objects whose tag has exactly this value (objects compared whatever their key order).' }),
  }),
});

const RangeRef = builder.objectRef<{ start: number; end: number }>('HighlightRange').implement({
  description: 'A matched part of a text, in UTF-16 code units, as JavaScript strings count.',
  fields: (t) => ({
    start: t.exposeInt('start', { description: 'Offset of its first character.' }),
    end: t.exposeInt('end', { description: 'Offset just past its last character.' }),
  }),
});

const HighlightRef = builder.objectRef<Highlight>('SearchHighlight').implement({
  description: 'A field of a search result that matched, and where.',
  fields: (t) => ({
    field: t.field({ type: SearchFieldEnum, description: 'Which part of the object.', resolve: (h) => h.field }),
    key: t.exposeString('key', { nullable: true, description: 'The feature or tag the text belongs to.' }),
    text: t.exposeString('text', { description: 'The whole text, as stored.' }),
    ranges: t.field({ type: [RangeRef], description: 'The matched words of `text`.', resolve: (h) => [...h.ranges] }),
    keyRanges: t.field({ type: [RangeRef], description: 'The matched words of `key` (a tag’s name).', resolve: (h) => [...h.keyRanges] }),
  }),
});

const SearchResultRef = builder.objectRef<SearchResult>('SearchResult').implement({
  description: 'An object search found.',
  fields: (t) => ({
    id: t.id({ description: 'Its global id, for `node(id:)`, tags and lineage.', resolve: (r) => globalIdOf({ id: r.entryId, kind: r.kind }) }),
    kind: t.field({ type: SearchKindEnum, description: 'What it is.', resolve: (r) => r.kind }),
    name: t.exposeString('name', { description: 'Its name.' }),
    version: t.exposeInt('version', { description: 'Its version.' }),
    matches: t.stringList({
      description:
        'What matched, one line per field: `name: <em>customer</em>_info`, `feature: <em>tenure</em>`, `tag <em>owner</em>: …`. HTML-escaped, matched words in `<em>`.',
      resolve: (r) => [...r.matches],
    }),
    highlights: t.field({ type: [HighlightRef], description: 'What matched, as data.', resolve: (r) => [...r.highlights] }),
  }),
});

builder.queryField('search', (t) =>
  t.connection(
    {
      type: SearchResultRef,
      description:
        'Finds feature groups, feature views, training datasets and models of the caller’s project by the words of their names, descriptions, feature names and descriptions, tags and keywords (each word of `term` must start a word there). Ranked: the exact name first, then names matching every word, then the rest; by name, kind and newest version within each. At most 100 a page.',
      authScopes: { read: true },
      args: {
        term: t.arg.string({ required: true, description: 'Words to find; empty: everything the filters allow.' }),
        kinds: t.arg({ type: [SearchKindEnum], description: 'Only these kinds; all when omitted.' }),
        tag: t.arg({ type: TagFilterInput, description: 'Only objects carrying this tag (with this value, when given).' }),
        keyword: t.arg.string({ description: 'Only objects with this keyword.' }),
      },
      resolve: (_root, args, ctx) =>
        resolveOffsetConnection({ args, defaultSize: 20, maxSize: 100 }, ({ offset, limit }) =>
          ctx.services.search.search(ctx.viewer, { term: args.term, kinds: args.kinds, tag: args.tag, keyword: args.keyword }, { offset, limit }),
        ),
    },
    { name: 'SearchConnection', description: 'A page of search results, best first.' },
    { name: 'SearchEdge', description: 'A search result in a page, with its cursor.' },
  ),
);
