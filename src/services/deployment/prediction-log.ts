import type { DataFrame } from '../../domain/data-frame.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { Deployment, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { logGroupName } from './definition.ts';

/** One logged prediction: what was served, from what, and why. */
export interface PredictionLogRow {
  readonly request_id: string;
  readonly entry_index: number;
  readonly model_version: number;
  readonly logged_at: Date;
  readonly model_name: string;
  readonly training_dataset_version: number | null;
  /** A shadow version's prediction: scored on the same vector, never returned. */
  readonly shadow: boolean;
  /** JSON: the entry's serving keys. */
  readonly entity_keys: string;
  /** JSON: the feature values as read online (passed features applied), by name. */
  readonly raw_vector: string;
  /** JSON: the model's input, by name, as transformed with the training dataset's fitted parameters. */
  readonly transformed_vector: string;
  /** JSON: per feature `present`, `missing` (its group had no online row, or the value was null) or `passed`. */
  readonly feature_status: string;
  /** JSON: the prediction (null when the entry was not scored). */
  readonly prediction: string;
  /** JSON: class probabilities, or null. */
  readonly probabilities: string | null;
}

/** The log group's features, in order; the primary key is (request_id, entry_index, model_version). */
export const LOG_FEATURES = [
  { name: 'request_id', type: 'STRING', description: 'The predict request (one id per call).' },
  { name: 'entry_index', type: 'INT', description: 'Position of the entry in the request.' },
  { name: 'model_version', type: 'INT', description: 'Model version that scored the entry.' },
  { name: 'logged_at', type: 'TIMESTAMP', description: 'When the prediction was made.' },
  { name: 'model_name', type: 'STRING', description: 'Model name.' },
  { name: 'training_dataset_version', type: 'INT', description: 'Training dataset whose fitted transformations built the vector.' },
  { name: 'shadow', type: 'BOOLEAN', description: 'A shadow version’s prediction: logged, never returned.' },
  { name: 'entity_keys', type: 'STRING', description: 'JSON: the serving keys of the entry.' },
  { name: 'raw_vector', type: 'STRING', description: 'JSON: feature values as read online, passed features applied.' },
  { name: 'transformed_vector', type: 'STRING', description: 'JSON: the model input, transformed.' },
  { name: 'feature_status', type: 'STRING', description: 'JSON: present, missing or passed, per feature.' },
  { name: 'prediction', type: 'STRING', description: 'JSON: the prediction; null when the entry was not scored.' },
  { name: 'probabilities', type: 'STRING', description: 'JSON: class probabilities, when the model gives them.' },
] as const;

/** Rows waiting to be written are flushed at least this often... */
const FLUSH_MS = 1000;
/** ...or once this many wait for one deployment. */
const FLUSH_ROWS = 5000;

interface Pending {
  readonly viewer: Viewer;
  readonly group: { readonly name: string; readonly version: number };
  rows: PredictionLogRow[];
}

/**
 * The prediction log of deployments: rows are queued in memory by predict (which never waits for
 * them) and written as one offline commit per deployment every second (or every 5 000 rows) to an
 * ordinary feature group, `<deployment>_predictions`, so statistics, validation, search and lineage
 * apply to it. A failed write keeps its rows queued for the next flush; `close` writes everything
 * still queued, so a clean stop loses no row of a prediction that was answered.
 */
export class PredictionLog {
  private readonly pending = new Map<string, Pending>();
  private readonly building = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly groups: FeatureGroupService,
    private readonly logger: Logger,
  ) {}

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
  append(viewer: Viewer, deployment: Pick<Deployment, 'id' | 'name'>, rows: readonly PredictionLogRow[]): void {
    if (rows.length === 0) return;
    let pending = this.pending.get(deployment.id);
    if (!pending) {
      pending = { viewer, group: { name: logGroupName(deployment.name), version: 1 }, rows: [] };
      this.pending.set(deployment.id, pending);
    }
    for (const row of rows) pending.rows.push(row);
    if (pending.rows.length >= FLUSH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Rows queued and not yet written, across deployments. */
  get queued(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.rows.length;
    return n;
  }

  /** Writes every queued row now (one commit per deployment); waits for a flush under way first. */
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
    const batches = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, batch] of batches) {
      try {
        await this.groups.insert(
          batch.viewer,
          batch.group,
          { kind: 'rows', rows: batch.rows as unknown as Record<string, unknown>[] },
          {
            operation: 'UPSERT',
            storage: 'OFFLINE',
          },
        );
      } catch (error) {
        if (error instanceof NotFoundError) {
          // The log group was deleted: its deployment logs nothing until logging is enabled again.
          this.logger.warn({ group: batch.group.name, rows: batch.rows.length }, 'prediction log group is gone; rows dropped');
          continue;
        }
        this.logger.error({ err: error, group: batch.group.name, rows: batch.rows.length }, 'could not write prediction log rows; retrying');
        const again = this.pending.get(id);
        if (again) again.rows = [...batch.rows, ...again.rows];
        else this.pending.set(id, batch);
      }
    }
    if (this.pending.size > 0 && !this.closed) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is queued and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
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
    return this.groups.select(viewer, group, columns, (rows) =>
      options.newest
        ? `SELECT ${list} FROM (SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('DESC')} LIMIT ${limit}) AS newest ORDER BY ${order('ASC')}`
        : `SELECT ${list} FROM (${rows}) AS log ${filter} ORDER BY ${order('ASC')} LIMIT ${limit}`,
    );
  }
}
