import { Cron } from 'croner';
import { ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import { isUniqueViolation } from './execution-state.ts';
import type { JobRunner } from './runner.ts';

/** A job's schedule as stored. */
export interface ScheduleDefinition {
  readonly cron: string;
  readonly startTime?: Date | null;
  readonly endTime?: Date | null;
}

/**
 * Parses a cron pattern with its window: 5 fields (minute first) or 6 (seconds first), croner's
 * syntax. A bad pattern or window is a ValidationError at `path`.
 */
export function parseSchedule(schedule: ScheduleDefinition, path: readonly (string | number)[] = ['cron']): Cron {
  if (schedule.startTime && schedule.endTime && schedule.startTime >= schedule.endTime) {
    throw ValidationError.at([...path.slice(0, -1), 'endTime'], 'endTime must be after startTime');
  }
  try {
    return new Cron(schedule.cron, { startAt: schedule.startTime ?? undefined, stopAt: schedule.endTime ?? undefined, paused: true });
  } catch (error) {
    throw ValidationError.at(path, `invalid cron pattern ${JSON.stringify(schedule.cron)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * `parseSchedule` for a pattern a client gives (createJob, scheduleJob): only 5 or 6 fields, as
 * documented. croner also takes a 7th field (years) and nicknames; stored patterns keep working.
 */
export function parseNewSchedule(schedule: ScheduleDefinition, path: readonly (string | number)[] = ['cron']): Cron {
  const fields = schedule.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw ValidationError.at(
      path,
      `invalid cron pattern ${JSON.stringify(schedule.cron)}: ${fields} fields; give 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  return parseSchedule(schedule, path);
}

/** The next run of a schedule after `from`, or null when there is none (window ended). */
export function nextRun(schedule: ScheduleDefinition, from: Date = new Date()): Date | null {
  return parseSchedule(schedule).nextRun(from);
}

interface Entry {
  readonly jobId: string;
  readonly projectId: string;
  readonly name: string;
  /** cron, window and pause as one string: a changed schedule is rebuilt, an unchanged one kept. */
  readonly signature: string;
  readonly cron: Cron;
  next: Date | null;
}

export interface JobSchedulerOptions {
  /** How often schedules are re-read from the database (changes made by other processes). */
  readonly reloadMs: number;
  /** How often due times are checked. */
  readonly tickMs: number;
}

/** Missed times older than this are skipped rather than run late (the process was stopped or busy). */
const CATCH_UP_MS = 60_000;

/**
 * Fires scheduled runs. Every process keeps every active schedule (re-read periodically, and at
 * once after a change in this process) and, at each due time, tries to insert the execution for
 * (job, scheduled time); the unique key lets exactly one process win, and only the winner runs it.
 */
export class JobScheduler {
  private readonly entries = new Map<string, Entry>();
  private tickTimer: NodeJS.Timeout | undefined;
  private lastReload = 0;
  private reloading: Promise<void> | null = null;
  private busy = false;
  private closed = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly runner: JobRunner,
    private readonly logger: Logger,
    private readonly options: JobSchedulerOptions = { reloadMs: 2000, tickMs: 200 },
  ) {}

  async start(): Promise<void> {
    await this.reload();
    this.tickTimer ??= setInterval(() => void this.tick(), this.options.tickMs);
    this.tickTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.tickTimer);
    this.entries.clear();
  }

  /** Re-reads every active schedule (after a change, or periodically). */
  reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async load(): Promise<void> {
    this.lastReload = Date.now();
    const jobs = await this.prisma.job.findMany({
      where: { cron: { not: null }, paused: false },
      select: { id: true, projectId: true, name: true, cron: true, startTime: true, endTime: true },
    });
    const seen = new Set<string>();
    for (const job of jobs) {
      seen.add(job.id);
      const signature = JSON.stringify([job.cron, job.startTime, job.endTime]);
      if (this.entries.get(job.id)?.signature === signature) continue;
      try {
        const cron = parseSchedule({ cron: job.cron!, startTime: job.startTime, endTime: job.endTime });
        this.entries.set(job.id, { jobId: job.id, projectId: job.projectId, name: job.name, signature, cron, next: cron.nextRun(new Date()) });
      } catch (error) {
        this.logger.warn({ err: error, job: job.name }, 'ignoring a job with an invalid schedule');
        this.entries.delete(job.id);
      }
    }
    for (const id of this.entries.keys()) if (!seen.has(id)) this.entries.delete(id);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      if (Date.now() - this.lastReload >= this.options.reloadMs) await this.reload();
      const now = new Date();
      for (const entry of this.entries.values()) {
        while (entry.next && entry.next <= now) {
          const at = entry.next;
          entry.next = entry.cron.nextRun(now.getTime() - at.getTime() > CATCH_UP_MS ? now : at);
          if (now.getTime() - at.getTime() <= CATCH_UP_MS) await this.fire(entry, at);
        }
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'job scheduler tick failed');
    } finally {
      this.busy = false;
    }
  }

  /** Claims the run of `entry` at `at`; runs it when this process's insert wins. */
  private async fire(entry: Entry, at: Date): Promise<void> {
    let executionId: string;
    try {
      const execution = await this.prisma.execution.create({
        data: {
          jobId: entry.jobId,
          projectId: entry.projectId,
          trigger: 'SCHEDULE',
          scheduledAt: at,
          state: 'INITIALIZING',
          runner: this.runner.processId,
          heartbeatAt: new Date(),
        },
        select: { id: true },
      });
      executionId = execution.id;
    } catch (error) {
      // Another process claimed this time (unique jobId + scheduledAt), or the job was deleted.
      if (!isUniqueViolation(error)) this.logger.debug({ err: error, job: entry.name }, 'scheduled run not claimed');
      return;
    }
    await this.prisma.job.updateMany({ where: { id: entry.jobId }, data: { nextRunAt: entry.cron.nextRun(at) } });
    this.runner.publish(entry.projectId, executionId, entry.name, 'INITIALIZING');
    this.runner.enqueue(executionId);
  }
}
