import { join, resolve } from 'node:path';
import { z } from 'zod';

/** The validated process configuration. Read once at start; never from `process.env` elsewhere. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** `postgresql://…` for the scale backend; undefined for embedded SQLite in the data directory. */
  readonly databaseUrl: string | undefined;
  /** `redis://…` shares subscription events between server processes; undefined is in-process. */
  readonly pubsubUrl: string | undefined;
  /** `redis://…` serves online features from Redis; undefined is SQLite in the data directory. */
  readonly onlineStoreUrl: string | undefined;
  /** `nats://…` puts the ingestion log on NATS JetStream; undefined is a log file in the data directory. */
  readonly streamUrl: string | undefined;
  /**
   * Where inserts are staged (DuckDB loading, checks, Parquet writes, validation queries): `worker`
   * (default) on a thread of their own, `main` on the thread that answers requests.
   */
  readonly staging: 'worker' | 'main';
  /** Streaming ingestion. */
  readonly stream: {
    /** Messages a project's apply consumer may be behind before ingests are refused with OverloadedError. */
    readonly maxPending: number;
    /** How often the materializer looks for groups whose streamed rows are due for an offline commit. */
    readonly materializeTickMs: number;
    /** Prefix of stream and subject names, so that several deployments can share one NATS server. */
    readonly namespace: string;
    /** Where the apply consumer parses messages and writes their rows online: a thread of its own, or the serving thread. */
    readonly apply: 'worker' | 'main';
  };
  /**
   * The URL clients reach this server at (GRANARY_PUBLIC_URL), given to COMMAND job runs as
   * GRANARY_URL; undefined: the address the server listens on.
   */
  readonly publicUrl: string | undefined;
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** GraphiQL page on GET /graphql. Default: on unless production. */
  readonly graphiql: boolean;
  /** The web console at / (built into dist/console by npm install). Default: on. */
  readonly console: boolean;
  /** Introspection queries. Default: on unless production. */
  readonly introspection: boolean;
  /**
   * 32-byte key that encrypts stored secrets (data-source passwords, webhook secrets). Undefined:
   * a key generated on first use in `<data dir>/secret.key` (mode 0600), for the embedded server.
   * Several processes sharing a database must share this key.
   */
  readonly secretKey: Buffer | undefined;
  /**
   * Directories FILES data sources may read (absolute); a source's directory must be one of them or
   * under one once symbolic links are resolved. Default: `<dataDir>/files`.
   */
  readonly fileSourceRoots: readonly string[];
  /** Alert webhook deliveries. */
  readonly alerts: {
    /**
     * Webhook host names (or IP addresses) allowed besides loopback (127.0.0.0/8, ::1, localhost),
     * lower-case. Empty: loopback only.
     */
    readonly allowedHosts: readonly string[];
    /** Attempts per delivery before it is FAILED. */
    readonly maxAttempts: number;
    /** Delay before the first retry; each further retry doubles it (with jitter), up to an hour. */
    readonly retryBaseMs: number;
    /** How long one attempt may take before it counts as failed (and is retried). */
    readonly timeoutMs: number;
  };
  /** The in-process job runner. */
  readonly jobs: {
    /** Executions run at once by this process; more wait in its queue. */
    readonly concurrency: number;
    /** A run longer than this raises a JOB_LONG_RUNNING alert (once per run). */
    readonly longRunningSeconds: number;
    /** How often a process confirms the executions it runs; another process takes over (fails or resumes) those unconfirmed for 6 times as long. */
    readonly heartbeatSeconds: number;
  };
  /** Prometheus metrics: collected unless off; served on /metrics (an ADMIN key) and, when a port is set, on a listener of their own without a key. */
  readonly metrics: {
    readonly enabled: boolean;
    /** METRICS_PORT: a second listener serving /metrics only, for a scraper on a private network. */
    readonly port: number | undefined;
    readonly host: string;
  };
  /** OpenTelemetry traces (off unless an exporter or an OTLP endpoint is configured). */
  readonly tracing: TracingConfig | null;
  /**
   * On SIGTERM, how long the server keeps serving with /readyz answering 503 before it stops
   * accepting connections: the time a load balancer needs to take it out of rotation.
   */
  readonly drainDelayMs: number;
  readonly limits: {
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxCost: number;
    readonly maxTokens: number;
    /** Largest GraphQL document (the query text, UTF-8), refused before it is parsed. */
    readonly maxDocumentBytes: number;
    readonly maxBodyBytes: number;
    readonly maxUploadBytes: number;
  };
}

