import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultFileSourceRoot, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createGranaryPubSub, type GranaryPubSub } from './pubsub.ts';
import { ApiKeyService } from './services/api-key.service.ts';
import { ProjectService } from './services/project.service.ts';
import { RegistryEventsService } from './services/registry-events.service.ts';
import { FeatureGroupService } from './services/feature-group/feature-group.service.ts';
import { ExpectationSuiteService } from './services/expectation/expectation-suite.service.ts';
import { FeatureViewService } from './services/feature-view/feature-view.service.ts';
import { ServingService } from './services/feature-view/serving.service.ts';
import { TrainingDatasetService } from './services/feature-view/training-dataset.service.ts';
import { TrainingDataFiles } from './stores/offline/training-data.ts';
import { ModelService } from './services/model/model.service.ts';
import { DeploymentService } from './services/deployment/deployment.service.ts';
import { PredictionLog } from './services/deployment/prediction-log.ts';
import { Predictor } from './services/deployment/predict.ts';
import { logLayouts, ServedModels } from './services/deployment/served-models.ts';
import { LineageService } from './services/lineage/lineage.service.ts';
import { postgresSearchIndex } from './services/search/postgresql.ts';
import { SearchService } from './services/search/search.service.ts';
import { sqlDialect } from './services/search/sql.ts';
import { sqliteSearchIndex } from './services/search/sqlite.ts';
import { TagService } from './services/tag/tag.service.ts';
import { AlertService } from './services/alert/alert.service.ts';
import { AlertDeliveryWorker } from './services/alert/alert-delivery.ts';
import { StatisticsService } from './services/statistics/statistics.service.ts';
import { JobService } from './services/job/job.service.ts';
import { BUILT_IN_JOB_TYPES, JobTypeRegistry } from './jobs/registry.ts';
import { computeStatisticsJob } from './jobs/types/compute-statistics.ts';
import { JobRunner, type RunnerCloseOptions } from './jobs/runner.ts';
import { JobScheduler } from './jobs/scheduler.ts';
import { FilesystemModelArtifactStore } from './stores/artifacts/model-artifacts.ts';
import { TempFiles } from './stores/artifacts/temp-files.ts';
import { ProcessLeases } from './services/process-lease.service.ts';
import { SecretBox } from './secret-box.ts';
import { statisticsOnCommit } from './services/statistics/statistics-on-commit.ts';
import { DataSourceService } from './services/data-source/data-source.service.ts';
import { ExternalGroupService } from './services/external-group/external-group.service.ts';
import { FileRoots } from './stores/external/file-roots.ts';
import { openMetadataClient, type MetadataClient } from './stores/metadata/client.ts';
import { DuckDbOfflineStore } from './stores/offline/duckdb/index.ts';
import type { OfflineStore } from './stores/offline/offline-store.ts';
import { openOnlineStore } from './stores/online/index.ts';
import type { OnlineStore } from './stores/online/online-store.ts';
import { openStreamLog } from './stores/log/index.ts';
import type { StreamLog } from './stores/log/stream-log.ts';
import { StreamService, type StreamOptions } from './services/stream/stream.service.ts';
import { InlineMessageApplier } from './services/stream/apply-messages.ts';
import { ThreadMessageApplier } from './services/stream/apply-thread.ts';
import { applyMigrations } from './stores/metadata/migrate.ts';
import { metadataTargetFromConfig, type MetadataTarget } from './stores/metadata/target.ts';
import { pendingMigrations } from './stores/metadata/migration-status.ts';
import { Metrics } from './observability/metrics.ts';
import { startTracing, type Tracing } from './observability/tracing.ts';
import { instrumentOnlineStore, traceArtifactStore, traceMetadataClient, traceOfflineStore } from './observability/stores.ts';
import { streamGauges } from './services/stream/stream-gauges.ts';
import { Readiness } from './services/readiness.ts';

