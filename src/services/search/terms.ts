/**
 * The one tokenizer of search: documents and queries both go through it, and the databases index
 * its tokens as they are (SQLite FTS5 with the ascii tokenizer, PostgreSQL lexemes made with
 * array_to_tsvector), so both providers match exactly the same tokens.
 *
 * A token is a run of letters and digits, lower-cased, with diacritics removed; everything else
 * (spaces, `_`, `-`, `.`, punctuation) separates tokens. `customer_info` is `customer info`.
 */

/** Bump when tokens or document fields change: documents of older versions are rebuilt on start. */
export const INDEX_VERSION = 1;

/** Longer tokens are cut (PostgreSQL limits a lexeme to 2 KB; nobody searches for more). */
const MAX_TOKEN_LENGTH = 64;

/** The tokens of a text, in order, repeats kept. */
export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0)
    .map((t) => t.slice(0, MAX_TOKEN_LENGTH));
}

/** Distinct tokens of several texts, space-separated: a document's `terms`. */
export function termsOf(texts: readonly string[]): string {
  const seen = new Set<string>();
  for (const text of texts) for (const t of tokens(text)) seen.add(t);
  return [...seen].join(' ');
}

/** A span of a text that is one word, for highlighting: where it is, and its tokens. */
export interface WordSpan {
  readonly start: number;
  readonly end: number;
  readonly tokens: readonly string[];
}

/** The words of a text with their positions (letters, digits and combining marks). */
export function wordSpans(text: string): WordSpan[] {
  const spans: WordSpan[] = [];
  for (const match of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const word = match[0];
    const wordTokens = tokens(word);
    if (wordTokens.length > 0) spans.push({ start: match.index, end: match.index + word.length, tokens: wordTokens });
  }
  return spans;
}

/** Whether a document token matches a query token: the query token is its prefix. */
export function tokenMatches(documentToken: string, queryTokens: readonly string[]): boolean {
  return queryTokens.some((q) => documentToken.startsWith(q));
}
