import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { hostname } from 'node:os';
import { DomainError, ForbiddenError, issueMessage } from '../errors.ts';
import { inSpan } from '../observability/tracing.ts';
import { SecretBoxError, type SecretBox } from '../secret-box.ts';
import type { Execution, Job, Prisma } from '../generated/sqlite/client.ts';
import type { Logger } from '../logger.ts';
import type { GranaryPubSub } from '../pubsub.ts';
import type { AlertSink } from '../services/alert/alert-event.ts';
import type { ApiKeyService } from '../services/api-key.service.ts';
import { grants, type Scope, type Viewer } from '../services/viewer.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import type { OfflineStore } from '../stores/offline/offline-store.ts';
import type { OnlineStore } from '../stores/online/online-store.ts';
import { LIVE_STATES, type ExecutionState, type FinalState } from './execution-state.ts';
import type { JobContext, JobServices, JobType, RunCredentials } from './job-type.ts';
import type { JobTypeRegistry } from './registry.ts';
import { runKeyName } from './run-key.ts';

export interface JobRunnerOptions {
  /** Executions run at once; more wait in the queue. */
  readonly concurrency: number;
  /** How often this process confirms its executions (and looks for stop requests and orphans). */
  readonly heartbeatMs: number;
  /** A run longer than this raises JOB_LONG_RUNNING, once. */
  readonly longRunningMs: number;
  /** The server's URL as configured (GRANARY_PUBLIC_URL), given to runs as GRANARY_URL. */
  readonly publicUrl?: string | undefined;
  /** GRANARY_URL when none is configured and the server has not listened yet (from HOST and PORT). */
  readonly defaultUrl: string;
}

export interface JobRunnerDeps {
  readonly prisma: MetadataClient;
  readonly pubsub: GranaryPubSub;
  readonly types: JobTypeRegistry;
  readonly logger: Logger;
  readonly offline: OfflineStore;
  readonly online: OnlineStore;
  /** The services runs may call (`JobContext.services`). */
  readonly services: JobServices;
  /** Mints the key of a run with credentials, and revokes it when the run ends. */
  readonly apiKeys: Pick<ApiKeyService, 'mint' | 'revokeNamed'>;
  /** Where ends of runs and long runs are reported. */
  readonly alerts: AlertSink;
  /** Opens the sealed secrets of a job's config before a run. */
  readonly secrets: SecretBox;
  /** Told of each execution this process ends (metrics); `seconds` is the run time of one that started. */
  readonly observer?: { executionEnded(type: string, state: FinalState, seconds?: number): void } | null;
}

/** Why an execution was aborted, as its log says. */
type AbortReason = 'stopped' | 'shutdown' | 'deleted';

/** How the server is being stopped, for `JobRunner.close`. */
export interface RunnerCloseOptions {
  /**
   * How long runs already RUNNING may take to finish on their own before they are aborted
   * (default 0: aborted at once).
   */
  readonly graceMs?: number;
  /** What stopped the server (`SIGTERM`), named in the log line of each run it kills. */
  readonly cause?: string;
}

interface Running {
  readonly controller: AbortController;
  readonly projectId: string;
  readonly jobName: string;
  readonly startedAt: number;
  done: Promise<void>;
  alerted: boolean;
}

/** An execution orphaned when its heartbeat is this many heartbeats old. */
const STALE_HEARTBEATS = 6;
/** Log lines are written in batches at most this long after they were logged. */
const LOG_FLUSH_MS = 100;
/** How often a running execution's new log lines are announced on `executionUpdated`, at most. */
const LOG_ANNOUNCE_MS = 500;
/**
 * On close, how long an aborted run has to end before it is recorded KILLED without waiting
 * further: a COMMAND gets 5 s between SIGTERM and SIGKILL, plus time to record its end.
 */
const ABORT_WAIT_MS = 7000;

/**
 * Runs job executions in this process, a few at a time. Each execution row names the process
 * running it (`runner`) and that process confirms it every heartbeat; a process finds executions
 * of dead processes (same host and the pid is gone, or a heartbeat older than six heartbeats) and
 * fails them with a log line saying why, or resumes them from their checkpoint when their type is
 * resumable. A live process's executions are never touched. Every state change and progress step
 * is published on `executionUpdated`; ends and long runs raise alerts.
 *
 * A graceful stop (`close`) ends every execution this process owns before it returns, so none is
 * left for another process's heartbeat check to fail: each ends SUCCEEDED (it finished within the
 * grace period), FAILED (on its own) or KILLED with a log line saying the server stopped.
 */
