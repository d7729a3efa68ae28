import type { z } from 'zod';
import type { SecretBox } from '../secret-box.ts';
import type { ExternalGroupService } from '../services/external-group/external-group.service.ts';
import type { FeatureGroupService } from '../services/feature-group/feature-group.service.ts';
import type { FeatureViewService } from '../services/feature-view/feature-view.service.ts';
import type { TrainingDatasetService } from '../services/feature-view/training-dataset.service.ts';
import type { Scope, Viewer } from '../services/viewer.ts';
import type { OfflineStore } from '../stores/offline/offline-store.ts';
import type { OnlineStore } from '../stores/online/online-store.ts';

/**
 * The domain services a running job may call: exactly those the built-in types use. A type that
 * needs another service adds it here (and the composition root passes it to the runner); types
 * that need one service only may take it when they are made instead (COMPUTE_STATISTICS).
 */
export interface JobServices {
  /** MATERIALIZE: the group, its commits, and where its rows live offline and online. */
  readonly featureGroups: Pick<FeatureGroupService, 'get' | 'commits' | 'location' | 'onlineTable'>;
  /** MATERIALIZE of an external group: its rows, read from its data source. */
  readonly externalGroups: Pick<ExternalGroupService, 'onlineRows'>;
  /** TRAINING_DATASET: creates and materializes the dataset version. */
  readonly trainingDatasets: Pick<TrainingDatasetService, 'create'>;
}

/** What a running job can see and do. */
export interface JobContext<Config = unknown> {
  /** The project the job belongs to, acting with the rights of the key that created the job. */
  readonly viewer: Viewer;
  /** The job's stored configuration, parsed by the type's `config` schema. */
  readonly config: Config;
  /** Arguments of this run (`runJob(name, args)`), null when none were given. */
  readonly args: unknown;
  readonly executionId: string;
  /** Aborted when the execution is stopped (`stopExecution`) or the server shuts down. */
  readonly signal: AbortSignal;
  /** Appends a line to the execution's log (readable while it runs). */
  log(line: string): void;
  /**
   * Records progress (0–1) with an optional message; published to `executionUpdated`.
   * `checkpoint` is stored with the execution so a resumable type can continue after a crash.
   */
  progress(fraction: number, message?: string, checkpoint?: unknown): Promise<void>;
  /** The checkpoint stored by the last `progress` call of this execution (a resumed run), else null. */
  readonly checkpoint: unknown;
  /** The process's domain services that job types use (feature groups, training datasets, …). */
  readonly services: JobServices;
  /** The process's stores, for types that move data between them (MATERIALIZE). */
  readonly stores: { readonly offline: OfflineStore; readonly online: OnlineStore };
  /**
   * The run's own API key and the server's URL, for types with `credentials` (COMMAND); null for
   * the others. The key is revoked when the run ends.
   */
  readonly credentials: RunCredentials | null;
}

/** What a run that talks to Granary over HTTP gets: a key of its own and where to send it. */
export interface RunCredentials {
  /** `gra_…` secret of a key named `job:<job>#<execution>`, scoped to the job's project. */
  readonly apiKey: string;
  /** The server's base URL (`http://host:port`; the GraphQL endpoint is `<url>/graphql`). */
  readonly url: string;
}

/** What a type's `check` may read: the caller's objects, to see that the refs of a config exist. */
export interface JobCheckContext {
  readonly viewer: Viewer;
  readonly featureGroups: Pick<FeatureGroupService, 'find'>;
  readonly featureViews: Pick<FeatureViewService, 'find'>;
  readonly trainingDatasets: Pick<TrainingDatasetService, 'check'>;
}

/**
 * How a type keeps secrets of its config: sealed before the config is stored, opened before a run
 * (and to compare definitions), redacted whenever the config is read back.
 */
export interface JobConfigSecrets<Config> {
  seal(config: Config, box: SecretBox): Config;
  /** Throws SecretBoxError when a sealed value does not open. */
  open(config: Config, box: SecretBox): Config;
  /** The config as clients may read it (any stored config, parsed or not). */
  redact(config: unknown): unknown;
}

/**
 * A built-in job type (COMPUTE_STATISTICS, MATERIALIZE, TRAINING_DATASET, COMMAND). The job service
 * parses a job's config with `config` and checks it with `check` when the job is created (secrets
 * sealed with `secrets` before it is stored); the runner parses it again and calls `run` per execution:
 * resolving means SUCCEEDED, throwing means FAILED (KILLED when the signal was aborted).
 */
export interface JobType<Schema extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly config: Schema;
  /** Scope needed to create or run jobs of this type (COMMAND: ADMIN). */
  readonly scope: 'WRITE' | 'ADMIN';
  /** Whether an execution left RUNNING by a killed process is resumed on start (else marked FAILED). */
  readonly resumable: boolean;
  run(context: JobContext<z.output<Schema>>): Promise<void>;
  /**
   * Checks a parsed config against the project when a job is created or scheduled: the objects it
   * names exist, combinations hold. Throws a ValidationError whose issue paths are relative to the
   * config (`["featureView"]`).
   */
  check?(config: z.output<Schema>, context: JobCheckContext): Promise<void>;
  /** Schema of a run's `args` (`runJob(name, args)`), checked when the run is asked for; null args are always fine. */
  readonly args?: z.ZodType;
  /**
   * The key a run gets (`JobContext.credentials`), from its config: its scope (capped by the
   * creator's) and how long it may live at most; absent: runs get no key.
   */
  credentials?(config: z.output<Schema>): { readonly scope: Scope; readonly ttlSeconds: number };
  /** How secrets in the config are sealed and hidden; absent: the config holds none. */
  readonly secrets?: JobConfigSecrets<z.output<Schema>>;
}
