import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { App } from '../app.ts';
import type { Context } from '../context.ts';
import { schema } from '../schema/index.ts';
import type { Viewer } from '../services/viewer.ts';
import { useApiKeyAuth, type AuthOutcome } from './auth-plugin.ts';
import { useCompiledQueries } from './compiled-queries.ts';
import { useMaxDocumentBytes } from './document-limits.ts';
import { useMaxDocumentNesting } from './document-nesting.ts';
import { maskDomainErrors, unauthenticated } from './error-masking.ts';
import { renderGraphiQL } from './graphiql.ts';
import { useIntrospectionDepthLimit, useNoIntrospection } from './introspection.ts';
import type { KeySessions } from './key-sessions.ts';
import { GRAPHQL_PATH } from './paths.ts';
import { PREFLIGHT_HEADER, useGraphQLRequestForms } from './request-forms.ts';
import { useReleaseScopeCache } from './scope-cache.ts';
import { useObservability } from './observability.ts';
import { useEndSubscriptions } from './subscription-lifecycle.ts';
import { useDiskUploads, useLimitNonUploadBodySize } from './uploads.ts';
import { yogaLogging } from './yoga-logging.ts';

export type ServerContext = { req: IncomingMessage; res: ServerResponse };
type InitialContext = { request: Request; viewer?: Viewer };

/** What yoga's plugins share with the rest of the server. */
export interface GranaryYogaOptions {
  /** The viewer of each HTTP request, set by the auth plugin before its body is parsed. */
  readonly viewers: WeakMap<Request, Viewer>;
  /** The outcome of authenticating a request the fast path handed over. */
  readonly authenticated: WeakMap<Request, AuthOutcome>;
  /** Aborts when the server stops: open subscriptions complete. */
  readonly shutdown: AbortSignal;
  /** Open subscriptions per key, ended when their key is revoked or expires. */
  readonly sessions: KeySessions;
}

/** Yoga with the schema, the context of each request, and the HTTP edge's plugins in their order. */
export function createGranaryYoga(app: App, options: GranaryYogaOptions): YogaServerInstance<ServerContext, Context> {
  const { config, logger } = app;
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Multipart uploads are bounded per file by useDiskUploads; yoga's limit would count them whole.
    maxRequestBodySize: false,
    logging: yogaLogging(logger),
    // The page holds no secret, whoever asks for it: a key reaches it only in the fragment of a
    // sign-in URL (graphiqlSignInUrl), which the browser never sends.
    graphiql: config.graphiql
      ? {
          title: 'Granary',
          subscriptionsProtocol: 'WS',
          headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
          defaultQuery: '{\n  viewer {\n    project { name }\n    scopes\n  }\n}\n',
        }
      : false,
    renderGraphiQL,
    maskedErrors: { maskError: maskDomainErrors },
    context: ({ request, viewer }: InitialContext) => {
      const resolved = viewer ?? options.viewers.get(request);
      if (!resolved) throw unauthenticated('missing API key');
      return { viewer: resolved, services: app.services, prisma: app.prisma };
    },
    plugins: plugins(app, options),
  });
}

function plugins(app: App, options: GranaryYogaOptions): Plugin[] {
  const { config, logger } = app;
  return [
    // Only JSON POSTs, GETs and multipart uploads with a preflight header: nothing a cross-site
    // form can send. Keys travel only in the Authorization header (never cookies), which a
    // cross-site page cannot set without a preflight either; a GET must carry it (or the
    // preflight header), so yoga's CSRF check refuses a bare cross-site GET outright.
    useGraphQLRequestForms(),
    useCSRFPrevention({ requestHeaders: ['authorization', PREFLIGHT_HEADER] }),
    // Authenticate next: before a multipart body (possibly gigabytes) is spooled to disk.
    useApiKeyAuth(app.services.apiKeys, options.viewers, options.authenticated),
    useDiskUploads({
      tempDir: join(app.services.tempFiles.dir, 'uploads'),
      maxFileBytes: config.limits.maxUploadBytes,
      maxFiles: 20,
    }),
    useLimitNonUploadBodySize(config.limits.maxBodyBytes),
    // Before the token limit, which would tokenize a document of any size first.
    useMaxDocumentBytes(config.limits.maxDocumentBytes),
    // Before any parser runs: graphql-js would overflow the stack on a deeply nested literal.
    useMaxDocumentNesting(),
    EnvelopArmorPlugin({
      // Introspection counts too (armor would skip `__schema`), up to the depth of the
      // introspection query GraphiQL sends: see useIntrospectionDepthLimit.
      maxDepth: { n: config.limits.maxDepth },
      // Every alias counts, `__typename` ones too (armor would skip them: 1 000 of them ran).
      maxAliases: { n: config.limits.maxAliases, allowList: [] },
      costLimit: { maxCost: config.limits.maxCost },
      maxTokens: { n: config.limits.maxTokens },
      maxDirectives: { n: 50 },
      blockFieldSuggestion: { enabled: !config.introspection },
    }),
    config.introspection ? useIntrospectionDepthLimit(config.limits.maxDepth) : useNoIntrospection(),
    // Before graphql-jit replaces the execute function: operations are timed and traced whichever runs them.
    ...observed(app),
    useCompiledQueries(logger),
    useReleaseScopeCache(),
    useEndSubscriptions(options.shutdown, options.sessions),
  ];
}

/** The metrics and tracing plugin, when either is on. */
function observed(app: App): Plugin[] {
  const plugin = useObservability(app.metrics, app.tracing !== null);
  return plugin ? [plugin] : [];
}
