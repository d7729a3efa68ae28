/** The one path that answers GraphQL: queries, mutations and uploads over HTTP, SSE and graphql-ws. */
export const GRAPHQL_PATH = '/graphql';