/** The domain services, one per domain; resolvers call these and nothing else that writes. */
export interface Services {
  readonly events: RegistryEventsService;
  readonly apiKeys: ApiKeyService;
  readonly projects: ProjectService;
  readonly featureGroups: FeatureGroupService;
  /** Expectation suites of feature groups (data validation on insert). */
  readonly expectationSuites: ExpectationSuiteService;
  readonly featureViews: FeatureViewService;
  readonly trainingDatasets: TrainingDatasetService;
  readonly serving: ServingService;
  readonly models: ModelService;
  readonly deployments: DeploymentService;
  readonly predictor: Predictor;
  readonly tags: TagService;
  readonly search: SearchService;
  readonly lineage: LineageService;
  /** Feature group statistics: computed, stored, announced on `statisticsUpdated`. */
  readonly statistics: StatisticsService;
  readonly tempFiles: TempFiles;
  /**
   * This process's lease in the metadata database (its id names the files it writes to shared
   * folders) and the liveness of the other processes sharing the data directory.
   */
  readonly processes: ProcessLeases;
  /** Jobs, executions and schedules (the in-process runner and scheduler behind them). */
  readonly jobs: JobService;
  /**
   * Where services report alert events (job failures, validation failures, statistics) with
   * `raise` (an `AlertSink`), and alert receivers, routes and deliveries.
   */
  readonly alerts: AlertService;
  /** Seals secrets before they are stored (data-source passwords, webhook secrets). */
  readonly secrets: SecretBox;
  /** Data sources (storage connectors): PostgreSQL databases and file directories external groups read in place. */
  readonly dataSources: DataSourceService;
  /** External feature groups' rows as DuckDB relations (`relation`), read from their sources at query time. */
  readonly externalGroups: ExternalGroupService;
  /** Streaming ingestion: the ingest mutation, the apply consumers and the offline materializer. */
  readonly streams: StreamService;
}

/** Everything one server process holds: configuration, stores, pub/sub and services. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly prisma: MetadataClient;
  readonly pubsub: GranaryPubSub;
  readonly offline: OfflineStore;
  readonly online: OnlineStore;
  /** The ingestion log (embedded file, or NATS JetStream). */
  readonly log: StreamLog;
  readonly services: Services;
  /** Prometheus metrics; null when GRANARY_METRICS is off. */
  readonly metrics: Metrics | null;
  /** The OpenTelemetry trace pipeline; null when tracing is off (the default). */
  readonly tracing: Tracing | null;
  /** Whether this process should get traffic (`/readyz`). */
  readonly readiness: Readiness;
  /**
   * Closes stores and connections; the HTTP server is stopped before this. Job runs of this process
   * are ended first (see `JobService.close`): running ones may finish within `graceMs` (default 0),
   * the rest are recorded KILLED, naming `cause` (the signal that stopped the server).
   */
  close(options?: RunnerCloseOptions): Promise<void>;
}

export interface CreateAppOptions {
  /** Apply committed migrations before opening (the server does; tests use a migrated template). */
  readonly migrate?: boolean;
  readonly logger?: Logger;
}

