import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult } from 'graphql';
import { isAsyncIterable, processRegularResult, type YogaServerInstance } from 'graphql-yoga';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import type { Viewer } from '../services/viewer.ts';
import type { AuthOutcome } from './auth-plugin.ts';
import type { ServerContext } from './yoga.ts';

export interface GraphQLFastPathOptions {
  readonly yoga: YogaServerInstance<ServerContext, Context>;
  readonly path: string;
  /** The body limit of JSON requests; the fast path takes bodies up to the smaller of this and 256 KiB. */
  readonly maxBodyBytes: number;
  authenticate(authorization: string): Promise<Viewer>;
  /** Where a request handed over to yoga finds the outcome of authenticating it (so it is not done twice). */
  readonly authenticated: WeakMap<Request, AuthOutcome>;
  readonly logger: Logger;
}

export interface GraphQLFastPath {
  /** Whether the request is one the fast path takes, judged on its headers alone. */
  accepts(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Requests taken: answered here, or handed over to yoga after reading the body. */
  readonly counts: { readonly answered: number; readonly handedOver: number };
}

/** Bodies the fast path buffers; larger ones (rare for queries) go to yoga, which streams them. */
const MAX_FAST_BODY_BYTES = 256 * 1024;
const PARAMS = new Set(['query', 'variables', 'operationName', 'extensions']);
/** Mutations the fast path answers: streaming ingestion, many small requests a second. */
const FAST_MUTATIONS: ReadonlySet<string> = new Set(['ingestFeatureGroupRows']);
/** Accept header → the media type yoga's result processor answers with (it picks application/json for both of the first two). */
const ACCEPTED: Readonly<Record<string, string>> = {
  '*/*': 'application/json',
  'application/json': 'application/json',
  'application/graphql-response+json': 'application/graphql-response+json',
};
const CONTENT_TYPE = /^application\/json(?:;\s*charset=utf-8)?$/i;
/** Query texts whose documents parsed and validated, remembered (oldest dropped first). */
const MAX_KNOWN_DOCUMENTS = 1000;
const LENGTH = /^[1-9]\d{0,9}$/;

interface Params {
  readonly query: string;
  readonly variables?: Record<string, unknown> | null;
  readonly operationName?: string | null;
}

type Enveloped = ReturnType<YogaServerInstance<ServerContext, Context>['getEnveloped']>;
type Result = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

class HandOver extends Error {}
/** Not an error: this request is yoga's to answer (thrown only inside the fast path, never escapes). */
const handOver = new HandOver();

/**
 * The hot path of online serving: a GraphQL query POSTed as JSON with an API key, answered without
 * yoga's fetch emulation (Request/Response objects, body streams, abort signals, hook chains), which
 * costs more per request than the whole query. The GraphQL work is yoga's own: the same enveloped
 * parse (parser cache, token limit), validate (validation cache, depth/cost/alias/directive limits,
 * no introspection), context, execute (compiled queries, masked errors) and result processor.
 *
 * It takes only requests whose answer it can give exactly as yoga would, decided on headers first:
 * POST to the endpoint without a query string, `Content-Type: application/json` (which also passes
 * the CSRF check: a cross-site page cannot send it without a preflight), no `Origin` (yoga adds the
 * CORS headers), an `Accept` yoga answers with JSON, an `Authorization` header, and a
 * `Content-Length` within the body limit (Node's parser never delivers more than it declares, so the
 * limit holds without counting). Then, on the body: a JSON object with the standard parameters
 * only, a query operation (or a mutation of `ingestFeatureGroupRows` fields only) that parses and
 * validates, and a valid key. Anything else — a malformed body, another mutation, a validation error, a bad key — is handed to yoga with the body already read
 * (and the key's outcome, so it is not checked twice), and yoga answers as it always does.
 */
export function createGraphQLFastPath(options: GraphQLFastPathOptions): GraphQLFastPath {
  return new FastPath(options);
}

class FastPath implements GraphQLFastPath {
  readonly counts = { answered: 0, handedOver: 0 };
  readonly #options: GraphQLFastPathOptions;
  readonly #maxBody: number;
  readonly #getEnveloped: GraphQLFastPathOptions['yoga']['getEnveloped'];
  readonly #fetchAPI: GraphQLFastPathOptions['yoga']['fetchAPI'];
  readonly #queries = new WeakMap<DocumentNode, Map<string | undefined, boolean>>();
  /**
   * Documents that parsed and validated, by query text. The schema and the validation rules never
   * change in a running server (limits come from the configuration), so a text that was valid
   * stays valid: repeating it skips parsing and validation, hooks and all (yoga would answer from
   * its own parser and validation caches, after running every hook).
   */
  readonly #known = new Map<string, DocumentNode>();

  constructor(options: GraphQLFastPathOptions) {
    this.#options = options;
    this.#maxBody = Math.min(options.maxBodyBytes, MAX_FAST_BODY_BYTES);
    this.#getEnveloped = options.yoga.getEnveloped;
    this.#fetchAPI = options.yoga.fetchAPI;
  }

