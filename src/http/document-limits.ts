import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Refuses a GraphQL document larger than `maxBytes` (UTF-8) before it is tokenized or parsed, on
 * every transport: yoga, the fast path and graphql-ws all parse through the enveloped `parse`.
 * The token limit does not bound size: one string literal of megabytes is a single token.
 * Register it before the other `onParse` hooks (the token limit tokenizes the whole document).
 */
export function useMaxDocumentBytes(maxBytes: number): Plugin {
  return {
    onParse({ params }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      // A UTF-8 character is at most 3 bytes per UTF-16 code unit: most documents need no count.
      if (text.length * 3 <= maxBytes) return;
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes <= maxBytes) return;
      throw createGraphQLError(`the GraphQL document is ${bytes} bytes; at most ${maxBytes} are allowed (pass large values as variables)`, {
        extensions: { code: 'DOCUMENT_TOO_LARGE', http: { status: 413 } },
      });
    },
  };
}