export class JobRunner {
  /** This process, as execution rows name it: `host:pid:nonce`. */
  readonly processId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly queue: { id: string; type: string }[] = [];
  private readonly running = new Map<string, Running>();
  private starting = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The heartbeat in progress, if any (close waits for it before the database closes). */
  private ticking: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Set once `close` aborts the running executions: a run starting after that is aborted at once. */
  private aborting = false;
  /** What stopped the server, once `close` was called (for log lines). */
  private cause: string | undefined;
  /** Every execution task of this process (starting, running, or being ended unstarted). */
  private readonly tasks = new Set<Promise<unknown>>();
  private listenUrl: string | null = null;

  constructor(
    private readonly deps: JobRunnerDeps,
    private readonly options: JobRunnerOptions,
  ) {}

  /** Starts the heartbeat (stop requests, long-run alerts, orphans of dead processes). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Queues an execution this process has claimed (its `runner` is `processId`). Once the runner is
   * closing, the execution is ended KILLED at once (the server stopped before it started) rather
   * than left unfinished for another process to fail.
   */
  enqueue(executionId: string, type = 'unknown'): void {
    if (this.closed) {
      this.track(this.finishUnstarted(executionId, 'KILLED', this.notStartedLine()));
      return;
    }
    this.queue.push({ id: executionId, type });
    this.pump();
  }