/** Where spans go: OpenTelemetry's standard variables (see tracingConfig). */
export interface TracingConfig {
  /** `otlp`: OTLP over HTTP to `url`; `console`: printed on standard output. */
  readonly exporter: 'otlp' | 'console';
  /** The OTLP traces endpoint (…/v1/traces). */
  readonly url: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly serviceName: string;
}

/** Where FILES data sources may read when GRANARY_FILE_SOURCE_ROOTS is unset: `<dataDir>/files`. */
export function defaultFileSourceRoot(dataDir: string): string {
  return join(dataDir, 'files');
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const positiveInt = z.coerce.number().int().positive();

const portNumber = z
  .string()
  .trim()
  .regex(/^\d{1,5}$/, 'must be a port number 0–65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number 0–65535');
const httpUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http:// or https:// URL');

const envSchema = z.object({
  PORT: portNumber.default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  GRANARY_DATA_DIR: z.string().min(1).default('./.granary'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgresql:// URL (leave it unset for embedded SQLite)')
    .optional(),
  PUBSUB_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// URL (leave it unset for in-process)')
    .optional(),
  ONLINE_STORE_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// URL (leave it unset for SQLite in the data directory)')
    .optional(),
  STREAM_URL: z
    .string()
    .regex(/^nats:\/\/.+/, 'must be a nats:// URL (leave it unset for the log file in the data directory)')
    .optional(),
  STREAM_NAMESPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, 'must be lower-case letters, digits and _, starting with a letter, at most 31 characters')
    .default('granary'),
  GRANARY_STAGING: z.enum(['worker', 'main']).default('worker'),
  GRANARY_CONSOLE: flag.optional(),
  GRANARY_STREAM_APPLY: z.enum(['worker', 'main']).default('worker'),
  GRANARY_STREAM_MAX_PENDING: positiveInt.default(50_000),
  GRANARY_STREAM_MATERIALIZE_TICK_MS: positiveInt.max(60_000).default(500),
  GRANARY_PUBLIC_URL: z
    .string()
    .trim()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, "must be an http:// or https:// URL (the server's base, without /graphql)")
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  GRANARY_GRAPHIQL: flag.optional(),
  GRANARY_INTROSPECTION: flag.optional(),
  GRANARY_SECRET_KEY: z
    .string()
    .trim()
    .transform((v) => (/^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64')))
    .refine((key) => key.length === 32, 'must be 32 bytes, as 64 hex digits or base64 (openssl rand -hex 32)')
    .optional(),
  GRANARY_ALERT_ALLOWED_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((h) =>
          h
            .trim()
            .toLowerCase()
            .replace(/^\[(.*)\]$/, '$1'),
        )
        .filter((h) => h.length > 0),
    )
    .refine((hosts) => hosts.every((h) => /^[a-z0-9.:_-]+$/.test(h)), 'must be comma-separated host names or IP addresses (no schemes, ports or paths)')
    .optional(),
  GRANARY_FILE_SOURCE_ROOTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p.length > 0),
    )
    .refine((paths) => paths.length > 0, 'must list at least one directory (comma-separated)')
    .optional(),
  GRANARY_ALERT_MAX_ATTEMPTS: positiveInt.max(100).default(8),
  GRANARY_ALERT_RETRY_BASE_MS: positiveInt.default(5000),
  GRANARY_ALERT_TIMEOUT_MS: positiveInt.default(5000),
  GRANARY_JOB_CONCURRENCY: positiveInt.default(4),
  GRANARY_JOB_LONG_RUNNING_SECONDS: positiveInt.default(3600),
  GRANARY_JOB_HEARTBEAT_SECONDS: positiveInt.default(5),
  GRANARY_METRICS: flag.optional(),
  METRICS_PORT: portNumber.optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  GRANARY_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(300_000).default(0),
  OTEL_SDK_DISABLED: flag.optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { message: 'must be http/protobuf or http/json (gRPC is not supported)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z
    .enum(['http/protobuf', 'http/json'], { message: 'must be http/protobuf or http/json (gRPC is not supported)' })
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('granary'),
  GRANARY_MAX_DEPTH: positiveInt.default(12),
  GRANARY_MAX_ALIASES: positiveInt.default(30),
  GRANARY_MAX_COST: positiveInt.default(5_000_000),
  GRANARY_MAX_TOKENS: positiveInt.default(5000),
  GRANARY_MAX_DOCUMENT_BYTES: positiveInt.default(1024 * 1024),
  GRANARY_MAX_BODY_BYTES: positiveInt.default(100 * 1024 * 1024),
  GRANARY_MAX_UPLOAD_BYTES: positiveInt.default(50 * 1024 ** 3),
});

