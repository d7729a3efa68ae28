import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * How deep brackets (`{`, `[`, `(`) may nest in a GraphQL document. graphql-js parses
 * recursively, so a document like `[[[[…]]]]` a few thousand levels deep overflows the stack
 * before the token limit is reached; this refuses it first. Generous: selections nest at most
 * the depth limit, and a JSON literal in an argument at most 64 levels (the services' limit).
 */
export const MAX_DOCUMENT_NESTING = 200;

/**
 * Refuses a document whose brackets nest deeper than `max` with a syntax error
 * (`GRAPHQL_PARSE_FAILED`) that states the limit, before it is parsed. One linear scan that skips
 * strings, block strings and comments.
 */
export function useMaxDocumentNesting(max: number = MAX_DOCUMENT_NESTING): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (nestingDepth(source, max) > max) {
        throw new GraphQLError(`Syntax Error: the document nests {, [ and ( deeper than ${max} levels (the limit); pass deep values as variables`);
      }
    },
  };
}

/** The deepest bracket nesting of a GraphQL document, counted up to just past `stopAbove`. */
export function nestingDepth(source: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let i = 0;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === 0x22 /* " */) {
      i = source.startsWith('"""', i) ? skipBlockString(source, i + 3) : skipString(source, i + 1);
      continue;
    } else if (c === 0x7b || c === 0x5b || c === 0x28 /* { [ ( */) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (c === 0x7d || c === 0x5d || c === 0x29 /* } ] ) */) {
      depth = Math.max(0, depth - 1);
    }
    i++;
  }
  return deepest;
}

/** Index just past a string's closing quote (or the end), from the first character inside it. */
function skipString(source: string, i: number): number {
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === '"' || c === '\n' || c === '\r') return i + 1;
    else i++;
  }
  return i;
}

/** Index just past a block string's closing `"""` (or the end); only `\"""` escapes inside it. */
function skipBlockString(source: string, i: number): number {
  while (i < source.length) {
    if (source.startsWith('\\"""', i)) i += 4;
    else if (source.startsWith('"""', i)) return i + 3;
    else i++;
  }
  return i;
}