  /** Executions waiting in this process's queue, by job type. */
  queuedByType(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { type } of this.queue) counts.set(type, (counts.get(type) ?? 0) + 1);
    return counts;
  }

  /** Executions running in this process now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Whether this process runs (or queues) the execution. */
  owns(executionId: string): boolean {
    return this.running.has(executionId) || this.queue.some((q) => q.id === executionId);
  }

  /**
   * Stops an execution: aborted at once when this process runs it (resolves once it ended), else
   * flagged for the process that runs it, which aborts it at its next heartbeat.
   */
  async stop(executionId: string, reason: AbortReason = 'stopped'): Promise<void> {
    const queued = this.queue.findIndex((q) => q.id === executionId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await this.finishUnstarted(executionId, 'KILLED', `${reason} before it started`);
      return;
    }
    const running = this.running.get(executionId);
    if (running) {
      running.controller.abort(reason);
      await running.done;
      return;
    }
    await this.deps.prisma.execution.updateMany({ where: { id: executionId, finalStatus: null }, data: { stopRequestedAt: new Date() } });
  }

  /** Aborts this process's executions of a job (it is being deleted). */
  async abortJob(jobId: string): Promise<void> {
    const ids = await this.deps.prisma.execution.findMany({ where: { jobId, runner: this.processId, finalStatus: null }, select: { id: true } });
    await Promise.all(ids.map(({ id }) => (this.owns(id) ? this.stop(id, 'deleted') : undefined)));
  }

  /**
   * Takes over executions whose process is gone: same host and its pid no longer exists, or no
   * heartbeat for six heartbeats. Each is resumed from its checkpoint when its type is resumable,
   * else marked FAILED with a log line. Claimed with a guarded update, so among several processes
   * only one takes each. Returns how many were failed and resumed.
   */
  async recoverOrphans(): Promise<{ failed: number; resumed: number }> {
    const { prisma, types } = this.deps;
    const staleBefore = new Date(Date.now() - STALE_HEARTBEATS * this.options.heartbeatMs);
    const candidates = await prisma.execution.findMany({
      where: { state: { in: [...LIVE_STATES] }, finalStatus: null, OR: [{ runner: null }, { runner: { not: this.processId } }] },
      include: { job: { select: { type: true, name: true } } },
    });
    let failed = 0;
    let resumed = 0;
    for (const execution of candidates) {
      if (!orphaned(execution, staleBefore)) continue;
      const previous = execution.runner ?? 'unknown';
      const claimed = await prisma.execution.updateMany({
        where: { id: execution.id, runner: execution.runner, heartbeatAt: execution.heartbeatAt, finalStatus: null },
        data: { runner: this.processId, heartbeatAt: new Date() },
      });
      if (claimed.count === 0) continue;
      const type = types.find(execution.job.type);
      if (type?.resumable && execution.state === 'RUNNING' && !execution.stopRequestedAt && !this.closed) {
        await this.appendLogs(execution.id, [`resuming from the last checkpoint: the server process running it (${previous}) stopped`]);
        this.enqueue(execution.id, execution.job.type);
        resumed++;
      } else {
        await this.finishUnstarted(
          execution.id,
          execution.stopRequestedAt ? 'KILLED' : 'FAILED',
          `the server process running it (${previous}) stopped before it finished`,
        );
        failed++;
      }
    }
    return { failed, resumed };
  }

  /**
   * Graceful stop: claims nothing more, then ends every execution this process owns and returns
   * once each is recorded, so the metadata database can close after it. Queued runs and runs still
   * starting end KILLED ("the server shut down before the run started"); running ones get
   * `graceMs` to finish, are then aborted (KILLED, "the server shut down") and waited for a few
   * seconds more; a run that still has not ended is recorded KILLED all the same. The heartbeat
   * keeps confirming the runs while they finish, so no other process takes them for orphans.
   */
  close(options: RunnerCloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown({ graceMs = 0, cause }: RunnerCloseOptions): Promise<void> {
    this.closed = true;
    this.cause = cause;
    const queued = this.queue.splice(0);
    await Promise.allSettled(queued.map((q) => this.finishUnstarted(q.id, 'KILLED', this.notStartedLine())));
    // Runs still starting see `closed` before they would mark themselves RUNNING, and end KILLED.
    if (graceMs > 0) await settledWithin(this.tasks, graceMs);
    this.aborting = true;
    for (const running of this.running.values()) running.controller.abort('shutdown');
    await settledWithin(this.tasks, ABORT_WAIT_MS);
    clearInterval(this.timer);
    await this.ticking;
    // Whatever this process still owns (a run that ignored its abort, a run created meanwhile) is
    // ended here, while the database is open.
    try {
      const left = await this.deps.prisma.execution.findMany({ where: { runner: this.processId, finalStatus: null }, select: { id: true } });
      for (const { id } of left) {
        const line = this.running.has(id)
          ? `${this.killedLine()}; the run did not stop within ${ABORT_WAIT_MS / 1000} s of being aborted`
          : this.notStartedLine();
        await this.finishUnstarted(id, 'KILLED', line);
      }
    } catch (error) {
      this.deps.logger.error({ err: error }, 'could not record the executions ended by the shutdown');
    }
  }

  /** The log line of a run killed by the server stopping. */
  private killedLine(): string {
    return `killed: the server shut down${this.cause ? ` (${this.cause})` : ''}`;
  }

  /** The log line of a run that the server stopping kept from starting. */
  private notStartedLine(): string {
    return `${this.killedLine()} before the run started`;
  }

  /** Keeps a task until it settles, so `close` can wait for it. */
  private track<T>(task: Promise<T>): Promise<T> {
    this.tasks.add(task);
    void task.then(
      () => this.tasks.delete(task),
      (error: unknown) => {
        this.tasks.delete(task);
        this.deps.logger.error({ err: error }, 'job execution task failed');
      },
    );
    return task;
  }

  /** Publishes a state change or progress step of an execution. */
  publish(projectId: string, executionId: string, jobName: string, state: ExecutionState): void {
    this.deps.pubsub.publish('executionUpdated', projectId, { executionId, jobName, state });
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.running.size + this.starting < this.options.concurrency) {
      const next = this.queue.shift()!;
      this.starting++;
      this.track(
        this.execute(next.id)
          .catch((error: unknown) => this.deps.logger.error({ err: error, executionId: next.id }, 'job execution failed unexpectedly'))
          .finally(() => {
            this.pump();
          }),
      );
    }
  }

  private async execute(executionId: string): Promise<void> {
    const { prisma, types, logger } = this.deps;
    let started = false;
    try {
      const execution = await prisma.execution.findUnique({ where: { id: executionId }, include: { job: true } });
      if (!execution || execution.finalStatus || execution.runner !== this.processId) return;
      const { job } = execution;
      if (execution.stopRequestedAt) return await this.finishUnstarted(executionId, 'KILLED', 'stopped before it started');
      const type = types.find(job.type);
      if (!type) return await this.finishUnstarted(executionId, 'FAILED', `unknown job type ${job.type}`);
      const config = type.config.safeParse(job.config);
      if (!config.success)
        return await this.finishUnstarted(executionId, 'FAILED', `invalid config: ${config.error.issues.map((i) => issueMessage(i)).join('; ')}`);
      const viewer = await this.viewerFor(job);
      if (typeof viewer === 'string') return await this.finishUnstarted(executionId, 'FAILED', viewer);
      let opened: unknown;
      try {
        opened = type.secrets ? type.secrets.open(config.data, this.deps.secrets) : config.data;
      } catch (error) {
        if (!(error instanceof SecretBoxError)) throw error;
        return await this.finishUnstarted(executionId, 'FAILED', `a secret of the job's config does not open: ${error.message}`);
      }

      // The server began to stop while this run was starting: it never starts.
      if (this.closed) return await this.finishUnstarted(executionId, 'KILLED', this.notStartedLine());
      const startedAt = execution.startedAt ?? new Date();
      const marked = await prisma.execution.updateMany({
        where: { id: executionId, runner: this.processId, finalStatus: null },
        data: { state: 'RUNNING', startedAt, heartbeatAt: new Date() },
      });
      if (marked.count === 0) return;
      const controller = new AbortController();
      const entry: Running = {
        controller,
        projectId: job.projectId,
        jobName: job.name,
        startedAt: startedAt.getTime(),
        done: Promise.resolve(),
        alerted: execution.longRunningAlerted,
      };
      this.running.set(executionId, entry);
      if (this.aborting) controller.abort('shutdown');
      this.starting--;
      started = true;
      this.publish(job.projectId, executionId, job.name, 'RUNNING');

      // Log lines are announced on executionUpdated too (at most every LOG_ANNOUNCE_MS), so a
      // client following a run reads its log as it grows, not only at state changes.
      let announced = 0;
      const logs = new LogBuffer(async (lines) => {
        await this.appendLogs(executionId, lines);
        if (lines.length === 0 || Date.now() - announced < LOG_ANNOUNCE_MS || !this.running.has(executionId)) return;
        announced = Date.now();
        this.publish(job.projectId, executionId, job.name, 'RUNNING');
      }, logger);
      let resolveDone!: () => void;
      entry.done = new Promise<void>((resolve) => (resolveDone = resolve));
      const context = (credentials: RunCredentials | null): JobContext => ({
        viewer,
        credentials,
        config: opened,
        args: execution.args ?? null,
        executionId,
        signal: controller.signal,
        // A resumed run continues from here; a fresh run has none.
        checkpoint: execution.checkpoint ?? null,
        services: this.deps.services,
        stores: { offline: this.deps.offline, online: this.deps.online },
        log: (line) => logs.push(line),
        progress: async (fraction, message, checkpoint) => {
          if (!Number.isFinite(fraction)) throw new RangeError('progress must be a number from 0 to 1');
          const data: Prisma.ExecutionUpdateManyMutationInput = { progress: Math.min(1, Math.max(0, fraction)), progressMessage: message ?? null };
          if (checkpoint !== undefined) data.checkpoint = checkpoint as Prisma.InputJsonValue;
          const updated = await prisma.execution.updateMany({ where: { id: executionId, runner: this.processId, finalStatus: null }, data });
          if (updated.count > 0) this.publish(job.projectId, executionId, job.name, 'RUNNING');
        },
      });
      try {
        let final: FinalState = 'SUCCEEDED';
        let reasonLine: string | null = null;
        try {
          const runContext = context(await this.credentialsFor(type, opened, job, viewer, executionId));
          await inSpan(`job ${job.type}`, { 'granary.job.type': job.type }, () => type.run(runContext), true);
          if (controller.signal.aborted) final = 'KILLED';
        } catch (error) {
          final = controller.signal.aborted ? 'KILLED' : 'FAILED';
          if (final === 'FAILED') {
            // The log is readable by clients: only a domain error's message (it names their input)
            // goes there; an unexpected one (store, engine, runtime) stays in the server log.
            if (error instanceof DomainError) {
              reasonLine = `failed: ${error.message}`;
            } else {
              reasonLine = `failed: an unexpected error (logged by the server with execution ${executionId})`;
              logger.warn({ err: error, executionId, job: job.name }, 'job run failed');
            }
          }
        }
        if (final === 'KILLED') reasonLine = controller.signal.reason === 'shutdown' ? this.killedLine() : abortLine(controller.signal.reason);
        if (reasonLine) logs.push(reasonLine);
        await logs.flush();
        await this.finish(executionId, job.projectId, job.name, final, final === 'SUCCEEDED' ? 1 : undefined, Boolean(type.credentials));
        this.deps.observer?.executionEnded(job.type, final, (Date.now() - entry.startedAt) / 1000);
      } finally {
        // Whatever happened, `stop` and `close` waiting on this run are released.
        this.running.delete(executionId);
        resolveDone();
      }
    } finally {
      if (!started) this.starting--;
      this.running.delete(executionId);
    }
  }

  /** The viewer a job's runs act as: its creator key's project and scopes; a reason when that key cannot act any more. */
  private async viewerFor(job: Job): Promise<Viewer | string> {
    const key = job.apiKeyId ? await this.deps.prisma.apiKey.findUnique({ where: { id: job.apiKeyId }, include: { project: true } }) : null;
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt < new Date())) {
      return `the API key that created the job (${job.createdBy || 'unknown'}) was deleted, revoked or expired`;
    }
    const scopes = key.scopes as Scope[];
    const type = this.deps.types.find(job.type);
    if (type && !grants(scopes, type.scope)) return `the API key that created the job lacks the ${type.scope} scope`;
    return { apiKeyId: key.id, projectId: key.projectId, projectName: key.project.name, scopes, serverAdmin: false };
  }

  /**
   * The key of a run of a type with `credentials`: minted when the run starts, named
   * `job:<job>#<execution>`, with the scope the config declares (a scope the creator's key lacks
   * fails the run), expiring after the type's bound, and revoked when the run ends (`finish`). A
   * resumed run's earlier key (of a process that died) is revoked first.
   */
  private async credentialsFor(type: JobType, config: unknown, job: Job, viewer: Viewer, executionId: string): Promise<RunCredentials | null> {
    if (!type.credentials) return null;
    const { scope, ttlSeconds } = type.credentials(config);
    if (!grants(viewer.scopes, scope)) throw new ForbiddenError(`the run key's scope ${scope} is above the scopes of the key that created the job`);
    const { apiKeys } = this.deps;
    const name = runKeyName(job.name, executionId);
    try {
      await apiKeys.revokeNamed(job.projectId, name);
      const { secret } = await apiKeys.mint(job.projectId, name, [scope], new Date(Date.now() + ttlSeconds * 1000));
      return { apiKey: secret, url: this.serverUrl };
    } catch (error) {
      // The run's log is readable by clients: the database's message stays in the server log.
      this.deps.logger.error({ err: error, executionId }, 'could not mint the key of a job run');
      throw new DomainError('could not create the run’s API key (see the server log)');
    }
  }

  /** The base URL runs are told to reach this server at (GRANARY_URL). */
  get serverUrl(): string {
    return this.options.publicUrl ?? this.listenUrl ?? this.options.defaultUrl;
  }

  /** Records the URL the HTTP server listens on (used unless a public URL is configured). */
  useListenUrl(url: string): void {
    this.listenUrl = url;
  }

  /** Marks an execution that never ran (or whose process died) ended, with a log line. */
  private async finishUnstarted(executionId: string, final: FinalState, line: string): Promise<void> {
    const execution = await this.deps.prisma.execution.findUnique({ where: { id: executionId }, include: { job: { select: { name: true, type: true } } } });
    // Already ended (by whoever got there first): its log says so already.
    if (!execution || execution.finalStatus) return;
    await this.appendLogs(executionId, [line]);
    const credentials = Boolean(this.deps.types.find(execution.job.type)?.credentials);
    await this.finish(executionId, execution.projectId, execution.job.name, final, undefined, credentials);
    this.deps.observer?.executionEnded(execution.job.type, final);
  }

  /** Ends an execution; a run that had a key (`credentials`) has it revoked, whatever the ending. */
  private async finish(executionId: string, projectId: string, jobName: string, final: FinalState, progress?: number, credentials = false): Promise<void> {
    const { prisma } = this.deps;
    // Revoked first: once a client sees the run ended, its key no longer works.
    if (credentials) await this.revokeRunKey(projectId, jobName, executionId);
    const ended = await prisma.execution.updateMany({
      where: { id: executionId, runner: this.processId, finalStatus: null },
      data: { state: final, finalStatus: final, finishedAt: new Date(), ...(progress !== undefined ? { progress } : {}) },
    });
    if (ended.count === 0) return;
    this.publish(projectId, executionId, jobName, final);
    if (final === 'KILLED') return;
    this.deps.alerts.raise(projectId, {
      type: final === 'SUCCEEDED' ? 'JOB_SUCCEEDED' : 'JOB_FAILED',
      subject: { kind: 'Job', name: jobName },
      message: `job ${jobName} ${final === 'SUCCEEDED' ? 'succeeded' : 'failed'}`,
      details: { executionId: encodeGlobalID('Execution', executionId), state: final },
    });
  }

  private async revokeRunKey(projectId: string, jobName: string, executionId: string): Promise<void> {
    try {
      await this.deps.apiKeys.revokeNamed(projectId, runKeyName(jobName, executionId));
    } catch (error) {
      // It still expires at its bound.
      this.deps.logger.warn({ err: error, executionId }, 'could not revoke the key of a job run');
    }
  }

  private async appendLogs(executionId: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    try {
      await this.deps.prisma.executionLog.createMany({ data: lines.map((line) => ({ executionId, line })) });
    } catch (error) {
      // The execution (and its job) may have been deleted meanwhile.
      this.deps.logger.debug({ err: error, executionId }, 'could not append execution log lines');
    }
  }

  private tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.beat().finally(() => (this.ticking = null));
    return this.ticking;
  }

  /**
   * One heartbeat: confirms this process's executions, aborts those asked to stop, raises long-run
   * alerts and, unless the runner is closing, takes over orphans of dead processes.
   */
  private async beat(): Promise<void> {
    try {
      const { prisma } = this.deps;
      await prisma.execution.updateMany({ where: { runner: this.processId, finalStatus: null }, data: { heartbeatAt: new Date() } });
      const stops = await prisma.execution.findMany({
        where: { runner: this.processId, finalStatus: null, stopRequestedAt: { not: null } },
        select: { id: true },
      });
      for (const { id } of stops) if (this.owns(id)) void this.stop(id);
      const now = Date.now();
      for (const [id, running] of this.running) {
        if (running.alerted || now - running.startedAt < this.options.longRunningMs) continue;
        running.alerted = true;
        await prisma.execution.updateMany({ where: { id }, data: { longRunningAlerted: true } });
        this.deps.alerts.raise(running.projectId, {
          type: 'JOB_LONG_RUNNING',
          subject: { kind: 'Job', name: running.jobName },
          message: `job ${running.jobName} has been running for ${Math.round((now - running.startedAt) / 1000)} s`,
          details: { executionId: encodeGlobalID('Execution', id), state: 'RUNNING' },
        });
      }
      if (!this.closed) await this.recoverOrphans();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'job heartbeat failed');
    }
  }
}

/** Resolves once every task settled or `ms` passed, whichever comes first. */
async function settledWithin(tasks: ReadonlySet<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([Promise.allSettled([...tasks]), elapsed]);
  clearTimeout(timer);
}

/** Whether an unfinished execution's process is gone. */
function orphaned(execution: Pick<Execution, 'runner' | 'heartbeatAt'>, staleBefore: Date): boolean {
  if (!execution.heartbeatAt || execution.heartbeatAt < staleBefore || !execution.runner) return true;
  const [host, pid] = execution.runner.split(':');
  if (host !== hostname() || !pid) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    // EPERM: the process exists (another user's); only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function abortLine(reason: unknown): string {
  if (reason === 'deleted') return 'killed: the job was deleted';
  return 'killed: stopped by stopExecution';
}

/** Buffers log lines and writes them in batches, so a chatty command costs few inserts. */
class LogBuffer {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (lines: readonly string[]) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  push(line: string): void {
    this.lines.push(line);
    this.timer ??= setTimeout(() => void this.flush(), LOG_FLUSH_MS);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.lines;
    this.lines = [];
    this.writing = this.writing.then(() => this.write(lines)).catch((error: unknown) => this.logger.warn({ err: error }, 'execution log write failed'));
    return this.writing;
  }
}
