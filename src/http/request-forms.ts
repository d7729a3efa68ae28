import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** The header a multipart request must carry: a browser sends it cross-site only after a CORS preflight. */
export const PREFLIGHT_HEADER = 'x-graphql-yoga-csrf';

/** Content types a browser POSTs cross-site without a CORS preflight (an HTML form, a plain `fetch`). */
const SIMPLE = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\s*(;|$)/;
const JSON_TYPE = /^application\/json\s*(;|$)/;
const MULTIPART = /^multipart\/form-data\s*(;|$)/;

const HOW = `send GraphQL as a POST with Content-Type: application/json, as a GET (queries only), or as multipart/form-data with an ${PREFLIGHT_HEADER} header (file uploads)`;

/**
 * Accepts GraphQL only in the forms a cross-site page cannot forge: a POST of `application/json`
 * (which a browser sends cross-site only after a CORS preflight), a GET (queries only: yoga refuses
 * mutations over GET; the Authorization header it needs is itself preflighted), and a multipart
 * upload carrying {@link PREFLIGHT_HEADER}. A form or text POST is refused with 403 and any other
 * content type with 415, before authentication and before any body is read.
 */
export function useGraphQLRequestForms(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').trim().toLowerCase();
      if (JSON_TYPE.test(type)) return;
      if (MULTIPART.test(type) && request.headers.has(PREFLIGHT_HEADER)) return;
      const shown = type.split(';', 1)[0] || 'no content type';
      if (SIMPLE.test(type)) {
        throw createGraphQLError(`${shown} without an ${PREFLIGHT_HEADER} header is refused (a cross-site page can send it): ${HOW}`, {
          extensions: { code: 'CSRF_PREVENTED', http: { status: 403 } },
        });
      }
      throw createGraphQLError(`${shown} is not accepted: ${HOW}`, {
        extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } },
      });
    },
  };
}