/** Opens the stores and wires the services for one process. */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const target = metadataTargetFromConfig(config.dataDir, config.databaseUrl);
  if (options.migrate) {
    const { applied } = await applyMigrations(target);
    if (applied.length > 0) logger.info({ applied }, 'applied metadata migrations');
  }
  const { metrics, tracing, traced } = observability(config);
  const untracedPrisma = await openMetadataClient(target);
  const prisma = traced ? traceMetadataClient(untracedPrisma) : untracedPrisma;
  // Before any file is written: files in shared folders carry this id, and other processes spare them while it is live.
  const processes = new ProcessLeases(prisma, logger, config.jobs.heartbeatSeconds * 1000);
  await processes.acquire();
  const pubsub = await createGranaryPubSub(config.pubsubUrl, (error) => logger.warn({ err: error }, 'pub/sub connection error'));
  const events = new RegistryEventsService(prisma, pubsub);
  const apiKeys = new ApiKeyService(prisma, events, logger, pubsub);
  const projects = new ProjectService(prisma, events, apiKeys);
  const { duckdb, offline, online, log } = await openStores(config, processes.id, metrics, traced);
  const secrets = SecretBox.open(config.secretKey, config.dataDir);
  // The delivery worker starts with the first recorded alert, or with `alerts.start()` (serve).
  const delivery = new AlertDeliveryWorker(prisma, secrets, logger, { ...config.alerts, onAttempt: metrics?.alertDeliveryAttempt });
  const alerts = new AlertService(prisma, events, secrets, logger, delivery);
  // The default root is made, so that there is a place to put files; a configured one is the operator's.
  const defaultRoot = defaultFileSourceRoot(config.dataDir);
  if (config.fileSourceRoots.includes(defaultRoot)) mkdirSync(defaultRoot, { recursive: true });
  const dataSources = new DataSourceService(prisma, events, secrets, new FileRoots(config.fileSourceRoots));
  const externalGroups = new ExternalGroupService(prisma, dataSources, offline);
  const featureGroups = new FeatureGroupService(prisma, events, offline, online, logger, alerts, externalGroups, dataSources, processes);
  const expectationSuites = new ExpectationSuiteService(prisma, events, featureGroups, offline, externalGroups);
  const tempFiles = new TempFiles(config.dataDir, processes.id);
  const featureViews = new FeatureViewService(prisma, events);
  const trainingDataFiles = new TrainingDataFiles(duckdb, join(config.dataDir, 'training-datasets'));
  const trainingDatasets = new TrainingDatasetService(prisma, events, featureViews, offline, trainingDataFiles, externalGroups);
  const serving = new ServingService(prisma, featureViews, trainingDatasets, online, pubsub, logger);
  const artifacts = new FilesystemModelArtifactStore(join(config.dataDir, 'artifacts'), processes.id);
  const models = new ModelService(prisma, events, traced ? traceArtifactStore(artifacts) : artifacts, logger);
  const { deployments, predictor } = deploymentServices({ prisma, events, models, featureGroups, trainingDatasets, serving, pubsub, logger });
  const tags = new TagService(prisma, events);
  const dialect = sqlDialect(target);
  const searchIndex = target.provider === 'sqlite' ? sqliteSearchIndex(prisma, dialect) : postgresSearchIndex(prisma, dialect);
  const search = new SearchService(prisma, searchIndex, logger);
  const lineage = new LineageService(prisma, dialect);
  const statistics = new StatisticsService(prisma, offline, featureGroups, pubsub, alerts, externalGroups);
  const { runner, jobs } = jobServices(config, {
    ...{ prisma, pubsub, logger, offline, online, apiKeys, alerts, secrets, events, metrics },
    ...{ statistics, featureGroups, externalGroups, featureViews, trainingDatasets },
  });
  featureGroups.onCommitted(statisticsOnCommit(jobs, logger));
  if (metrics) featureGroups.onCommitted(async (_viewer, _group, commit, made) => metrics.offlineCommit(made.source, commit.rowCount, made.seconds));
  const onlineApply =
    config.stream.apply === 'worker' ? new ThreadMessageApplier({ dataDir: config.dataDir, url: config.onlineStoreUrl }) : new InlineMessageApplier(online);
  const streams = new StreamService(prisma, log, onlineApply, featureGroups, pubsub, logger, streamOptions(config, apiKeys));
  const services: Services = {
    events,
    apiKeys,
    projects,
    featureGroups,
    expectationSuites,
    featureViews,
    trainingDatasets,
    serving,
    models,
    deployments,
    predictor,
    tags,
    search,
    lineage,
    statistics,
    tempFiles,
    processes,
    jobs,
    alerts,
    secrets,
    dataSources,
    externalGroups,
    streams,
  };
  await jobs.start();
  await streams.start();
  if (metrics) registerGauges(metrics, runner, streamGauges(prisma, log, config.stream.namespace));
  return {
    config,
    logger,
    prisma,
    pubsub,
    offline,
    online,
    log,
    services,
    metrics,
    tracing,
    readiness: readiness(target, untracedPrisma, online, log, logger),
    async close(options = {}) {
      // A recovery after another process's death, if one is under way, ends while the stores are open.
      await processes.unwatch();
      // Predictions answered before the stop have their log rows written while the stores are open.
      await deployments.close();
      // Batches being applied or materialized finish while the stores are open.
      await streams.close();
      await onlineApply.close();
      // Executions end (finished, or killed and marked) while the stores they use are still open.
      await jobs.close(options);
      // Then alerts being recorded are stored and deliveries in flight put back while the database is open.
      await alerts.stop();
      await Promise.allSettled([pubsub.close(), offline.close(), online.close(), tempFiles.close(), log.close()]);
      // Last: nothing of this process is being written any more, so no one need wait for its files.
      await processes.release().catch((error: unknown) => logger.warn({ err: error }, 'could not release the process lease'));
      await prisma.$disconnect();
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
    },
  };
}

