import type { SearchField } from './document.ts';
import { tokenMatches, wordSpans } from './terms.ts';

/** A field of a result that matched, with where in its text (UTF-16 offsets, end exclusive). */
export interface Highlight {
  readonly field: SearchField['field'];
  readonly key: string | null;
  readonly text: string;
  readonly ranges: readonly { readonly start: number; readonly end: number }[];
  /** Where in the key (a tag's name) the query matched. */
  readonly keyRanges: readonly { readonly start: number; readonly end: number }[];
}

/**
 * The fields of a result the query matched: each word one of whose tokens starts with a query
 * token. `extra` says which fields the filters (tag, keyword) matched, highlighted whole.
 */
export function highlights(fields: readonly SearchField[], queryTokens: readonly string[], extra: (f: SearchField) => boolean = () => false): Highlight[] {
  const out: Highlight[] = [];
  for (const f of fields) {
    const ranges = matchedRanges(f.text, queryTokens);
    const keyRanges = f.field === 'tag' && f.key ? matchedRanges(f.key, queryTokens) : [];
    if (ranges.length > 0 || keyRanges.length > 0) out.push({ ...f, ranges, keyRanges });
    else if (extra(f)) out.push({ ...f, ranges: [{ start: 0, end: f.text.length }], keyRanges: [] });
  }
  return out;
}

function matchedRanges(text: string, queryTokens: readonly string[]): { start: number; end: number }[] {
  if (queryTokens.length === 0) return [];
  return wordSpans(text)
    .filter((span) => span.tokens.some((t) => tokenMatches(t, queryTokens)))
    .map(({ start, end }) => ({ start, end }));
}

/**
 * A highlight as one line of text: what matched (`feature`, `tag owner`, …), a colon, and the text
 * with each matched word in `<em>…</em>`. The text is HTML-escaped, so the line can be shown as HTML.
 */
export function highlightLine(h: Highlight): string {
  const label =
    h.field === 'featureDescription'
      ? `description of feature ${escapeHtml(h.key ?? '')}`
      : h.field === 'tag'
        ? `tag ${mark(h.key ?? '', h.keyRanges)}`
        : h.field;
  return `${label}: ${mark(h.text, h.ranges)}`;
}

function mark(text: string, ranges: readonly { start: number; end: number }[]): string {
  let out = '';
  let at = 0;
  for (const { start, end } of ranges) {
    out += `${escapeHtml(text.slice(at, start))}<em>${escapeHtml(text.slice(start, end))}</em>`;
    at = end;
  }
  return out + escapeHtml(text.slice(at));
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
