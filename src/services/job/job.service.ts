import { isDeepStrictEqual } from 'node:util';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError, issueMessage } from '../../errors.ts';
import type { Execution, Job, Prisma } from '../../generated/sqlite/client.ts';
import type { GranaryPubSub } from '../../pubsub.ts';
import type { ExecutionTrigger } from '../../jobs/execution-state.ts';
import type { JobCheckContext, JobType } from '../../jobs/job-type.ts';
import type { JobTypeRegistry } from '../../jobs/registry.ts';
import type { JobRunner, RunnerCloseOptions } from '../../jobs/runner.ts';
import { isRunKeyName } from '../../jobs/run-key.ts';
import { nextRun, parseNewSchedule, type JobScheduler } from '../../jobs/scheduler.ts';
import type { SecretBox } from '../../secret-box.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { OBJECT_NAME } from '../feature-group/definition.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { checkJsonDepth } from '../json-limits.ts';
import { parseInput } from '../validation.ts';
import { grants, type Viewer } from '../viewer.ts';
import { filter, pipe } from 'graphql-yoga';
import type { ExecutionMessage } from '../../pubsub.ts';

const scheduleInput = z.object({
  cron: z.string().trim().min(1, 'cron is required'),
  startTime: z.date().nullish(),
  endTime: z.date().nullish(),
  paused: z.boolean().nullish(),
});

const createJobInput = z.object({
  name: z.string().regex(OBJECT_NAME, 'lower-case letters, digits and _, starting with a letter (at most 63)'),
  type: z.string().min(1, 'type is required'),
  config: z.unknown().optional(),
  schedule: scheduleInput.nullish(),
});

export type CreateJobInput = z.input<typeof createJobInput>;
export type ScheduleInput = z.input<typeof scheduleInput>;

/** Filters of the `jobs` list. */
export interface JobFilter {
  readonly type?: string | null;
}

/** Log lines returned at most, newest last. */
const MAX_LOG_LINES = 10_000;
/** How long `stopExecution` waits for a run of another process to end before answering. */
const STOP_WAIT_MS = 3000;

/**
 * Jobs and their executions: creation and deletion (registry events of kind `Job`), manual runs,
 * stops, schedules, and the queries behind `job`, `jobs` and `execution`. Each type's config is
 * validated by its schema and checked against the project (`JobType.check`: the objects it names
 * exist, ranges hold) when the job is created, and checked again when it is scheduled; a run's
 * args by the type's `args` schema when the run is asked for. Secrets of a config are sealed
 * before it is stored and redacted when it is read (`config`). Types needing ADMIN (COMMAND)
 * refuse other keys for create, run and delete.
 */