/** Metrics (unless off) and tracing (when configured). */
function observability(config: Config): { metrics: Metrics | null; tracing: Tracing | null; traced: boolean } {
  const tracing = config.tracing ? startTracing(config.tracing) : null;
  return { metrics: config.metrics.enabled ? new Metrics() : null, tracing, traced: tracing !== null };
}

/** The offline (DuckDB), online and log stores, instrumented for metrics and traces when those are on. */
async function openStores(config: Config, owner: string, metrics: Metrics | null, traced: boolean) {
  const duckdb = await DuckDbOfflineStore.open(join(config.dataDir, 'offline'), { owner, stagingThread: config.staging === 'worker' });
  const offline = traced ? traceOfflineStore(duckdb) : duckdb;
  const backend = config.onlineStoreUrl ? 'redis' : 'sqlite';
  const online = instrumentOnlineStore(openOnlineStore({ dataDir: config.dataDir, url: config.onlineStoreUrl }), backend, metrics, traced);
  const log = await openStreamLog({ dataDir: config.dataDir, url: config.streamUrl });
  return { duckdb, offline, online, log };
}

/** The stream service's settings: bounds from the configuration, and the key streamed commits are made with. */
function streamOptions(config: Config, apiKeys: ApiKeyService): StreamOptions {
  return {
    maxPending: config.stream.maxPending,
    materializeTickMs: config.stream.materializeTickMs,
    waitTimeoutMs: 10_000,
    namespace: config.stream.namespace,
    viewerOf: async (projectId, projectName) => {
      const key = await apiKeys.streamKey(projectId);
      return { apiKeyId: key.id, projectId, projectName, scopes: ['WRITE'], serverAdmin: false };
    },
  };
}

/** Deployments and predict, over the model registry, feature groups (their logs) and online serving. */
function deploymentServices(deps: {
  prisma: MetadataClient;
  events: RegistryEventsService;
  models: ModelService;
  featureGroups: FeatureGroupService;
  serving: ServingService;
  trainingDatasets: TrainingDatasetService;
  pubsub: GranaryPubSub;
  logger: Logger;
}) {
  const { prisma, events, models, featureGroups, trainingDatasets, serving, pubsub, logger } = deps;
  const served = new ServedModels(prisma, models, logger);
  const deployments = new DeploymentService(
    prisma,
    events,
    models,
    served,
    new PredictionLog(featureGroups, logLayouts(models, served, trainingDatasets), logger),
    pubsub,
    logger,
  );
  return { deployments, predictor: new Predictor(deployments, serving) };
}

