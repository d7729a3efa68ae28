import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.ts';
import { DeploymentStoppedError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../errors.ts';
import type { Prediction } from '../services/deployment/predict.ts';

/** Largest predict body over HTTP (10 000 entries of a few keys fit easily). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Predict endpoints that existing clients speak, with the same API-key auth as GraphQL:
 *   KServe V1  `POST /v1/models/<deployment>:predict` with `{ "instances": [entry, …] }` →
 *              `{ "predictions": [prediction, …] }`; `GET /v1/models/<deployment>` → `{ name, ready }`.
 *   MLflow     `POST /deployments/<deployment>/invocations` (or `POST /invocations` with a
 *              `deployment` query parameter) with `{ "dataframe_records": [entry, …] }`,
 *              `{ "dataframe_split": { columns, data } }`, `{ "instances": […] }` or `{ "inputs": […] }`
 *              → `{ "predictions": [prediction, …] }`.
 * Entries are objects of serving keys, as for `predict`; the feature values come from the store.
 * A prediction is the model's answer; with probabilities it is `{ prediction, probabilities }`
 * when `?probabilities=true` is asked. The header `x-granary-model-version` names the versions.
 */
export function predictRoute(path: string): { kind: 'kserve' | 'kserve-status' | 'mlflow'; deployment: string | null } | null {
  let match = /^\/v1\/models\/([^/:]+):predict$/.exec(path);
  if (match) return { kind: 'kserve', deployment: decode(match[1]!) };
  match = /^\/v1\/models\/([^/:]+)$/.exec(path);
  if (match) return { kind: 'kserve-status', deployment: decode(match[1]!) };
  match = /^\/deployments\/([^/]+)\/invocations$/.exec(path);
  if (match) return { kind: 'mlflow', deployment: decode(match[1]!) };
  if (path === '/invocations') return { kind: 'mlflow', deployment: null };
  return null;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export async function handlePredict(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: NonNullable<ReturnType<typeof predictRoute>>,
  search: URLSearchParams,
): Promise<void> {
  try {
    const viewer = await app.services.apiKeys.authenticate(req.headers.authorization);
    const name = route.deployment ?? search.get('deployment');
    if (!name) throw ValidationError.at(['deployment'], 'name the deployment: POST /deployments/<name>/invocations, or /invocations?deployment=<name>');
    if (route.kind === 'kserve-status') {
      if (req.method !== 'GET') return send(res, 405, { error: 'use GET', code: 'METHOD_NOT_ALLOWED' }, { allow: 'GET' });
      const deployment = await app.services.deployments.get(viewer, name);
      return send(res, 200, { name: deployment.name, ready: deployment.state === 'RUNNING' });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST', code: 'METHOD_NOT_ALLOWED' }, { allow: 'POST' });
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return send(res, 415, { error: 'send the body as application/json', code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    const body = await readJson(req);
    const entries = route.kind === 'kserve' ? kserveEntries(body) : mlflowEntries(body);
    const result = await app.services.predictor.predict(viewer, name, entries, null, null);
    const withProbabilities = search.get('probabilities') === 'true';
    const versions = [...new Set(result.predictions.map((p) => p.modelVersion))].join(',');
    send(
      res,
      200,
      { predictions: result.predictions.map((p) => answer(p, withProbabilities)) },
      { 'x-granary-model-version': versions, 'x-request-id': result.requestId },
    );
  } catch (error) {
    fail(app, res, error);
  }
}

function answer(p: Prediction, withProbabilities: boolean): unknown {
  if (!withProbabilities) return p.prediction ?? null;
  return { prediction: p.prediction ?? null, probabilities: p.probabilities, modelVersion: p.modelVersion, missing: p.missing };
}

function kserveEntries(body: unknown): unknown[] {
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances)) throw ValidationError.at(['instances'], 'a KServe V1 body is { "instances": [ { <serving keys> }, … ] }');
  return instances;
}

/** MLflow's scoring formats, each turned into entries (objects of serving keys). */
function mlflowEntries(body: unknown): unknown[] {
  const b = (body ?? {}) as Record<string, unknown>;
  if (Array.isArray(b.dataframe_records)) return b.dataframe_records;
  if (b.dataframe_split && typeof b.dataframe_split === 'object') {
    const { columns, data } = b.dataframe_split as { columns?: unknown; data?: unknown };
    if (!Array.isArray(columns) || !Array.isArray(data) || !columns.every((c) => typeof c === 'string')) {
      throw ValidationError.at(['dataframe_split'], 'dataframe_split is { "columns": [names], "data": [[values], …] }');
    }
    return data.map((row, i) => {
      if (!Array.isArray(row) || row.length !== columns.length) {
        throw ValidationError.at(['dataframe_split', 'data', i], `each row has ${columns.length} values, one per column`);
      }
      return Object.fromEntries(columns.map((c, k) => [c, row[k]]));
    });
  }
  if (Array.isArray(b.instances)) return b.instances;
  if (Array.isArray(b.inputs)) return b.inputs;
  throw ValidationError.at(
    [],
    'an MLflow body is { "dataframe_records": [ { <serving keys> }, … ] }, { "dataframe_split": … }, { "instances": … } or { "inputs": … }',
  );
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > MAX_BODY_BYTES) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw ValidationError.at([], 'the body is not valid JSON');
  }
}

class TooLarge extends Error {}

function fail(app: App, res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof TooLarge) {
    send(res, 413, { error: `the body exceeds ${MAX_BODY_BYTES} bytes`, code: 'PAYLOAD_TOO_LARGE' });
    return;
  }
  if (error instanceof UnauthenticatedError) {
    send(res, 401, { error: error.message, code: 'UNAUTHENTICATED' });
    return;
  }
  if (error instanceof ForbiddenError) {
    send(res, 403, { error: error.message, code: 'FORBIDDEN' });
    return;
  }
  if (error instanceof NotFoundError) {
    send(res, 404, { error: error.message, code: 'NOT_FOUND' });
    return;
  }
  if (error instanceof DeploymentStoppedError) {
    send(res, 503, { error: error.message, code: 'DEPLOYMENT_STOPPED' });
    return;
  }
  if (error instanceof ValidationError) {
    send(res, 400, { error: error.message, code: 'BAD_USER_INPUT', issues: error.issues });
    return;
  }
  if (error instanceof DomainError) {
    send(res, 400, { error: error.message, code: 'DOMAIN_ERROR' });
    return;
  }
  app.logger.error({ err: error }, 'predict over HTTP failed');
  send(res, 500, { error: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(json);
}
