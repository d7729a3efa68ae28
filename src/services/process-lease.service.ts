import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import { UNOWNED_GRACE_MS, type Liveness, type SweepGuard } from '../stores/process-owner.ts';

/** A lease is expired when its heartbeat is this many heartbeats old. */
const STALE_HEARTBEATS = 6;

/**
 * Which processes may still be writing, as of one read of the leases: `alive(id)` is true for
 * this process and for every process whose lease exists and has not expired. Take it AFTER
 * listing the files it judges: a process creates its lease before it writes any file, so a
 * file listed before the read belongs to a lease the read sees, unless that process is gone.
 */
export interface LiveProcesses {
  readonly alive: Liveness;
  /** Leases (other than this process's) seen expired. */
  readonly expired: readonly { id: string; heartbeatAt: Date }[];
}

/**
 * This process's lease in the metadata database, and the liveness of the others'. Several
 * server processes share one data directory: each writes its scratch and staging files under
 * names carrying its id, and start-up recovery removes only files of processes whose lease is
 * gone (deleted by a graceful stop) or expired (no heartbeat for six heartbeats, or, on the
 * same host, its pid no longer exists), as the job runner judges its executions' processes.
 */
export class ProcessLeases {
  /** This process, random per start (never the pid, which a restart may reuse). */
  readonly id = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private recoverer: (() => Promise<unknown>) | null = null;
  private recovering: Promise<void> | null = null;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly logger: Logger,
    private readonly heartbeatMs: number,
  ) {}

  /** Writes this process's lease and starts confirming it every heartbeat. Call before writing any shared file. */
  async acquire(): Promise<void> {
    await this.renew();
    this.timer ??= setInterval(() => {
      this.renew()
        .then(() => this.check())
        .catch((error: unknown) => this.logger.warn({ err: error }, 'process lease heartbeat failed'));
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Confirms the lease (written again if another process took it for expired and deleted it). */
  async renew(): Promise<void> {
    if (this.released) return;
    const now = new Date();
    await this.prisma.processLease.upsert({
      where: { id: this.id },
      create: { id: this.id, host: hostname(), pid: process.pid, heartbeatAt: now },
      update: { heartbeatAt: now },
    });
  }

  /** Reads the leases now (see {@link LiveProcesses} for when to call it). */
  async live(): Promise<LiveProcesses> {
    const staleBefore = new Date(Date.now() - STALE_HEARTBEATS * this.heartbeatMs);
    const rows = await this.prisma.processLease.findMany({ select: { id: true, host: true, pid: true, heartbeatAt: true } });
    const alive = new Set<string>([this.id]);
    const expired: { id: string; heartbeatAt: Date }[] = [];
    for (const row of rows) {
      if (row.id === this.id) continue;
      if (row.heartbeatAt < staleBefore || pidGone(row.host, row.pid)) expired.push({ id: row.id, heartbeatAt: row.heartbeatAt });
      else alive.add(row.id);
    }
    return { alive: (id) => alive.has(id), expired };
  }

  /** What a sweep of a shared folder asks: the live processes, read afresh each time (after its listing). */
  guard(graceMs = UNOWNED_GRACE_MS): SweepGuard {
    return { graceMs, live: async () => (await this.live()).alive };
  }

  /**
   * Deletes expired leases (unless renewed meanwhile): call once recovery has cleaned what they
   * owned. Safe at any time, since a missing lease means a gone process either way.
   */
  async reap(): Promise<number> {
    let reaped = 0;
    for (const { id, heartbeatAt } of (await this.live()).expired) reaped += (await this.prisma.processLease.deleteMany({ where: { id, heartbeatAt } })).count;
    return reaped;
  }

  /**
   * Runs `recover` whenever a heartbeat finds the lease of another process expired (it died after
   * this one started, say on another host): its leftovers are cleaned and its online debts paid
   * without waiting for a restart. `recover` must reap the leases it handled.
   */
  watch(recover: () => Promise<unknown>): void {
    this.recoverer = recover;
  }

  /** Stops watching, once a recovery under way has ended: call before closing the stores. */
  async unwatch(): Promise<void> {
    this.recoverer = null;
    await this.recovering;
  }

  /** What each heartbeat does after renewing: recovery, once at a time, when a lease has expired. */
  async check(): Promise<void> {
    const recover = this.recoverer;
    if (!recover || this.released || this.recovering) return this.recovering ?? undefined;
    if ((await this.live()).expired.length === 0) return;
    this.recovering = recover()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'recovery after a stopped process failed'))
      .finally(() => (this.recovering = null));
    return this.recovering;
  }

  /** Stops the heartbeat and deletes the lease: call last on a graceful stop, once nothing is being written. */
  async release(): Promise<void> {
    this.released = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.prisma.processLease.deleteMany({ where: { id: this.id } });
  }
}

/** On this host, whether the pid no longer exists (another host's pids are not ours to judge). */
function pidGone(host: string, pid: number): boolean {
  if (host !== hostname() || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists (another user's); only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
