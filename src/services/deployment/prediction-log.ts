import type { DataFrame } from '../../domain/data-frame.ts';
import { type ColumnValues, isCoded } from '../../domain/insert-source.ts';
import { ident, sqlString } from '../../domain/sql.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Deployment, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { FeatureGroupService } from '../feature-group/feature-group.service.ts';
import type { Viewer } from '../viewer.ts';
import { logGroupName } from './definition.ts';
import { LEGACY_VECTOR_FEATURES, LOG_FEATURE_NAMES, LOG_FEATURES, LogBuffer, type LogColumns, type LoggedPrediction } from './prediction-log-rows.ts';

/** Rows waiting to be written are flushed at least this often... */
const FLUSH_MS = 5000;
/**
 * ...or once this many wait for one deployment (memory: about 0.6 kB a row for a 66-feature
 * vector). A commit costs a fixed part besides its rows, which under full load was measured at a
 * few hundred ms of server CPU: at 6 000 predictions/s, 50 000 rows (a commit per 5 s) cost 29 µs
 * a row against 48 µs at 20 000 (bench:predict, 15 s runs).
 */
const FLUSH_ROWS = 50_000;

/** A served feature's column of the log: its name and feature type. */
export interface LogColumn {
  readonly name: string;
  readonly type: string;
}

/**
 * The features a model version's vectors hold, with their types: the raw vector's (the view's
 * features) and the transformed vector's (their outputs), in order; null when the version is gone.
 */
export type LogLayouts = (viewer: Viewer, model: { readonly name: string; readonly version: number }) => Promise<LogLayout | null>;

export interface LogLayout {
  readonly raw: readonly LogColumn[];
  readonly transformed: readonly LogColumn[];
}

/** Rows taken from a buffer, and the model versions that logged them. */
interface Batch {
  readonly columns: LogColumns;
  readonly models: readonly { readonly name: string; readonly version: number }[];
}

interface Pending {
  readonly viewer: Viewer;
  readonly group: { readonly name: string; readonly version: number };
  readonly buffer: LogBuffer;
  /** Batches taken whose commit failed: written again at the next flush. */
  readonly batches: Batch[];
  /** Columns the log group is known to have (read once, grown by appends; forgotten when a write fails). */
  readonly columns: Set<string>;
}

/**
 * The prediction log of deployments. Predict hands rows over as values (it never waits for them);
 * they are kept in columns (LogBuffer: numbers stay numbers) and, every 5 s or 50 000 rows per
 * deployment, written as one offline commit of an ordinary feature group, `<deployment>_predictions`,
 * with a column per served feature, so statistics, validation, search and lineage apply to it. A
 * served feature the group has no column for yet (a new model version, a moved alias) is appended
 * to it, typed as its view serves it, before the rows that hold it are written. A commit that
 * fails keeps its rows for the next flush; `close` writes everything still queued, so a clean stop
 * loses no row of a prediction that was answered.
 */
