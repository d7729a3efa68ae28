import type { DataFrame } from '../../domain/data-frame.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { Deployment, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { TempFiles } from '../../stores/artifacts/temp-files.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { logGroupName } from './definition.ts';
import { LOG_FEATURES, type LoggedPrediction } from './prediction-log-rows.ts';
import { PredictionLogThread } from './prediction-log-thread.ts';

/** Rows waiting to be written are flushed at least this often... */
const FLUSH_MS = 5000;
/** ...or once this many wait for one deployment. */
const FLUSH_ROWS = 20_000;

interface Pending {
  readonly viewer: Viewer;
  readonly group: { readonly name: string; readonly version: number };
  /** Rows handed to the writer thread and not yet in a file. */
  queued: number;
  /** Files the thread wrote whose commit failed: written again at the next flush. */
  readonly files: { readonly path: string; readonly rows: number }[];
}

/**
 * The prediction log of deployments. Predict hands rows over as values (it never waits for them);
 * a writer thread turns them into TSV lines (printing a row's vectors costs more than the
 * prediction did, so it is kept off the thread that answers requests) and, every 5 s or 20 000
 * rows per deployment, writes them to a file, which becomes one offline commit of an ordinary
 * feature group, `<deployment>_predictions`, so statistics, validation, search and lineage apply
 * to it. A commit that fails keeps its file for the next flush; `close` writes everything still
 * queued, so a clean stop loses no row of a prediction that was answered.
 */
export class PredictionLog {
  private readonly pending = new Map<string, Pending>();
  private readonly building = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly thread: PredictionLogThread;

  constructor(
    private readonly groups: FeatureGroupService,
    private readonly tempFiles: TempFiles,
    private readonly logger: Logger,
  ) {
    this.thread = new PredictionLogThread({ dir: tempFiles.dir });
  }

  /**
   * The deployment's log group: created (offline only, event time `logged_at`) when missing. A
   * group of that name that is not a prediction log is a ConflictError naming it.
   */
  async ensureGroup(viewer: Viewer, deployment: string): Promise<FeatureGroup> {
    const name = logGroupName(deployment);
    const existing = await this.groups.find(viewer, { name, version: 1 });
    if (existing) {
      const features = (existing.features as { name: string }[]).map((f) => f.name).join(',');
      if (features !== LOG_FEATURES.map((f) => f.name).join(',')) {
        throw new ConflictError(`feature group ${name} exists and is not a prediction log: rename it, or name the deployment differently`);
      }
      return existing;
    }
    return this.groups.create(viewer, {
      name,
      version: 1,
      description: `Predictions of deployment ${deployment}: served vectors, per-feature status and predictions.`,
      primaryKey: ['request_id', 'entry_index', 'model_version'],
      eventTime: 'logged_at',
      onlineEnabled: false,
      // Written every second: statistics after each commit would reread the whole log as often.
      // They are computed on demand (computeStatistics), or after commits once enabled.
      statisticsConfig: { enabled: false },
      features: LOG_FEATURES.map((f) => ({ ...f })),
    });
  }

  /**
   * Work that will append rows (a prediction's log rows are built after its answer is sent):
   * `flush` and `close` wait for it first, so nothing answered is missed.
   */
  track(work: Promise<void>): void {
    this.building.add(work);
    void work.finally(() => this.building.delete(work));
  }