export class JobService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly pubsub: GranaryPubSub,
    readonly types: JobTypeRegistry,
    private readonly runner: JobRunner,
    private readonly scheduler: JobScheduler,
    private readonly secrets: SecretBox,
    /** What types' `check` reads (the caller's groups, views, training-dataset rules). */
    private readonly checks: Omit<JobCheckContext, 'viewer'>,
  ) {}

  /**
   * Creates a job. An existing job of that name with the same type, config and schedule is
   * returned as it is; with another definition it is a ConflictError.
   */
  async create(viewer: Viewer, raw: CreateJobInput): Promise<Job> {
    const input = parseInput(createJobInput, raw);
    const type = this.types.get(input.type);
    this.authorize(viewer, type, 'create');
    const config = parseConfig(type, input.config ?? {});
    const schedule = input.schedule ?? null;
    if (schedule) parseNewSchedule(schedule, ['input', 'schedule', 'cron']);
    const existing = await this.prisma.job.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name: input.name } } });
    if (existing) {
      const same =
        existing.type === type.name &&
        isDeepStrictEqual(this.openStored(type, existing.config), config) &&
        existing.cron === (schedule?.cron ?? null) &&
        sameTime(existing.startTime, schedule?.startTime) &&
        sameTime(existing.endTime, schedule?.endTime) &&
        existing.paused === (schedule?.paused ?? false);
      if (same) return existing;
      throw new ConflictError(`job ${input.name} exists with another definition`);
    }
    await this.check(viewer, type, config, ['input', 'config']);
    const stored = type.secrets ? type.secrets.seal(config, this.secrets) : config;
    const { createdBy, apiKeyId } = await this.owner(viewer);
    let job: Job;
    try {
      job = await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.job.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            type: type.name,
            config: stored as Prisma.InputJsonValue,
            createdBy,
            apiKeyId,
            cron: schedule?.cron ?? null,
            startTime: schedule?.startTime ?? null,
            endTime: schedule?.endTime ?? null,
            paused: schedule?.paused ?? false,
            nextRunAt: schedule && !schedule.paused ? nextRun(schedule) : null,
          },
        });
        return { value, change: jobChange(value, 'CREATED') };
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') throw new ConflictError(`job ${input.name} is being created by another request`);
      throw error;
    }
    if (schedule) await this.scheduler.reload();
    return job;
  }

  /**
   * On start: fails (or resumes, for resumable types) executions left unfinished by a dead
   * process. Executions of live processes are left alone.
   */
  recover(): Promise<{ failed: number; resumed: number }> {
    return this.runner.recoverOrphans();
  }

  /** A job's config as clients read it: secrets redacted. */
  config(job: Pick<Job, 'type' | 'config'>): unknown {
    const secrets = this.types.find(job.type)?.secrets;
    return secrets ? secrets.redact(job.config) : job.config;
  }

  /** Records the URL the HTTP server listens on: runs reach the server there (GRANARY_URL) unless GRANARY_PUBLIC_URL is set. */
  useListenUrl(url: string): void {
    this.runner.useListenUrl(url);
  }

  /** Starts the runner's heartbeat and the scheduler. */
  async start(): Promise<void> {
    this.runner.start();
    await this.scheduler.start();
  }

  /**
   * Stops scheduling and ends this process's runs: running ones may finish within `graceMs`, the
   * others are killed (marked KILLED with the reason); resolves once every one is recorded.
   */
  async close(options: RunnerCloseOptions = {}): Promise<void> {
    this.scheduler.close();
    await this.runner.close(options);
  }

  /** A job of the caller's project, or NotFoundError. */
  async get(viewer: Viewer, name: string): Promise<Job> {
    const job = await this.prisma.job.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name } } });
    if (!job) throw new NotFoundError('Job', name);
    return job;
  }

  /** Deletes a job and its executions; its runs in this process are killed first. */
  async delete(viewer: Viewer, name: string): Promise<Job> {
    const job = await this.get(viewer, name);
    const type = this.types.find(job.type);
    if (type) this.authorize(viewer, type, 'delete');
    await this.runner.abortJob(job.id);
    const deleted = await this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.job.delete({ where: { id: job.id } });
      return { value, change: jobChange(value, 'DELETED') };
    });
    if (job.cron) await this.scheduler.reload();
    return deleted;
  }

  /** Starts a run of a job now (queued when this process is at its concurrency limit). */
  async run(viewer: Viewer, name: string, args: unknown, trigger: ExecutionTrigger = 'MANUAL'): Promise<Execution> {
    checkJsonDepth(args, ['args']);
    return this.startRun(viewer, await this.get(viewer, name), args, trigger);
  }

  private async startRun(viewer: Viewer, job: Job, args: unknown, trigger: ExecutionTrigger): Promise<Execution> {
    const type = this.types.get(job.type, ['name']);
    this.authorize(viewer, type, 'run');
    if (args != null && type.args) parseInput(type.args, args, 'args');
    const execution = await this.prisma.execution.create({
      data: {
        jobId: job.id,
        projectId: job.projectId,
        trigger,
        args: args == null ? undefined : (args as Prisma.InputJsonValue),
        state: 'INITIALIZING',
        runner: this.runner.processId,
        heartbeatAt: new Date(),
      },
    });
    this.runner.publish(job.projectId, execution.id, job.name, 'INITIALIZING');
    this.runner.enqueue(execution.id, job.type);
    return execution;
  }

  /**
   * Starts a run (args null) unless a run of the job with the same trigger is still waiting to start
   * in this process: that one has not read anything yet, so it covers this request too. Returns the
   * new execution, or null when one was waiting.
   */
  async runCoalesced(viewer: Viewer, name: string, trigger: ExecutionTrigger): Promise<Execution | null> {
    const job = await this.get(viewer, name);
    const waiting = await this.prisma.execution.findFirst({
      where: { jobId: job.id, trigger, state: 'INITIALIZING', runner: this.runner.processId, finalStatus: null },
      select: { id: true },
    });
    return waiting ? null : this.startRun(viewer, job, null, trigger);
  }

  /**
   * Stops an execution: KILLED. A run of this process is aborted and has ended when this returns;
   * a run of another process is flagged and ends at that process's next heartbeat (waited for a
   * few seconds). An execution that already ended is returned as it is.
   */
  async stop(viewer: Viewer, id: string): Promise<Execution> {
    const execution = await this.execution(viewer, id);
    if (!execution) throw new NotFoundError('Execution', id);
    if (execution.finalStatus) return execution;
    if (this.runner.owns(execution.id)) {
      await this.runner.stop(execution.id);
    } else {
      await this.runner.stop(execution.id);
      const deadline = Date.now() + STOP_WAIT_MS;
      while (Date.now() < deadline) {
        const current = await this.prisma.execution.findUnique({ where: { id: execution.id }, select: { finalStatus: true } });
        if (!current || current.finalStatus) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return this.prisma.execution.findUniqueOrThrow({ where: { id: execution.id } });
  }

  /** Sets (or replaces) a job's schedule; it is active (not paused) afterwards. */
  async schedule(viewer: Viewer, name: string, raw: ScheduleInput): Promise<Job> {
    const schedule = parseInput(scheduleInput, raw, 'schedule');
    parseNewSchedule(schedule, ['cron']);
    // A job whose objects are gone since it was created would fail at its first scheduled time.
    const job = await this.get(viewer, name);
    const type = this.types.find(job.type);
    if (type) {
      this.authorize(viewer, type, 'schedule');
      const parsed = type.config.safeParse(job.config);
      if (!parsed.success) throw ValidationError.at(['name'], `job ${name} has a config its type no longer accepts; recreate it`);
      await this.check(viewer, type, parsed.data, ['name'], `job ${name}'s config: `);
    }
    return this.updateSchedule(viewer, name, {
      cron: schedule.cron,
      startTime: schedule.startTime ?? null,
      endTime: schedule.endTime ?? null,
      paused: schedule.paused ?? false,
    });
  }

  /** Pauses a job's schedule: no scheduled runs until resumed. */
  async pause(viewer: Viewer, name: string): Promise<Job> {
    return this.updateSchedule(viewer, name, { paused: true });
  }

  /** Resumes a paused schedule from now on (missed times are not run). */
  async resume(viewer: Viewer, name: string): Promise<Job> {
    return this.updateSchedule(viewer, name, { paused: false });
  }

  /** Removes a job's schedule; the job stays and can be run by hand. */
  async unschedule(viewer: Viewer, name: string): Promise<Job> {
    return this.updateSchedule(viewer, name, { cron: null, startTime: null, endTime: null, paused: false });
  }

  /** An execution of the caller's project by id (a global `Execution` id or the raw id), or null. */
  async execution(viewer: Viewer, id: string): Promise<Execution | null> {
    const rawId = executionId(id);
    if (!rawId) return null;
    return this.prisma.execution.findFirst({ where: { id: rawId, projectId: viewer.projectId } });
  }

  /** The last `tail` log lines of an execution (all when omitted), oldest first. */
  async logs(executionId: string, tail?: number | null): Promise<string[]> {
    if (tail != null && (!Number.isInteger(tail) || tail < 1 || tail > MAX_LOG_LINES)) {
      throw ValidationError.at(['tail'], `tail must be between 1 and ${MAX_LOG_LINES}`);
    }
    const rows = await this.prisma.executionLog.findMany({
      where: { executionId },
      orderBy: { id: 'desc' },
      take: tail ?? MAX_LOG_LINES,
      select: { line: true },
    });
    return rows.reverse().map((r) => r.line);
  }

  /** Where clause of the `jobs` list. */
  listWhere(viewer: Viewer, filter: JobFilter): Prisma.JobWhereInput {
    return { projectId: viewer.projectId, ...(filter.type ? { type: filter.type } : {}) };
  }

  /** Live updates of the project's executions, optionally of one job only. */
  subscribe(projectId: string, jobName?: string | null): AsyncIterable<ExecutionMessage> {
    const updates = this.pubsub.subscribe('executionUpdated', projectId);
    if (!jobName) return updates;
    return pipe(
      updates,
      filter((u) => u.jobName === jobName),
    );
  }

  private async updateSchedule(
    viewer: Viewer,
    name: string,
    data: { cron?: string | null; startTime?: Date | null; endTime?: Date | null; paused?: boolean },
  ): Promise<Job> {
    const job = await this.get(viewer, name);
    const type = this.types.find(job.type);
    if (type) this.authorize(viewer, type, 'schedule');
    const cron = data.cron !== undefined ? data.cron : job.cron;
    if (!cron && data.cron === undefined) throw ValidationError.at(['name'], `job ${name} has no schedule`);
    const merged = {
      cron,
      startTime: data.startTime !== undefined ? data.startTime : job.startTime,
      endTime: data.endTime !== undefined ? data.endTime : job.endTime,
      paused: data.paused ?? job.paused,
    };
    const nextRunAt = merged.cron && !merged.paused ? nextRun({ cron: merged.cron, startTime: merged.startTime, endTime: merged.endTime }) : null;
    const updated = await this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.job.update({ where: { id: job.id }, data: { ...merged, nextRunAt } });
      return { value, change: jobChange(value, 'UPDATED') };
    });
    await this.scheduler.reload();
    return updated;
  }

  /**
   * Runs the type's `check`; its issues are re-rooted at `root` (`input.config.featureView`), and
   * any other domain error becomes a ValidationError there.
   */
  private async check(viewer: Viewer, type: JobType, config: unknown, root: readonly (string | number)[], prefix = ''): Promise<void> {
    if (!type.check) return;
    try {
      await type.check(config, { viewer, ...this.checks });
    } catch (error) {
      if (error instanceof ValidationError) {
        // Under `name` (scheduleJob) every issue is the job's; else each names its config field.
        const issues = error.issues.map((i) => ({ path: root[0] === 'name' ? root : [...root, ...i.path], message: `${prefix}${issueMessage(i)}` }));
        throw new ValidationError(
          `invalid ${type.name} config: ${error.issues.map((i) => `${i.path.join('.') || 'config'}: ${issueMessage(i)}`).join('; ')}`,
          issues,
        );
      }
      if (error instanceof DomainError) throw ValidationError.at(root, `${prefix}${error.message}`);
      throw error;
    }
  }

  /**
   * Whose rights a new job runs with: the caller's key; for the key of a job run (revoked when the
   * run ends, which would stop the new job) the key that created that run's job. The caller's own
   * scopes were checked for the creation itself.
   */
  private async owner(viewer: Viewer): Promise<{ createdBy: string; apiKeyId: string | null }> {
    const name = (await this.prisma.apiKey.findUnique({ where: { id: viewer.apiKeyId }, select: { name: true } }))?.name ?? '';
    if (!isRunKeyName(name)) return { createdBy: name, apiKeyId: viewer.apiKeyId };
    const parent = await this.prisma.execution.findFirst({
      where: { id: name.slice(name.lastIndexOf('#') + 1), projectId: viewer.projectId },
      select: { job: { select: { createdBy: true, apiKeyId: true } } },
    });
    if (!parent) throw new ForbiddenError('this job run has ended: its key cannot create jobs');
    return parent.job;
  }

  /** A stored config as it was given (secrets opened), or null when it no longer parses or opens. */
  private openStored(type: JobType, stored: unknown): unknown {
    const parsed = type.config.safeParse(stored);
    if (!parsed.success) return null;
    try {
      return type.secrets ? type.secrets.open(parsed.data, this.secrets) : parsed.data;
    } catch {
      return null;
    }
  }

  private authorize(viewer: Viewer, type: JobType, action: string): void {
    if (!grants(viewer.scopes, type.scope)) {
      throw new ForbiddenError(`jobs of type ${type.name} need an ${type.scope} key to ${action}`);
    }
  }
}

/** The type's config schema applied to a job's config; issues under `input.config`. */
function parseConfig(type: JobType, raw: unknown): unknown {
  const result = type.config.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: ['input', 'config', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    message: issueMessage(issue),
  }));
  throw new ValidationError(`invalid ${type.name} config: ${issues.map((i) => `${i.path.slice(2).join('.') || 'config'}: ${i.message}`).join('; ')}`, issues);
}

function sameTime(a: Date | null, b: Date | null | undefined): boolean {
  return (a?.getTime() ?? null) === (b?.getTime() ?? null);
}

function jobChange(job: Job, action: RegistryChange['action']): RegistryChange {
  return { kind: 'Job', objectId: job.id, name: job.name, version: null, action };
}

/** The raw id behind a global `Execution` id; a raw id as it is; null for another type's id. */
function executionId(id: string): string | null {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return id;
  try {
    const decoded = decodeGlobalID(id);
    if (decoded.typename === 'Execution') return decoded.id;
    if (decoded.typename && decoded.id) return null;
  } catch {
    // not a global id
  }
  return id;
}
