import type { z } from 'zod';
import type { Services } from '../app.ts';
import type { Viewer } from '../services/viewer.ts';
import type { OfflineStore } from '../stores/offline/offline-store.ts';
import type { OnlineStore } from '../stores/online/online-store.ts';

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
  /** The process's domain services (feature groups, training datasets, …). */
  readonly services: Services;
  /** The process's stores, for types that move data between them (MATERIALIZE). */
  readonly stores: { readonly offline: OfflineStore; readonly online: OnlineStore };
}

/**
 * A built-in job type (COMPUTE_STATISTICS, MATERIALIZE, TRAINING_DATASET, COMMAND). The runner
 * validates a job's config with `config` when the job is created, and calls `run` per execution:
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
}