/**
 * Parses the environment into a Config, or throws a ConfigError listing every bad variable
 * with what it must be, so an operator fixes them all in one go.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const dataDir = resolve(e.GRANARY_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    pubsubUrl: e.PUBSUB_URL,
    onlineStoreUrl: e.ONLINE_STORE_URL,
    publicUrl: e.GRANARY_PUBLIC_URL,
    streamUrl: e.STREAM_URL,
    staging: e.GRANARY_STAGING,
    stream: {
      maxPending: e.GRANARY_STREAM_MAX_PENDING,
      materializeTickMs: e.GRANARY_STREAM_MATERIALIZE_TICK_MS,
      namespace: e.STREAM_NAMESPACE,
      apply: e.GRANARY_STREAM_APPLY,
    },
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    graphiql: e.GRANARY_GRAPHIQL ?? !production,
    console: e.GRANARY_CONSOLE ?? true,
    introspection: e.GRANARY_INTROSPECTION ?? !production,
    secretKey: e.GRANARY_SECRET_KEY,
    fileSourceRoots: (e.GRANARY_FILE_SOURCE_ROOTS ?? [defaultFileSourceRoot(dataDir)]).map((p) => resolve(p)),
    alerts: {
      allowedHosts: e.GRANARY_ALERT_ALLOWED_HOSTS ?? [],
      maxAttempts: e.GRANARY_ALERT_MAX_ATTEMPTS,
      retryBaseMs: e.GRANARY_ALERT_RETRY_BASE_MS,
      timeoutMs: e.GRANARY_ALERT_TIMEOUT_MS,
    },
    jobs: {
      concurrency: e.GRANARY_JOB_CONCURRENCY,
      longRunningSeconds: e.GRANARY_JOB_LONG_RUNNING_SECONDS,
      heartbeatSeconds: e.GRANARY_JOB_HEARTBEAT_SECONDS,
    },
    metrics: { enabled: e.GRANARY_METRICS ?? true, port: e.METRICS_PORT, host: e.METRICS_HOST },
    tracing: tracingConfig(e),
    drainDelayMs: e.GRANARY_DRAIN_DELAY_MS,
    limits: {
      maxDepth: e.GRANARY_MAX_DEPTH,
      maxAliases: e.GRANARY_MAX_ALIASES,
      maxCost: e.GRANARY_MAX_COST,
      maxTokens: e.GRANARY_MAX_TOKENS,
      maxDocumentBytes: e.GRANARY_MAX_DOCUMENT_BYTES,
      maxBodyBytes: e.GRANARY_MAX_BODY_BYTES,
      maxUploadBytes: e.GRANARY_MAX_UPLOAD_BYTES,
    },
  };
}

/**
 * Tracing from OpenTelemetry's standard variables: on when OTEL_TRACES_EXPORTER names an exporter,
 * or (unset) when an OTLP endpoint is given; OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turn it
 * off. The traces endpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else http://localhost:4318/v1/traces.
 */
function tracingConfig(e: z.infer<typeof envSchema>): TracingConfig | null {
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === 'none') return null;
  const exporter = e.OTEL_TRACES_EXPORTER ?? (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : undefined);
  if (!exporter) return null;
  const url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  return { exporter, url, protocol, serviceName: e.OTEL_SERVICE_NAME };
}
