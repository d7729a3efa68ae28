import { createRequire } from 'node:module';
import { context, propagation, type Span, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { TracingConfig } from '../config.ts';

/** The server's version, as its package says (spans' `service.version`). */
export const GRANARY_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The tracer of the server's spans. Without a started {@link Tracing} its spans record nothing. */
export const tracer: Tracer = trace.getTracer('granary');

/** A started trace pipeline: the process's global tracer provider while it runs. */
export interface Tracing {
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops; spans record nothing afterwards. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting spans: registers a tracer provider (with the AsyncLocalStorage context manager
 * and the W3C trace-context propagator) as the process's global one, batching spans to the
 * exporter (`OTEL_BSP_*` variables tune the batches, `OTEL_TRACES_SAMPLER` the sampling; the
 * exporter reads `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TIMEOUT`). One per process:
 * OpenTelemetry's API holds one global provider.
 */
export function startTracing(config: TracingConfig, version = GRANARY_VERSION): Tracing {
  const exporter: SpanExporter =
    config.exporter === 'console'
      ? new ConsoleSpanExporter()
      : config.protocol === 'http/json'
        ? new OtlpJsonExporter({ url: config.url })
        : new OtlpProtobufExporter({ url: config.url });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  let stopped: Promise<void> | undefined;
  return {
    flush: () => provider.forceFlush(),
    shutdown() {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopped;
    },
  };
}

/**
 * Runs `work` in a child span of the active one named `name`; the span records a failure's type
 * (never its message: it may carry user data) and ends when the work settles. Without an active
 * span (background work: heartbeats, sweeps, consumers) the work runs untraced, so that it does not
 * start a trace of its own every few seconds. `root` work (a job run, which outlives the request
 * that started it) starts a trace of its own, linked to the active span when there is one.
 */
export function inSpan<T>(name: string, attributes: Record<string, string>, work: () => Promise<T>, root = false): Promise<T> {
  const active = trace.getActiveSpan();
  if (!root && !active) return work();
  const options = root ? { attributes, root: true, links: active ? [{ context: active.spanContext() }] : [] } : { attributes };
  return tracer.startActiveSpan(name, options, (span) =>
    work().then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        failSpan(span, error);
        span.end();
        throw error;
      },
    ),
  );
}

/** Marks a span failed, naming the error's class. */
export function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
}