  accepts(req: IncomingMessage): boolean {
    const { headers } = req;
    return (
      req.method === 'POST' &&
      req.url === this.#options.path &&
      headers.origin === undefined &&
      headers.authorization !== undefined &&
      headers['transfer-encoding'] === undefined &&
      CONTENT_TYPE.test(headers['content-type'] ?? '') &&
      (headers.accept === undefined || ACCEPTED[headers.accept] !== undefined) &&
      LENGTH.test(headers['content-length'] ?? '') &&
      Number(headers['content-length']) <= this.#maxBody
    );
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const mediaType = ACCEPTED[req.headers.accept ?? '*/*']!;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('error', () => res.destroy());
    req.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.#run(req, res, body, mediaType).catch((error: unknown) => {
        this.#options.logger.error({ err: error }, 'GraphQL request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"errors":[{"message":"Unexpected error."}]}');
      });
    });
  }

  async #run(req: IncomingMessage, res: ServerResponse, body: Buffer, mediaType: string): Promise<void> {
    const { path, authenticate } = this.#options;
    // In the context as in yoga, for hooks that look at the request (lazy: costs nothing unread).
    const request: Request = new this.#fetchAPI.Request(`http://localhost${path}`, {
      method: 'POST',
      headers: req.headers as Record<string, string>,
    });
    let params: Params;
    try {
      params = checkParams(JSON.parse(body.toString('utf8')));
    } catch {
      return this.#toYoga(req, res, body);
    }
    let auth: AuthOutcome & { readonly viewer: Viewer };
    try {
      auth = { viewer: await authenticate(req.headers.authorization!) };
    } catch (error) {
      return this.#toYoga(req, res, body, { error });
    }
    const operationName = params.operationName ?? undefined;
    const enveloped = this.#getEnveloped({ req, res, request, params, viewer: auth.viewer });
    const document = this.#document(enveloped, params.query);
    if (document === undefined || !this.#isFast(document, operationName)) return this.#toYoga(req, res, body, auth);
    const result = await this.#execute(enveloped, document, params, operationName);
    if (result === undefined) return this.#toYoga(req, res, body, auth);
    this.counts.answered++;
    return this.#send(req, res, result, mediaType);
  }

  /** The query's document, parsed and validated (once per text); undefined when it does not pass. */
  #document(enveloped: Enveloped, query: string): DocumentNode | undefined {
    const known = this.#known.get(query);
    if (known !== undefined) return known;
    let parsed: DocumentNode;
    try {
      parsed = enveloped.parse(query);
      if (enveloped.validate(enveloped.schema, parsed).length > 0) return undefined;
    } catch {
      return undefined;
    }
    if (this.#known.size >= MAX_KNOWN_DOCUMENTS) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(query, parsed);
    return parsed;
  }

  /** A query, or a mutation of streamed rows only (JSON in, no files: nothing of yoga's mutation handling applies). */
  #isFast(document: DocumentNode, operationName: string | undefined): boolean {
    let byName = this.#queries.get(document);
    if (!byName) {
      byName = new Map();
      this.#queries.set(document, byName);
    }
    let query = byName.get(operationName);
    if (query === undefined) {
      const operation = getOperationAST(document, operationName);
      query =
        operation?.operation === 'query' ||
        (operation?.operation === 'mutation' && operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && FAST_MUTATIONS.has(s.name.value)));
      byName.set(operationName, query);
    }
    return query;
  }

  /** The query's result; undefined when yoga is to answer instead (it failed, or streams). */
  async #execute(enveloped: Enveloped, document: DocumentNode, params: Params, operationName: string | undefined): Promise<Result | undefined> {
    try {
      const executed = await enveloped.execute({
        schema: enveloped.schema,
        document,
        contextValue: await enveloped.contextFactory(),
        variableValues: params.variables,
        operationName,
      });
      if (isAsyncIterable(executed)) throw handOver;
      return executed as Result;
    } catch {
      // A query has no side effects: yoga runs it again and answers (masking) as it would have.
      return undefined;
    }
  }

  async #send(req: IncomingMessage, res: ServerResponse, result: Result, mediaType: string): Promise<void> {
    if (result.errors?.length || result.extensions?.['http']) {
      // Status and error shape exactly as yoga's: its own result processor.
      return sendNodeResponse(await processRegularResult(result, this.#fetchAPI, mediaType), res, req, true);
    }
    const json = (result.stringify ?? JSON.stringify)(result);
    res.writeHead(200, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  /**
   * Yoga answers, from the body already read, as its Node adapter would have: the same request
   * (aborted when the client goes away, which ends a subscription) and the same response writer
   * (a subscription POSTed with a wildcard Accept streams as server-sent events).
   */
  async #toYoga(req: IncomingMessage, res: ServerResponse, body: Buffer, auth?: AuthOutcome): Promise<void> {
    const { path, yoga, authenticated } = this.#options;
    this.counts.handedOver++;
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const request = new this.#fetchAPI.Request(`http://localhost${path}`, {
      method: 'POST',
      headers: req.headers as Record<string, string>,
      body: body as Uint8Array<ArrayBuffer>,
      signal: controller.signal,
    });
    if (auth) authenticated.set(request, auth);
    await sendNodeResponse(await yoga.handleRequest(request, { req, res }), res, req, true);
  }
}

/** The standard GraphQL-over-HTTP parameters, as yoga's checks would accept them; throws otherwise. */
function checkParams(value: unknown): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw handOver;
  const params = value as Record<string, unknown>;
  for (const key in params) if (params[key] != null && !PARAMS.has(key)) throw handOver;
  const { query, variables, operationName, extensions } = params;
  if (typeof query !== 'string' || query === '') throw handOver;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) throw handOver;
  if (operationName != null && typeof operationName !== 'string') throw handOver;
  if (extensions != null && (typeof extensions !== 'object' || Array.isArray(extensions))) throw handOver;
  return params as unknown as Params;
}
