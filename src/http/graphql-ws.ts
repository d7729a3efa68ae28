import type { Server } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import type { Context as WsContext, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context } from '../context.ts';
import { UnauthenticatedError } from '../errors.ts';
import type { ApiKeyService } from '../services/api-key.service.ts';
import type { Viewer } from '../services/viewer.ts';
import type { KeySessions } from './key-sessions.ts';
import { GRAPHQL_PATH } from './paths.ts';
import type { ServerContext } from './yoga.ts';

type WsExtra = { viewer: Viewer };
type Enveloped = ReturnType<YogaServerInstance<ServerContext, Context>['getEnveloped']>;
type Operation = Pick<Enveloped, 'execute' | 'subscribe'>;

export interface GraphQLWebSocket {
  readonly wss: WebSocketServer;
  /** Stops graphql-ws: its subscriptions end. */
  dispose(): Promise<void>;
}

/**
 * graphql-ws on the GraphQL path of `http`: the key comes in `connection_init` (its name matched
 * case-insensitively), and each operation runs through yoga's envelop (limits, validation, context,
 * compiled execution) as over HTTP. The socket closes (4403) when its key is revoked or expires.
 */
export function createGraphQLWebSocket(
  http: Server,
  yoga: YogaServerInstance<ServerContext, Context>,
  apiKeys: Pick<ApiKeyService, 'authenticate'>,
  sessions: KeySessions,
): GraphQLWebSocket {
  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH });
  const server = useServer<Record<string, unknown>, WsExtra>(
    {
      onConnect: (ctx) => connect(ctx, apiKeys, sessions),
      execute: (args) => (args.rootValue as Operation).execute(args),
      subscribe: (args) => (args.rootValue as Operation).subscribe(args),
      onSubscribe: (ctx, _id, params) => operationArgs(yoga, ctx, params),
    },
    wss,
  );
  return {
    wss,
    async dispose() {
      await server.dispose();
    },
  };
}

type ConnectionContext = WsContext<Record<string, unknown>, Extra & Partial<WsExtra>>;

/** Accepts a connection whose `connection_init` payload carries a valid key. */
async function connect(ctx: ConnectionContext, apiKeys: Pick<ApiKeyService, 'authenticate'>, sessions: KeySessions): Promise<boolean> {
  const payload = ctx.connectionParams ?? {};
  const header = Object.entries(payload).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (typeof header !== 'string' || header.trim() === '') {
    ctx.extra.socket.close(4401, 'Unauthorized');
    return false;
  }
  try {
    const viewer = await apiKeys.authenticate(header);
    ctx.extra.viewer = viewer;
    const { socket } = ctx.extra;
    // The socket closes as an unauthorized one would have: its key no longer works.
    const release = sessions.open(viewer, (reason) => socket.close(4403, `Forbidden: ${reason}`));
    socket.once('close', release);
    return true;
  } catch (error) {
    if (error instanceof UnauthenticatedError) return false;
    throw error;
  }
}

/** Parses and validates a subscribed operation with yoga's envelop; its errors answer, not close. */
async function operationArgs(
  yoga: YogaServerInstance<ServerContext, Context>,
  ctx: ConnectionContext,
  params: SubscribePayload,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  // `overSocket`: the socket's own key session ends it (4403), so its subscriptions need none (see useEndSubscriptions).
  const enveloped = yoga.getEnveloped({ request: ctx.extra.request, viewer: ctx.extra.viewer, params, overSocket: true });
  let document: DocumentNode;
  try {
    document = enveloped.parse(params.query);
  } catch (error) {
    // A syntax error or a limit (document size, tokens): an error message, not a closed socket.
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  const errors = enveloped.validate(enveloped.schema, document);
  if (errors.length > 0) return errors;
  return {
    schema: enveloped.schema,
    document,
    operationName: params.operationName ?? null,
    variableValues: params.variables ?? null,
    contextValue: await enveloped.contextFactory(),
    rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies Operation,
  };
}
