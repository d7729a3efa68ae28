import { propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Metrics, OperationSeries } from '../observability/metrics.ts';
import { tracer } from '../observability/tracing.ts';

/** What an operation is called in metrics and spans, worked out once per document and operation name. */
interface OperationInfo {
  /** The client's operation name as a bounded label (see Metrics.operationLabel). */
  readonly label: string;
  /** The first root field (`featureVector`): from the schema, so bounded. */
  readonly rootField: string;
  readonly type: string;
  /** The span's name: `query featureVector`, or `query GetVector` for a named operation. */
  readonly spanName: string;
  /** The operation's own name, when it has one. */
  readonly operationName: string | undefined;
  /** Its metrics' series by outcome (null when metrics are off). */
  readonly series: Record<'success' | 'error', OperationSeries> | null;
}

/**
 * Counts and times every GraphQL operation (yoga's and the fast path's: both execute through the
 * envelop this plugin is part of) in `granary_graphql_operations_total` and
 * `granary_graphql_operation_duration_seconds`, and keeps `granary_subscriptions_active`.
 *
 * With tracing on, each operation runs inside a SERVER span (a child of the caller's when the
 * request carries a W3C `traceparent`), active while it executes, so the store calls of its
 * resolvers are child spans. Null when metrics and tracing are both off: nothing is added to
 * the execution.
 */
export function useObservability(metrics: Metrics | null, tracing: boolean): Plugin | null {
  if (!metrics && !tracing) return null;
  const documents = new WeakMap<DocumentNode, Map<string | undefined, OperationInfo>>();
  const describe = (document: DocumentNode, operationName: string | null | undefined): OperationInfo => {
    let byName = documents.get(document);
    if (!byName) {
      byName = new Map();
      documents.set(document, byName);
    }
    const name = operationName ?? undefined;
    let info = byName.get(name);
    if (!info) {
      const operation = getOperationAST(document, name);
      const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
      const rootField = first?.kind === Kind.FIELD ? first.name.value : 'none';
      const label = metrics ? metrics.operationLabel(operation?.name?.value) : 'anonymous';
      const type = operation?.operation ?? 'unknown';
      const series = metrics ? metrics.operationSeries(label, rootField, type) : null;
      const operationName = operation?.name?.value;
      info = { label, rootField, type, spanName: `${type} ${operationName ?? rootField}`, operationName, series };
      byName.set(name, info);
    }
    return info;
  };
  const done = (info: OperationInfo, span: Span | undefined, started: number, failed: boolean) => {
    const series = info.series?.[failed ? 'error' : 'success'];
    if (series) {
      series.total.inc();
      series.seconds.observe((performance.now() - started) / 1000);
    }
    if (failed) span?.setStatus({ code: SpanStatusCode.ERROR, message: 'the result has errors' });
  };
  /** What an execution or subscription starts with: its operation, its span (tracing on), its start time. */
  const begin = (args: { document: DocumentNode; operationName?: string | null }) => {
    const info = describe(args.document, args.operationName);
    return { info, span: tracing ? named(info) : undefined, started: performance.now() };
  };
  const plugin: Plugin = {
    onExecute({ args }) {
      const { info, span, started } = begin(args);
      return {
        onExecuteDone({ result }) {
          // An incremental result (@defer, @stream) is timed to its first part.
          if (!isAsyncIterable(result)) done(info, span, started, hasErrors(result));
        },
      };
    },
    onSubscribe({ args }) {
      const { info, span, started } = begin(args);
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            done(info, span, started, hasErrors(result));
            return;
          }
          done(info, span, started, false);
          metrics?.subscriptionOpened();
          return { onEnd: () => metrics?.subscriptionClosed() };
        },
        onSubscribeError() {
          done(info, span, started, true);
        },
      };
    },
  };
  if (tracing) {
    plugin.instrumentation = {
      execute: ({ context }, wrapped) => inOperationSpan(context, wrapped),
      subscribe: ({ context }, wrapped) => inOperationSpan(context, wrapped),
    };
  }
  return plugin;
}

function hasErrors(result: ExecutionResult): boolean {
  return result.errors !== undefined && result.errors.length > 0;
}

/** The active operation span, renamed for its operation (it starts before the document is known to the hooks). */
function named(info: OperationInfo): Span | undefined {
  const span = trace.getActiveSpan();
  span?.updateName(info.spanName);
  span?.setAttribute('graphql.operation.type', info.type);
  if (info.operationName) span?.setAttribute('graphql.operation.name', info.operationName);
  return span;
}

/** Runs an execution inside a new SERVER span, continuing the trace of a `traceparent` header when there is one. */
function inOperationSpan(context: unknown, wrapped: () => unknown): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, traceHeaders(context));
  return tracer.startActiveSpan('graphql', { kind: SpanKind.SERVER }, parent, async (span) => {
    try {
      await wrapped();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The trace-context headers of the request behind an execution's context (HTTP, fast path, SSE or graphql-ws upgrade). */
function traceHeaders(context: unknown): Record<string, string> {
  const ctx = context as { request?: { headers?: Headers }; req?: { headers?: Record<string, string | string[] | undefined> } } | undefined;
  const get = (name: string): string | undefined => {
    const fromRequest = ctx?.request?.headers?.get?.(name);
    if (fromRequest) return fromRequest;
    const fromNode = ctx?.req?.headers?.[name];
    return typeof fromNode === 'string' ? fromNode : undefined;
  };
  const headers: Record<string, string> = {};
  const traceparent = get('traceparent');
  if (traceparent) headers['traceparent'] = traceparent;
  const tracestate = get('tracestate');
  if (tracestate) headers['tracestate'] = tracestate;
  return headers;
}