  /** Queues rows of one deployment (its project's viewer writes them). Never waits for storage. */
  append(viewer: Viewer, deployment: Pick<Deployment, 'id' | 'name'>, rows: readonly LoggedPrediction[]): void {
    if (rows.length === 0) return;
    let pending = this.pending.get(deployment.id);
    if (!pending) {
      pending = { viewer, group: { name: logGroupName(deployment.name), version: 1 }, queued: 0, files: [] };
      this.pending.set(deployment.id, pending);
    }
    this.thread.add(deployment.id, rows);
    pending.queued += rows.length;
    if (pending.queued >= FLUSH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Rows queued and not yet written, across deployments. */
  get queued(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.queued + p.files.reduce((sum, f) => sum + f.rows, 0);
    return n;
  }

  /** Writes every queued row now (one commit per deployment and file); waits for a flush under way first. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.building.size > 0) await Promise.allSettled([...this.building]);
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async write(): Promise<void> {
    for (const [id, batch] of [...this.pending.entries()]) {
      if (batch.queued > 0) await this.takeFile(id, batch);
      while (batch.files.length > 0) {
        const file = batch.files[0]!;
        try {
          await this.groups.insert(
            batch.viewer,
            batch.group,
            { kind: 'file', path: file.path, format: 'TSV', name: 'prediction log' },
            { operation: 'UPSERT', storage: 'OFFLINE', serverWritten: true },
          );
        } catch (error) {
          if (!(error instanceof NotFoundError)) {
            this.logger.error({ err: error, group: batch.group.name, rows: file.rows }, 'could not write prediction log rows; retrying');
            break;
          }
          // The log group was deleted: its deployment logs nothing until logging is enabled again.
          this.logger.warn({ group: batch.group.name, rows: file.rows }, 'prediction log group is gone; rows dropped');
        }
        batch.files.shift();
        await this.tempFiles.remove(file.path);
      }
      if (batch.queued === 0 && batch.files.length === 0) this.pending.delete(id);
    }
    if (this.pending.size > 0 && !this.closed) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Has the writer thread close the deployment's file of queued rows, kept in `batch.files` until committed. */
  private async takeFile(id: string, batch: Pending): Promise<void> {
    const queued = batch.queued;
    try {
      const reply = await this.thread.write(id);
      if (reply.error !== undefined) {
        this.logger.error({ group: batch.group.name, rows: queued, reason: reply.error }, 'could not write a prediction log file; retrying');
        return;
      }
      if (reply.dropped > 0) this.logger.error({ group: batch.group.name, rows: reply.dropped }, 'prediction log rows could not be written as text; dropped');
      // Rows appended while the thread wrote are counted again from what is left.
      batch.queued -= reply.rows + reply.dropped;
      if (reply.path !== null) batch.files.push({ path: reply.path, rows: reply.rows });
    } catch (error) {
      // The thread is gone, and the rows it held with it.
      this.logger.error({ err: error, group: batch.group.name, rows: queued }, 'the prediction log writer stopped; rows lost');
      batch.queued = 0;
    }
  }

  /** Writes what is queued, stops the timer and the writer thread. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.thread.close();
  }

  /**
   * Logged rows of a deployment, oldest first: from (inclusive) to (exclusive) by `logged_at`,
   * one model version when given, the first `first` of them (the last, with `newest`). Flushes this process's queue first, so a
   * prediction answered before the call is in the answer.
   */
  async read(
    viewer: Viewer,
    deployment: Pick<Deployment, 'name'>,
    options: { from?: Date | null; to?: Date | null; modelVersion?: number | null; shadow?: boolean | null; first: number; newest?: boolean },
  ): Promise<DataFrame> {
    await this.flush();
    const group = await this.groups.find(viewer, { name: logGroupName(deployment.name), version: 1 });
    if (!group) throw new NotFoundError('FeatureGroup', `${logGroupName(deployment.name)} (deployment ${deployment.name} has logged nothing)`);
    const where: string[] = [];
    if (options.from) where.push(`${ident('logged_at')} >= ${sqlString(options.from.toISOString())}::TIMESTAMPTZ`);
    if (options.to) where.push(`${ident('logged_at')} < ${sqlString(options.to.toISOString())}::TIMESTAMPTZ`);
    if (options.modelVersion != null) where.push(`${ident('model_version')} = ${Math.trunc(options.modelVersion)}`);
    if (options.shadow != null) where.push(`${ident('shadow')} = ${options.shadow ? 'TRUE' : 'FALSE'}`);
    const columns = LOG_FEATURES.map((f) => ({ name: f.name, type: f.type }));
    const list = columns.map((c) => ident(c.name)).join(', ');
    const order = (direction: string) => ['logged_at', 'request_id', 'entry_index', 'model_version'].map((c) => `${ident(c)} ${direction}`).join(', ');
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.trunc(options.first);
    // The newest rows are taken newest first, then put back in time order.
    const frame = await this.groups.select(viewer, group, columns, (rows) =>
      options.newest
        ? `SELECT ${list} FROM (SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('DESC')} LIMIT ${limit}) AS newest ORDER BY ${order('ASC')}`
        : `SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('ASC')} LIMIT ${limit}`,
    );
    return withFullStatus(frame);
  }
}

/**
 * The stored status lists only missing and passed features; readers get every feature of the raw
 * vector, in its order, `present` where the log has nothing to say.
 */
function withFullStatus(frame: DataFrame): DataFrame {
  const rawAt = frame.columns.findIndex((c) => c.name === 'raw_vector');
  const statusAt = frame.columns.findIndex((c) => c.name === 'feature_status');
  const rows = frame.rows.map((row) => {
    const raw = parseObject(row[rawAt]);
    const stored = parseObject(row[statusAt]);
    if (raw === null || stored === null) return row;
    const status: Record<string, unknown> = {};
    for (const name of Object.keys(raw)) status[name] = stored[name] ?? 'present';
    const out = [...row];
    out[statusAt] = JSON.stringify(status);
    return out;
  });
  return { ...frame, rows };
}

function parseObject(text: unknown): Record<string, unknown> | null {
  if (typeof text !== 'string') return null;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