/** The job runner (its types, the built-in ones and statistics), its scheduler, and the jobs service over them. */
function jobServices(
  config: Config,
  deps: {
    prisma: MetadataClient;
    pubsub: GranaryPubSub;
    logger: Logger;
    offline: OfflineStore;
    online: OnlineStore;
    apiKeys: ApiKeyService;
    alerts: AlertService;
    secrets: SecretBox;
    events: RegistryEventsService;
    metrics: Metrics | null;
    statistics: StatisticsService;
    featureGroups: FeatureGroupService;
    externalGroups: ExternalGroupService;
    featureViews: FeatureViewService;
    trainingDatasets: TrainingDatasetService;
  },
) {
  const { prisma, pubsub, logger, offline, online, apiKeys, alerts, secrets, events, metrics } = deps;
  const { statistics, featureGroups, externalGroups, featureViews, trainingDatasets } = deps;
  const types = new JobTypeRegistry([...BUILT_IN_JOB_TYPES, computeStatisticsJob({ statistics })]);
  const services = { featureGroups, externalGroups, trainingDatasets };
  const runner = new JobRunner(
    { prisma, pubsub, types, logger, offline, online, services, apiKeys, alerts, secrets, observer: metrics },
    runnerOptions(config),
  );
  const scheduler = new JobScheduler(prisma, runner, logger);
  const jobs = new JobService(prisma, events, pubsub, types, runner, scheduler, secrets, { featureGroups, featureViews, trainingDatasets });
  return { runner, jobs };
}

/** The job runner's settings from the configuration. */
function runnerOptions(config: Config) {
  return {
    concurrency: config.jobs.concurrency,
    heartbeatMs: config.jobs.heartbeatSeconds * 1000,
    longRunningMs: config.jobs.longRunningSeconds * 1000,
    publicUrl: config.publicUrl,
    defaultUrl: localUrl(config.host, config.port),
  };
}

/** This server's URL from HOST and PORT, with a wildcard host reached on loopback. */
function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** What `/readyz` checks: the metadata database answers and has every migration, and so do the online store and the ingestion log. */
function readiness(target: MetadataTarget, prisma: MetadataClient, online: OnlineStore, log: StreamLog, logger: Logger): Readiness {
  return new Readiness(
    {
      metadata: async () => {
        await prisma.$queryRawUnsafe('SELECT 1');
      },
      migrations: async () => {
        const pending = await pendingMigrations(prisma, target.provider);
        if (pending.length > 0) throw new Error(`migrations not applied: ${pending.join(', ')}`);
      },
      online: () => online.ping(),
      log: () => log.ping(),
    },
    (check, error) => logger.warn({ err: error, check }, 'readiness check failed'),
    new Set(['migrations']),
  );
}

/** Gauges read at each scrape: job queue and runs of this process, and streaming freshness. */
function registerGauges(metrics: Metrics, runner: JobRunner, stream: ReturnType<typeof streamGauges>): void {
  metrics.gauge(
    'granary_job_queue_depth',
    'Job executions waiting in this process for a slot, by job type (COMPUTE_STATISTICS: the statistics queue).',
    ['type'],
    () => [...runner.queuedByType()].map(([type, value]) => ({ labels: { type }, value })),
  );
  metrics.gauge('granary_job_executions_running', 'Job executions running in this process.', [], () => [{ value: runner.runningCount }]);
  metrics.gauge(
    'granary_stream_consumer_pending_messages',
    "Messages of a project's ingestion log not yet applied online (consumer lag).",
    ['project'],
    stream.consumerLag,
  );
  metrics.gauge(
    'granary_stream_last_online_write_timestamp_seconds',
    'When streamed rows of a feature group were last written online (freshness: time() minus this).',
    ['project', 'feature_group'],
    stream.lastOnlineWrite,
  );
  metrics.gauge(
    'granary_stream_pending_offline_rows',
    'Streamed rows of a feature group applied online and not yet in an offline commit.',
    ['project', 'feature_group'],
    stream.pendingOfflineRows,
  );
}