export class PredictionLog {
  private readonly pending = new Map<string, Pending>();
  private readonly building = new Set<Promise<void>>();
  /** Work queued by `later` for the next drain, with the deployment it is for. */
  private tasks: { readonly deployment: string; readonly task: () => Promise<void> | void }[] = [];
  private draining = false;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly groups: FeatureGroupService,
    private readonly layouts: LogLayouts,
    private readonly logger: Logger,
  ) {}

  /**
   * The deployment's log group: created (offline only, event time `logged_at`, the metadata
   * features; the vectors' columns come with the first rows that hold them) when missing. A group
   * of that name that is not a prediction log is a ConflictError naming it.
   */
  async ensureGroup(viewer: Viewer, deployment: string): Promise<FeatureGroup> {
    const name = logGroupName(deployment);
    const existing = await this.groups.find(viewer, { name, version: 1 });
    if (existing) {
      const types = new Map((existing.features as { name: string; type: string }[]).map((f) => [f.name, f.type]));
      if (!LOG_FEATURES.every((f) => types.get(f.name) === f.type)) {
        throw new ConflictError(`feature group ${name} exists and is not a prediction log: rename it, or name the deployment differently`);
      }
      return existing;
    }
    return this.groups.create(viewer, {
      name,
      version: 1,
      description: `Predictions of deployment ${deployment}: served vectors (a column per feature), per-feature status and predictions.`,
      primaryKey: ['request_id', 'entry_index', 'model_version'],
      eventTime: 'logged_at',
      onlineEnabled: false,
      // Written every few seconds: statistics after each commit would reread the whole log as often.
      // They are computed on demand (computeStatistics), or after commits once enabled.
      statisticsConfig: { enabled: false },
      features: LOG_FEATURES.map((f) => ({ ...f })),
    });
  }

  /**
   * Runs `task` (work that appends a prediction's rows) once the answers of this turn of the event
   * loop are sent: one `setImmediate` drains every task queued meanwhile, so a request costs a
   * closure here rather than a chain of promises. `flush` and `close` wait for queued tasks, and
   * for a task's promise, so nothing answered is missed. A failing task is logged.
   */
  later(deployment: string, task: () => Promise<void> | void): void {
    this.tasks.push({ deployment, task });
    if (this.draining) return;
    this.draining = true;
    this.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain()));
  }

  private drain(): void {
    const tasks = this.tasks;
    this.tasks = [];
    this.draining = false;
    const failed = (deployment: string, error: unknown) => this.logger.error({ err: error, deployment }, 'could not log predictions');
    for (const { deployment, task } of tasks) {
      try {
        const work = task();
        if (work) this.track(work.catch((error: unknown) => failed(deployment, error)));
      } catch (error) {
        failed(deployment, error);
      }
    }
  }

  private track(work: Promise<void>): void {
    this.building.add(work);
    void work.finally(() => this.building.delete(work));
  }

  /** Queues rows of one deployment (its project's viewer writes them). Never waits for storage. */
  append(viewer: Viewer, deployment: Pick<Deployment, 'id' | 'name'>, rows: readonly LoggedPrediction[]): void {
    if (rows.length === 0) return;
    let pending = this.pending.get(deployment.id);
    if (!pending) {
      pending = { viewer, group: { name: logGroupName(deployment.name), version: 1 }, buffer: new LogBuffer(), batches: [], columns: new Set() };
      this.pending.set(deployment.id, pending);
    }
    for (const row of rows) pending.buffer.add(row);
    if (pending.buffer.rows >= FLUSH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Rows queued and not yet written, across deployments. */
  get queued(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.buffer.rows + p.batches.reduce((sum, b) => sum + b.columns.rowCount, 0);
    return n;
  }

  /** Writes every queued row now (one commit per deployment and batch); waits for a flush under way first. */
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
    for (const [id, pending] of [...this.pending.entries()]) {
      const { buffer } = pending;
      if (buffer.rows > 0) pending.batches.push({ columns: buffer.columns(), models: [...buffer.models.values()] });
      // The buffer's arrays serve the next interval: no allocation while rows arrive at the same pace.
      buffer.reset();
      while (pending.batches.length > 0) {
        const batch = pending.batches[0]!;
        try {
          await this.addColumns(pending, batch);
          await this.groups.insert(
            pending.viewer,
            pending.group,
            { kind: 'columns', ...batch.columns },
            { operation: 'UPSERT', storage: 'OFFLINE', fillMissing: true },
          );
        } catch (error) {
          pending.columns.clear();
          if (error instanceof NotFoundError) {
            // The log group was deleted: its deployment logs nothing until logging is enabled again.
            this.logger.warn({ group: pending.group.name, rows: batch.columns.rowCount }, 'prediction log group is gone; rows dropped');
          } else if (error instanceof ValidationError) {
            // Rows that can never fit the group (a feature whose type changed under its name): trying
            // again would hold every later row of the deployment behind them.
            this.logger.error({ err: error, group: pending.group.name, rows: batch.columns.rowCount }, 'prediction log rows do not fit the log group; dropped');
          } else {
            this.logger.error({ err: error, group: pending.group.name, rows: batch.columns.rowCount }, 'could not write prediction log rows; retrying');
            break;
          }
        }
        pending.batches.shift();
      }
      // A deployment whose buffer shrank back to its first size is forgotten until it logs again.
      if (buffer.rows === 0 && pending.batches.length === 0 && buffer.idle) this.pending.delete(id);
    }
    // Also while a buffer is still larger than at first: each empty interval halves it.
    if (this.pending.size > 0 && !this.closed) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Appends to the log group the columns of a batch it lacks, typed as the model versions' views serve them. */
  private async addColumns(pending: Pending, batch: Batch): Promise<void> {
    const have = pending.columns;
    if (batch.columns.names.every((name) => have.has(name))) return;
    const group = await this.groups.get(pending.viewer, pending.group);
    for (const f of group.features as { name: string }[]) have.add(f.name);
    const missing = batch.columns.names.flatMap((name, c) => (have.has(name) ? [] : [c]));
    if (missing.length === 0) return;
    const types = new Map<string, string>();
    for (const model of batch.models) {
      const layout = await this.layouts(pending.viewer, model).catch(() => null);
      for (const column of [...(layout?.raw ?? []), ...(layout?.transformed ?? [])]) if (!types.has(column.name)) types.set(column.name, column.type);
    }
    const appendFeatures = missing.map((c) => {
      const name = batch.columns.names[c]!;
      return { name, type: types.get(name) ?? inferredType(batch.columns.values[c]!), description: 'Served feature.' };
    });
    await this.groups.update(pending.viewer, pending.group, { appendFeatures });
    for (const f of appendFeatures) have.add(f.name);
  }

  /** Writes what is queued and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /**
   * Logged rows of a deployment, oldest first: from (inclusive) to (exclusive) by `logged_at`,
   * one model version when given, the first `first` of them (the last, with `newest`). Flushes this
   * process's queue first, so a prediction answered before the call is in the answer. Each row has
   * its vectors as JSON objects (`raw_vector`, `transformed_vector`, built from the columns of the
   * features its model version serves) and the status of every raw feature.
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
    const columns = (group.features as { name: string; type: string }[]).map((f) => ({ name: f.name, type: f.type }));
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
    return this.withVectors(viewer, frame);
  }

  /** The log's rows as readLog gives them: metadata, the two vectors as JSON objects, and every raw feature's status. */
  private async withVectors(viewer: Viewer, frame: DataFrame): Promise<DataFrame> {
    const at = new Map(frame.columns.map((c, i) => [c.name, i]));
    const vectorColumns = frame.columns.flatMap((c, i) => (LOG_FEATURE_NAMES.has(c.name) || isLegacy(c.name) ? [] : [i]));
    const layouts = new Map<string, Promise<LogLayout | null>>();
    const layoutOf = (name: string, version: number) => {
      const key = `${name}:${version}`;
      let layout = layouts.get(key);
      if (!layout) {
        layout = this.layouts(viewer, { name, version }).catch(() => null);
        layouts.set(key, layout);
      }
      return layout;
    };
    const get = (row: readonly unknown[], name: string) => row[at.get(name)!];
    const rows: unknown[][] = [];
    for (const row of frame.rows) {
      let raw = parseObject(at.has('raw_vector') ? get(row, 'raw_vector') : null);
      let transformed = parseObject(at.has('transformed_vector') ? get(row, 'transformed_vector') : null);
      if (raw === null) {
        const layout = await layoutOf(String(get(row, 'model_name')), Number(get(row, 'model_version')));
        const pick = (names: readonly LogColumn[] | null) => {
          const out: Record<string, unknown> = {};
          if (names === null) {
            // The model version is gone: every vector column the row has a value in.
            for (const i of vectorColumns) if (row[i] !== null && row[i] !== undefined) out[frame.columns[i]!.name] = row[i];
          } else {
            for (const { name } of names) out[name] = at.has(name) ? (row[at.get(name)!] ?? null) : null;
          }
          return out;
        };
        raw = pick(layout?.raw ?? null);
        transformed = pick(layout?.transformed ?? null);
      }
      const stored = parseObject(get(row, 'feature_status')) ?? {};
      const status: Record<string, unknown> = {};
      for (const name of Object.keys(raw)) status[name] = stored[name] ?? 'present';
      rows.push(
        READ_COLUMNS.map((c) =>
          c.name === 'raw_vector'
            ? JSON.stringify(raw)
            : c.name === 'transformed_vector'
              ? JSON.stringify(transformed ?? {})
              : c.name === 'feature_status'
                ? JSON.stringify(status)
                : get(row, c.name),
        ),
      );
    }
    return { columns: READ_COLUMNS.map((c) => ({ ...c })), rows };
  }
}

/** The columns readLog gives: the metadata features, with the two vectors as JSON after `entity_keys`. */
const READ_COLUMNS: readonly { name: string; type: string }[] = LOG_FEATURES.flatMap((f): { name: string; type: string }[] =>
  f.name === 'entity_keys'
    ? [{ name: f.name, type: f.type }, ...LEGACY_VECTOR_FEATURES.map((name) => ({ name, type: 'STRING' }))]
    : [{ name: f.name, type: f.type }],
);

const isLegacy = (name: string) => (LEGACY_VECTOR_FEATURES as readonly string[]).includes(name);

/** A feature type for a column no model version's layout names (its version is gone): from its values. */
function inferredType(column: ColumnValues): string {
  if (column instanceof Float64Array) return 'DOUBLE';
  const values = isCoded(column) ? column.dictionary : (column as readonly unknown[]);
  const kinds = new Set(values.filter((v) => v !== null && v !== undefined).map((v) => typeof v));
  return kinds.size === 1 && kinds.has('boolean') ? 'BOOLEAN' : kinds.size === 1 && kinds.has('number') ? 'DOUBLE' : 'STRING';
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
